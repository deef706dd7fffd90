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


def test_progress_close_stops_the_heartbeat_of_a_stage_that_raised(tmp_path) -> None:
    from hackwatch.runs._progress import Progress

    p = Progress(tmp_path, bars=False)
    p.start("direct", 10, 0)
    thread = p._bar._thread
    assert thread is not None and thread.is_alive()
    p.start("prefilled", 5, 0)  # a new stage closes the old one's heartbeat
    thread.join(timeout=5)
    assert not thread.is_alive()
    second = p._bar._thread
    p.close()
    second.join(timeout=5)
    assert not second.is_alive() and p._bar is None
