"""A warm sandbox worker: set up its namespaces once, then fork one isolated job per request.

Started by :class:`SandboxPool` (``python -c BOOT`` with the JSON configuration on stdin, see ``_handle._BOOT``). It talks to
the host over two pipes with length-prefixed frames: pickled jobs in (trusted direction), JSON
replies out (the host never unpickles anything a worker or job wrote).
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import pickle
import shutil
import signal
import sys
import time
from typing import Any

from hackwatch.sandbox import _job, _view
from hackwatch.sandbox import _linux as lx
from hackwatch.sandbox._cgroup import JobCgroup
from hackwatch.sandbox._job import ENCODE, fork_job, job_env, job_identity, job_plan
from hackwatch.sandbox._preload import preload
from hackwatch.sandbox._supervise import QuietWait, supervise
from hackwatch.sandbox._wire import recv_frame, send_frame


def setup_namespaces(cfg: dict[str, Any], cmd: int, reply: int) -> dict[str, Any]:
    """Enter new user/mount/net/IPC/UTS/PID namespaces and pivot into the allowlist view (``_view``)."""
    interpreter = cfg.get("interpreter") or _view.host_interpreter()
    exposed = _view.allowlist(cfg["sys_path"], interpreter)
    links = _view.interpreter_links(exposed, interpreter)
    mask = _view.masked(exposed, cfg.get("hide_paths") or (), cfg.get("home"))
    lx.unshare(lx.CLONE_NEWUSER | lx.CLONE_NEWNS | lx.CLONE_NEWNET | lx.CLONE_NEWIPC | lx.CLONE_NEWUTS
               | lx.CLONE_NEWPID)
    sources = _view.open_sources(exposed, links)  # opened while our uid may still read them (e.g. /root/.pyenv)
    job_uid = None
    if cfg["host_maps"]:  # root host: the host maps 0 -> an unprivileged uid B, 1 -> B + 1
        send_frame(reply, json.dumps({"event": "unshared"}).encode())
        if recv_frame(cmd) != b"go":
            raise OSError("host did not write the uid/gid maps")
        os.setgroups([])
        os.setresgid(0, 0, 0)
        os.setresuid(0, 0, 0)
        job_uid = 1
    else:  # unprivileged host: map our own uid to 0; jobs drop all capabilities instead
        lx.write_id_maps("self", f"0 {cfg['uid']} 1", f"0 {cfg['gid']} 1", deny_setgroups=True)
    lx.sethostname("sandbox")
    lx.mount(None, "/", None, lx.MS_REC | lx.MS_PRIVATE)
    _view.build_root(sources, mask)
    _become_pid1()
    proc = _view.enter_root()
    pidns_fd = os.open("/proc/self/ns/pid", os.O_RDONLY)
    return {"job_uid": job_uid, "pidns_fd": pidns_fd, "proc": proc, "tmp_state": {}, "masks": _view.mask_state(mask)}


def _become_pid1() -> None:
    """Fork the real worker as PID 1 of the new PID namespace; this (outer) process only waits.

    Killing the outer process kills the worker (PDEATHSIG) and, with it, every job below it.
    """
    pid = os.fork()
    if pid == 0:
        lx.prctl(lx.PR_SET_PDEATHSIG, signal.SIGKILL)
        return
    os.closerange(0, 2**31 - 1)  # not via /proc: the inner worker's pivot_root changes our root too
    os._exit(max(0, os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])))


def rlimits_tmp(job_uid: int | None) -> str:
    """A private temporary directory for rlimits mode, which has no private /tmp: a fresh directory of
    this worker's becomes ``tempfile``'s temporary directory for its jobs (emptied before each, see :func:`_empty`), so the fixed file
    names verifiers use (``test_cases.py``) never meet another worker's or program's files in the host's /tmp.
    """
    import tempfile

    path = tempfile.mkdtemp(prefix="hackwatch-job-")
    if job_uid is not None:
        os.chown(path, job_uid, job_uid)
    tempfile.tempdir = path  # jobs are forks: they inherit it (gettempdir() ignores TMPDIR once set)
    return path


def _empty(path: str) -> None:
    for entry in os.scandir(path):
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            os.unlink(entry.path)


def _resolve(entry: str, cache: dict[str, Any]) -> Any:
    if entry not in cache:
        module, sep, name = entry.partition(":")
        if not sep or not module or not name:
            raise ValueError(f"entry {entry!r} must look like 'package.module:function'")
        cache[entry] = getattr(importlib.import_module(module), name)
        gc.freeze()
    return cache[entry]


def run_one(job: dict[str, Any], cfg: dict[str, Any], cmd: int, cache: dict[str, Any]) -> dict[str, Any]:
    """Fork the job, supervise it to the end, and return the reply dict."""
    try:
        fn = _resolve(job["entry"], cache)
    except Exception as exc:  # noqa: BLE001 - reported to the host as a caller error
        hint = ""
        if isinstance(exc, ImportError) and cfg["mode"] == "namespaces":
            hint = ("; entry modules outside the interpreter's prefix are not visible inside the sandbox: "
                    "pass them in SandboxPool(preload=[...])")
        return {"event": "bad_entry",
                "message": f"cannot load entry {job['entry']!r}: {type(exc).__name__}: {exc}{hint}"}
    limits, payload = job["limits"], job["payload"]
    pipes = {name: os.pipe() for name in ("out", "err", "res")}
    fds = {f"{k}_w": w for k, (_, w) in pipes.items()}
    readers = {k: r for k, (r, _) in pipes.items()}
    sys.stdout.flush()
    sys.stderr.flush()
    start = time.monotonic()
    try:
        if cfg["mode"] == "namespaces":
            _view.keep_masks(cfg["masks"])  # the host may have renamed a file over a masked path since
            _view.fresh_tmp(limits, cfg["tmp_state"])
        else:
            _empty(cfg["job_tmp"])
        if cfg["cg"] is not None:
            cfg["cg"].apply(limits["memory_mb"], limits["processes"])
        plan = job_plan(cfg["job_identity"], limits, fds, cfg["cg"] is not None)
        quiet = QuietWait(readers["res"], cmd, fds)
        pid = fork_job(fn, payload, plan)
    except OSError as exc:
        for r, w in pipes.values():
            os.close(r)
            os.close(w)
        return {"event": "infra", "message": f"cannot set up or fork the job: {exc}"}
    return supervise(pid, readers, limits, cfg, cmd, start, quiet.wait())


def _send_error(reply: int, msg: dict[str, Any]) -> None:
    """Report a failed start-up; a host that already gave up on this pool (pipe closed) needs no answer."""
    try:
        send_frame(reply, json.dumps(msg).encode())
    except BrokenPipeError:
        pass


def main(cfg: dict[str, Any]) -> None:
    """Worker entry point: handshake, then serve jobs until the host closes the command pipe."""
    cmd, reply = cfg["cmd_fd"], cfg["reply_fd"]
    sys.path[:] = cfg["sys_path"]
    if cfg.get("interpreter"):  # the host's venv/conda prefix: ``-S`` left ours at the base installation
        sys.prefix, sys.exec_prefix = cfg["interpreter"]["prefixes"][:2]
    try:
        cfg["cg"] = JobCgroup(cfg["cgroup"]) if cfg.get("cgroup") else None  # before losing the rights
    except OSError as exc:  # the host then runs the pool without cgroups (not a namespaces failure)
        _send_error(reply, {"event": "error", "cgroup": True, "message": f"cgroup: {exc}"})
        return
    if not cfg.get("fast_setup", True):
        _job.FAST = None
    try:
        preload(cfg["preload"])
    except Exception as exc:  # noqa: BLE001 - fails alike in every mode: the host raises it, never falls back
        _send_error(reply, {"event": "error", "fatal": True, "message": f"preload: {type(exc).__name__}: {exc}"})
        return
    try:
        lx.last_capability()  # read while the host's /proc is still there
        extra: dict[str, Any] = {"job_uid": None, "proc": False, "tmp_state": {}}
        if cfg["mode"] == "namespaces":
            extra = setup_namespaces(cfg, cmd, reply)
        elif os.geteuid() == 0:  # rlimits fallback as root: jobs run as a private unprivileged uid
            extra["job_uid"] = 1_000_000_000 + os.getpid()
        if cfg["mode"] != "namespaces":
            extra["job_tmp"] = rlimits_tmp(extra["job_uid"])
        cfg.update(extra)
        cfg["job_identity"] = job_identity(cfg)
        lx.prctl(lx.PR_SET_CHILD_SUBREAPER, 1)
        lx.prctl(lx.PR_SET_NO_NEW_PRIVS, 1)  # for the worker and, inherited, every job (never execs itself)
    except Exception as exc:  # noqa: BLE001 - sent to the host, which decides (fallback or error)
        # a path that cannot be hidden is no refusal of namespaces: rlimits mode would hide nothing at all
        _send_error(reply, {"event": "error", "fatal": isinstance(exc, _view.MaskError),
                            "message": f"{type(exc).__name__}: {exc}"})
        return
    if "random" in sys.modules:  # jobs are raw forks (no re-seeding): all start from this fixed state
        sys.modules["random"].seed(0)
    # Python's own SIGINT handler whatever the host inherited: a host started in the background by a
    # non-interactive shell (or nohup-style launchers) has SIGINT ignored, and every job would inherit that
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.environ.clear()  # once for all jobs (none of the worker's own code needs the host's variables)
    os.environ.update(job_env())
    gc.freeze()  # jobs' collections then skip the preloaded objects: fewer copy-on-write page faults
    send_frame(reply, json.dumps({"event": "ready", "proc": cfg["proc"], "fast_setup": _job.FAST is not None}).encode())
    cache: dict[str, Any] = {}
    try:
        while True:
            frame = recv_frame(cmd)
            if frame is None:
                return
            reply_obj = run_one(pickle.loads(frame), cfg, cmd, cache)
            send_frame(reply, "".join(ENCODE(reply_obj, 0)).encode())  # json.dumps builds an encoder per call
            if reply_obj.get("event") == "host_gone":
                return
    finally:
        if cfg.get("job_tmp"):
            shutil.rmtree(cfg["job_tmp"], ignore_errors=True)


if __name__ == "__main__":
    main(json.loads(sys.stdin.readline()))
