"""Isolated execution of untrusted Python: a warm pool of forked, namespaced, rate-limited jobs."""

from hackwatch.sandbox._bench import bench_overhead
from hackwatch.sandbox._pool import SandboxPool
from hackwatch.sandbox._probe import sandbox_mode_available
from hackwatch.sandbox._types import Limits, RunResult, SandboxUnavailable

__all__ = ["Limits", "RunResult", "SandboxPool", "SandboxUnavailable", "bench_overhead",
           "sandbox_mode_available"]
