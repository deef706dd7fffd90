"""What runs when the worker forks a job, on both sides of the fork.

In namespaces mode the job is PID 1 of a fresh PID namespace inside its worker's allowlist view
(``_view``; the worker mounted a fresh private /tmp and /dev/shm for it), drops every privilege,
applies rlimits, pins its environment and calls the entry function. When it exits the kernel kills everything else in its
PID namespace, so nothing it started survives.
"""

from __future__ import annotations

import functools
import json
import json.encoder
import os
import resource
import signal
import sys
import traceback
from collections.abc import Callable
from typing import Any

from hackwatch.sandbox import _linux as lx

try:
    from hackwatch.sandbox import _fastjob as FAST  # noqa: N812 - the optional C extension (setup.py)
except ImportError:  # not built (no C compiler at install time): the same steps in Python
    FAST = None  # type: ignore[assignment]
"""The C fork-and-set-up path, or None. A worker started with ``fast_setup`` off sets it to None."""

MAX_RESULT_BYTES = 16 * 1024 * 1024
"""Largest JSON result accepted from a job; larger ones are discarded (value None, error set)."""

JOB_UID = 1
"""uid/gid the job switches to inside its user namespace when the host mapped two ids (root hosts)."""


def job_env() -> dict[str, str]:
    """The fixed, minimal environment of every job (no host variables leak in)."""
    bindir = os.path.dirname(sys.executable)
    return {"PATH": f"{bindir}:/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "TMPDIR": "/tmp",
            "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"}


def job_identity(cfg: dict[str, Any]) -> tuple[Any, ...]:
    """The part of every job's plan that is fixed for a worker, computed once after its set-up: (own
    PID namespace fd or -1, PDEATHSIG wanted, cgroup entry fds, job uid or -1, last capability number
    to drop up to or -1).
    """
    cg = cfg.get("cg")
    uid = cfg.get("job_uid")
    namespaces = cfg["mode"] == "namespaces"
    return (cfg["pidns_fd"] if namespaces else -1, not namespaces, tuple(cg.job_procs) if cg is not None else (),
            -1 if uid is None else uid, lx.last_capability() if namespaces and uid is None else -1)


def job_plan(identity: tuple[Any, ...], limits: dict[str, float], fds: dict[str, int],
             nproc_backstop: bool) -> tuple[Any, ...]:
    """Everything the job's fork and set-up read, in one tuple built by the worker before the fork:
    (own PID namespace fd or -1, PDEATHSIG wanted, cgroup entry fds, stdout, stderr and result pipe
    ends, job uid or -1, last capability number to drop up to or -1, rlimit plan); ``identity`` is
    :func:`job_identity`.

    The same tuple feeds the C set-up (``_fastjob.fork_job``) and the Python one: in the forked job
    every Python object touched costs a copy-on-write page fault, so the Python set-up too only
    unpacks it into locals and makes its system calls.
    """
    pidns_fd, pdeathsig, cgroup_fds, uid, drop_caps_last = identity
    return (pidns_fd, pdeathsig, cgroup_fds, fds["out_w"], fds["err_w"], fds["res_w"], uid, drop_caps_last,
            plan_for(limits, nproc_backstop))


def fork_job(fn: Callable[[Any], Any], payload: Any, plan: tuple[Any, ...]) -> int:
    """Fork the job, in a fresh PID namespace in namespaces mode; return its pid (host view).

    ``unshare(CLONE_NEWPID)`` only works while the worker's namespace for children is its own, so
    the worker first ``setns``-es back from the last job's (dead) namespace. Both happen before the
    fork: while the job lives, every page the worker writes is copied (see ``_supervise``). With the
    C extension built (:data:`FAST`), the fork and the job's whole set-up run in C.
    """
    if FAST is not None:
        pid: int = FAST.fork_job(*plan)
        if pid == 0:
            try:
                _call(fn, payload)
            finally:
                os._exit(70)
        return pid
    if plan[0] >= 0:
        lx.fresh_pid_namespace_for_children(plan[0])
    pid = lx.raw_fork()  # the worker is single-threaded
    if pid == 0:
        try:
            _job(fn, payload, plan)
        finally:
            os._exit(70)
    return pid


def _job(fn: Callable[[Any], Any], payload: Any, plan: tuple[Any, ...]) -> None:
    """The job: isolate, limit and run ``fn(payload)``; exits through ``os._exit``.

    The result pipe starts with one marker byte written by trusted code before the entry runs:
    ``S`` (set-up done) or ``X`` + a message (set-up failed: an infrastructure error, not a verdict).
    """
    try:
        _attach(plan)
    except BaseException as exc:  # noqa: BLE001 - reported as infrastructure failure
        _setup_failed(plan[5], exc)
    try:
        _restrict(plan)
    except BaseException as exc:  # noqa: BLE001 - reported as infrastructure failure
        _setup_failed(3, exc)
    os.write(3, b"S")
    _call(fn, payload)


def _setup_failed(report_fd: int, exc: BaseException) -> None:
    try:
        os.write(report_fd, f"X{type(exc).__name__}: {exc}".encode()[:1000])
    finally:
        os._exit(70)


def _attach(plan: tuple[Any, ...]) -> None:
    """Trusted set-up, first half: the job's cgroup (total memory and task limits for all its
    processes), its own session and process group (``kill(0, ...)`` cannot reach the worker), and
    stdin ``/dev/null``, stdout, stderr and the result pipe as fds 0-3.
    """
    pdeathsig, cgroup_fds, out_w, err_w, res_w = plan[1:6]
    if pdeathsig:  # rlimits mode; in namespaces mode the worker is PID 1 of an ancestor PID namespace:
        lx.prctl(lx.PR_SET_PDEATHSIG, signal.SIGKILL)  # its death already kills every job below it
    for fd in cgroup_fds:
        os.write(fd, b"0")
    os.setsid()
    devnull = os.open("/dev/null", os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(out_w, 1)
    os.dup2(err_w, 2)
    os.dup2(res_w, 3)


def _restrict(plan: tuple[Any, ...]) -> None:
    """Trusted set-up, second half: every other descriptor closed (``close_range``), cwd ``/tmp``,
    privileges dropped, rlimits. The worker already did what a fork inherits: the job's environment
    (:func:`job_env`, so also no cached ``tempfile.tempdir`` from the host) and
    ``PR_SET_NO_NEW_PRIVS``.
    """
    uid, drop_caps_last, rlimits = plan[6:]
    os.closerange(4, 2**31 - 1)
    os.chdir("/tmp")
    if uid >= 0:  # leave root for the job uid
        os.setgroups(())
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
    elif drop_caps_last >= 0:  # only one uid mapped: empty every capability set instead
        lx.drop_all_capabilities()
    _set_rlimits(rlimits)
    if uid >= 0:  # a uid change made the job non-dumpable: its /proc entries
        lx.job_prctl(lx.PR_SET_DUMPABLE, 1)  # would belong to (overflow) root and be unreadable to it


@functools.lru_cache(maxsize=16)
def rlimit_plan(cpu_seconds: float, memory_mb: float, processes: float, file_size_mb: float, open_files: float,
                nproc_backstop: bool) -> tuple[tuple[int, tuple[int, int]], ...]:
    """(resource, (soft, hard)) to set, capped at the worker's hard limits; computed (and cached) in
    the worker before the fork, so the job only makes the setrlimit calls.
    """
    cpu = max(1, int(-(-cpu_seconds // 1)))
    nproc = int(processes) * (2 if nproc_backstop else 1)
    mib = 1024 * 1024
    plan = []
    for which, value in ((resource.RLIMIT_CPU, (cpu, cpu + 1)),
                         (resource.RLIMIT_AS, (int(memory_mb) * mib,) * 2),
                         (resource.RLIMIT_NPROC, (nproc, nproc)),
                         (resource.RLIMIT_FSIZE, (int(file_size_mb) * mib,) * 2),
                         (resource.RLIMIT_NOFILE, (int(open_files),) * 2),
                         (resource.RLIMIT_CORE, (0, 0))):
        _, hard = resource.getrlimit(which)
        new = tuple(v if hard == resource.RLIM_INFINITY else min(v, hard) for v in value)
        plan.append((which, new))
    return tuple(plan)  # type: ignore[return-value]


def plan_for(limits: dict[str, float], nproc_backstop: bool) -> tuple[tuple[int, tuple[int, int]], ...]:
    return rlimit_plan(limits["cpu_seconds"], limits["memory_mb"], limits["processes"], limits["file_size_mb"],
                       limits["open_files"], nproc_backstop)


def _set_rlimits(rlimits: tuple[tuple[int, tuple[int, int]], ...]) -> None:
    """Per-process limits (:func:`rlimit_plan`). With a pids cgroup (exact, per job) RLIMIT_NPROC is
    only a 2x backstop.
    """
    for which, value in rlimits:
        resource.setrlimit(which, value)


def echo(payload: Any) -> Any:
    """Return the payload unchanged: the cheapest possible job (benchmarks, health checks)."""
    return payload


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001 - a closed or broken stream must not mask the result
            pass


def _not_json(obj: Any) -> Any:
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


ENCODE = json.encoder.c_make_encoder(  # type: ignore[attr-defined]
    None, _not_json, json.encoder.encode_basestring_ascii, None, ": ", ", ", False, False, True)
"""``json.dumps`` without its per-call encoder construction (~40 fewer copy-on-write faults per job).
No circular-reference markers: a cyclic value ends in RecursionError, reported like any non-JSON value."""


def _write_result(obj: dict[str, Any]) -> bool:
    try:
        data = "".join(ENCODE(obj, 0)).encode() if ENCODE is not None else json.dumps(obj).encode()
    except (TypeError, ValueError, RecursionError) as exc:
        data = json.dumps({"error": f"result is not JSON-serializable: {type(exc).__name__}: {exc}"}).encode()
        obj = {}
    view = memoryview(data)
    while view:
        view = view[os.write(3, view):]
    return "value" in obj


def _call(fn: Callable[[Any], Any], payload: Any) -> None:
    """Run the entry; the result goes to fd 3 as JSON, exit status 0 on a normal return."""
    try:
        value = fn(payload)
    except SystemExit as exc:
        _flush()
        code = exc.code
        if isinstance(code, int):
            os._exit(code & 0xFF)
        if code is not None:
            print(code, file=sys.stderr)
        _flush()
        os._exit(0 if code is None else 1)
    except MemoryError as exc:
        _write_result({"error": f"MemoryError: {exc}"[:500]})
        _flush()
        os._exit(1)
    except BaseException as exc:  # noqa: BLE001 - report anything the entry raised
        traceback.print_exc()
        _write_result({"error": f"{type(exc).__name__}: {exc}"[:500]})
        _flush()
        os._exit(1)
    ok = _write_result({"value": value})
    _flush()
    os._exit(0 if ok else 1)
