"""Verification throughput: the warm sandbox pool against a fresh ``python`` subprocess per check.

Both run the very same job code on the very same payloads in one process run, side by side;
the baseline has no isolation at all. The comparison with Djinn itself is measured, never assumed:
``bench verify --djinn PATH`` (``_bench_djinn``).
"""

from __future__ import annotations

import itertools
import pickle
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hackwatch.verify._runner import ENTRY
from hackwatch.verify._verifier import PRELOAD, insecure_payload, secure_payload

if TYPE_CHECKING:
    from hackwatch.tasks import Task

_BASELINE = ("import json, pickle, sys; from hackwatch.verify._runner import run_job; "
             "print(json.dumps(run_job(pickle.loads(sys.stdin.buffer.read()))))")


@dataclass(frozen=True)
class BenchRow:
    kind: str
    pool_rate: float
    """Checks per second through the sandbox pool (median of the repeats)."""
    baseline_rate: float
    """Checks per second with a fresh python subprocess per check (same parallelism)."""
    n: int
    baseline_n: int
    pool_rates: tuple[float, ...] = ()
    """Each repeat's rate, in the order measured (repeats of secure and insecure alternate)."""
    host_cpu_us: float = 0.0
    """CPU the calling (host) process spent per check in the pool runs, in µs (median of the repeats):
    on a machine whose cores also run the workers, CPU the jobs do not get."""


@dataclass(frozen=True)
class BenchResult:
    rows: tuple[BenchRow, ...]
    workers: int
    mode: str

    def lines(self) -> list[str]:
        out = [f"verification throughput: {self.workers} workers, sandbox mode {self.mode} "
               "(side by side with Djinn: --djinn PATH)"]
        for r in self.rows:
            spread = (f", median of {len(r.pool_rates)}: {min(r.pool_rates):.0f}-{max(r.pool_rates):.0f}"
                      if len(r.pool_rates) > 1 else "")
            out.append(f"{r.kind:<8} pool {r.pool_rate:8.1f} checks/s (n={r.n}{spread})  |  subprocess baseline "
                       f"{r.baseline_rate:6.1f} checks/s (n={r.baseline_n})  |  ratio {r.pool_rate / r.baseline_rate:5.1f}x"
                       f"  |  host CPU {r.host_cpu_us:.0f} us/check")
        return out


def _submissions(tasks: Sequence[Task], n: int) -> list[tuple[Task, str]]:
    """Alternate ground truths and reference exploits, cycling over the tasks."""
    pairs = itertools.cycle([(t, code) for t in tasks for code in (t.ground_truth, t.exploit) if code])
    return list(itertools.islice(pairs, n))


def _baseline_one(payload: dict[str, Any]) -> None:
    subprocess.run([sys.executable, "-c", _BASELINE], input=pickle.dumps(payload), capture_output=True,
                   timeout=60, check=False)


def bench(tasks: Sequence[Task], workers: int, n: int = 200, baseline_n: int = 40, repeats: int = 3) -> BenchResult:
    """Measure secure and insecure checks per second for the pool and the subprocess baseline.

    The pool is measured ``repeats`` times per kind, secure and insecure alternating (so a burst of
    load on the machine hits both), and reported as the median; the slow baseline runs once.
    """
    from hackwatch.sandbox import SandboxPool
    if not tasks:
        raise ValueError("no tasks to benchmark on; pass --tasks with a non-empty SOURCE")
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    subs = _submissions(tasks, n)
    kinds = {"secure": [secure_payload(t, c) for t, c in subs],
             "insecure": [insecure_payload(t, c) for t, c in subs]}
    rates: dict[str, list[float]] = {kind: [] for kind in kinds}
    host_cpu: dict[str, list[float]] = {kind: [] for kind in kinds}
    base: dict[str, float] = {}
    with SandboxPool(workers, preload=PRELOAD) as pool, ThreadPoolExecutor(workers) as executor:
        list(pool.map(ENTRY, kinds["secure"][: 2 * workers]))  # warm-up
        for _ in range(repeats):
            for kind, jobs in kinds.items():
                start, cpu = time.perf_counter(), time.process_time()
                for _ in pool.map(ENTRY, jobs):
                    pass
                rates[kind].append(len(jobs) / (time.perf_counter() - start))
                host_cpu[kind].append(1e6 * (time.process_time() - cpu) / len(jobs))
        for kind, jobs in kinds.items():
            start = time.perf_counter()
            list(executor.map(_baseline_one, jobs[:baseline_n]))
            base[kind] = len(jobs[:baseline_n]) / (time.perf_counter() - start)
        mode = pool.mode
    rows = []
    for kind, jobs in kinds.items():
        rows.append(BenchRow(kind, statistics.median(rates[kind]), base[kind], len(jobs),
                             min(baseline_n, len(jobs)), tuple(rates[kind]), statistics.median(host_cpu[kind])))
    return BenchResult(tuple(rows), workers, mode)
