"""The host side: a warm pool of sandbox workers, thread-safe ``run`` and ordered parallel ``map``.

Each worker is a separate interpreter started once (``python -m hackwatch.sandbox._worker``) that
sets up its namespaces and preloads modules; every job is then a fork of it. A worker that dies is
replaced and the job raises :class:`SandboxUnavailable`; a job that misbehaves only gets a result.
"""

from __future__ import annotations

import json
import os
import pickle
import queue
import subprocess
import sys
import threading
import warnings
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Literal

from hackwatch.sandbox._cgroup import PoolCgroups
from hackwatch.sandbox._classify import to_result
from hackwatch.sandbox._types import Limits, RunResult, SandboxUnavailable
from hackwatch.sandbox._wire import recv_frame, send_frame

_DEFAULT_LIMITS = Limits()
_ANSWER_MARGIN_S = 30.0
"""A worker answers within the job's wall limit plus this margin, or it is killed as broken."""
_UID_BASE = 1_000_000_000
"""Root hosts map a worker's uid 0 to _UID_BASE + 2*pid and its job uid 1 to the next one."""

_BOOT = ("import json, sys; sys.path[:] = json.loads(sys.argv[1])['sys_path']; "
         "from hackwatch.sandbox._worker import main; main()")
"""Worker bootstrap: the host's exact import path first, so preloads and entries resolve alike."""


def _wait_readable(fd: int, timeout: float) -> bool:
    """poll(2) rather than select(2): host fds may be numbered above FD_SETSIZE."""
    from select import POLLIN, poll

    poller = poll()
    poller.register(fd, POLLIN)
    return bool(poller.poll(timeout * 1000))


_warned_no_cgroup = False


def _warn_no_cgroup(reason: str | None) -> None:
    """Say once per process that jobs get per-process memory limits only."""
    global _warned_no_cgroup
    if not _warned_no_cgroup:
        _warned_no_cgroup = True
        warnings.warn(f"hackwatch sandbox: no writable cgroup ({reason}); memory and processes are limited "
                      "per process only (a job may hold processes x memory_mb). pool.cgroup and "
                      "RunResult.cgroup are None.", RuntimeWarning, stacklevel=3)


class _NotStarted(SandboxUnavailable):
    """The job could not even be sent (the worker had died while idle)."""


class _Worker:
    """One worker process and its two pipes."""

    def __init__(self, mode: str, preload: Sequence[str], cgroups: PoolCgroups | None = None) -> None:
        self.mode, self.cgroups, self.cgroup_key = mode, cgroups, None
        cgroup_spec = None
        if cgroups is not None and cgroups.version:
            try:
                self.cgroup_key, cgroup_spec = cgroups.add_worker()
            except OSError as exc:
                raise SandboxUnavailable(f"cannot create the sandbox worker's cgroup: {exc}") from exc
        cmd_r, self.cmd = os.pipe()
        self.reply, reply_w = os.pipe()
        cfg = {"mode": mode, "preload": list(preload), "sys_path": [os.path.abspath(p) for p in sys.path],
               "cmd_fd": cmd_r, "reply_fd": reply_w, "host_maps": os.geteuid() == 0,
               "uid": os.geteuid(), "gid": os.getegid(), "home": os.environ.get("HOME"), "cgroup": cgroup_spec}
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONHASHSEED": "0", "LANG": "C.UTF-8",
               "PYTHONDONTWRITEBYTECODE": "1"}
        try:
            self.proc = subprocess.Popen([sys.executable, "-c", _BOOT, json.dumps(cfg)],
                                         pass_fds=(cmd_r, reply_w), env=env, cwd="/",
                                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        finally:
            os.close(cmd_r)
            os.close(reply_w)
        self.proc_info: dict[str, Any] = {}

    def handshake(self) -> None:
        """Finish start-up (write the uid maps if the host is root); raise SandboxUnavailable on refusal."""
        while True:
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
            else:
                raise SandboxUnavailable(f"sandbox worker refused to start: {msg.get('message')}")

    def request(self, job: bytes, timeout: float) -> dict[str, Any]:
        """Send one job and wait for its reply; ``_NotStarted`` if the worker was already gone."""
        if self.proc.poll() is not None:
            raise _NotStarted(f"worker exited with {self.proc.returncode}")
        try:
            send_frame(self.cmd, job)
        except OSError as exc:
            raise _NotStarted(str(exc)) from exc
        if not _wait_readable(self.reply, timeout):
            self.proc.kill()
            raise SandboxUnavailable(f"sandbox worker {self.proc.pid} gave no answer in {timeout:.0f} s; killed it")
        try:
            frame = recv_frame(self.reply)
        except OSError as exc:
            raise SandboxUnavailable(f"sandbox worker {self.proc.pid} pipe failed: {exc}") from exc
        if frame is None:
            raise SandboxUnavailable(f"sandbox worker {self.proc.pid} died during the job "
                                     f"(exit {self.proc.wait()})")
        return json.loads(frame)

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


class SandboxPool:
    """A warm pool of isolated workers. ``run`` and ``map`` are thread-safe; use as a context manager."""

    def __init__(self, workers: int | None = None, *, limits: Limits = _DEFAULT_LIMITS,
                 mode: Literal["auto", "namespaces", "rlimits"] = "auto", preload: Sequence[str] = (),
                 cgroup: Literal["auto", "off"] = "auto") -> None:
        if mode not in ("auto", "namespaces", "rlimits"):
            raise ValueError(f"mode must be 'auto', 'namespaces' or 'rlimits', got {mode!r}")
        if cgroup not in ("auto", "off"):
            raise ValueError(f"cgroup must be 'auto' or 'off', got {cgroup!r}")
        self.workers = int(workers or os.cpu_count() or 1)
        if self.workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}; pass None for os.cpu_count()")
        self.limits, self.preload = limits, tuple(preload)
        self._lock, self._closed = threading.Lock(), False
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._all: list[_Worker] = []
        self.mode = "rlimits" if mode == "rlimits" else "namespaces"
        self._cgroups: PoolCgroups | None = None
        self.cgroup: str | None = None
        """"v1"/"v2": every job runs in its own cgroup (total memory, no swap, pids.max); None: rlimits only."""
        if cgroup == "auto":
            self._cgroups = PoolCgroups()
            self.cgroup = self._cgroups.version
            if self.cgroup is None:
                _warn_no_cgroup(self._cgroups.reason)
        try:
            first = self._first_worker(mode)
        except BaseException:
            self.close()  # also removes the pool's cgroups
            raise
        self.proc_mounted = bool(first.proc_info.get("proc"))
        self._idle.put(first)
        try:
            for worker in self._spawn_many(self.workers - 1):
                self._idle.put(worker)
        except BaseException:
            self.close()
            raise

    def _first_worker(self, mode: str) -> _Worker:
        """Start one worker; in mode "auto", fall back (loudly) to rlimits if namespaces are refused."""
        try:
            return self._spawn()
        except SandboxUnavailable as exc:
            if mode == "namespaces":
                raise
            warnings.warn(f"hackwatch sandbox: Linux namespaces unavailable ({exc}); falling back to "
                          "mode='rlimits' - NO network, filesystem or PID isolation, only resource limits. "
                          "Every result records mode='rlimits'.", RuntimeWarning, stacklevel=4)
            self.mode = "rlimits"
            return self._spawn()

    def _spawn(self) -> _Worker:
        return self._spawn_many(1)[0]

    def _spawn_many(self, n: int) -> list[_Worker]:
        """Start ``n`` workers at once (interpreter start-ups overlap), then finish each handshake."""
        started: list[_Worker] = []
        try:
            for _ in range(n):
                started.append(_Worker(self.mode, self.preload, self._cgroups))
            for worker in started:
                worker.handshake()
        except BaseException:
            for worker in started:
                worker.close()
            raise
        with self._lock:
            self._all.extend(started)
        return started

    def run(self, entry: str, payload: Any, *, limits: Limits | None = None) -> RunResult:
        """Run ``entry(payload)`` in a fresh isolated job on a warm worker; see :class:`RunResult`."""
        if self._closed:
            raise SandboxUnavailable("SandboxPool is closed; create a new one")
        use = limits or self.limits
        job = pickle.dumps({"entry": entry, "payload": payload, "limits": use.to_dict()},
                           protocol=pickle.HIGHEST_PROTOCOL)
        for attempt in range(2):
            worker = self._take()
            try:
                reply = worker.request(job, use.wall_seconds + _ANSWER_MARGIN_S)
                break
            except _NotStarted as exc:  # died while idle: the job never ran, so run it on a fresh one
                self._replace(worker)
                if attempt:
                    raise SandboxUnavailable(f"sandbox workers keep dying before a job starts: {exc}") from exc
            except SandboxUnavailable:
                self._replace(worker)
                raise
        self._idle.put(worker)
        if reply["event"] == "bad_entry":
            raise ValueError(reply["message"])
        if reply["event"] != "done":
            raise SandboxUnavailable(f"sandbox job failed to run: {reply.get('message', reply['event'])}")
        return to_result(reply, use, self.mode, self.cgroup)

    def _take(self) -> _Worker:
        """An idle worker; waits while all are busy, raises once none is left (or the pool closed)."""
        while True:
            try:
                return self._idle.get(timeout=0.5)
            except queue.Empty:
                with self._lock:
                    if self._closed or not self._all:
                        raise SandboxUnavailable("no sandbox worker left (all died and could not be "
                                                 "restarted, or the pool was closed)") from None

    def _replace(self, worker: _Worker) -> None:
        with self._lock:
            if worker in self._all:
                self._all.remove(worker)
        worker.close()
        if not self._closed:
            try:
                self._idle.put(self._spawn())
            except SandboxUnavailable:
                pass  # the pool shrinks; the next run still has the other workers

    def map(self, entry: str, payloads: Iterable[Any], *, limits: Limits | None = None) -> Iterator[RunResult]:
        """Results in input order, with all workers busy; at most 2 x workers jobs queued ahead."""
        with ThreadPoolExecutor(max_workers=self.workers) as executor:
            pending: deque[Future[RunResult]] = deque()
            for payload in payloads:
                pending.append(executor.submit(self.run, entry, payload, limits=limits))
                if len(pending) >= 2 * self.workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()

    def close(self) -> None:
        """Stop every worker; no process of the pool is left afterwards."""
        self._closed = True
        with self._lock:
            workers, self._all = list(self._all), []
        for worker in workers:
            worker.close()
        if getattr(self, "_cgroups", None) is not None:
            self._cgroups.close()

    def __enter__(self) -> SandboxPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        if not getattr(self, "_closed", True):
            self.close()
