"""The sandbox's public value types: per-job limits, the result of one job, the infrastructure error."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


class SandboxUnavailable(RuntimeError):
    """The sandbox infrastructure failed (worker died, cannot fork, namespaces refused...).

    Never a verdict about the submitted code: callers must record it as an error, not as ``fail``.
    """


@dataclass(frozen=True)
class Limits:
    """Resource limits applied to every job (all of them per job, none shared between jobs)."""

    cpu_seconds: float = 5.0
    """RLIMIT_CPU: CPU seconds of the job process (SIGXCPU, then SIGKILL one second later)."""
    wall_seconds: float = 10.0
    """Wall-clock timeout; then the job's whole process tree is killed."""
    memory_mb: int = 1024
    """RLIMIT_AS per process (address space, includes what the warm worker had mapped when it forked)
    and, where a cgroup is available, the job's total memory (all its processes, tmpfs included; no swap)."""
    processes: int = 64
    """Processes and threads of the job: cgroup pids.max where available, else RLIMIT_NPROC of the job's uid."""
    file_size_mb: int = 16
    """RLIMIT_FSIZE: largest file the job may write (SIGXFSZ beyond)."""
    open_files: int = 64
    """RLIMIT_NOFILE."""
    output_bytes: int = 65536
    """Bytes of stdout and of stderr kept (the tail); the rest is read and discarded."""
    tmp_mb: int = 64
    """Size of the private /tmp tmpfs (and of the private /dev/shm)."""

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not value > 0:
                raise ValueError(f"Limits.{name} must be > 0, got {value!r}; pass a positive number")

    def to_dict(self) -> dict[str, float]:
        """Plain dict, for the wire."""
        return asdict(self)


@dataclass(frozen=True)
class RunResult:
    """What happened to one job. ``value`` is the JSON-decoded return value of the entry function."""

    value: Any | None
    """JSON-decoded return value; None if the entry never returned (exit, crash, kill, timeout)."""
    exit_code: int | None
    """Exit status of the job process; None if it was killed by a signal."""
    signal: int | None
    """Signal that ended the job process, if any."""
    stdout: str
    """Tail of stdout (``Limits.output_bytes``), decoded with errors="replace"."""
    stderr: str
    """Tail of stderr."""
    wall_s: float
    """Wall seconds from fork to the end of the job's process tree."""
    timed_out: bool
    """True when the wall-clock timeout killed the job."""
    killed_reason: str | None
    """"wall_timeout", "cpu_limit", "memory", "file_size", "signal", "exception" or None."""
    mode: str
    """"namespaces" (full isolation) or "rlimits" (the weaker fallback)."""
    error: str | None = None
    """"ExcType: message" when the entry raised (or its value was not JSON); None otherwise."""
    cpu_s: float = 0.0
    """CPU seconds (user + system) of the job process."""
    cgroup: str | None = None
    """"v1" or "v2" when the job ran in its own cgroup (total memory and task limits), None when not."""

    @property
    def ok(self) -> bool:
        """The entry function returned a value normally."""
        return self.exit_code == 0 and self.error is None and self.killed_reason is None
