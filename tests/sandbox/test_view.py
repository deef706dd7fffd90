"""The allowlist filesystem view: a job sees the interpreter and system dirs, nothing of the project."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import hackwatch
from hackwatch.sandbox import Limits, SandboxPool, sandbox_mode_available
from hackwatch.sandbox._view import allowlist, host_interpreter, interpreter_links, masked, resolution_chain
from tests.helpers import REPO, SHARED

H = "tests.sandbox.hostile:"
PRELOAD = ["tests.sandbox.hostile"]
HIDDEN_ERRORS = ("FileNotFoundError", "PermissionError")

pytestmark = pytest.mark.skipif(not sandbox_mode_available("namespaces"),
                                reason="kernel refuses user/mount/PID/net namespaces")


@pytest.fixture(scope="module")
def task_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tasks") / "djinn_rows.jsonl"
    path.write_text('{"id": "t1", "secure_tests": [[[1], 2]]}\n')
    return path


JSON_TOOL = str(Path(sys.modules["json"].__file__).parent / "tool.py")  # type: ignore[arg-type]
"""A file inside the interpreter's prefix (so inside the view) that the pool below hides explicitly."""


@pytest.fixture(scope="module")
def pool(task_file: Path) -> Iterator[SandboxPool]:
    # the task file hidden explicitly too (it would be invisible anyway: /tmp of the host is not in the view)
    with SandboxPool(1, limits=Limits(wall_seconds=10), mode="namespaces", preload=PRELOAD,
                     hide_paths=[task_file, JSON_TOOL]) as p:
        yield p


def test_hide_paths_masks_a_file_inside_the_view(pool: SandboxPool) -> None:
    json_init = str(Path(JSON_TOOL).parent / "__init__.py")
    res = pool.run(H + "read_paths", [JSON_TOOL, json_init])
    assert res.value[JSON_TOOL] in HIDDEN_ERRORS and res.value[json_init].startswith("read:")


def test_answers_and_project_files_are_invisible(pool: SandboxPool, task_file: Path) -> None:
    bank = Path(hackwatch.__file__).parent / "tasks" / "builtin" / "min_max" / "problem.yaml"  # the suite's data
    assert bank.is_file()  # the host has it
    targets = [str(bank), str(bank.parent), str(bank.parent.parent), str(REPO), str(REPO / "pyproject.toml"), str(task_file),
               str(task_file.parent), str(Path(hackwatch.__file__)), "/work", "/root/.bashrc", "/var", "/run", "/sys"]
    shared = sorted(SHARED.glob("*"))[:1] if SHARED.is_dir() else []
    targets += [str(p) for p in shared]
    res = pool.run(H + "read_paths", targets)
    assert res.ok, res
    for path in targets:
        if sys.prefix.startswith(path + "/"):  # e.g. /var of a venv in /var/tmp: only the way to it shows
            assert res.value[path] == "listed:" + sys.prefix[len(path) + 1:].split("/")[0], (path, res.value[path])
        else:
            assert res.value[path] in HIDDEN_ERRORS, (path, res.value[path])


def test_python_and_system_files_are_visible(pool: SandboxPool) -> None:
    stdlib = str(Path(sys.modules["json"].__file__).parent)  # type: ignore[arg-type]
    res = pool.run(H + "read_paths", [stdlib, "/etc/passwd", "/usr/bin", "/dev/null", "/etc/shadow", "/tmp"])
    assert res.value[stdlib].startswith("listed:") and res.value["/etc/passwd"].startswith("read:root")
    assert res.value["/usr/bin"].startswith("listed:") and res.value["/dev/null"] == "read:"
    assert res.value["/etc/shadow"] in HIDDEN_ERRORS and res.value["/tmp"] == "listed:"
    # a lazy import of a module not preloaded but inside the interpreter's prefix still works
    assert pool.run(H + "normal", [1]).value["sum"] == 1


def test_tmp_is_fresh_after_a_job_changed_it(pool: SandboxPool) -> None:
    assert pool.run(H + "tmp_roundtrip", "x").value["before"] == []
    assert pool.run(H + "tmp_roundtrip", "y").value == {"before": [], "read": "y"}


def test_entry_outside_the_view_must_be_preloaded() -> None:
    with SandboxPool(1, mode="namespaces") as p, pytest.raises(ValueError, match="preload"):
        p.run(H + "normal", [1])


def test_view_policy_masks_the_builtin_suite_inside_the_prefix(tmp_path: Path) -> None:
    exposed = allowlist(sys.path)
    assert str(REPO) not in exposed and str(REPO / "src") not in exposed
    assert sys.prefix in exposed or any(sys.prefix.startswith(p + "/") for p in exposed)
    # a non-editable install: the package (and its builtin suite) inside an exposed site-packages
    builtin = str(Path(hackwatch.__file__).parent / "tasks" / "builtin")
    assert builtin in masked([str(REPO / "src"), "/etc"], [], None)
    assert str(tmp_path) in masked([str(tmp_path.parent), "/etc"], [str(tmp_path)], None)
    assert "/etc/shadow" in masked(["/etc"], [], None)


def test_resolution_chain_follows_links_on_every_component(tmp_path: Path) -> None:
    real = tmp_path / "opt" / "py" / "bin" / "python3.11"
    real.parent.mkdir(parents=True)
    real.write_text("")
    (tmp_path / "opt" / "current").symlink_to("py")  # a directory link, relative
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "python").symlink_to(tmp_path / "opt" / "current" / "bin" / "python3.11")
    (tmp_path / "bin" / "python3").symlink_to("python")
    chain = resolution_chain(str(tmp_path / "bin" / "python3"))
    assert chain == [str(tmp_path / "bin" / "python3"), str(tmp_path / "bin" / "python"),
                     str(tmp_path / "opt" / "current"), str(real)]
    (tmp_path / "loop").symlink_to("loop")
    assert resolution_chain(str(tmp_path / "loop"), limit=3) == [str(tmp_path / "loop")] * 3


@pytest.fixture()
def outside_tmp() -> Iterator[Path]:
    """A scratch folder outside /tmp (jobs get their own /tmp, so links there are refused)."""
    if not os.access("/var/tmp", os.W_OK):
        pytest.skip("/var/tmp is not writable")
    with tempfile.TemporaryDirectory(dir="/var/tmp") as d:
        yield Path(d)


def test_view_exposes_the_real_executable_and_recreates_links_outside_the_prefixes(outside_tmp: Path) -> None:
    tmp_path = outside_tmp
    real = Path(sys.executable).resolve()
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "py").symlink_to(real)
    interpreter = {"prefixes": [sys.base_prefix] * 4, "executables": [str(tmp_path / "bin" / "py")]}
    exposed = allowlist(sys.path, interpreter)
    assert str(tmp_path) not in exposed and any(str(real) == p or str(real).startswith(p + "/") for p in exposed)
    assert interpreter_links(exposed, interpreter) == {str(tmp_path / "bin" / "py"): str(real)}
    # a link above an exposed path is not re-created (that path is bound where the host shows it)
    assert interpreter_links([str(tmp_path / "bin" / "py" / "x")], interpreter) == {}


def test_view_refuses_an_environment_under_the_jobs_private_tmp() -> None:
    with tempfile.TemporaryDirectory(dir="/tmp") as venv:  # where a venv cannot work for jobs
        interpreter = {**host_interpreter(), "prefixes": [venv] * 4}
        with pytest.raises(OSError, match=f"{venv} lies under /tmp.*create the venv elsewhere"):
            allowlist([], interpreter)
        link = Path(venv) / "python"  # an interpreter reached through a link there: the same
        link.symlink_to(Path(sys.executable).resolve())
        interpreter = {**host_interpreter(), "executables": [str(link)]}
        with pytest.raises(OSError, match=f"{link} lies under /tmp"):
            interpreter_links(allowlist([], interpreter), interpreter)
