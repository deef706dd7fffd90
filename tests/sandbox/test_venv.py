"""A pool started from a virtual environment (or through a symlinked interpreter) outside the repo.

The worker runs ``python -S``, so on its own it would know only the *base* installation; the view must
still show the host's venv (its ``bin/``, ``pyvenv.cfg``, ``site-packages``) and the executable's symlink
chain, and still hide the project and ``$HOME``. Each case runs a real interpreter in a subprocess, from
a venv made by ``python -m venv`` and one made and filled by ``uv`` (when ``uv`` is on PATH): hackwatch
installed with ``uv pip install -e``, and a package installed with uv's symlink link mode (every file a
link into uv's cache under ``$HOME``). Conda and pyenv cannot be installed here (their downloads are not
reachable): a conda env's layout is checked on the view's policy functions.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from hackwatch.sandbox import sandbox_mode_available
from hackwatch.sandbox._view import allowlist, interpreter_links, linked_installs, masked
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


UV = shutil.which("uv")
UV_LOCK = Path(SCRATCH_PARENT) / "hackwatch-tests-uv.lock"
"""uv builds of the project write ``src/hackwatch.egg-info``: one at a time across pytest-xdist workers."""


def _uv(*args: str, cache: Path) -> None:
    """Run uv with its cache at ``cache`` and no user configuration, holding :data:`UV_LOCK`."""
    assert UV is not None
    env = {**os.environ, "UV_CACHE_DIR": str(cache), "UV_NO_CONFIG": "1"}
    with open(UV_LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        subprocess.run([UV, *args], check=True, capture_output=True, env=env)


BUILD_CHECK = """
import re, setuptools
version = tuple(int(x) for x in re.findall(r"\\d+", setuptools.__version__)[:2])
if version < (68, 0):
    raise SystemExit(f"setuptools {setuptools.__version__} is older than the project's floor (>= 68)")
if version < (70, 1):  # before 70.1 setuptools had no bdist_wheel of its own: the wheel package gave it
    try:
        import wheel.bdist_wheel
    except ImportError:
        raise SystemExit(f"setuptools {setuptools.__version__} (< 70.1) builds wheels only with the wheel "
                         "package, which is not installed") from None
"""
"""Exits non-zero, saying why, unless the interpreter can build a wheel (and an editable one) offline."""


def _require_setuptools(python: Path) -> None:
    """Skip unless ``python`` can build the project's wheels with what it already has: uv builds offline without
    build isolation, so the venv (made with ``--system-site-packages``) must see, in the *base* installation,
    setuptools >= 68 and, below setuptools 70.1, the ``wheel`` package (a uv-managed or Python >= 3.12 base has
    neither). Importing setuptools alone is not enough: 69.x without ``wheel`` imports, then fails the build."""
    proc = subprocess.run([str(python), "-c", BUILD_CHECK], capture_output=True, text=True)
    if proc.returncode != 0:
        why = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        pytest.skip(f"{python} (the base installation of {sys.executable}) cannot build a wheel offline: {why}; "
                    "uv builds the project offline without build isolation")


@pytest.mark.parametrize(("setuptools", "wheel", "builds"), [
    ("69.5.1", False, False),  # imports, yet its build needs the wheel package: used to fail instead of skipping
    ("69.5.1", True, True), ("70.1.0", False, True), ("80.9.0", False, True),
    ("67.8.0", True, False),  # below the project's build-system floor
    (None, False, False)])
def test_the_uv_tests_skip_exactly_when_the_interpreter_cannot_build_a_wheel(
        tmp_path: Path, setuptools: str | None, wheel: bool, builds: bool) -> None:
    """A real interpreter (a venv that sees nothing of the base's site-packages) given a stand-in setuptools of
    that version, and the wheel package's ``bdist_wheel`` module or not."""
    env = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True, capture_output=True)
    site = Path(sysconfig.get_path("purelib", vars={"base": str(env), "platbase": str(env)}))
    if setuptools is not None:
        (site / "setuptools").mkdir()
        (site / "setuptools" / "__init__.py").write_text(f"__version__ = {setuptools!r}\n")
    if wheel:
        (site / "wheel").mkdir()
        (site / "wheel" / "__init__.py").write_text("")
        (site / "wheel" / "bdist_wheel.py").write_text("class bdist_wheel: pass\n")
    if builds:
        _require_setuptools(env / "bin" / "python")
    else:
        with pytest.raises(pytest.skip.Exception, match="cannot build a wheel offline"):
            _require_setuptools(env / "bin" / "python")


@pytest.fixture(scope="module", params=["venv", "uv"])
def venv(request: pytest.FixtureRequest, scratch: Path) -> dict[str, Path]:
    """A user's venv under their $HOME, hackwatch installed into it as ``pip install -e`` does (a
    ``.pth`` naming the project's ``src``), one package that exists only in it, and a secret beside it.

    ``uv``: the venv made by ``uv venv``, hackwatch installed by ``uv pip install -e`` (offline, no
    build isolation: the base's setuptools builds it) and one more package, ``hwuvlinked``, installed
    by uv with ``--link-mode symlink`` from a cache in ``$HOME/.cache/uv`` (uv's default place).
    """
    if request.param == "uv" and UV is None:
        pytest.skip("uv is not on PATH (pip install uv)")
    home = scratch / request.param / "home"
    env = home / ".venvs" / "env"
    home.mkdir(parents=True)
    (home / "secret.txt").write_text("not for jobs")
    if request.param == "uv":
        cache = home / ".cache" / "uv"
        _uv("venv", "--python", sys.executable, "--system-site-packages", str(env), cache=cache)
        _require_setuptools(env / "bin" / "python")
        install = ["pip", "install", "--python", str(env / "bin" / "python"), "--offline", "--no-deps",
                   "--no-build-isolation"]
        _uv(*install, "-e", str(REPO), cache=cache)
        pkg = scratch / request.param / "hwuvlinked"
        (pkg / "hwuvlinked").mkdir(parents=True)
        (pkg / "hwuvlinked" / "__init__.py").write_text("WHERE = 'uv cache'\n")
        (pkg / "pyproject.toml").write_text(textwrap.dedent("""\
            [build-system]
            requires = ["setuptools>=68"]
            build-backend = "setuptools.build_meta"
            [project]
            name = "hwuvlinked"
            version = "0.1"
            """))
        _uv(*install, "--link-mode", "symlink", str(pkg), cache=cache)
    else:
        subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(env)],
                       check=True, capture_output=True)
    site = Path(sysconfig.get_path("purelib", vars={"base": str(env), "platbase": str(env)}))
    assert site.is_dir(), site
    if request.param == "uv":
        assert (site / "__editable__.hackwatch-0.1.0.pth").read_text().strip() == str(REPO / "src")
        assert (site / "hwuvlinked" / "__init__.py").is_symlink()
    else:
        (site / "__editable__.hackwatch-0.1.0.pth").write_text(f"{REPO / 'src'}\n")
    (site / "hwvenvonly").mkdir()
    (site / "hwvenvonly" / "__init__.py").write_text("WHERE = 'venv'\n")
    return {"home": home, "env": env, "site": site, "python": env / "bin" / "python", "kind": request.param}


def _run(python: Path, driver: str, args: list[str], home: Path, path: Sequence[str] = ()) -> Any:
    env = {**os.environ, "HOME": str(home), "PYTHONPATH": os.pathsep.join([str(REPO), *path])}
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
    # $HOME holds only the way to the venv (and, for uv, to the cache folders its links point into)
    assert out["read"][str(home)] == ("listed:.cache,.venvs" if venv["kind"] == "uv" else "listed:.venvs")
    for path in visible:
        assert out["read"][path].startswith("read:"), (path, out["read"][path])


def test_a_package_uv_installed_as_links_into_its_cache_imports_in_a_job(venv: dict[str, Path]) -> None:
    if venv["kind"] != "uv":
        pytest.skip("only the uv-made venv has a package installed as links (uv --link-mode symlink)")
    home, site = venv["home"], venv["site"]
    cache = home / ".cache" / "uv"
    archive = Path(os.path.realpath(site / "hwuvlinked" / "__init__.py")).parent.parent
    others = sorted(p for p in (cache / "archive-v0").iterdir() if p != archive)  # hackwatch's editable wheel
    driver = POOL_DRIVER.replace('"hwvenvonly"', '"hwuvlinked"')
    out = _run(venv["python"], driver, [json.dumps([str(cache), str(archive), *map(str, others)])], home)
    seen = out["interpreter"]
    # without the cache folder in the view the import gave an empty namespace package (__file__ None)
    assert seen["imported"] == str(site / "hwuvlinked" / "__init__.py"), seen
    returncode, stdout, stderr = seen["child"]
    assert returncode == 0 and stdout == [str(venv["env"]), str(site / "hwuvlinked" / "__init__.py")], stderr
    assert out["read"][str(archive)].startswith("listed:hwuvlinked")
    assert out["read"][str(cache)] == "listed:archive-v0"  # only the way to the linked folders
    assert others  # hackwatch's editable wheel, installed by copy: no installed file links into it
    for path in others:
        assert out["read"][str(path)] in ("FileNotFoundError", "PermissionError"), path


def test_hackwatch_installed_by_uv_as_links_keeps_the_builtin_answers_hidden(scratch: Path) -> None:
    """hackwatch itself installed (not editable) by uv with ``--link-mode symlink``: its files, the builtin
    suite's answers included, are links into uv's cache, which the view shows — the suite stays covered
    at both paths while the rest of the package reads.
    """
    if UV is None:
        pytest.skip("uv is not on PATH (pip install uv)")
    home = scratch / "uv-hackwatch" / "home"
    env, cache = home / ".venvs" / "env", home / ".cache" / "uv"
    home.mkdir(parents=True)
    source = scratch / "uv-hackwatch" / "source"  # a copy: the build writes nothing into the checkout
    for name in ("pyproject.toml", "setup.py", "README.md"):
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, source / name)
    shutil.copytree(REPO / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.so"))
    _uv("venv", "--python", sys.executable, "--system-site-packages", str(env), cache=cache)
    _require_setuptools(env / "bin" / "python")
    _uv("pip", "install", "--python", str(env / "bin" / "python"), "--offline", "--no-deps", "--no-build-isolation",
        "--link-mode", "symlink", str(source), cache=cache)
    site = Path(sysconfig.get_path("purelib", vars={"base": str(env), "platbase": str(env)}))
    builtin = site / "hackwatch" / "tasks" / "builtin"
    linked = [p.relative_to(builtin) for p in sorted(builtin.rglob("*")) if p.is_symlink()][:3]
    assert linked, "uv --link-mode symlink installed no links"
    archive = Path(os.path.realpath(builtin / linked[0])).parents[len(linked[0].parts) + 2]
    hidden = [*(str(builtin / rel) for rel in linked),
              *(str(archive / "hackwatch" / "tasks" / "builtin" / rel) for rel in linked)]
    visible = [str(site / "hackwatch" / "tasks" / "__init__.py"), str(archive / "hackwatch" / "tasks" / "__init__.py")]
    out = _run(env / "bin" / "python", POOL_DRIVER, [json.dumps([*hidden, *visible])], home)
    assert out["interpreter"]["prefix"] == str(env), out
    for path in hidden:
        assert out["read"][path] in ("FileNotFoundError", "PermissionError"), (path, out["read"][path])
    for path in visible:
        assert out["read"][path].startswith("read:"), (path, out["read"][path])


def _dist(site: Path, name: str, files: dict[str, Path | str]) -> None:
    """A ``name-0.1.dist-info`` with a RECORD listing ``files``: each a symlink (to a Path) or a file."""
    info = site / f"{name}-0.1.dist-info"
    info.mkdir(parents=True)
    rows = [f"{info.name}/INSTALLER,,", *(f"{rel},," for rel in files), f"{info.name}/RECORD,,"]
    (info / "INSTALLER").write_text("uv\n")
    (info / "RECORD").write_text("\n".join(rows) + "\n")
    for rel, target in files.items():
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        if isinstance(target, Path):
            (site / rel).symlink_to(target)
        else:
            (site / rel).write_text(target)


def test_linked_installs_finds_the_cache_folders_that_installed_files_link_into(scratch: Path) -> None:
    root = scratch / "linked"
    site, archive, project = root / "env" / "site-packages", root / "cache" / "archive-v0" / "abc", root / "proj"
    for rel in ("linked/__init__.py", "linked/sub/x.py", "linked-0.1.dist-info/METADATA", "single.py",
                "single-0.1.dist-info/METADATA"):
        (archive / rel).parent.mkdir(parents=True, exist_ok=True)
        (archive / rel).write_text("")
    (project / "devpkg").mkdir(parents=True)
    (project / "devpkg" / "__init__.py").write_text("")
    (project / "devmod.py").write_text("")
    _dist(site, "linked", {rel: archive / rel for rel in ("linked-0.1.dist-info/METADATA", "linked/__init__.py",
                                                          "linked/sub/x.py")})
    _dist(site, "single", {"single.py": archive / "single.py"})  # a one-module wheel: the same cache folder
    _dist(site, "copied", {"copied/__init__.py": "", "copied/y.py": ""})  # pip's (and uv's default) copies
    (site / "devpkg").symlink_to(project / "devpkg")  # ``flit install --symlink``: a directory link
    _dist(site, "devpkg", {})
    (site / "devpkg-0.1.dist-info" / "RECORD").write_text("devpkg/__init__.py,,\n")
    _dist(site, "devmod", {"devmod.py": project / "devmod.py"})  # ``flit install --symlink`` of a one-module project
    (site / "odd").mkdir()
    _dist(site, "elsewhere", {"odd/z.py": root / "cache" / "stray.py"})  # a link not laid out as site is
    (root / "cache" / "stray.py").write_text("")
    assert linked_installs([str(site), str(root / "missing")]) == [str(archive)]
    assert linked_installs([str(site)], rows=1) == []  # only the first RECORD rows are read
    interpreter = {"prefixes": [str(root / "env")] * 4, "executables": [sys.executable]}
    exposed = allowlist([str(site)], interpreter)
    assert str(archive) in exposed and str(project) not in exposed and str(root / "cache") not in exposed


def test_the_builtin_suite_is_masked_in_the_cache_it_links_into_too(scratch: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """hackwatch itself installed by uv with ``--link-mode symlink``: its answers lie in the cache folder
    that the view exposes (:func:`linked_installs`), so they are covered there as well.
    """
    import hackwatch

    root = scratch / "linked-hackwatch"
    site, archive = root / "env" / "site-packages", root / "cache" / "archive-v0" / "def"
    answer = "hackwatch/tasks/builtin/alpha/problem.yaml"  # the suite as data: no __init__.py needed
    (archive / answer).parent.mkdir(parents=True)
    (archive / answer).write_text("")
    (archive / "hackwatch-0.1.dist-info").mkdir()  # an unpacked wheel, as uv's cache holds it
    (site / "hackwatch" / "tasks" / "builtin" / "beta").mkdir(parents=True)  # an empty folder first
    _dist(site, "hackwatch", {answer: archive / answer})
    monkeypatch.setattr(hackwatch, "__path__", [str(site / "hackwatch")])  # where such an install puts it
    exposed = allowlist([str(site)], {"prefixes": [str(root / "env")] * 4, "executables": [sys.executable]})
    assert str(archive) in exposed
    assert {str(site / "hackwatch" / "tasks" / "builtin"),
            str(archive / "hackwatch" / "tasks" / "builtin")} <= set(masked(exposed, [], None))


def test_a_second_hackwatch_on_the_import_path_has_its_builtin_answers_masked(scratch: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """hackwatch also installed in the base interpreter (or an old copy) while a venv with system site-packages
    runs an editable one: both site-packages are exposed, so the other copy's suite is covered too."""
    root = scratch / "second-hackwatch"
    base_site, venv_site = root / "base" / "site-packages", root / "venv" / "site-packages"
    answer = base_site / "hackwatch" / "tasks" / "builtin" / "alpha" / "problem.yaml"
    answer.parent.mkdir(parents=True)
    answer.write_text("test_cases: '[(1, 2)]'\n")
    venv_site.mkdir(parents=True)
    monkeypatch.setattr(sys, "path", [str(venv_site), str(base_site), *sys.path])  # as the worker's sys.path is
    exposed = allowlist([str(venv_site), str(base_site)],
                        {"prefixes": [str(root / "venv"), str(root / "venv"), str(root / "base"), str(root / "base")],
                         "executables": [sys.executable]})
    assert str(root / "base") in exposed
    assert str(base_site / "hackwatch" / "tasks" / "builtin") in masked(exposed, [], None)


def test_view_of_a_conda_env(scratch: Path) -> None:
    """A conda env: ``sys.prefix`` == ``sys.base_prefix`` == the env (no ``pyvenv.cfg``), ``conda-meta/``,
    ``bin/python -> python3.11`` inside it; the installation's ``pkgs/`` cache and other envs beside it.
    Here ``python3.11`` links to the real interpreter (a conda env holds its own copy), so the real
    file lies outside the env, as a linked interpreter's does.
    """
    conda = scratch / "conda-home" / "miniconda3"
    env = conda / "envs" / "work"
    (env / "conda-meta").mkdir(parents=True)
    (env / "conda-meta" / "history").write_text("==> 2026-12-07 <==\n")
    site = env / "lib" / "python3.11" / "site-packages"
    site.mkdir(parents=True)
    (env / "bin").mkdir()
    (env / "bin" / "python3.11").symlink_to(os.path.realpath(sys.executable))
    (env / "bin" / "python").symlink_to("python3.11")
    (conda / "pkgs" / "numpy-2.0").mkdir(parents=True)
    (conda / "envs" / "other").mkdir()
    interpreter = {"prefixes": [str(env)] * 4, "executables": [str(env / "bin" / "python")]}
    exposed = allowlist([str(env / "lib" / "python3.11"), str(site), str(REPO / "src")], interpreter)
    real = os.path.realpath(sys.executable)
    assert str(env) in exposed and any(real == p or real.startswith(p + "/") for p in exposed)
    assert not any(p.startswith(str(conda) + "/pkgs") or p.startswith(str(conda) + "/envs/other")
                   or p in (str(conda), str(conda / "envs"), str(REPO / "src")) for p in exposed), exposed
    assert interpreter_links(exposed, interpreter) == {}  # both links lie inside the bound env
    assert masked(exposed, [], str(scratch / "conda-home")) == sorted(  # $HOME above the env: not masked
        p for p in masked(exposed, [], None))
    assert str(env / "conda-meta") in masked(exposed, [str(env / "conda-meta")], None)


def test_a_venv_inside_the_project_shows_the_venv_and_nothing_else_of_the_project() -> None:
    """A venv in the project's tree (as ``uv run`` makes ``.venv``), here under the git-ignored ``build/``."""
    (REPO / "build").mkdir(exist_ok=True)
    inside = Path(tempfile.mkdtemp(prefix="hwtest-venv-", dir=REPO / "build"))
    try:
        env = inside / ".venv"
        subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(env)],
                       check=True, capture_output=True)
        site = Path(sysconfig.get_path("purelib", vars={"base": str(env), "platbase": str(env)}))
        (site / "__editable__.hackwatch-0.1.0.pth").write_text(f"{REPO / 'src'}\n")
        (site / "hwvenvonly").mkdir()
        (site / "hwvenvonly" / "__init__.py").write_text("WHERE = 'venv'\n")
        hidden = [str(REPO / "pyproject.toml"), str(REPO / "src"), str(REPO / "src" / "hackwatch" / "__init__.py"),
                  str(REPO / "tests")]
        paths = [*hidden, str(REPO), str(REPO / "build"), str(inside)]
        out = _run(env / "bin" / "python", POOL_DRIVER, [json.dumps(paths)], Path(os.environ.get("HOME", "/")))
        seen = out["interpreter"]
        assert seen["prefix"] == str(env) and seen["imported"] == str(site / "hwvenvonly" / "__init__.py"), seen
        assert seen["child"][0] == 0, seen["child"]
        for path in hidden:
            assert out["read"][path] in ("FileNotFoundError", "PermissionError"), (path, out["read"][path])
        assert out["read"][str(REPO)] == "listed:build"  # only the way to the venv
        assert out["read"][str(REPO / "build")] == f"listed:{inside.name}"
        assert out["read"][str(inside)] == "listed:.venv"
    finally:
        shutil.rmtree(inside, ignore_errors=True)


def test_an_interpreter_reached_through_a_symlink_outside_every_prefix(scratch: Path) -> None:
    link = scratch / "bin" / "python-link"
    link.parent.mkdir(exist_ok=True)
    link.symlink_to(os.path.realpath(sys.executable))
    # Run from a venv, the real interpreter behind it has no hackwatch of its own (a Debian python3 -m venv):
    # it gets this environment's as PYTHONPATH, as a user's link to a bare interpreter would need.
    own = [] if sys.prefix == sys.base_prefix else [str(REPO / "src"), *site.getsitepackages()]
    out = _run(link, POOL_DRIVER, [json.dumps([str(link.parent)])], Path(os.environ.get("HOME", "/")), own)
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
