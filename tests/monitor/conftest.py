"""Monitor tests run torch single-threaded: the CI/dev machines are small and shared, and several
torch threads contending for two cores cost many times the CPU of one."""

import pytest


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
