"""Worker side of one job after the fork: collect output, enforce the wall clock, clean up.

Output is read as it comes and only its tail is kept, so a job printing gigabytes neither blocks
nor grows the worker. On timeout the job's PID 1 is killed through a pidfd (no pid-reuse race);
in namespaces mode the kernel then kills the rest of its PID namespace.
"""

from __future__ import annotations

import os
import select
import signal
import time
from typing import Any

from hackwatch.sandbox._job import MAX_RESULT_BYTES

_GRACE_S = 5.0
"""How long after a kill the job's tree may take to vanish before the worker calls it broken."""

_DRAIN_EVERY_S = 0.02
"""A job's output pipes are not watched for its first tick: the worker sleeps in one poll(2) on the
job's exit for a typical job's whole life. Every wake-up of the worker while its forked job lives
costs copy-on-write page faults on both sides. Jobs that run past the tick get their output read as
it comes (a job that fills a 64 KiB pipe before that waits at most one tick)."""


class QuietWait:
    """A job's first tick, as seen from the worker: one poll(2), prepared before the fork.

    Between the fork and the job's exit every page the worker writes is copied (the job still maps
    the original), so the worker then does as little as it can: it closes its ends of the job's
    output pipes and sleeps until the result pipe has no writer left (the job has exited: its
    address space is already gone), the host closes the command pipe, or the tick ends. Both are
    watched for hang-up only (event mask 0): neither the job's set-up marker and result nor a next
    job the host queued wakes the worker.
    """

    def __init__(self, res_r: int, cmd: int, writers: dict[str, int]) -> None:
        self.poller = select.poll()
        self.poller.register(res_r, 0)
        self.poller.register(cmd, 0)  # hang-up only: the host may queue the next job meanwhile
        self.writers = tuple(writers.values())
        self.close = os.close

    def wait(self) -> list[tuple[int, int]]:
        """Close the worker's write ends and wait; the (fd, event) pairs seen, none if the tick passed."""
        close = self.close
        for fd in self.writers:
            close(fd)
        return self.poller.poll(_DRAIN_EVERY_S * 1000)


class _Tail:
    """The last ``cap`` bytes of a stream, its total length and its first 1000 bytes."""

    __slots__ = ("buf", "cap", "first", "total")

    def __init__(self, cap: int) -> None:
        self.cap, self.buf, self.total, self.first = cap, bytearray(), 0, b""

    def add(self, data: bytes) -> None:
        if len(self.first) < 1000:
            self.first += data[:1000 - len(self.first)]
        self.total += len(data)
        self.buf += data
        if len(self.buf) > 2 * self.cap:
            del self.buf[:-self.cap]

    def bytes(self) -> bytes:
        return bytes(self.buf[-self.cap:]) if self.cap else b""


def _read_into(fd: int, sinks: dict[int, _Tail], open_fds: set[int]) -> None:
    data = os.read(fd, 1 << 16)
    if data:
        sinks[fd].add(data)
    else:
        open_fds.discard(fd)


def _poll(fds: list[int], timeout_s: float, hang_up_only: int = -1) -> list[int]:
    """File descriptors ready to read (or at EOF/error); poll(2) has no FD_SETSIZE limit.
    ``hang_up_only``: a descriptor watched for hang-up alone (the host's command pipe).
    """
    poller = select.poll()
    for fd in fds:
        poller.register(fd, 0 if fd == hang_up_only else select.POLLIN)
    return [fd for fd, _ in poller.poll(max(0.0, timeout_s) * 1000)]


def _kill(pidfd: int | None) -> None:
    if pidfd is not None:
        try:
            signal.pidfd_send_signal(pidfd, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _kill_uid(uid: int) -> None:
    """In the rlimits fallback as root, kill every process owned by the job's private uid."""
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if os.stat(f"/proc/{name}").st_uid == uid:
                    os.kill(int(name), signal.SIGKILL)
            except OSError:
                pass


def _reap_orphans(deadline: float) -> None:
    """Reap everything that was reparented to this worker (it is a child subreaper)."""
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.001)


def supervise(pid: int, readers: dict[str, int], limits: dict[str, float], cfg: dict[str, Any],
              cmd: int, start: float, first_tick: list[tuple[int, int]]) -> dict[str, Any]:
    """Run the job to its end and return the reply for the host (raw result text, tails, status).

    ``first_tick``: what :meth:`QuietWait.wait` saw. Usually the result pipe's hang-up: the job has
    exited and is reaped at once, without a pidfd or another poll, and (namespaces mode) its pipes
    are read to their end. An empty list means the job outlived the tick: its output is read as it
    comes from the start.
    """
    res_r, reaped = readers["res"], None
    for fd, _ in first_tick:
        if fd == res_r:  # no writer left: the job has (almost surely) exited
            reaped = _reap_if_exited(pid)
            if reaped is not None and cfg["mode"] == "namespaces":
                return _ended_in_first_tick(reaped, readers, limits, cfg, start)
    out, err = _Tail(int(limits["output_bytes"])), _Tail(int(limits["output_bytes"]))
    res = _Tail(MAX_RESULT_BYTES + 1)
    sinks = {readers["out"]: out, readers["err"]: err, res_r: res}
    open_fds = set(sinks)
    timed_out = host_gone = oom = False
    if reaped is None:
        watched = _watch(pid, sinks, open_fds, limits, cfg, cmd, start, streaming=not first_tick)
        if isinstance(watched, dict):
            return watched
        reaped, timed_out, host_gone, oom = watched
    status, usage = reaped
    wall = time.monotonic() - start
    cg = cfg.get("cg")
    if cfg["mode"] == "rlimits":
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
        if cfg.get("job_uid") is not None:
            _kill_uid(cfg["job_uid"])
        _reap_orphans(time.monotonic() + 1.0)
    if cg is not None:
        oom = cg.oom_killed() or oom
    if cfg["mode"] == "namespaces":
        _drain_ended(sinks, open_fds)
    else:
        drain_until = time.monotonic() + 1.0
        while open_fds and time.monotonic() < drain_until:
            for fd in _poll(list(open_fds), 0.05):
                _read_into(fd, sinks, open_fds)
    for fd in sinks:
        os.close(fd)
    if host_gone:
        return {"event": "host_gone"}
    return _reply(status, usage, wall, timed_out, oom, out.bytes(), err.bytes(), res.first, res.bytes(), res.total)


def _ended_in_first_tick(reaped: tuple[int, Any], readers: dict[str, int], limits: dict[str, float],
                         cfg: dict[str, Any], start: float) -> dict[str, Any]:
    """The usual job (namespaces mode): reaped after its first tick's hang-up, its whole PID namespace
    gone, so each pipe holds at most one pipe buffer and has no writer: read it to the end.
    """
    status, usage = reaped
    wall = time.monotonic() - start
    cg = cfg["cg"]
    oom = cg is not None and cg.oom_killed()
    cap = int(limits["output_bytes"])
    out, err, res = (_read_to_end(readers[name]) for name in ("out", "err", "res"))
    return _reply(status, usage, wall, False, oom, out[-cap:] if cap else b"", err[-cap:] if cap else b"",
                  res[:1000], res, len(res))


def _read_to_end(fd: int) -> bytes:
    chunks = []
    while data := os.read(fd, 1 << 16):
        chunks.append(data)
    os.close(fd)
    return b"".join(chunks)


def _reply(status: int, usage: Any, wall: float, timed_out: bool, oom: bool, out: bytes, err: bytes,
           res_first: bytes, res_tail: bytes, res_total: int) -> dict[str, Any]:
    """The ``done`` reply, or ``infra`` if the job never reached its entry (no ``S`` marker first)."""
    marker, message = res_first[:1], res_first[1:].decode(errors="replace")
    if marker != b"S":  # the job never reached its entry function: infrastructure, not a verdict
        what = f"job set-up failed: {message}" if marker == b"X" else "job died during set-up"
        return {"event": "infra", "message": f"{what} (wait status {status})"}
    res_total -= 1
    overflow = res_total > MAX_RESULT_BYTES
    return {"event": "done", "status": status, "cpu_s": usage.ru_utime + usage.ru_stime, "wall_s": wall,
            "timed_out": timed_out, "stdout": out.decode(errors="replace"), "stderr": err.decode(errors="replace"),
            "result": None if overflow or not res_total else res_tail[1:].decode(errors="replace"),
            "result_overflow": overflow, "oom_kill": oom}


def _reap_if_exited(pid: int) -> tuple[int, Any] | None:
    """(wait status, rusage) if the job has exited, else None (it only closed its result pipe, or
    the kernel has not finished its exit yet).
    """
    done, status, usage = os.wait4(pid, os.WNOHANG)
    return (status, usage) if done else None


def _watch(pid: int, sinks: dict[int, _Tail], open_fds: set[int], limits: dict[str, float], cfg: dict[str, Any],
           cmd: int, start: float, streaming: bool) -> tuple[tuple[int, Any], bool, bool, bool] | dict[str, Any]:
    """Watch a job that is still running, through a pidfd (no pid-reuse race), until it ends:
    output, the wall clock, the host and (v1) OOM events. Returns ((status, rusage), timed_out,
    host_gone, oom), or an ``infra`` reply if a killed job would not go away.
    """
    pidfd = os.pidfd_open(pid)  # our unreaped child: cannot have been recycled
    deadline = start + float(limits["wall_seconds"])
    timed_out = host_gone = exited = oom = False
    cg = cfg.get("cg")
    oom_fd = [cg.oom_fd] if cg is not None and cg.oom_fd is not None else []
    while not exited:
        now = time.monotonic()
        if now >= deadline:
            if timed_out:
                break
            _kill(pidfd)
            timed_out, deadline = True, now + _GRACE_S
        watch = [pidfd, *(() if host_gone else (cmd,)), *oom_fd, *(open_fds if streaming else ())]
        ready = _poll(watch, deadline - time.monotonic() if streaming else
                      min(deadline - time.monotonic(), _DRAIN_EVERY_S), hang_up_only=cmd)
        for fd in ready:
            if fd == pidfd:
                exited = True
            elif oom_fd and fd == oom_fd[0]:  # v1: the kernel OOM-killed one process; end the whole job
                oom_fd = []
                oom = True
                _kill(pidfd)
            elif fd == cmd:  # hung up: the host is gone (a job it queued meanwhile is not read here)
                host_gone = True
                _kill(pidfd)
                deadline = min(deadline, time.monotonic())
            else:
                _read_into(fd, sinks, open_fds)
        if not ready and not streaming and open_fds:  # a quiet tick: from now on read output as it comes
            streaming = True
    if not exited:  # SIGKILLed yet still there after the grace period: the kernel is in trouble
        os.close(pidfd)
        return {"event": "infra", "message": f"job {pid} did not end {_GRACE_S} s after SIGKILL"}
    _, status, usage = os.wait4(pid, 0)
    os.close(pidfd)
    return (status, usage), timed_out, host_gone, oom


def _drain_ended(sinks: dict[int, _Tail], open_fds: set[int]) -> None:
    """Read each pipe to its end without polling. Namespaces mode only: once the job's PID 1 is
    reaped its whole PID namespace is gone, so no process holds a write end any more.
    """
    read = os.read
    for fd in open_fds:
        sink = sinks[fd]
        while data := read(fd, 1 << 16):
            sink.add(data)
    open_fds.clear()
