"""Suite-wide settings; shared skip markers and paths live in ``tests/helpers.py``.

The suite runs as ``pytest -n 2`` on 2 cores: each xdist worker (and every subprocess it starts)
uses one intra-op thread, because two workers each spinning two torch/BLAS threads on two cores
slow tiny-model training down by an order of magnitude.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")


def pytest_configure(config) -> None:  # noqa: ARG001 - pytest hook signature
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a hard dependency
        return
    torch.set_num_threads(1)
