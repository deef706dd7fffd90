"""Turn a worker's raw report (wait status, output tails, result text) into a :class:`RunResult`.

Pure function, no I/O: the classification of *why* a job ended lives here and is unit-tested.
The result text is untrusted JSON written by the job; it is parsed with ``json.loads`` only.
"""

from __future__ import annotations

import json
import os
import signal
from typing import Any

from hackwatch.sandbox._types import Limits, RunResult


def _killed_reason(sig: int | None, timed_out: bool, cpu_s: float, limits: Limits, error: str | None,
                   oom: bool = False) -> str | None:
    if oom:  # the job's cgroup hit memory_mb in total: the kernel (v2) or the worker (v1) killed the job
        return "memory"
    if timed_out:
        return "wall_timeout"
    if sig == signal.SIGXCPU or (sig == signal.SIGKILL and cpu_s >= limits.cpu_seconds - 0.05):
        return "cpu_limit"
    if sig == signal.SIGXFSZ:
        return "file_size"
    if error is not None and error.startswith("MemoryError"):
        return "memory"
    if sig is not None:
        return "signal"
    return None


def to_result(reply: dict[str, Any], limits: Limits, mode: str, cgroup: str | None = None) -> RunResult:
    """Classify one finished job. ``reply`` is the worker's ``done`` message."""
    status = int(reply["status"])
    exit_code = os.waitstatus_to_exitcode(status)
    sig = -exit_code if exit_code < 0 else None
    code = None if sig is not None else exit_code
    value, error = None, None
    if reply.get("result_overflow"):
        error = "result larger than the sandbox's 16 MiB limit"
    elif reply.get("result"):
        try:
            parsed = json.loads(reply["result"])
        except ValueError:
            parsed = {"error": "result is not valid JSON"}
        if not isinstance(parsed, dict):
            parsed = {"error": "result is not a JSON object"}
        if code == 0 and "value" in parsed:
            value = parsed["value"]
        elif "error" in parsed:
            error = str(parsed["error"])
    cpu_s = float(reply.get("cpu_s", 0.0))
    oom = bool(reply.get("oom_kill"))
    if oom:  # part of the job was killed: whatever it returned is not the job's answer
        value = None
    return RunResult(value=value, exit_code=code, signal=sig, stdout=reply["stdout"], stderr=reply["stderr"],
                     wall_s=float(reply["wall_s"]), timed_out=bool(reply["timed_out"]),
                     killed_reason=_killed_reason(sig, bool(reply["timed_out"]), cpu_s, limits, error, oom),
                     mode=mode, error=error, cpu_s=cpu_s, cgroup=cgroup)
