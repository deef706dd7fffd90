"""Hostile jobs are contained: each leaves the pool healthy and the host unchanged."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hackwatch.sandbox import Limits, SandboxPool, sandbox_mode_available
from tests.helpers import REPO

H = "tests.sandbox.hostile:"
PRELOAD = ["tests.sandbox.hostile"]
"""Entry modules outside the interpreter prefix must be preloaded: the job's view hides the repo."""
LIMITS = Limits(cpu_seconds=2, wall_seconds=4, memory_mb=768, processes=32, output_bytes=4096)

pytestmark = pytest.mark.skipif(not sandbox_mode_available("namespaces"),
                                reason="kernel refuses user/mount/PID/net namespaces")


def _ppid_map() -> dict[int, int]:
    out = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                stat = Path(f"/proc/{name}/stat").read_text()
            except OSError:
                continue
            out[int(name)] = int(stat.rsplit(")", 1)[1].split()[1])
    return out


def descendants(root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for pid, ppid in _ppid_map().items():
        children.setdefault(ppid, []).append(pid)
    found, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def job_uid_processes(pool: SandboxPool) -> list[int]:
    uids = {1_000_000_000 + 2 * w.proc.pid + 1 for w in pool._all}
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if os.stat(f"/proc/{name}").st_uid in uids:
                    found.append(int(name))
            except OSError:
                pass
    return found


@pytest.fixture(scope="module")
def pool() -> Iterator[SandboxPool]:
    with SandboxPool(2, limits=LIMITS, mode="namespaces", preload=PRELOAD) as p:
        yield p


def assert_healthy(pool: SandboxPool) -> None:
    """The pool answers a normal job right, and nothing but the workers hangs below this process."""
    res = pool.run(H + "normal", [1, 2, 3])
    assert res.value == {"sum": 6, "tuple": [1, 2]} and res.exit_code == 0, res
    assert res.stdout == "hello from the job\n"
    outers = {w.proc.pid for w in pool._all}
    assert len(outers) == pool.workers
    # each worker is an outer process plus the real worker (PID 1 of its namespace) below it; no jobs left
    # Only the pool's own trees count: other tests in the same xdist worker may leave unrelated
    # children below this process. Escaped jobs are caught by job_uid_processes (they keep the job uid).
    inner = set().union(*(descendants(o) for o in outers))
    ppids = _ppid_map()
    tree = inner | outers
    assert sorted(ppids[p] for p in inner) == sorted(outers), (tree, outers)
    assert job_uid_processes(pool) == []


def test_normal_job(pool: SandboxPool) -> None:
    res = pool.run(H + "normal", [4, 5])
    assert (res.value, res.exit_code, res.signal, res.timed_out, res.killed_reason, res.mode) == (
        {"sum": 9, "tuple": [1, 2]}, 0, None, False, None, "namespaces")
    assert res.ok and res.stderr == ""
    assert_healthy(pool)


def test_environment_is_fixed_and_minimal(pool: SandboxPool) -> None:
    os.environ["HACKWATCH_TEST_SECRET"] = "s3cret"
    try:
        a = pool.run(H + "environment", None).value
        b = pool.run(H + "environment", None).value
    finally:
        del os.environ["HACKWATCH_TEST_SECRET"]
    assert a == b  # deterministic, including the string hash (PYTHONHASHSEED=0 in the worker)
    assert "HACKWATCH_TEST_SECRET" not in a["env"]
    assert a["env"]["HOME"] == "/tmp" and a["env"]["PYTHONHASHSEED"] == "0"
    assert (a["cwd"], a["pid"], a["host"], a["stdin"], a["tmp"]) == ("/tmp", 1, "sandbox", "", [])
    assert a["uid"] != 0


def test_exception_and_exits(pool: SandboxPool) -> None:
    res = pool.run(H + "raises", None)
    assert (res.value, res.exit_code, res.error, res.killed_reason) == (None, 1, "ValueError: boom", None)
    assert "ValueError: boom" in res.stderr
    res = pool.run(H + "exits", 3)
    assert (res.value, res.exit_code, res.signal, res.stdout) == (None, 3, None, "bye\n")
    res = pool.run(H + "hard_exit", 0)
    assert (res.value, res.exit_code) == (None, 0)
    res = pool.run(H + "not_json", None)
    assert res.value is None and res.exit_code == 1 and "JSON" in (res.error or "")
    assert_healthy(pool)


def test_bad_entry_is_a_caller_error(pool: SandboxPool) -> None:
    with pytest.raises(ValueError, match="no_such_module"):
        pool.run("no_such_module:f", None)
    with pytest.raises(ValueError, match="package.module:function"):
        pool.run("justaname", None)
    assert_healthy(pool)


def test_fork_bomb(pool: SandboxPool) -> None:
    res = pool.run(H + "fork_bomb", None, limits=Limits(wall_seconds=2, cpu_seconds=2, processes=32))
    assert res.value is None and res.killed_reason in {"wall_timeout", "cpu_limit"}
    assert_healthy(pool)


def test_memory_bomb(pool: SandboxPool) -> None:
    res = pool.run(H + "memory_bomb", None)
    assert (res.value, res.killed_reason, res.exit_code) == (None, "memory", 1)
    assert_healthy(pool)


def test_infinite_loop_hits_cpu_limit(pool: SandboxPool) -> None:
    res = pool.run(H + "infinite_loop", None, limits=Limits(cpu_seconds=1, wall_seconds=60))
    assert (res.value, res.killed_reason, res.timed_out) == (None, "cpu_limit", False)
    assert res.signal in {signal.SIGXCPU, signal.SIGKILL}
    assert_healthy(pool)


def test_sleep_and_ignored_sigterm_hit_wall_timeout(pool: SandboxPool) -> None:
    for name in ("sleeper", "ignore_sigterm"):
        res = pool.run(H + name, 60, limits=Limits(wall_seconds=0.5))
        assert (res.value, res.timed_out, res.killed_reason, res.signal) == (
            None, True, "wall_timeout", signal.SIGKILL)
        assert 0.5 <= res.wall_s < 3
    assert_healthy(pool)


def test_children_and_daemon_are_killed(pool: SandboxPool) -> None:
    res = pool.run(H + "busy_children", None)
    assert res.exit_code == 0 and len(res.value) == 2
    assert_healthy(pool)


def test_no_network() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.1)
    port = server.getsockname()[1]
    hits: list[bytes] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            hits.append(conn.recv(10))
            conn.close()

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        assert HostileClient(port).reachable_from_host()  # the server is real and reachable from here
        with SandboxPool(1, limits=LIMITS, mode="namespaces", preload=PRELOAD) as p:
            res = p.run(H + "connect", port)
            assert res.value.startswith("refused"), res
    finally:
        stop.set()
        thread.join()
        server.close()
    assert hits == [b"probe"]  # only the host's own probe got through


class HostileClient:
    def __init__(self, port: int) -> None:
        self.port = port

    def reachable_from_host(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
            sock.sendall(b"probe")
        return True


def test_no_writes_outside_tmp(pool: SandboxPool, tmp_path: Path) -> None:
    victim = REPO / "pyproject.toml"
    before = victim.read_bytes()
    new_repo_file = REPO / "src" / "hackwatch" / "sandbox" / "PWNED"
    var_tmp = Path("/var/tmp/hackwatch-sandbox-test")
    res = pool.run(H + "write_files", [str(victim), str(new_repo_file), str(var_tmp), str(tmp_path / "x"),
                                       "/tmp/fine"])
    assert res.value["/tmp/fine"] == "written"
    for path in (str(victim), str(new_repo_file), str(var_tmp), str(tmp_path / "x")):
        assert res.value[path] != "written", path
    assert victim.read_bytes() == before
    assert not new_repo_file.exists() and not var_tmp.exists() and not (tmp_path / "x").exists()
    assert not Path("/tmp/fine").exists()  # the job's /tmp was its own
    assert pool.run(H + "remount", None).value.startswith("refused")
    assert_healthy(pool)


def test_home_is_hidden(pool: SandboxPool) -> None:
    home = Path(os.path.expanduser("~"))
    secret = home / ".hackwatch-sandbox-secret"
    secret.write_text("top secret")
    try:
        res = pool.run(H + "read_file", str(secret))
        assert res.value == "FileNotFoundError", res
    finally:
        secret.unlink()
    assert_healthy(pool)


def test_kill_parent_is_contained(pool: SandboxPool) -> None:
    res = pool.run(H + "kill_parent", None)
    assert res.value in ("survived", None)
    assert_healthy(pool)


def test_huge_output_keeps_the_tail(pool: SandboxPool) -> None:
    res = pool.run(H + "huge_output", 64)
    assert res.value == "done" and len(res.stdout) == LIMITS.output_bytes
    assert res.stdout.endswith("THE END\n")
    assert_healthy(pool)


def test_result_pipe_hang_up_is_not_taken_for_the_end_of_the_job(pool: SandboxPool) -> None:
    """The worker wakes on the result pipe's hang-up; a job that closes it early is still watched to its end."""
    for seconds in (0.0, 0.1):
        res = pool.run(H + "close_result_pipe_then_work", seconds)
        assert res.stdout == "still here\n" and res.value is None and res.exit_code != 0, res
        assert res.wall_s >= seconds and not res.timed_out, res
    assert_healthy(pool)


def test_output_of_a_job_over_in_its_first_tick_keeps_the_tail(pool: SandboxPool) -> None:
    """Jobs that end within the first tick have their pipes read after their exit: same tail rule."""
    for n in (10, LIMITS.output_bytes, 3 * LIMITS.output_bytes):
        res = pool.run(H + "short_output", n)
        assert res.value == "done" and res.stderr == "to stderr\n", res
        assert len(res.stdout) == min(n, LIMITS.output_bytes) and res.stdout.endswith("THE END\n"), len(res.stdout)


def test_deep_recursion_is_contained(pool: SandboxPool) -> None:
    res = pool.run(H + "deep_recursion", None)  # ends at the CPU limit, MemoryError or a crash
    assert res.value is None and (res.signal is not None or res.error is not None)
    assert_healthy(pool)


def test_tmp_is_private_between_consecutive_and_concurrent_jobs(pool: SandboxPool) -> None:
    host_file = Path("/tmp/test_cases.py")
    before = host_file.read_bytes() if host_file.exists() else None
    results = list(pool.map(H + "tmp_roundtrip", ["a", "b", "c", "d"]))
    for token, res in zip("abcd", results, strict=True):
        assert res.value == {"before": [], "read": token}, res
    assert (host_file.read_bytes() if host_file.exists() else None) == before
    assert_healthy(pool)


def test_map_is_ordered_and_parallel(pool: SandboxPool) -> None:
    t0 = time.monotonic()
    results = list(pool.map(H + "sleeper", [0.4] * 4))
    assert [r.value for r in results] == ["woke"] * 4
    assert time.monotonic() - t0 < 1.6 + 1.0  # two workers: ~0.8 s, never the 1.6 s of one
    assert [r.value for r in pool.map(H + "normal", [[i] for i in range(20)])] == [
        {"sum": i, "tuple": [1, 2]} for i in range(20)]


def test_killed_worker_is_replaced(pool: SandboxPool) -> None:
    from hackwatch.sandbox import SandboxUnavailable
    worker = pool._all[0]
    done: list[object] = []

    def victim() -> None:
        try:
            done.append(pool.run(H + "sleeper", 2))
        except SandboxUnavailable as exc:
            done.append(exc)

    threads = [threading.Thread(target=victim) for _ in range(2)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    os.kill(worker.proc.pid, signal.SIGKILL)
    for t in threads:
        t.join()
    assert sorted(type(d).__name__ for d in done) == ["RunResult", "SandboxUnavailable"]
    assert_healthy(pool)


def test_worker_dead_while_idle_is_replaced_transparently(pool: SandboxPool) -> None:
    for worker in list(pool._all):
        os.kill(worker.proc.pid, signal.SIGKILL)
        worker.proc.wait()
    assert [r.value["sum"] for r in pool.map(H + "normal", [[1], [2], [3]])] == [1, 2, 3]
    assert_healthy(pool)
    for worker in list(pool._all):  # one run() finds every idle worker dead: each is replaced, then it runs
        os.kill(worker.proc.pid, signal.SIGKILL)
        worker.proc.wait()
    assert pool.run(H + "normal", [4]).value["sum"] == 4
    assert_healthy(pool)


def test_map_raises_where_a_worker_died_and_the_pool_goes_on(pool: SandboxPool) -> None:
    """Both workers die mid-job: the first job's error is raised at its place; both are replaced."""
    from hackwatch.sandbox import SandboxUnavailable

    outers = [w.proc.pid for w in pool._all]

    def kill_inner_workers() -> None:
        time.sleep(0.3)
        for outer in outers:
            for pid in descendants(outer):
                if _ppid_map().get(pid) == outer:
                    os.kill(pid, signal.SIGKILL)

    killer = threading.Thread(target=kill_inner_workers)
    killer.start()
    with pytest.raises(SandboxUnavailable, match="died during the job"):
        list(pool.map(H + "sleeper", [3.0, 3.0, 0.0]))
    killer.join()
    assert pool._idle.qsize() == pool.workers
    assert_healthy(pool)


def test_map_raises_an_unpicklable_payload_at_its_place(pool: SandboxPool) -> None:
    results = pool.map(H + "normal", [[1], [2], [lambda: 3], [4]])
    assert [next(results).value["sum"], next(results).value["sum"]] == [1, 2]
    with pytest.raises(Exception, match="pickle"):
        next(results)
    assert pool._idle.qsize() == pool.workers
    assert_healthy(pool)


def test_map_stopped_early_gives_every_worker_back(pool: SandboxPool) -> None:
    results = pool.map(H + "sleeper", [0.1] * 6)
    assert next(results).value == "woke"
    results.close()  # type: ignore[attr-defined]
    assert pool._idle.qsize() == pool.workers
    assert_healthy(pool)


def test_run_is_thread_safe(pool: SandboxPool) -> None:
    results: dict[int, object] = {}

    def client(k: int) -> None:
        for i in range(8):
            results[k * 100 + i] = pool.run(H + "normal", [k, i]).value

    threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {k * 100 + i: {"sum": k + i, "tuple": [1, 2]} for k in range(4) for i in range(8)}
