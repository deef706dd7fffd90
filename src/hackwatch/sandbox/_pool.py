"""The host side: a warm pool of sandbox workers, thread-safe ``run`` and ordered parallel ``map``.

Each worker is a separate interpreter started once (``python -m hackwatch.sandbox._worker``) that
sets up its namespaces and preloads modules; every job is then a fork of it. A worker that dies is
replaced and the job raises :class:`SandboxUnavailable`; a job that misbehaves only gets a result.
"""

from __future__ import annotations

import atexit
import os
import pickle
import queue
import threading
import warnings
import weakref
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Literal

from hackwatch.sandbox._cgroup import PoolCgroups
from hackwatch.sandbox._classify import to_result
from hackwatch.sandbox._handle import _CgroupRefused, _NotStarted, _StartFailed, _Worker
from hackwatch.sandbox._multiplex import ordered_map
from hackwatch.sandbox._types import Limits, RunResult, SandboxUnavailable

_DEFAULT_LIMITS = Limits()


def _job_bytes(entry: str, payload: Any, limits: dict[str, float]) -> bytes:
    """One job as the worker reads it (pickled: the host -> worker direction is the trusted one).
    ``limits``: :meth:`Limits.to_dict`, computed once per ``map`` (``dataclasses.asdict`` is slow).
    """
    return pickle.dumps({"entry": entry, "payload": payload, "limits": limits}, protocol=pickle.HIGHEST_PROTOCOL)

_warned_no_cgroup = False
_open_pools: weakref.WeakSet[SandboxPool] = weakref.WeakSet()


@atexit.register
def _close_open_pools() -> None:
    """Close the pools a program forgot to close (workers stopped, cgroups removed) at normal exit."""
    for pool in list(_open_pools):
        if pool._owner == os.getpid():  # not in a forked child: the pool belongs to the parent
            pool.close()


def _warn_no_cgroup(reason: str | None) -> None:
    """Say once per process that jobs get per-process memory limits only."""
    global _warned_no_cgroup
    if not _warned_no_cgroup:
        _warned_no_cgroup = True
        warnings.warn(f"hackwatch sandbox: no writable cgroup ({reason}); memory and processes are limited "
                      "per process only (a job may hold processes x memory_mb). pool.cgroup and "
                      "RunResult.cgroup are None.", RuntimeWarning, stacklevel=3)


class SandboxPool:
    """A warm pool of isolated workers. ``run`` and ``map`` are thread-safe; use as a context manager."""

    def __init__(self, workers: int | None = None, *, limits: Limits = _DEFAULT_LIMITS,
                 mode: Literal["auto", "namespaces", "rlimits"] = "auto", preload: Sequence[str] = (),
                 cgroup: Literal["auto", "off"] = "auto", hide_paths: Sequence[str | os.PathLike[str]] = ()) -> None:
        if mode not in ("auto", "namespaces", "rlimits"):
            raise ValueError(f"mode must be 'auto', 'namespaces' or 'rlimits', got {mode!r}")
        if cgroup not in ("auto", "off"):
            raise ValueError(f"cgroup must be 'auto' or 'off', got {cgroup!r}")
        self.workers = int(workers or os.cpu_count() or 1)
        if self.workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}; pass None for os.cpu_count()")
        self.limits, self.preload = limits, tuple(preload)
        self.answer_margin_s = 30.0
        """A worker answers within the job's wall limit plus this margin, or it is killed as broken."""
        self.hide_paths = tuple(os.fspath(p) for p in hide_paths)
        """Host paths masked in the jobs' filesystem view even where it would show them (namespaces mode)."""
        self._lock, self._closed, self._owner = threading.Lock(), False, os.getpid()
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
        _open_pools.add(self)
        try:
            started = self._start_workers(mode)
        except BaseException:
            self.close()  # also removes the pool's cgroups
            raise
        self.proc_mounted = bool(started[0].proc_info.get("proc"))
        for worker in started:
            self._idle.put(worker)

    def _start_workers(self, mode: str) -> list[_Worker]:
        """Start every worker at once in the isolation the pool hopes for, then adjust if it was refused.

        All workers start together (their interpreter start-ups and preloads overlap) in namespaces
        mode with the host's cgroups: whatever refuses one worker refuses them all, so a refusal
        stops every started worker and the pool starts again without cgroups (a worker could not use
        them) or, in mode "auto", loudly in rlimits mode (namespaces refused). A preload that does not
        import (every mode fails alike) or a path to hide that cannot be masked (rlimits mode hides
        nothing) is no refusal: it raises at once. Before, one worker
        started alone to learn this and the others only after it: on two cores about a worker's
        start-up more per pool.
        """
        try:
            return self._spawn_many(self.workers)
        except _CgroupRefused as exc:
            if self._cgroups is not None:
                self._cgroups.close()
            self._cgroups, self.cgroup = None, None
            _warn_no_cgroup(str(exc))
            return self._start_workers(mode)
        except _StartFailed:  # not a refusal: rlimits workers would fail alike, or hide nothing
            raise
        except SandboxUnavailable as exc:
            if mode == "namespaces" or self.mode == "rlimits":
                raise
            warnings.warn(f"hackwatch sandbox: Linux namespaces unavailable ({exc}); falling back to "
                          "mode='rlimits' - NO network, filesystem or PID isolation, only resource limits. "
                          "Every result records mode='rlimits'.", RuntimeWarning, stacklevel=4)
            self.mode = "rlimits"
            return self._start_workers(mode)  # a cgroup refused there still drops cgroups; a refusal raises

    def _spawn(self) -> _Worker:
        return self._spawn_many(1)[0]

    def _spawn_many(self, n: int) -> list[_Worker]:
        """Start ``n`` workers at once (interpreter start-ups overlap), then finish each handshake."""
        started: list[_Worker] = []
        try:
            for _ in range(n):
                started.append(_Worker(self.mode, self.preload, self._cgroups, self.hide_paths))
            for worker in started:
                worker.handshake()
        except BaseException:
            for worker in started:  # none has run a job: stop them now rather than wait 5 s for each to exit
                if worker.proc.poll() is None:
                    worker.proc.kill()
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
        job = _job_bytes(entry, payload, use.to_dict())
        for attempt in range(self.workers + 1):  # every idle worker may have died: each is replaced once
            worker = self._take()
            try:
                reply = worker.request(job, use.wall_seconds + self.answer_margin_s)
                break
            except _NotStarted as exc:  # died while idle: the job never ran, so run it on a fresh one
                self._replace(worker)
                if attempt == self.workers:
                    raise SandboxUnavailable(f"sandbox workers keep dying before a job starts: {exc}") from exc
            except SandboxUnavailable:
                self._replace(worker)
                raise
        self._idle.put(worker)
        return self._answer(reply, use)

    def _answer(self, reply: dict[str, Any], limits: Limits) -> RunResult:
        """The result of a worker's reply, or the error :meth:`run` raises for it."""
        if reply["event"] == "bad_entry":
            raise ValueError(reply["message"])
        if reply["event"] != "done":
            raise SandboxUnavailable(f"sandbox job failed to run: {reply.get('message', reply['event'])}")
        return to_result(reply, limits, self.mode, self.cgroup)

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

    def _take_nowait(self) -> _Worker | None:
        """An idle worker if one is free right now, else None."""
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            return None

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
        """Results in input order, with every worker busy while payloads remain.

        The calling thread drives the workers (``_multiplex``): no thread or future per job. Each
        job behaves as :meth:`run` would; a failed one raises at its place in the order. Payloads are
        read lazily, one per free worker.
        """
        if self._closed:  # raised on the first ``next``, like any failure of a job
            raise SandboxUnavailable("SandboxPool is closed; create a new one")
        use = limits or self.limits
        as_dict = use.to_dict()
        yield from ordered_map(self, lambda payload: _job_bytes(entry, payload, as_dict), iter(payloads), use,
                               lambda reply: self._answer(reply, use))

    def close(self) -> None:
        """Stop every worker; no process of the pool is left afterwards."""
        self._closed = True
        _open_pools.discard(self)
        with self._lock:
            workers, self._all = list(self._all), []
        for worker in workers:
            worker.close()
        cgroups = getattr(self, "_cgroups", None)
        roots = dict(cgroups.roots) if cgroups is not None else {}
        if cgroups is not None and roots and not cgroups.close():
            warnings.warn(f"hackwatch sandbox: could not remove the pool's cgroups {sorted(roots.values())} "
                          "(processes still inside after 30 s); the next pool removes them", RuntimeWarning,
                          stacklevel=2)

    def __enter__(self) -> SandboxPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        if not getattr(self, "_closed", True):
            self.close()
