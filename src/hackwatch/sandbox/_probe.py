"""Can this kernel give us the namespaces the sandbox needs? (cheap, cached, side-effect free)."""

from __future__ import annotations

import functools
import os

from hackwatch.sandbox import _linux as lx


@functools.cache
def _namespaces_ok() -> bool:
    pid = os.fork()
    if pid == 0:
        try:
            lx.unshare(lx.CLONE_NEWUSER | lx.CLONE_NEWNS | lx.CLONE_NEWPID | lx.CLONE_NEWNET)
            os._exit(0)
        except BaseException:  # noqa: BLE001 - any failure means "not available"
            os._exit(1)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0


def sandbox_mode_available(mode: str = "namespaces") -> bool:
    """True if ``SandboxPool(mode=mode)`` can work here ("rlimits" always can, Linux only)."""
    if mode == "rlimits":
        return os.name == "posix"
    if mode == "namespaces":
        return os.path.exists("/proc/self/ns/user") and _namespaces_ok()
    raise ValueError(f"mode must be 'namespaces' or 'rlimits', got {mode!r}")
