"""A pool started from a virtual environment (or through a symlinked interpreter) outside the repo.

The worker runs ``python -S``, so on its own it would know only the *base* installation; the view must
still show the host's venv (its ``bin/``, ``pyvenv.cfg``, ``site-packages``) and the executable's symlink
chain, and still hide the project and ``$HOME``. Each case runs a real interpreter in a subprocess.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hackwatch.sandbox import sandbox_mode_available
from tests.helpers import LEGACY_DJINN, REPO, requires_shared_djinn

pytestmark = pytest.mark.skipif(not sandbox_mode_available("namespaces"),
                                reason="kernel refuses user/mount/PID/net namespaces")

SCRATCH_PARENT = "/var/tmp"
"""Outside the repo and outside /tmp (every job gets its own empty /tmp, so a venv there is refused)."""

POOL_DRIVER = """
import json, sys
from hackwatch.sandbox import Limits, SandboxPool
paths = json.loads(sys.argv[1])
with SandboxPool(1, limits=Limits(wall_seconds=30), mode="namespaces",
                 preload=["tests.sandbox.venv_jobs", "tests.sandbox.hostile"]) as pool:
    seen = pool.run("tests.sandbox.venv_jobs:interpreter", "hwvenvonly")
    read = pool.run("tests.sandbox.hostile:read_paths", paths)
print(json.dumps({"interpreter": seen.value, "error": seen.error, "read": read.value}))
"""

VERIFY_DRIVER = """
import json, sys
from hackwatch.tasks import load_tasks
from hackwatch.verify import Verifier
tasks = [t for d in sys.argv[1:] for t in load_tasks(d)]
with Verifier(workers=1) as v:
    verdicts = v.verify_many([(t, code) for t in tasks for code in (t.ground_truth, t.exploit)])
print(json.dumps([[v.label, v.reason] for v in verdicts]))
"""

SPAWNING_LEGACY = ("adjacency_matrix_introspection_exploit_016_04", "bubblesort_test_leakage_008_02")
"""Legacy problems whose embedded verifiers run ``sys.executable`` (both failed from a venv before)."""


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    if not os.access(SCRATCH_PARENT, os.W_OK):
        pytest.skip(f"{SCRATCH_PARENT} is not writable")
    path = Path(tempfile.mkdtemp(prefix="hackwatch-venv-", dir=SCRATCH_PARENT))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def venv(scratch: Path) -> dict[str, Path]:
    """A user's venv under their $HOME, hackwatch installed into it as ``pip install -e`` does (a
    ``.pth`` naming the project's ``src``), one package that exists only in it, and a secret beside it.
    """
    home = scratch / "home"
    env = home / ".venvs" / "env"
    home.mkdir()
    (home / "secret.txt").write_text("not for jobs")
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(env)],
                   check=True, capture_output=True)
    site = Path(sysconfig.get_path("purelib", vars={"base": str(env), "platbase": str(env)}))
    assert site.is_dir(), site
    (site / "__editable__.hackwatch-0.1.0.pth").write_text(f"{REPO / 'src'}\n")
    (site / "hwvenvonly").mkdir()
    (site / "hwvenvonly" / "__init__.py").write_text("WHERE = 'venv'\n")
    return {"home": home, "env": env, "site": site, "python": env / "bin" / "python"}


def _run(python: Path, driver: str, args: list[str], home: Path) -> Any:
    env = {**os.environ, "HOME": str(home), "PYTHONPATH": str(REPO)}
    proc = subprocess.run([str(python), "-c", driver, *args], capture_output=True, text=True, env=env,
                          cwd=str(REPO), timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_jobs_of_a_venv_pool_use_the_venv_and_see_nothing_else(venv: dict[str, Path]) -> None:
    env, home, site = venv["env"], venv["home"], venv["site"]
    hidden = [str(REPO), str(REPO / "src" / "hackwatch" / "__init__.py"), str(home / "secret.txt")]
    visible = [str(env / "pyvenv.cfg"), str(site / "hwvenvonly" / "__init__.py")]
    out = _run(venv["python"], POOL_DRIVER, [json.dumps([*hidden, *visible, str(home)])], home)
    seen = out["interpreter"]
    assert out["error"] is None, out
    assert seen["prefix"] == str(env) and seen["executable"] == str(env / "bin" / "python")
    assert seen["imported"] == str(site / "hwvenvonly" / "__init__.py")  # (a) a package only in the venv
    returncode, stdout, stderr = seen["child"]  # (b) sys.executable runs, with the venv's site-packages
    assert returncode == 0 and stdout == [str(env), str(site / "hwvenvonly" / "__init__.py")], stderr
    for path in hidden:  # (c) neither the project nor $HOME
        assert out["read"][path] in ("FileNotFoundError", "PermissionError"), (path, out["read"][path])
    assert out["read"][str(home)] == "listed:.venvs"  # $HOME holds only the way to the venv
    for path in visible:
        assert out["read"][path].startswith("read:"), (path, out["read"][path])


def test_an_interpreter_reached_through_a_symlink_outside_every_prefix(scratch: Path) -> None:
    link = scratch / "bin" / "python-link"
    link.parent.mkdir(exist_ok=True)
    link.symlink_to(os.path.realpath(sys.executable))
    out = _run(link, POOL_DRIVER, [json.dumps([str(link.parent)])], Path(os.environ.get("HOME", "/")))
    seen = out["interpreter"]
    assert seen["executable"] == str(link)
    returncode, stdout, stderr = seen["child"]
    assert returncode == 1 and stdout == [] and "No module named 'hwvenvonly'" in stderr  # it ran; no such module
    assert out["read"][str(link.parent)] == "listed:python-link"  # the link alone, nothing beside it


@requires_shared_djinn
@pytest.mark.slow
def test_legacy_verifiers_that_spawn_the_interpreter_work_from_a_venv(venv: dict[str, Path]) -> None:
    dirs = [str(LEGACY_DJINN / name) for name in SPAWNING_LEGACY]
    labels = _run(venv["python"], VERIFY_DRIVER, dirs, venv["home"])
    assert [label for label, _ in labels] == ["correct", "exploit"] * len(SPAWNING_LEGACY), labels
