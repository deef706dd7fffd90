"""The same contract in both modes, the loud fallback, and an unprivileged (non-root) host."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

import hackwatch.sandbox._pool as pool_module
from hackwatch.sandbox import Limits, SandboxPool, SandboxUnavailable, sandbox_mode_available
from tests.helpers import REPO

H = "tests.sandbox.hostile:"
PRELOAD = ["tests.sandbox.hostile"]
"""Entry modules outside the interpreter prefix must be preloaded: the job's view hides the repo."""
MODES = ["rlimits"] + (["namespaces"] if sandbox_mode_available("namespaces") else [])
TMP_JOB = "tests.sandbox.tmp_jobs:temp_roundtrip"
"""A job writing a fixed name in ``tempfile.gettempdir()``, as verifiers do (never the host's /tmp itself)."""


@pytest.fixture(scope="module", params=MODES)
def pool(request: pytest.FixtureRequest) -> Iterator[SandboxPool]:
    with SandboxPool(1, mode=request.param, limits=Limits(wall_seconds=5, output_bytes=1000),
                     preload=PRELOAD) as p:
        yield p


def test_contract_normal_exception_exit(pool: SandboxPool) -> None:
    res = pool.run(H + "normal", [1, 2])
    assert (res.value, res.exit_code, res.mode, res.stdout) == (
        {"sum": 3, "tuple": [1, 2]}, 0, pool.mode, "hello from the job\n")
    res = pool.run(H + "raises", None)
    assert (res.value, res.exit_code, res.error, res.mode) == (None, 1, "ValueError: boom", pool.mode)
    res = pool.run(H + "exits", 7)
    assert (res.value, res.exit_code) == (None, 7)


def test_contract_timeout_output_and_children(pool: SandboxPool) -> None:
    res = pool.run(H + "sleeper", 30, limits=Limits(wall_seconds=0.3))
    assert (res.timed_out, res.killed_reason, res.value) == (True, "wall_timeout", None)
    res = pool.run(H + "huge_output", 3)
    assert res.value == "done" and res.stdout.endswith("THE END\n") and len(res.stdout) == 1000
    res = pool.run(H + "busy_children", None)
    assert res.exit_code == 0
    outer = pool._all[0].proc.pid
    assert pool.run(H + "normal", [5]).value["sum"] == 5
    children = Path(f"/proc/{outer}/task/{outer}/children").read_text().split()
    assert len(children) == (1 if pool.mode == "namespaces" else 0)


def test_contract_environment(pool: SandboxPool) -> None:
    env = pool.run(H + "environment", None).value
    again = pool.run(H + "environment", None).value
    assert env["env"]["PYTHONHASHSEED"] == "0" and (env["stdin"], env["cwd"]) == ("", "/tmp")
    if pool.mode == "rlimits":
        for key in ("tmp", "pid"):  # shared /tmp and the host PID space are not ours to pin
            env.pop(key), again.pop(key)
    assert env == again


def test_fallback_warns_and_records_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    real = pool_module._Worker.handshake

    def refuse(self: pool_module._Worker) -> None:
        if self.mode == "namespaces":
            raise SandboxUnavailable("namespaces refused (simulated)")
        real(self)

    monkeypatch.setattr(pool_module._Worker, "handshake", refuse)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with SandboxPool(1, mode="auto", preload=PRELOAD) as p:
            assert p.mode == "rlimits"
            assert p.run(H + "normal", [2]).mode == "rlimits"
    assert any("falling back to mode='rlimits'" in str(w.message) for w in caught)
    with pytest.raises(SandboxUnavailable, match="simulated"):
        SandboxPool(1, mode="namespaces", preload=PRELOAD)


def test_every_worker_starts_before_the_first_handshake_is_awaited(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pool used to start one worker alone (to learn whether namespaces and cgroups work) and the others
    after it; now all interpreter start-ups overlap: the first handshake is awaited with every worker spawned."""
    spawned: list[int] = []
    seen_at_first: list[int] = []
    real_init, real_handshake = pool_module._Worker.__init__, pool_module._Worker.handshake

    def init(self: pool_module._Worker, *args: object, **kwargs: object) -> None:
        real_init(self, *args, **kwargs)  # type: ignore[arg-type]
        spawned.append(self.proc.pid)

    def handshake(self: pool_module._Worker) -> None:
        if not seen_at_first:
            seen_at_first.append(len(spawned))
        real_handshake(self)

    monkeypatch.setattr(pool_module._Worker, "__init__", init)
    monkeypatch.setattr(pool_module._Worker, "handshake", handshake)
    with SandboxPool(3, mode=MODES[-1], preload=PRELOAD) as p:
        assert seen_at_first == [3] and len(spawned) == 3
        assert [r.value["sum"] for r in p.map(H + "normal", [[1], [2], [3]])] == [1, 2, 3]


def test_fallback_of_a_pool_of_several_stops_every_refused_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """Namespaces refused with three workers starting at once: all three refused ones are stopped (no process
    left), the pool restarts all three in rlimits mode, loudly, and runs jobs on each."""
    refused: list[pool_module._Worker] = []
    real_init, real_handshake = pool_module._Worker.__init__, pool_module._Worker.handshake

    def init(self: pool_module._Worker, *args: object, **kwargs: object) -> None:
        real_init(self, *args, **kwargs)  # type: ignore[arg-type]
        if self.mode == "namespaces":
            refused.append(self)

    def refuse(self: pool_module._Worker) -> None:
        if self.mode == "namespaces":
            raise SandboxUnavailable("namespaces refused (simulated)")
        real_handshake(self)

    monkeypatch.setattr(pool_module._Worker, "__init__", init)
    monkeypatch.setattr(pool_module._Worker, "handshake", refuse)
    with pytest.warns(RuntimeWarning, match="falling back to mode='rlimits'"):
        p = SandboxPool(3, mode="auto", preload=PRELOAD)
    with p:
        assert p.mode == "rlimits" and len(p._all) == 3 and all(w.mode == "rlimits" for w in p._all)
        assert [r.mode for r in p.map(H + "normal", [[1], [2], [3], [4]])] == ["rlimits"] * 4
    assert len(refused) == 3 and all(w.proc.poll() is not None for w in refused)


def test_invalid_arguments() -> None:
    with pytest.raises(ValueError, match="mode must be"):
        SandboxPool(1, mode="docker")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="Limits.wall_seconds must be > 0"):
        Limits(wall_seconds=0)


def test_closed_pool_refuses_and_leaves_no_process() -> None:
    p = SandboxPool(2, mode=MODES[-1], preload=PRELOAD)
    pids = [w.proc.pid for w in p._all]
    p.close()
    assert all(not Path(f"/proc/{pid}").exists() for pid in pids)
    with pytest.raises(SandboxUnavailable, match="closed"):
        p.run(H + "normal", [1])


_SAME_JOB_CASES = [("normal", [1, 2]), ("environment", None), ("raises", None), ("exits", 3), ("hard_exit", 4),
                   ("process_status", None), ("interrupt_self", None), ("tmp_roundtrip", "c-or-python"),
                   ("remount", None), ("kill_parent", None), ("count_forks", 40), ("sleeper", 5)]


def _job_view(res: object) -> tuple[object, ...]:
    fields = ("value", "exit_code", "signal", "stdout", "stderr", "timed_out", "killed_reason", "error")
    view = tuple(getattr(res, f) for f in fields)
    volatile = ("pid", "uid", "Uid", "tmp")  # the job's pid, its per-worker uid (rlimits), the host's /tmp
    return tuple({k: x for k, x in v.items() if k not in volatile} if isinstance(v, dict) else v for v in view)


def test_c_and_python_set_up_give_the_same_jobs(monkeypatch: pytest.MonkeyPatch) -> None:
    """The C fork-and-set-up path (``_fastjob``) and the Python one are interchangeable: same results
    for the contract entries, in both sandbox modes. ``HACKWATCH_SANDBOX_NO_C`` selects Python."""
    from hackwatch.sandbox import _job

    if _job.FAST is None:
        pytest.skip("the C extension hackwatch.sandbox._fastjob is not built here (no C compiler at install)")
    limits = Limits(cpu_seconds=2, wall_seconds=1.5, memory_mb=768, processes=16)
    # rlimits mode has no private /tmp: the literal /tmp path of 'tmp_roundtrip' is the host's, where another
    # user's file makes it fail (PermissionError); there the job writes in its private temporary directory instead.
    entries = [(H + name, arg) for name, arg in _SAME_JOB_CASES]
    cases = {"namespaces": entries,
             "rlimits": [(TMP_JOB, arg) if entry == H + "tmp_roundtrip" else (entry, arg) for entry, arg in entries]}
    for mode in MODES:
        seen: dict[bool, list[tuple[object, ...]]] = {}
        for no_c in (False, True):
            if no_c:
                monkeypatch.setenv("HACKWATCH_SANDBOX_NO_C", "1")
            else:
                monkeypatch.delenv("HACKWATCH_SANDBOX_NO_C", raising=False)
            with SandboxPool(1, mode=mode, preload=[*PRELOAD, "tests.sandbox.tmp_jobs"], limits=limits) as p:
                assert p._all[0].proc_info["fast_setup"] is (not no_c)
                seen[no_c] = [_job_view(p.run(entry, arg)) for entry, arg in cases[mode]]
        for (name, _), fast, slow in zip(cases[mode], seen[False], seen[True], strict=True):
            assert fast == slow, (mode, name, fast, slow)


def test_temp_files_are_private_to_each_job() -> None:
    """Verifiers write fixed names in the temporary directory (``test_cases.py``). In both modes each job
    finds it empty and its own, never the host's shared /tmp, whatever other programs keep there."""
    host_file = Path("/tmp/test_cases.py")
    before = host_file.read_bytes() if host_file.exists() else None
    for mode in MODES:
        with SandboxPool(1, mode=mode, preload=["tests.sandbox.tmp_jobs"]) as p:
            results = [p.run(TMP_JOB, token) for token in ("a", "b")]
        for token, res in zip("ab", results, strict=True):
            tmp = res.value.pop("tmp")  # namespaces: a private /tmp; rlimits: a private folder in the host's
            assert res.value == {"before": [], "read": token} and (tmp == "/tmp") is (mode == "namespaces"), (mode, res)
    assert (host_file.read_bytes() if host_file.exists() else None) == before


@pytest.mark.parametrize("mode", MODES)
def test_jobs_get_pythons_sigint_handler_when_the_host_ignores_sigint(mode: str) -> None:
    """A host started in the background by a shell script inherits SIGINT ignored (bash does that to
    background commands without job control); jobs still get Python's handler, so verdicts do not depend on
    how the host was launched."""
    import signal
    import sys

    driver = ("import json, signal\nfrom hackwatch.sandbox import SandboxPool\n"
              "assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN\n"
              f"with SandboxPool(1, mode={mode!r}, preload={PRELOAD!r}) as p:\n"
              f"    print(json.dumps(p.run({H + 'interrupt_self'!r}, None).value))\n")
    proc = subprocess.run([sys.executable, "-c", driver], capture_output=True, text=True, timeout=120, cwd=REPO,
                          env={**os.environ, "PYTHONPATH": str(REPO)},
                          preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout.splitlines()[-1]) == {"default_handler": True, "interrupted": True}


def test_jobs_handle_sigint_like_python_and_workers_ignore_the_terminal(pool: SandboxPool) -> None:
    """Workers run in their own session (a Ctrl-C at the host's terminal does not reach them), so they
    keep Python's SIGINT handler and every job inherits it: KeyboardInterrupt, as in plain python."""
    assert pool.run(H + "interrupt_self", None).value == {"default_handler": True, "interrupted": True}
    for worker in pool._all:
        assert os.getsid(worker.proc.pid) != os.getsid(0)


def test_closing_the_pool_mid_job_ends_job_and_worker() -> None:
    """The worker watches its command pipe for hang-up only (the host may queue a next job meanwhile):
    a host that closes the pool mid-job still makes the worker kill the job and exit by itself."""
    import threading

    p = SandboxPool(1, mode=MODES[-1], preload=PRELOAD)
    worker = p._all[0]
    outcome: list[object] = []

    def long_job() -> None:
        try:
            outcome.append(p.run(H + "sleeper", 60))
        except SandboxUnavailable as exc:
            outcome.append(exc)

    thread = threading.Thread(target=long_job)
    thread.start()
    time.sleep(0.5)
    p.close()
    thread.join(timeout=30)
    assert worker.proc.returncode == 0, worker.proc.returncode  # exited on its own, not killed after 5 s
    assert len(outcome) == 1 and isinstance(outcome[0], SandboxUnavailable), outcome


_UNPRIVILEGED = """
import json, sys
from hackwatch.sandbox import SandboxPool
victim = sys.argv[1]
with SandboxPool(2, mode="namespaces", preload=["tests.sandbox.hostile"]) as p:
    out = {"mode": p.mode,
           "write": p.run("tests.sandbox.hostile:write_files", [victim, "/tmp/ok"]).value,
           "remount": p.run("tests.sandbox.hostile:remount", None).value,
           "tmp": [r.value for r in p.map("tests.sandbox.hostile:tmp_roundtrip", ["a", "b"])],
           "env": p.run("tests.sandbox.hostile:environment", None).value["pid"],
           "status": p.run("tests.sandbox.hostile:process_status", None).value,
           "fast_setup": p._all[0].proc_info["fast_setup"]}
print(json.dumps(out))
"""


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv") or not Path("/usr/bin/python3").exists(),
                    reason="needs root (to become 'nobody'), setpriv and a system python")
@pytest.mark.skipif(not sandbox_mode_available("namespaces"), reason="no namespaces")
def test_unprivileged_host_gets_the_same_isolation(tmp_path: Path) -> None:
    """As uid 65534 (only its own uid mappable), jobs still cannot write a directory that uid owns."""
    os.chmod(tmp_path, 0o777)
    victim = tmp_path / "victim.txt"
    env = ["env", "-i", "PATH=/usr/bin:/bin", f"PYTHONPATH={REPO / 'src'}:{REPO}", "HOME=/nonexistent"]
    c_loads = subprocess.run([*env, "/usr/bin/python3", "-c", "import hackwatch.sandbox._fastjob"],
                             capture_output=True, timeout=60).returncode == 0
    statuses = []
    for no_c in ("", "1"):  # the C set-up where the extension loads into this python, then the Python one
        cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "env", "-i", "PATH=/usr/bin:/bin",
               f"PYTHONPATH={REPO / 'src'}:{REPO}", "HOME=/nonexistent", f"HACKWATCH_SANDBOX_NO_C={no_c}",
               "/usr/bin/python3", "-c", _UNPRIVILEGED, str(victim)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd="/")
        if "No module named" in proc.stderr:
            pytest.skip(f"system python cannot import the package: {proc.stderr[-200:]}")
        assert proc.returncode == 0, proc.stderr
        out = json.loads(proc.stdout)
        assert out["mode"] == "namespaces" and out["env"] == 1
        assert out["write"]["/tmp/ok"] == "written" and out["write"][str(victim)] != "written"
        assert not victim.exists()
        assert out["remount"].startswith("refused")
        assert [t["read"] for t in out["tmp"]] == ["a", "b"] and all(t["before"] == [] for t in out["tmp"])
        assert int(out["status"]["CapEff"], 16) == 0 and out["status"]["NoNewPrivs"] == "1", out["status"]
        assert out["fast_setup"] is (c_loads and not no_c)  # the C set-up wherever the extension loads
        statuses.append(out["status"])
    assert statuses[0] == statuses[1], statuses


def test_contract_kill_parent_is_contained(pool: SandboxPool) -> None:
    if pool.mode == "rlimits" and os.geteuid() != 0:
        pytest.skip("rlimits mode as a normal user cannot stop kill(-1) of that user's processes")
    outer = pool._all[0].proc.pid
    res = pool.run(H + "kill_parent", None)
    assert res.value in ("survived", None)
    assert pool._all[0].proc.pid == outer and pool._all[0].proc.poll() is None
    assert pool.run(H + "normal", [1]).value["sum"] == 1


@pytest.mark.parametrize("mode", MODES)
def test_setup_failure_is_unavailable_not_a_result(mode: str) -> None:
    with SandboxPool(1, mode=mode, preload=["tests.sandbox.broken_setup"]) as p:
        with pytest.raises(SandboxUnavailable, match="set-up failed: (OSError|ValueError): .*(setrlimit|limit)"):
            p.run("tests.sandbox.broken_setup:entry", None)


def test_output_across_the_first_tick_is_kept_in_order(pool: SandboxPool) -> None:
    """The worker does not watch a job's pipes for its first tick; later output streams as before."""
    res = pool.run(H + "talk_slowly", [0.001, 0.05, 0.0, 0.03])
    assert (res.value, res.stdout) == ("said", "".join(f"line {i}\n" for i in range(5)))


def test_worker_runs_without_site(pool: SandboxPool) -> None:
    """No ``.pth`` hooks of the host environment (certifi patches, distutils shims) run in workers."""
    assert pool.run(H + "interpreter_flags", None).value == {"no_site": 1, "site_loaded": False}


def test_ssl_and_asyncio_are_not_preloaded_yet_importable() -> None:
    """The verify preload (unittest.mock) holds neither asyncio nor ssl; a job may still import and use both."""
    from hackwatch.verify._verifier import PRELOAD as VERIFY_PRELOAD

    with SandboxPool(1, preload=[*VERIFY_PRELOAD, *PRELOAD]) as pool:
        assert pool.run(H + "import_module", "asyncio").value == {"preloaded": False, "imported": "asyncio"}
        assert pool.run(H + "import_module", "ssl").value == {"preloaded": False, "imported": "ssl"}
        assert pool.run(H + "mock_and_asyncio", None).value == {
            "loaded_at_start": False, "loaded_after_patch": False, "patched": "patched", "awaited": 3,
            "async_mock_is_coroutine_function": True}


def test_verify_workers_block_the_task_package_for_every_job() -> None:
    """``hackwatch.tasks`` (expected outputs) is blocked in verification workers before any job forks."""
    from hackwatch.verify._verifier import PRELOAD as VERIFY_PRELOAD

    with SandboxPool(1, preload=[*VERIFY_PRELOAD, *PRELOAD]) as pool:
        res = pool.run(H + "import_module", "hackwatch.tasks")
        assert res.value is None and res.error.startswith("ModuleNotFoundError"), res


def test_jobs_carry_no_new_privs_and_no_capabilities(pool: SandboxPool) -> None:
    """PR_SET_NO_NEW_PRIVS is set once in the worker and inherited by every job; no job holds a capability."""
    status = pool.run(H + "process_status", None).value
    assert status["NoNewPrivs"] == "1", status
    assert int(status["CapEff"], 16) == 0 and int(status["CapPrm"], 16) == 0, status


def test_a_preload_that_fails_to_import_is_no_refusal_and_never_falls_back() -> None:
    """A worker that cannot import a preload fails alike in every mode: mode "auto" raises that import error
    at once instead of warning that namespaces are unavailable and starting the pool again in rlimits mode."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(SandboxUnavailable, match="hackwatch_no_such_module"):
            SandboxPool(2, mode="auto", preload=["hackwatch_no_such_module"])
    assert not [w for w in caught if "falling back" in str(w.message)], [str(w.message) for w in caught]


def test_a_cgroup_refused_after_the_fallback_runs_rlimits_without_cgroups(monkeypatch: pytest.MonkeyPatch) -> None:
    """Namespaces refused, then the rlimits workers refused their cgroup: the pool goes on in rlimits mode
    without cgroups (as it does for a cgroup refused in namespaces mode) instead of failing to start."""
    real = pool_module._Worker.handshake

    def refuse(self: pool_module._Worker) -> None:
        if self.mode == "namespaces":
            raise SandboxUnavailable("namespaces refused (simulated)")
        if self.cgroup_key is not None:
            real(self)
            raise pool_module._CgroupRefused("cgroup refused (simulated)")
        real(self)

    probe = pool_module.PoolCgroups()
    probe.close()
    if probe.version is None:
        pytest.skip(f"no writable cgroup here ({probe.reason}): nothing to refuse")
    monkeypatch.setattr(pool_module._Worker, "handshake", refuse)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with SandboxPool(2, mode="auto", preload=PRELOAD) as p:
            assert (p.mode, p.cgroup) == ("rlimits", None)
            assert [r.mode for r in p.map(H + "normal", [[1], [2]])] == ["rlimits"] * 2


@pytest.mark.skipif(not sandbox_mode_available("namespaces"), reason="kernel refuses user/mount/PID/net namespaces")
def test_a_path_that_cannot_be_hidden_stops_the_pool_instead_of_falling_back(tmp_path: Path) -> None:
    """In mode "auto" a mask that failed read as 'namespaces unavailable': the pool went on in rlimits mode, where
    no path is hidden, so the files the caller asked to hide were readable by every job. It now raises."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(SandboxUnavailable, match=r"mask .*refused \(simulated\)"):
            SandboxPool(2, mode="auto", preload=[*PRELOAD, "tests.sandbox.broken_mask"], hide_paths=[str(tmp_path)])
    assert not [w for w in caught if "falling back" in str(w.message)], [str(w.message) for w in caught]


@pytest.mark.parametrize("mode", [*MODES, "auto"])
def test_a_preload_that_hangs_fails_the_pool_after_the_start_timeout(mode: str,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a limit the pool constructor waited for ever on a worker stuck importing a preload; now the
    worker is killed and the pool raises (in ``auto`` too: no fallback mends a hanging import)."""
    monkeypatch.setenv("HACKWATCH_SANDBOX_START_TIMEOUT", "1.5")
    with pytest.raises(SandboxUnavailable, match=r"did not finish start-up within 1.5 s .*"
                                                 r"HACKWATCH_SANDBOX_START_TIMEOUT sets the limit"):
        SandboxPool(2, mode=mode, preload=["tests.sandbox.hang_on_import"])
    monkeypatch.setenv("HACKWATCH_SANDBOX_START_TIMEOUT", "soon")
    with pytest.raises(SandboxUnavailable, match=r"HACKWATCH_SANDBOX_START_TIMEOUT='soon': expected a number"):
        SandboxPool(1, mode=mode, preload=PRELOAD)
