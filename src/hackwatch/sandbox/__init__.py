"""Isolated execution of untrusted Python: a warm pool of forked, namespaced, rate-limited jobs.

The public names are loaded lazily (PEP 562): a sandbox worker imports only the modules it runs
(``_worker`` and what it needs), not the host-side pool, benchmark and their dependencies. Every
megabyte a worker holds is copied into page tables on each job's fork and torn down at its exit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hackwatch._lazy import lazy_exports

if TYPE_CHECKING:
    from hackwatch.sandbox._bench import bench_overhead
    from hackwatch.sandbox._pool import SandboxPool
    from hackwatch.sandbox._probe import sandbox_mode_available
    from hackwatch.sandbox._types import Limits, RunResult, SandboxUnavailable

__all__ = ["Limits", "RunResult", "SandboxPool", "SandboxUnavailable", "bench_overhead",
           "sandbox_mode_available"]

__getattr__, __dir__ = lazy_exports(__name__, {
    "_bench": ("bench_overhead",), "_pool": ("SandboxPool",), "_probe": ("sandbox_mode_available",),
    "_types": ("Limits", "RunResult", "SandboxUnavailable"),
}, globals())
