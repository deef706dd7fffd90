"""Per-job cgroup limits (total memory, no swap, number of tasks), on cgroup v2 or v1.

RLIMIT_AS and RLIMIT_NPROC bound one process (or one uid); a job with many processes could
still hold ``processes x memory_mb``. A cgroup bounds the job as a whole. Layout, created by
the host (root, or the owner of a delegated v2 subtree), one tree per cgroup hierarchy::

    <base>/hackwatch-<pid ns>-<host pid>-<n>/   one per pool
        w<k>/worker/                        the warm worker (moves itself in at start-up)
        w<k>/job/                           memory.max = memory_mb, no swap, pids.max = processes

Each job moves itself into ``w<k>/job`` (one write of "0" per hierarchy, ~0.04 ms) before any
untrusted code runs, through file descriptors the worker opened before it entered its
namespaces (the job's own view of /sys is read-only and it lacks the rights). The worker writes
the per-job limits through pre-opened descriptors too. On v2 ``memory.oom.group`` makes the
kernel kill the whole job on OOM; on v1 an eventfd on ``memory.oom_control`` wakes the
supervisor, which kills the job. Either way the job's OOM-kill counter tells the result.
"""

from __future__ import annotations

import itertools
import os
import select
import time
from typing import Any

_CONTROLLERS = ("memory", "pids")
_PREFIX = "hackwatch-"


def _entry_file(version: str, leaf: str) -> str:
    """The file a process writes "0" to, to move itself into ``leaf``.

    A job enters through v1's ``tasks``: moving the one calling thread needs only cgroup_mutex,
    while ``cgroup.procs`` (a whole thread group) takes the global cgroup_threadgroup_rwsem for
    writing, which waits for an RCU grace period and stalls every fork and exit on the machine
    meanwhile (measured: ~18% fewer jobs/s with two workers). The job is single-threaded when it
    enters. v2 has no ``tasks`` in domain groups, so it keeps ``cgroup.procs``.
    """
    return "tasks" if version == "v1" and leaf == "job" else "cgroup.procs"


def _mounts() -> list[tuple[str, str, str, str]]:
    """(fstype, mount point, mount root, super options) of every cgroup mount."""
    out = []
    with open("/proc/self/mountinfo") as fh:
        for line in fh:
            left, _, right = line.partition(" - ")
            fields, tail = left.split(), right.split()
            if tail and tail[0] in ("cgroup", "cgroup2"):
                out.append((tail[0], fields[4].encode().decode("unicode_escape"), fields[3],
                            tail[2] if len(tail) > 2 else ""))
    return out


def _own_paths() -> dict[str, str]:
    """Our cgroup path per v1 controller, and under key "" the v2 path (from /proc/self/cgroup)."""
    out = {}
    with open("/proc/self/cgroup") as fh:
        for line in fh:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            for ctrl in ctrls.split(",") if ctrls else [""]:
                out[ctrl] = path
    return out


def _join(point: str, root: str, path: str) -> str:
    if root != "/" and (path == root or path.startswith(root.rstrip("/") + "/")):
        path = path[len(root):]
    return os.path.join(point, path.lstrip("/")).rstrip("/")


def _write(path: str, text: str) -> None:
    with open(path, "w") as fh:
        fh.write(text)


def _read(path: str) -> str:
    with open(path) as fh:
        return fh.read()


def _bases() -> tuple[str, dict[str, str]]:
    """("v2", {"": base}) or ("v1", {"memory": base, "pids": base}); OSError naming what is missing."""
    mounts, own = _mounts(), _own_paths()
    override = os.environ.get("HACKWATCH_SANDBOX_CGROUP")
    if override:
        if not os.path.isfile(os.path.join(override, "cgroup.controllers")):
            raise OSError(f"HACKWATCH_SANDBOX_CGROUP={override} is not a cgroup v2 directory")
        return "v2", {"": _v2_base(override.rstrip("/"), override)}
    for fstype, point, root, _ in mounts:
        if fstype == "cgroup2" and "" in own:
            ctrls = _read(os.path.join(point, "cgroup.controllers")).split()
            if all(c in ctrls for c in _CONTROLLERS):
                return "v2", {"": _v2_base(_join(point, root, own[""]), point)}
    v1 = {}
    for fstype, point, root, opts in mounts:
        for ctrl in _CONTROLLERS:
            if fstype == "cgroup" and ctrl in opts.split(",") and ctrl in own and ctrl not in v1:
                v1[ctrl] = _join(point, root, own[ctrl])
    if len(v1) == len(_CONTROLLERS):
        return "v1", v1
    raise OSError("no cgroup v2 hierarchy with the memory and pids controllers and no v1 memory+pids mounts")


def _v2_base(own: str, point: str) -> str:
    """The nearest cgroup at or above ours whose children can get memory and pids (no-internal-process rule)."""
    here, top = own, point.rstrip("/")
    while True:
        enabled = _read(os.path.join(here, "cgroup.subtree_control")).split()
        if all(c in enabled for c in _CONTROLLERS):
            return here
        if here == top or not _read(os.path.join(here, "cgroup.procs")).strip():
            try:
                _write(os.path.join(here, "cgroup.subtree_control"), " ".join(f"+{c}" for c in _CONTROLLERS))
                return here
            except OSError:
                pass
        if here == top or not here.startswith(top):
            break
        here = os.path.dirname(here)
    raise OSError(f"cannot enable memory and pids below {own}")


CLOSE_TIMEOUT_S = 30.0
"""How long closing a pool waits for its processes to leave its cgroups before warning."""


def remove_tree(path: str, timeout_s: float = 5.0) -> bool:
    """Remove a cgroup and its sub-groups, deepest first, retrying while dying processes leave it."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            for top, dirs, _ in os.walk(path, topdown=False):
                for d in dirs:
                    os.rmdir(os.path.join(top, d))
            os.rmdir(path)
            return True
        except FileNotFoundError:
            return True
        except OSError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.005)


def pool_prefix(pid: int | None = None) -> str:
    """Name prefix of the pool trees of host ``pid`` (default: this process), PID namespace included
    so that hosts in other PID namespaces sharing this cgroupfs never take our trees for stale.
    """
    return f"{_PREFIX}{os.stat('/proc/self/ns/pid').st_ino}-{os.getpid() if pid is None else pid}-"


def _has_processes(path: str) -> bool:
    for top, _, files in os.walk(path):
        if "cgroup.procs" in files:
            try:
                if _read(os.path.join(top, "cgroup.procs")).strip():
                    return True
            except OSError:
                return True
    return False


def _sweep_stale(base: str) -> None:
    """Remove pool groups left behind by host processes that died without closing their pool.

    Only trees of our own PID namespace (where the pid check means something), of a pid that no
    longer exists, with no process anywhere in them.
    """
    try:
        names = os.listdir(base)
    except OSError:
        return
    ns = pool_prefix(0).split("-")[1]
    for name in names:
        parts = name.split("-")
        if name.startswith(_PREFIX) and len(parts) == 4 and parts[1] == ns and parts[2].isdigit() \
                and not os.path.exists(f"/proc/{parts[2]}") and not _has_processes(os.path.join(base, name)):
            remove_tree(os.path.join(base, name), timeout_s=0.0)


class PoolCgroups:
    """Host side: the pool's cgroup tree. ``version`` is "v1", "v2", or None (unavailable: ``reason``)."""

    _seq = itertools.count(1)  # next() on a count is atomic under the GIL: safe from several threads

    def __init__(self) -> None:
        self.version: str | None = None
        self.reason: str | None = None
        self.roots: dict[str, str] = {}
        self._workers = itertools.count(1)
        try:
            version, bases = _bases()
            name = f"{pool_prefix()}{next(PoolCgroups._seq)}"
            for ctrl, base in bases.items():
                _sweep_stale(base)
                os.mkdir(os.path.join(base, name))
                self.roots[ctrl] = os.path.join(base, name)
            if version == "v2":
                _write(os.path.join(self.roots[""], "cgroup.subtree_control"), "+memory +pids")
            self.version = version
        except OSError as exc:
            self.reason = f"{exc}"
            self.close()

    def add_worker(self) -> tuple[str, dict[str, Any]]:
        """Create one worker's groups; return (key, spec for the worker). OSError if refused."""
        key = f"w{next(self._workers)}"
        spec: dict[str, Any] = {"version": self.version, "worker_procs": [], "job_procs": []}
        try:
            for ctrl, root in self.roots.items():
                top = os.path.join(root, key)
                os.mkdir(top)
                if self.version == "v2":
                    _write(os.path.join(top, "cgroup.subtree_control"), "+memory +pids")
                for leaf in ("worker", "job"):
                    os.mkdir(os.path.join(top, leaf))
                    spec[f"{leaf}_procs"].append(os.path.join(top, leaf, _entry_file(self.version, leaf)))
                job = os.path.join(top, "job")
                if ctrl in ("", "memory"):
                    spec["memory_dir"] = job
                if ctrl in ("", "pids"):
                    spec["pids_max"] = os.path.join(job, "pids.max")
            mem = spec["memory_dir"]
            if self.version == "v2":
                _write(os.path.join(mem, "memory.oom.group"), "1")
                if os.path.exists(os.path.join(mem, "memory.swap.max")):
                    _write(os.path.join(mem, "memory.swap.max"), "0")
            else:
                _write(os.path.join(mem, "memory.swappiness"), "0")
        except OSError:
            self.remove_worker(key)
            raise
        return key, spec

    def remove_worker(self, key: str) -> bool:
        """Remove one worker's groups (call after its processes are gone)."""
        return all([remove_tree(os.path.join(root, key)) for root in self.roots.values()])

    def close(self, timeout_s: float = CLOSE_TIMEOUT_S) -> bool:
        """Remove the whole tree; True if nothing is left behind.

        Waits up to ``timeout_s`` for dying processes to leave (it returns as soon as they have): on a
        loaded machine a killed worker's namespace can take seconds to tear down.
        """
        ok = all([remove_tree(root, timeout_s=timeout_s) for root in self.roots.values()])
        self.roots = {}
        return ok


class JobCgroup:
    """Worker side: descriptors opened before the worker drops its rights, used for every job.

    The job inherits them only until its set-up closes every descriptor above 3.
    """

    def __init__(self, spec: dict[str, Any]) -> None:
        self.version: str = spec["version"]
        for path in spec["worker_procs"]:
            _write(path, "0")
        self.job_procs = [os.open(p, os.O_WRONLY) for p in spec["job_procs"]]
        mem = spec["memory_dir"]
        v2 = self.version == "v2"
        self._mem = os.open(os.path.join(mem, "memory.max" if v2 else "memory.limit_in_bytes"), os.O_RDWR)
        memsw = os.path.join(mem, "memory.memsw.limit_in_bytes")
        self._memsw = os.open(memsw, os.O_RDWR) if not v2 and os.path.exists(memsw) else None
        self._pids = os.open(spec["pids_max"], os.O_WRONLY)
        self._counter = os.open(os.path.join(mem, "memory.events" if v2 else "memory.oom_control"), os.O_RDONLY)
        self.oom_fd: int | None = None
        if not v2:  # v1 has no group kill: an eventfd tells the supervisor to kill the whole job
            self.oom_fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
            try:
                _write(os.path.join(mem, "cgroup.event_control"), f"{self.oom_fd} {self._counter}")
            except OSError:  # no notification: an OOM is still counted, the job ends by itself or at wall time
                os.close(self.oom_fd)
                self.oom_fd = None
        self._oom_poll = None
        if self.oom_fd is not None:
            self._oom_poll = select.poll()
            self._oom_poll.register(self.oom_fd, select.POLLIN)
        self._counter_text = b""
        self._kills = self._oom_kills()
        self._last: tuple[int, int] | None = None

    def apply(self, memory_mb: float, processes: float) -> None:
        """Set the job's total memory and task limits (only when they differ from the last job's)."""
        want = (int(memory_mb) * 1024 * 1024, int(processes))
        if want == self._last:
            return
        mem, pids = (str(v).encode() for v in want)
        if self._memsw is None:
            os.pwrite(self._mem, mem, 0)
        else:  # v1 keeps memsw >= mem: raise memsw first, lower it last (same value: no swap)
            current = int(os.pread(self._mem, 64, 0))
            order = (self._memsw, self._mem) if want[0] > current else (self._mem, self._memsw)
            for fd in order:
                os.pwrite(fd, mem, 0)
        os.pwrite(self._pids, pids, 0)
        self._last = want

    def _oom_kills(self) -> int:
        self._counter_text = os.pread(self._counter, 4096, 0)
        for line in self._counter_text.decode().splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        return 0

    def close(self) -> None:
        """Close every descriptor (the worker normally just exits)."""
        for fd in [*self.job_procs, self._mem, self._memsw, self._pids, self._counter, self.oom_fd]:
            if fd is not None:
                os.close(fd)

    def oom_killed(self) -> bool:
        """Did the kernel OOM-kill a process of the job group since the last call?

        The usual answer costs one system call: in v1 a zero-timeout poll of the OOM eventfd (every
        OOM kill is announced there first), in v2 one read of the counter file, compared unparsed.
        """
        if self._oom_poll is not None:
            if not self._oom_poll.poll(0):
                return False
        elif os.pread(self._counter, 4096, 0) == self._counter_text:
            return False
        kills = self._oom_kills()
        hit, self._kills = kills > self._kills, kills
        if self.oom_fd is not None:
            try:
                os.eventfd_read(self.oom_fd)
            except BlockingIOError:
                pass
        return hit
