from __future__ import annotations

import pytest

from hackwatch.runs import LocalExecutor, make_executor


@pytest.mark.parametrize("workers", [1, 2])
def test_local_executor_runs_every_job_once(workers: int) -> None:
    ex = make_executor("local", workers)
    assert isinstance(ex, LocalExecutor) and ex.workers == workers
    jobs = [(base, 2) for base in range(7)]
    try:
        results = dict(ex.run(pow, jobs))
    finally:
        ex.close()
    assert results == {(b, 2): b * b for b in range(7)}


def test_unknown_executor() -> None:
    with pytest.raises(ValueError, match="unknown executor 'dask'; expected one of local, ray"):
        make_executor("dask", 1)


def _torch_threads(_: int) -> int:
    import torch

    return torch.get_num_threads()


def test_local_workers_share_the_cpus() -> None:
    from hackwatch.runs._executors import cpu_share

    ex = LocalExecutor(2)
    try:
        got = {result for _, result in ex.run(_torch_threads, [(i,) for i in range(4)])}
    finally:
        ex.close()
    assert got == {cpu_share(2)}
    assert cpu_share(10_000) == 1 and cpu_share(1) >= cpu_share(2) >= 1
