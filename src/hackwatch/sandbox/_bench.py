"""Overhead of the sandbox itself: a trivial job through the warm pool vs a fresh interpreter per job.

Run it with ``python -m hackwatch.sandbox`` (prints JSON). Figures are wall-clock and depend on
the machine's load; ``worker_cpu_ms_per_job`` (CPU the worker and its jobs burned) does much less.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from typing import Any

from hackwatch.sandbox._pool import SandboxPool

ECHO = "hackwatch.sandbox._job:echo"
"""A trivial entry: returns its payload (lives in ``_job``, which every worker has loaded)."""


def _tree_cpu_s(pid: int) -> float:
    """CPU seconds of ``pid``, its live children and its reaped children (from /proc)."""
    total = 0.0
    pids = [pid, *map(int, open(f"/proc/{pid}/task/{pid}/children").read().split())]
    for p in pids:
        fields = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
        total += sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    return total


def bench_overhead(jobs: int = 300, workers: int | None = None, mode: str = "auto",
                   baseline_jobs: int = 20, cgroup: str = "auto") -> dict[str, Any]:
    """Measure per-job overhead: sequential on one worker, throughput on all workers, and a
    fresh-``python -c`` subprocess per job as the naive baseline. ``cgroup="off"`` measures
    without the per-job cgroup (to see what it costs).
    """
    out: dict[str, Any] = {"jobs": jobs}
    with SandboxPool(1, mode=mode, cgroup=cgroup) as pool:  # type: ignore[arg-type]
        for i in range(5):
            pool.run(ECHO, i)
        outer = pool._all[0].proc.pid
        cpu0, t0 = _tree_cpu_s(outer), time.perf_counter()
        walls = [pool.run(ECHO, i).wall_s for i in range(jobs)]
        elapsed = time.perf_counter() - t0
        out.update(mode=pool.mode, cgroup=pool.cgroup, sequential_ms_per_job=1000 * elapsed / jobs,
                   median_job_wall_ms=1000 * statistics.median(walls),
                   worker_cpu_ms_per_job=1000 * (_tree_cpu_s(outer) - cpu0) / jobs)
    with SandboxPool(workers, mode=mode, cgroup=cgroup) as pool:  # type: ignore[arg-type]
        list(pool.map(ECHO, range(2 * pool.workers)))
        t0 = time.perf_counter()
        results = list(pool.map(ECHO, range(jobs)))
        elapsed = time.perf_counter() - t0
        if [r.value for r in results] != list(range(jobs)):
            raise RuntimeError("sandbox benchmark: echo jobs returned wrong values")
        out.update(workers=pool.workers, parallel_jobs_per_s=jobs / elapsed)
    t0 = time.perf_counter()
    for i in range(baseline_jobs):
        subprocess.run([sys.executable, "-S", "-c", f"print({i})"], check=True, capture_output=True)
    out["subprocess_ms_per_job"] = 1000 * (time.perf_counter() - t0) / baseline_jobs
    out["speedup_vs_subprocess"] = out["subprocess_ms_per_job"] / out["sequential_ms_per_job"]
    return out
