"""Throughput side by side with Djinn (``hackwatch bench verify --djinn PATH``).

The same submissions go through hackwatch and through Djinn's own offline verification
(``djinn.sandbox.offline_verification_service.OfflineVerificationService.verify_single``, run from the
user's checkout, sequential as Djinn runs it), in alternating rounds so that a burst of load on the
machine hits both: secure checks, insecure checks, and whole submissions (hackwatch: the ``hackwatch
verify`` CLI end to end, interpreter start included; Djinn: its secure plus its insecure check). A second
comparison puts the CLI beside the API (``Verifier.verify_many`` on a warm pool) on a larger file.
Every figure is a median over the rounds with its range; the ratio is taken per round.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hackwatch.verify._bench import _submissions
from hackwatch.verify._runner import ENTRY
from hackwatch.verify._verifier import PRELOAD, Verifier, insecure_payload, secure_payload

if TYPE_CHECKING:
    from hackwatch.tasks import Task


@dataclass(frozen=True)
class SideBySide:
    """One comparison: rates of two contenders, measured in alternating rounds."""

    kind: str
    unit: str
    n: int
    ours: tuple[float, ...]
    theirs: tuple[float, ...]
    names: tuple[str, str] = ("hackwatch", "Djinn")

    @property
    def ratios(self) -> tuple[float, ...]:
        return tuple(a / b for a, b in zip(self.ours, self.theirs, strict=True))

    def line(self) -> str:
        def fig(rates: Sequence[float]) -> str:
            return f"{statistics.median(rates):7.1f} ({min(rates):.0f}-{max(rates):.0f})"
        r = self.ratios
        return (f"{self.kind:<9} {self.names[0]} {fig(self.ours)} {self.unit}  |  {self.names[1]} {fig(self.theirs)} "
                f"{self.unit}  |  ratio {statistics.median(r):.2f}x ({min(r):.2f}-{max(r):.2f}), n={self.n}, "
                f"{len(r)} rounds")


@dataclass(frozen=True)
class DjinnBench:
    """Everything ``bench verify --djinn`` measured."""

    rows: tuple[SideBySide, ...]
    api_cli: SideBySide
    workers: int
    mode: str
    djinn_commit: str
    load: tuple[float, float]
    """1-minute load average before and after the measurement (the machine may be shared)."""

    def lines(self) -> list[str]:
        out = [f"side by side with Djinn {self.djinn_commit} (offline verification, sequential): hackwatch "
               f"{self.workers} workers, sandbox mode {self.mode}; load average {self.load[0]:.1f} -> "
               f"{self.load[1]:.1f}; median (range) of the rounds"]
        out += [row.line() for row in self.rows]
        ratio = statistics.median(self.api_cli.ratios)
        out.append(self.api_cli.line() + f"  ->  CLI at {100 * ratio:.0f}% of the API")
        return out


def _djinn_service(djinn: Path) -> tuple[Any, Any]:
    """Djinn's ``Problem`` class and a fresh offline service, from the checkout at ``djinn``."""
    root = str(djinn.resolve())
    if not (djinn / "djinn" / "sandbox" / "offline_verification_service.py").is_file():
        raise ValueError(f"--djinn {djinn}: no djinn/sandbox/offline_verification_service.py there; "
                         "pass a checkout of EleutherAI/djinn")
    if root not in sys.path:
        sys.path.insert(0, root)
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if root not in paths:  # Djinn's daemons run `python -m djinn.sandbox.daemon_bridge` in a new process
        os.environ["PYTHONPATH"] = os.pathsep.join([root, *paths])
    try:
        from djinn.core.problem import Problem
        from djinn.sandbox.offline_verification_service import OfflineVerificationService
    except ImportError as exc:
        raise ValueError(f"--djinn {djinn}: Djinn's offline service does not import ({exc}); install what it "
                         "needs (its requirements) or pass another checkout") from None
    return Problem, OfflineVerificationService()


def _problem(problem_cls: Any, task: Task) -> Any:
    return problem_cls(id=task.id, description=task.description, function_name=task.function_name,
                       test_cases=[tuple(c) for c in task.secure_tests], ground_truth=task.ground_truth,
                       exploit=task.exploit, insecure_verifier_info=task.hint, exploit_explanation="",
                       exploit_type=task.exploit_type,
                       insecure_test_cases=[tuple(c) for c in task.effective_insecure_tests],
                       order_dependent=task.metadata.get("order_dependent") is not False)


def _commit(djinn: Path) -> str:
    try:
        return subprocess.run(["git", "-C", str(djinn), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "(unknown commit)"


def _timed(fn: Any, n: int) -> float:
    start = time.perf_counter()
    fn()
    return n / (time.perf_counter() - start)


def _cli(source: str, completions: Path, out: Path, workers: int) -> None:
    cmd = [sys.executable, "-c", "from hackwatch.cli import main; main()", "verify", "--tasks", source,
           "--completions", str(completions), "--out", str(out), "--workers", str(workers)]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise RuntimeError(f"hackwatch verify failed (exit {res.returncode}): {res.stderr.strip()[-300:]}")


def _write(path: Path, subs: Sequence[tuple[Task, str]]) -> None:
    path.write_text("".join(json.dumps({"task_id": t.id, "code": c}) + "\n" for t, c in subs))


def bench_djinn(tasks: Sequence[Task], source: str, djinn: Path, workers: int, n: int = 100, rounds: int = 5,
                cli_n: int = 2000) -> DjinnBench:
    """Measure hackwatch and Djinn side by side (see module docstring); ``source`` is what the CLI loads."""
    from hackwatch.sandbox import SandboxPool
    if not tasks:
        raise ValueError("no tasks to benchmark on; pass --tasks with a non-empty SOURCE")
    if rounds < 1:
        raise ValueError(f"rounds must be >= 1, got {rounds}")
    problem_cls, service = _djinn_service(djinn)
    subs, cli_subs = _submissions(tasks, n), _submissions(tasks, cli_n)
    problems = {t.id: _problem(problem_cls, t) for t in tasks}
    jobs = {"secure": [secure_payload(t, c) for t, c in subs], "insecure": [insecure_payload(t, c) for t, c in subs]}
    rates: dict[str, list[float]] = {k: [] for k in ("hw_secure", "dj_secure", "hw_insecure", "dj_insecure",
                                                      "hw_whole", "dj_whole", "api", "cli")}
    load_before = os.getloadavg()[0]
    for t, c in subs[:4]:  # Djinn starts its daemons on first use
        service.verify_single(problems[t.id], c, secure=True)
        service.verify_single(problems[t.id], c, secure=False)
    with tempfile.TemporaryDirectory(prefix="hackwatch-bench-") as tmp, \
            SandboxPool(workers, preload=PRELOAD) as pool:
        small, large, out = Path(tmp, "small.jsonl"), Path(tmp, "large.jsonl"), Path(tmp, "out.jsonl")
        _write(small, subs)
        _write(large, cli_subs)
        verifier = Verifier(pool=pool)
        list(pool.map(ENTRY, jobs["secure"][: 2 * workers]))  # warm-up
        for _ in range(rounds):
            seconds = {}
            for kind in ("secure", "insecure"):
                rates[f"hw_{kind}"].append(_timed(lambda kind=kind: list(pool.map(ENTRY, jobs[kind])), len(subs)))
                start = time.perf_counter()
                for t, c in subs:
                    service.verify_single(problems[t.id], c, secure=kind == "secure")
                seconds[kind] = time.perf_counter() - start
                rates[f"dj_{kind}"].append(len(subs) / seconds[kind])
            rates["hw_whole"].append(_timed(lambda: _cli(source, small, out, workers), len(subs)))
            rates["dj_whole"].append(len(subs) / (seconds["secure"] + seconds["insecure"]))
            rates["api"].append(_timed(lambda: verifier.verify_many(cli_subs), len(cli_subs)))
            rates["cli"].append(_timed(lambda: _cli(source, large, out, workers), len(cli_subs)))
        mode = pool.mode
    rows = tuple(SideBySide(kind, unit, len(subs), tuple(rates[f"hw_{key}"]), tuple(rates[f"dj_{key}"]))
                 for kind, key, unit in (("secure", "secure", "checks/s"), ("insecure", "insecure", "checks/s"),
                                         ("whole", "whole", "subs/s")))
    api_cli = SideBySide("CLI/API", "subs/s", len(cli_subs), tuple(rates["cli"]), tuple(rates["api"]),
                         names=("hackwatch verify", "Verifier.verify_many"))
    return DjinnBench(rows, api_cli, workers, mode, _commit(djinn), (load_before, os.getloadavg()[0]))


__all__ = ["DjinnBench", "SideBySide", "bench_djinn"]
