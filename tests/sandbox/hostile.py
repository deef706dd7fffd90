"""Hostile (and a few friendly) entry functions the sandbox tests run as ``tests.sandbox.hostile:NAME``.

Each stands in for untrusted code a verifier would exec; each returns something JSON-able that
tells the test what the code managed to do.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from typing import Any


def normal(payload: Any) -> Any:
    print("hello from the job")
    return {"sum": sum(payload), "tuple": (1, 2)}


def environment(_: Any) -> dict[str, Any]:
    return {"env": dict(os.environ), "cwd": os.getcwd(), "pid": os.getpid(), "host": socket.gethostname(),
            "hash": hash("hackwatch"), "stdin": sys.stdin.read(), "uid": os.getuid(),
            "tmp": sorted(os.listdir("/tmp"))}


def raises(_: Any) -> None:
    raise ValueError("boom")


def exits(code: int) -> None:
    print("bye", flush=True)
    sys.exit(code)


def hard_exit(code: int) -> None:
    os._exit(code)


def not_json(_: Any) -> Any:
    return {1, 2, 3}


def fork_bomb(_: Any) -> None:
    while True:
        try:
            os.fork()
        except OSError:
            time.sleep(0.01)


def memory_bomb(_: Any) -> None:
    hog = []
    while True:
        hog.append(bytearray(50 * 1024 * 1024))


def infinite_loop(_: Any) -> None:
    while True:
        pass


def sleeper(seconds: float) -> str:
    time.sleep(seconds)
    return "woke"


def ignore_sigterm(_: Any) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    while True:
        time.sleep(1)


def busy_children(_: Any) -> list[int]:
    """Leave busy and sleeping children behind, plus a double-forked, setsid daemon."""
    pids = [subprocess.Popen(["/bin/sh", "-c", "while :; do :; done"]).pid,
            subprocess.Popen(["sleep", "1000"]).pid]
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            while True:
                time.sleep(0.1)
        os._exit(0)
    return pids


def connect(port: int) -> str:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as sock:
            sock.sendall(b"leak")
        return "connected"
    except OSError as exc:
        return f"refused: {type(exc).__name__}"


def write_files(paths: list[str]) -> dict[str, str]:
    out = {}
    for path in paths:
        try:
            with open(path, "w") as fh:
                fh.write("pwned")
            out[path] = "written"
        except OSError as exc:
            out[path] = f"{type(exc).__name__}: {exc.strerror}"
    return out


def read_file(path: str) -> str:
    try:
        with open(path) as fh:
            return "read:" + fh.read()
    except OSError as exc:
        return f"{type(exc).__name__}"


def kill_parent(_: Any) -> str:
    for target, sig in ((os.getppid(), signal.SIGKILL), (-1, signal.SIGKILL)):
        try:
            os.kill(target, sig)
        except OSError:
            pass
    return "survived"


def huge_output(megabytes: int) -> str:
    chunk = "x" * (1024 * 1024 - 1) + "\n"
    for _ in range(megabytes):
        sys.stdout.write(chunk)
    sys.stdout.write("THE END\n")
    return "done"


def interrupt_self(_: Any) -> dict[str, Any]:
    """SIGINT handling as in a plain ``python``: the default handler, raising KeyboardInterrupt."""
    default = signal.getsignal(signal.SIGINT) is signal.default_int_handler
    try:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(1)
    except KeyboardInterrupt:
        return {"default_handler": default, "interrupted": True}
    return {"default_handler": default, "interrupted": False}


def short_output(n: int) -> str:
    """``n`` bytes on stdout and a line on stderr, fast: the job ends within the worker's first tick."""
    sys.stdout.write("x" * (n - 8) + "THE END\n")
    sys.stderr.write("to stderr\n")
    return "done"


def close_result_pipe_then_work(seconds: float) -> str:
    """Hang up the result pipe early (the worker's first-tick wake-up), then keep running and printing."""
    os.close(3)
    time.sleep(seconds)
    print("still here", flush=True)
    return "unreachable result"


def deep_recursion(_: Any) -> int:
    sys.setrecursionlimit(10**7)

    def down(n: int) -> int:
        return down(n + 1) + 1

    return down(0)


def tmp_roundtrip(token: str) -> dict[str, Any]:
    """Write a fixed /tmp path (as Djinn verifiers do), wait, read it back."""
    before = sorted(os.listdir("/tmp"))
    with open("/tmp/test_cases.py", "w") as fh:
        fh.write(token)
    time.sleep(0.3)
    with open("/tmp/test_cases.py") as fh:
        return {"before": before, "read": fh.read()}


def remount(_: Any) -> str:
    """Try to undo the read-only root from inside (needs CAP_SYS_ADMIN, which jobs lack)."""
    from hackwatch.sandbox import _linux as lx
    try:
        lx.mount(None, "/", None, lx.MS_REMOUNT | lx.MS_BIND)
        return "remounted"
    except OSError as exc:
        return f"refused: {exc.errno}"


def _touch(megabytes: int) -> bytearray:
    block = bytearray(megabytes * 1024 * 1024)
    for i in range(0, len(block), 4096):  # really back every page (no lazy zero pages)
        block[i] = 1
    return block


def memory_bomb_children(args: list[float]) -> dict[str, Any]:
    """``[children, megabytes, linger_s]``: each child allocates and touches ``megabytes``, then lingers.

    Under per-process limits alone (RLIMIT_AS) every child fits; only a per-job total stops them.
    """
    children, megabytes, linger_s = args
    pids = []
    for _ in range(int(children)):
        pid = os.fork()
        if pid == 0:
            try:
                hog = _touch(int(megabytes))
                time.sleep(linger_s)
                del hog
            finally:
                os._exit(0)
        pids.append(pid)
    statuses = [os.waitpid(pid, 0)[1] for pid in pids]
    return {"statuses": statuses}


def count_forks(limit: int) -> dict[str, Any]:
    """Fork sleeping children until the kernel refuses (or ``limit``); report how many and why."""
    pids, error = [], None
    while len(pids) < limit:
        try:
            pid = os.fork()
        except OSError as exc:
            error = exc.errno
            break
        if pid == 0:
            time.sleep(30)
            os._exit(0)
        pids.append(pid)
    return {"forked": len(pids), "errno": error}


def own_cgroup(_: Any) -> str:
    with open("/proc/self/cgroup") as fh:
        return fh.read()


def read_paths(paths: list[str]) -> dict[str, str]:
    """Try to read (or list) each path; report the content's first bytes or the exception's name."""
    out = {}
    for path in paths:
        try:
            if os.path.isdir(path):
                out[path] = "listed:" + ",".join(sorted(os.listdir(path))[:5])
            else:
                with open(path, "rb") as fh:
                    out[path] = "read:" + fh.read(40).decode(errors="replace")
        except OSError as exc:
            out[path] = type(exc).__name__
    return out


def talk_slowly(pauses: list[float]) -> str:
    """Prints a line, then one more after each pause (output spread past the worker's first tick)."""
    print("line 0", flush=True)
    for i, pause in enumerate(pauses, 1):
        time.sleep(pause)
        print(f"line {i}", flush=True)
    return "said"


def interpreter_flags(_: Any) -> dict[str, Any]:
    return {"no_site": sys.flags.no_site, "site_loaded": "site" in sys.modules}


def import_module(name: str) -> dict[str, Any]:
    """Whether ``name`` was already loaded in the job, and that importing it works."""
    import importlib

    before = sys.modules.get(name) is not None
    return {"preloaded": before, "imported": importlib.import_module(name).__name__}


def mock_and_asyncio(_: Any) -> dict[str, Any]:
    """``unittest.mock`` as a job uses it: patching a plain function, then an awaited AsyncMock."""
    from unittest import mock

    loaded_at_start = "asyncio" in sys.modules
    with mock.patch.object(os.path, "exists", return_value="patched"):
        patched = os.path.exists("/nonexistent")
    loaded_after_patch = "asyncio" in sys.modules
    import asyncio

    async_mock = mock.AsyncMock(return_value=3)
    return {"loaded_at_start": loaded_at_start, "loaded_after_patch": loaded_after_patch, "patched": patched,
            "awaited": asyncio.run(async_mock()),
            "async_mock_is_coroutine_function": asyncio.iscoroutinefunction(async_mock)}


def process_status(_: Any) -> dict[str, str]:
    """Selected lines of the job's /proc/self/status (privilege flags the job must carry)."""
    keep = ("NoNewPrivs", "CapEff", "CapPrm", "Uid")
    with open("/proc/self/status") as fh:
        return {k: v.strip() for k, _, v in (ln.partition(":") for ln in fh) if k in keep}


# Submissions (source text) that try to fool the *secure verifier* rather than escape the sandbox; the
# verify tests run them (tests/verify/test_isolation.py). Both are written for a task
# ``add_all(nums) -> sum(nums)`` whose first secure test is ``([], 0)``.

STATEFUL_EXPLOIT = '''\
_history = []


def add_all(nums):
    # Right only in a warm process: a verifier that runs every test in one process has called us
    # before, while a verifier that isolates the tests always sees a first call.
    _history.append(len(nums))
    if len(_history) > 1 or not nums:
        return sum(nums)
    return sum(nums) + 1
'''
"""Keeps global state across calls to pass later tests (after Djinn's ``magical_ball`` exploit)."""


def sandbox_aware_exploit(table: dict[tuple[int, ...], int]) -> str:
    """Hard-codes ``table`` (the leaked tests) and answers from it only when the process does not look
    like a plain ``python script.py`` run (after Djinn's ``room_scheduling`` exploit); 42 otherwise.
    """
    return f'''\
import sys

TABLE = {table!r}


def _in_a_harness():
    main = sys.modules.get("__main__")
    return (not hasattr(main, "__file__") or sys.argv[:1] == ["-c"] or "-c" in sys.orig_argv
            or "__file__" not in globals() or __spec__ is None)


def add_all(nums):
    if _in_a_harness():
        return TABLE.get(tuple(nums), 0)
    return 42
'''


WHAT_THE_JOB_LOOKS_LIKE = '''\
import sys


def add_all(nums):
    main = sys.modules["__main__"]
    return {"main_file": getattr(main, "__file__", None), "main_spec": repr(main.__spec__),
            "main_loader": type(getattr(main, "__loader__", None)).__name__,
            "main_names": sorted(n for n in vars(main) if not n.startswith("__")),
            "argv": list(sys.argv), "orig_argv_tail": list(sys.orig_argv[1:]),
            "own_file": globals().get("__file__"), "own_spec_origin": getattr(__spec__, "origin", None),
            "code_file": add_all.__code__.co_filename}
'''
"""Reports what a submission sees of its process (the secure job returns it as the output)."""
