"""Per-job cgroups: the job's total memory and task count are capped, and nothing is left behind."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import hackwatch.sandbox._pool as pool_module
from hackwatch.sandbox import Limits, SandboxPool, sandbox_mode_available
from hackwatch.sandbox._cgroup import PoolCgroups, pool_prefix
from hackwatch.sandbox._classify import to_result
from tests.sandbox.test_hostile import assert_healthy

H = "tests.sandbox.hostile:"
PRELOAD = ["tests.sandbox.hostile"]
"""Entry modules outside the interpreter prefix must be preloaded: the job's view hides the repo."""


def _cgroup_version() -> tuple[str | None, str | None]:
    probe = PoolCgroups()
    probe.close()
    return probe.version, probe.reason


CGROUP, WHY_NOT = _cgroup_version()
needs_cgroup = pytest.mark.skipif(CGROUP is None, reason=f"no writable cgroup here ({WHY_NOT}); "
                                                         "run as root with a writable cgroupfs")
needs_namespaces = pytest.mark.skipif(not sandbox_mode_available("namespaces"), reason="no namespaces")


def _job_file(pool: SandboxPool, ctrl: str, name: str) -> Path:
    """A file of the first worker's job group (``ctrl`` is the v1 controller; ignored on v2)."""
    root = pool._cgroups.roots["" if pool.cgroup == "v2" else ctrl]  # type: ignore[union-attr]
    key = pool._all[0].cgroup_key
    return Path(root, str(key), "job", name)


def _leftovers(roots: dict[str, str]) -> list[str]:
    """This pool's trees still on disk (not other pools of this process: another test's pool may be open)."""
    return sorted(r for r in roots.values() if os.path.exists(r))


@needs_cgroup
@needs_namespaces
def test_many_process_memory_bomb_is_capped_per_job() -> None:
    """8 children x 400 MiB each fit RLIMIT_AS (1024 MiB per process) but not the job's 1024 MiB total."""
    limits = Limits(memory_mb=1024, wall_seconds=30, cpu_seconds=20)
    with SandboxPool(1, limits=limits, mode="namespaces", preload=PRELOAD) as pool:
        assert pool.cgroup == CGROUP
        res = pool.run(H + "memory_bomb_children", [8, 400, 30])
        assert (res.value, res.killed_reason, res.timed_out, res.cgroup) == (None, "memory", False, CGROUP), res
        peak_name = "memory.max_usage_in_bytes" if pool.cgroup == "v1" else "memory.peak"
        peak = _job_file(pool, "memory", peak_name)
        if peak.exists():
            assert int(peak.read_text()) <= 1024 * 1024 * 1024
        res = pool.run(H + "memory_bomb_children", [2, 100, 0])  # 200 MiB in total fits: not killed
        assert res.killed_reason is None and res.value == {"statuses": [0, 0]}, res
        assert_healthy(pool)


@needs_cgroup
@needs_namespaces
def test_pids_limit_holds_per_job() -> None:
    with SandboxPool(1, mode="namespaces", preload=PRELOAD) as pool:
        res = pool.run(H + "count_forks", 200, limits=Limits(processes=16, wall_seconds=10))
        assert res.value == {"forked": 15, "errno": errno.EAGAIN}, res  # 15 children + the job itself
        events = dict(line.split() for line in _job_file(pool, "pids", "pids.events").read_text().splitlines())
        assert int(events["max"]) >= 1  # refused by the pids cgroup (RLIMIT_NPROC is only a 2x backstop)
        res = pool.run(H + "count_forks", 200, limits=Limits(processes=40, wall_seconds=10))
        assert res.value == {"forked": 39, "errno": errno.EAGAIN}, res  # the limit follows each job's Limits
        assert_healthy(pool)


@needs_cgroup
@needs_namespaces
def test_job_runs_in_its_workers_job_group() -> None:
    with SandboxPool(1, mode="namespaces", preload=PRELOAD) as pool:
        text = pool.run(H + "own_cgroup", None).value
        key = pool._all[0].cgroup_key
        name = os.path.basename(pool._cgroups.roots["" if pool.cgroup == "v2" else "memory"])  # type: ignore
        lines = [ln for ln in text.splitlines() if (ln.startswith("0::") if pool.cgroup == "v2" else
                                                       ":memory:" in ln or ":pids:" in ln)]
        assert lines and all(ln.endswith(f"/{name}/{key}/job") for ln in lines), text


@needs_cgroup
def test_no_cgroup_left_after_close_even_with_replaced_workers() -> None:
    mode = "namespaces" if sandbox_mode_available("namespaces") else "rlimits"
    pool = SandboxPool(2, mode=mode, preload=PRELOAD)
    roots = dict(pool._cgroups.roots)  # type: ignore[union-attr]
    assert all(os.path.isdir(r) for r in roots.values())
    assert pool.run(H + "normal", [1]).value["sum"] == 1
    victim = pool._all[0]
    victim.proc.kill()
    victim.proc.wait()
    assert [r.value["sum"] for r in pool.map(H + "normal", [[1], [2], [3]])] == [1, 2, 3]
    pool.close()
    assert _leftovers(roots) == []


@needs_cgroup
def test_stale_groups_of_dead_hosts_are_swept() -> None:
    probe = PoolCgroups()
    base = os.path.dirname(next(iter(probe.roots.values())))
    probe.close()
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = Path(base, f"{pool_prefix(dead.pid)}1", "w1", "job")
    stale.mkdir(parents=True)
    foreign = Path(base, f"hackwatch-1-{dead.pid}-1")  # another PID namespace: not ours to judge
    foreign.mkdir()
    try:
        with SandboxPool(1, mode="rlimits", preload=PRELOAD):
            assert not stale.parent.parent.exists() and foreign.exists()
    finally:
        foreign.rmdir()


def test_unwritable_cgroup_keeps_rlimits_and_warns_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HACKWATCH_SANDBOX_CGROUP", str(tmp_path))  # not a cgroup directory
    monkeypatch.setattr(pool_module, "_warned_no_cgroup", False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(2):
            with SandboxPool(1, mode="rlimits", preload=PRELOAD) as pool:
                assert pool.cgroup is None
                res = pool.run(H + "normal", [4])
                assert (res.value["sum"], res.cgroup, res.mode) == (4, None, "rlimits")
    assert sum("no writable cgroup" in str(w.message) for w in caught) == 1


def test_cgroup_off_is_silent() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with SandboxPool(1, mode="rlimits", cgroup="off", preload=PRELOAD) as pool:
            assert pool.cgroup is None and pool.run(H + "normal", [2]).cgroup is None
    with pytest.raises(ValueError, match="cgroup must be"):
        SandboxPool(1, cgroup="v3")  # type: ignore[arg-type]


def test_oom_kill_classifies_as_memory_and_drops_the_value() -> None:
    reply = {"status": 0, "stdout": "", "stderr": "", "wall_s": 0.1, "timed_out": False, "cpu_s": 0.0,
             "result": '{"value": 5}', "oom_kill": True}
    res = to_result(reply, Limits(), "namespaces", "v1")
    assert (res.value, res.killed_reason, res.cgroup, res.ok) == (None, "memory", "v1", False)
    res = to_result({**reply, "oom_kill": False}, Limits(), "namespaces", "v1")
    assert (res.value, res.killed_reason, res.ok) == (5, None, True)


@needs_cgroup
def test_worker_refusing_its_cgroup_runs_the_pool_without(monkeypatch: pytest.MonkeyPatch) -> None:
    real = PoolCgroups.add_worker

    def broken(self: PoolCgroups) -> tuple[str, dict[str, object]]:
        key, spec = real(self)
        return key, {**spec, "job_procs": ["/nonexistent/cgroup.procs"]}

    monkeypatch.setattr(PoolCgroups, "add_worker", broken)
    monkeypatch.setattr(pool_module, "_warned_no_cgroup", False)
    with pytest.warns(RuntimeWarning, match="no writable cgroup \\(cgroup: "):
        pool = SandboxPool(1, mode="rlimits", preload=PRELOAD)
    with pool:
        assert pool.cgroup is None and pool.run(H + "normal", [3]).value["sum"] == 3
    assert pool._cgroups is None


def test_v2_layout_on_a_fake_tree(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The v2 code path (this machine's cgroup v2 has no controllers): which files get which values.

    A plain directory stands in for a delegated cgroup2 subtree, so only the layout and the
    values written are checked here; the kernel's behaviour is what the tests above check on v1.
    """
    from hackwatch.sandbox._cgroup import JobCgroup

    for name, text in (("cgroup.controllers", "memory pids"), ("cgroup.subtree_control", "")):
        (tmp_path / name).write_text(text)
    monkeypatch.setenv("HACKWATCH_SANDBOX_CGROUP", str(tmp_path))
    pool = PoolCgroups()
    assert (pool.version, pool.reason) == ("v2", None)
    root = Path(pool.roots[""])
    assert (root / "cgroup.subtree_control").read_text() == "+memory +pids"
    key, spec = pool.add_worker()
    job = root / key / "job"
    assert (root / key / "cgroup.subtree_control").read_text() == "+memory +pids"
    assert ((job / "memory.oom.group").read_text(), spec["pids_max"]) == ("1", str(job / "pids.max"))
    for name, text in (("cgroup.procs", ""), ("memory.max", ""), ("pids.max", ""),
                       ("memory.events", "oom 0\noom_kill 0\n")):
        (job / name).write_text(text)
    cg = JobCgroup(spec)
    assert (root / key / "worker" / "cgroup.procs").read_text() == "0" and cg.oom_fd is None
    cg.apply(512, 10)
    assert ((job / "memory.max").read_text(), (job / "pids.max").read_text()) == (str(512 << 20), "10")
    for fd in cg.job_procs:  # what a job's set-up writes (``_job._attach`` / ``_fastjob``)
        os.write(fd, b"0")
    assert (job / "cgroup.procs").read_text() == "0"
    assert not cg.oom_killed()
    (job / "memory.events").write_text("oom 1\noom_kill 3\n")
    assert cg.oom_killed() and not cg.oom_killed()
    cg.close()


_FORGETFUL = """
import json
from hackwatch.sandbox import SandboxPool
pool = SandboxPool(1, mode="rlimits")
print(json.dumps(pool._cgroups.roots), flush=True)
"""


@needs_cgroup
def test_program_exiting_without_close_leaves_no_cgroup() -> None:
    proc = subprocess.run([sys.executable, "-c", _FORGETFUL], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    roots = json.loads(proc.stdout)
    assert roots and not any(os.path.exists(r) for r in roots.values())


def test_v1_jobs_enter_through_the_thread_file() -> None:
    """v1 ``tasks`` moves the (single-threaded) job without the global threadgroup lock that
    ``cgroup.procs`` takes; v2 domain groups have only ``cgroup.procs``."""
    from hackwatch.sandbox._cgroup import _entry_file

    assert (_entry_file("v1", "job"), _entry_file("v1", "worker")) == ("tasks", "cgroup.procs")
    assert (_entry_file("v2", "job"), _entry_file("v2", "worker")) == ("cgroup.procs", "cgroup.procs")
