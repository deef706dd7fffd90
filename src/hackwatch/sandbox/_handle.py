"""One sandbox worker process as the host sees it: start-up handshake, one request at a time, close.

Split from ``_pool`` (which schedules jobs over many of these). The worker side is ``_worker``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

from hackwatch.sandbox._cgroup import PoolCgroups
from hackwatch.sandbox._types import SandboxUnavailable
from hackwatch.sandbox._view import host_interpreter
from hackwatch.sandbox._wire import recv_frame, send_frame

_UID_BASE = 1_000_000_000
"""Root hosts map a worker's uid 0 to _UID_BASE + 2*pid and its job uid 1 to the next one."""

_BOOT = ("import json, sys; cfg = json.loads(sys.stdin.readline()); sys.path[:] = cfg['sys_path']; "
         "from hackwatch.sandbox._worker import main; main(cfg)")
"""Worker bootstrap: the host's exact import path first, so preloads and entries resolve alike.
The configuration comes on stdin, not argv: a job can read its worker's /proc/1/cmdline. The worker
runs with ``-S``: no ``site`` processing, so ``.pth`` hooks of the host's environment (certifi
patches, distutils shims) neither run in the sandbox nor weigh on every job's fork."""


START_TIMEOUT_ENV = "HACKWATCH_SANDBOX_START_TIMEOUT"
"""Seconds a worker may take to start (interpreter, preloads, namespaces); default 300."""


def start_timeout() -> float:
    """The start-up limit from :data:`START_TIMEOUT_ENV` (default 300 s: preloads on a loaded machine are slow)."""
    raw = os.environ.get(START_TIMEOUT_ENV, "")
    try:
        value = float(raw) if raw else 300.0
    except ValueError:
        raise _StartFailed(f"{START_TIMEOUT_ENV}={raw!r}: expected a number of seconds > 0") from None
    if not value > 0:
        raise _StartFailed(f"{START_TIMEOUT_ENV}={raw!r}: expected a number of seconds > 0")
    return value


def _wait_readable(fd: int, timeout: float) -> bool:
    """poll(2) rather than select(2): host fds may be numbered above FD_SETSIZE."""
    from select import POLLIN, poll

    poller = poll()
    poller.register(fd, POLLIN)
    return bool(poller.poll(timeout * 1000))


class _CgroupRefused(SandboxUnavailable):
    """The worker could not enter or open its cgroup (the pool then runs without cgroups)."""


class _StartFailed(SandboxUnavailable):
    """The worker failed to start for a reason no fallback mends (a preload that does not import, a path to
    hide that could not be masked): the pool raises rather than fall back.
    """


class _NotStarted(SandboxUnavailable):
    """The job could not even be sent (the worker had died while idle)."""


class _Worker:
    """One worker process and its two pipes."""

    def __init__(self, mode: str, preload: Sequence[str], cgroups: PoolCgroups | None = None,
                 hide_paths: Sequence[str] = ()) -> None:
        self.mode, self.cgroups, self.cgroup_key = mode, cgroups, None
        cgroup_spec = None
        if cgroups is not None and cgroups.version:
            try:
                self.cgroup_key, cgroup_spec = cgroups.add_worker()
            except OSError as exc:
                raise _CgroupRefused(f"cgroup: cannot create the sandbox worker's groups: {exc}") from exc
        cmd_r, self.cmd = os.pipe()
        self.reply, reply_w = os.pipe()
        cfg = {"mode": mode, "preload": list(preload), "sys_path": [os.path.abspath(p) for p in sys.path],
               "cmd_fd": cmd_r, "reply_fd": reply_w, "host_maps": os.geteuid() == 0,
               "uid": os.geteuid(), "gid": os.getegid(), "home": os.environ.get("HOME"), "cgroup": cgroup_spec,
               "hide_paths": [os.path.abspath(p) for p in hide_paths], "interpreter": host_interpreter(),
               "fast_setup": not os.environ.get("HACKWATCH_SANDBOX_NO_C")}
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONHASHSEED": "0", "LANG": "C.UTF-8",
               "PYTHONDONTWRITEBYTECODE": "1"}
        try:
            self.proc = subprocess.Popen([sys.executable, "-S", "-c", _BOOT], pass_fds=(cmd_r, reply_w), env=env,
                                         cwd="/", stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                         start_new_session=True)  # no terminal signals (Ctrl-C) reach it
            assert self.proc.stdin is not None
            try:
                self.proc.stdin.write(json.dumps(cfg).encode() + b"\n")
                self.proc.stdin.close()
            except OSError:  # died at once: the handshake reports it
                pass
        finally:
            os.close(cmd_r)
            os.close(reply_w)
        self.proc_info: dict[str, Any] = {}

    def handshake(self) -> None:
        """Finish start-up (write the uid maps if the host is root); raise SandboxUnavailable on refusal.

        A worker that says nothing for :func:`start_timeout` seconds (a preload that hangs) is killed and the
        pool raises, instead of waiting for ever.
        """
        limit = start_timeout()
        deadline = time.monotonic() + limit
        while True:
            if not _wait_readable(self.reply, max(0.0, deadline - time.monotonic())):
                self.proc.kill()
                raise _StartFailed(f"sandbox worker did not finish start-up within {limit:g} s (a preload that "
                                   f"hangs on import?); {START_TIMEOUT_ENV} sets the limit")
            frame = recv_frame(self.reply)
            if frame is None:
                raise SandboxUnavailable(f"sandbox worker exited during start-up (code {self.proc.wait()})")
            msg = json.loads(frame)
            if msg["event"] == "unshared":
                base = _UID_BASE + 2 * self.proc.pid
                try:
                    with open(f"/proc/{self.proc.pid}/uid_map", "w") as fh:
                        fh.write(f"0 {base} 2\n")
                    with open(f"/proc/{self.proc.pid}/gid_map", "w") as fh:
                        fh.write(f"0 {base} 2\n")
                except OSError as exc:
                    send_frame(self.cmd, b"no")
                    raise SandboxUnavailable(f"cannot write uid/gid maps of the sandbox worker: {exc}") from exc
                send_frame(self.cmd, b"go")
            elif msg["event"] == "ready":
                self.proc_info = msg
                return
            elif msg.get("cgroup"):
                raise _CgroupRefused(str(msg.get("message")))
            elif msg.get("fatal"):
                raise _StartFailed(f"sandbox worker could not start: {msg.get('message')}")
            else:
                raise SandboxUnavailable(f"sandbox worker refused to start: {msg.get('message')}")

    def send(self, job: bytes) -> None:
        """Send one job; ``_NotStarted`` if the worker was already gone (the job never ran)."""
        if self.proc.poll() is not None:
            raise _NotStarted(f"worker exited with {self.proc.returncode}")
        try:
            send_frame(self.cmd, job)
        except OSError as exc:
            raise _NotStarted(str(exc)) from exc

    def receive(self) -> dict[str, Any]:
        """The reply to the job sent last; call it once the reply pipe is readable (it blocks)."""
        try:
            frame = recv_frame(self.reply)
        except OSError as exc:
            raise SandboxUnavailable(f"sandbox worker {self.proc.pid} pipe failed: {exc}") from exc
        if frame is None:
            raise SandboxUnavailable(f"sandbox worker {self.proc.pid} died during the job "
                                     f"(exit {self.proc.wait()})")
        return json.loads(frame)

    def kill_unanswering(self, timeout: float) -> SandboxUnavailable:
        """Kill a worker that gave no reply in ``timeout`` seconds; the error to raise for its job."""
        self.proc.kill()
        return SandboxUnavailable(f"sandbox worker {self.proc.pid} gave no answer in {timeout:.0f} s; killed it")

    def request(self, job: bytes, timeout: float) -> dict[str, Any]:
        """Send one job and wait for its reply; ``_NotStarted`` if the worker was already gone."""
        self.send(job)
        if not _wait_readable(self.reply, timeout):
            raise self.kill_unanswering(timeout)
        return self.receive()

    def close(self) -> None:
        for fd in (self.cmd, self.reply):
            try:
                os.close(fd)
            except OSError:
                pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.cgroups is not None and self.cgroup_key is not None:
            self.cgroups.remove_worker(self.cgroup_key)
            self.cgroup_key = None
