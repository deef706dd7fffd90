"""Isolated execution of untrusted Python: a warm pool of forked, namespaced, rate-limited jobs.

The public names are loaded lazily (PEP 562): a sandbox worker imports only the modules it runs
(``_worker`` and what it needs), not the host-side pool, benchmark and their dependencies. Every
megabyte a worker holds is copied into page tables on each job's fork and torn down at its exit.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hackwatch.sandbox._bench import bench_overhead
    from hackwatch.sandbox._pool import SandboxPool
    from hackwatch.sandbox._probe import sandbox_mode_available
    from hackwatch.sandbox._types import Limits, RunResult, SandboxUnavailable

_HOMES = {"bench_overhead": "_bench", "SandboxPool": "_pool", "sandbox_mode_available": "_probe",
          "Limits": "_types", "RunResult": "_types", "SandboxUnavailable": "_types"}

__all__ = ["Limits", "RunResult", "SandboxPool", "SandboxUnavailable", "bench_overhead",
           "sandbox_mode_available"]


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
