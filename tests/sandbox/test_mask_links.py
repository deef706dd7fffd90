"""Masking a path that is, or passes through, a symlink: the job loses the path as the caller named it
(the link itself) and what it points to, wherever that lies in the view (a hidden answer file must not
stay readable at its real path), and what it names through a linked folder is hidden where it lies in the
view. Before 8f7b2ac, mount(2) followed the link: an absolute one was masked on the host's tree outside
the view (the worker refused to start), and a link to a folder stopped the worker from starting; from
8f7b2ac until the fix that added the target, the link alone was masked and its target stayed readable.
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

import pytest

from hackwatch.sandbox import sandbox_mode_available
from hackwatch.sandbox._view import in_view, masked
from tests.helpers import REPO

HIDDEN_ERRORS = ("FileNotFoundError", "PermissionError")

DRIVER = """
import json, sys
from hackwatch.sandbox import Limits, SandboxPool
hide, paths = json.loads(sys.argv[1]), json.loads(sys.argv[2])
with SandboxPool(1, limits=Limits(wall_seconds=30), mode="namespaces", preload=["tests.sandbox.hostile"],
                 hide_paths=hide) as pool:
    res = pool.run("tests.sandbox.hostile:read_paths", paths)
print(json.dumps({"read": res.value, "error": res.error}))
"""


def _tree(root: Path) -> Path:
    """``root/hwmask`` with files, folders and links of every kind a caller may ask to hide."""
    d = root / "hwmask"
    (d / "realdir").mkdir(parents=True)
    (d / "dir2").mkdir()
    (d / "secretdir").mkdir()
    for rel, text in (("public.txt", "public"), ("public2.txt", "public2"), ("realdir/answer.txt", "answer"),
                      ("realdir/other.txt", "other"), ("dir2/x.txt", "x"), ("secretdir/answer.txt", "secret")):
        (d / rel).write_text(text)
    (d / "alias").symlink_to("public.txt")  # relative link to a file
    (d / "abs_alias").symlink_to(d / "public2.txt")  # absolute link to a file
    (d / "dlink").symlink_to(d / "realdir")  # absolute link to a folder, masked *through*
    (d / "dirlink2").symlink_to("dir2")  # relative link to a folder, masked itself
    (d / "into").symlink_to("secretdir/answer.txt")  # a visible link into a hidden folder
    (d / "realdir" / "deep").mkdir()
    (d / "deeplink").symlink_to("realdir/deep")
    (d / "dotdot").symlink_to("deeplink/../other.txt")  # '..' after a folder link: realdir/other.txt
    (d / "chain").symlink_to("alias2")  # a link to a link to a file
    (d / "alias2").symlink_to("public3.txt")
    (d / "public3.txt").write_text("public3")
    return d


def test_in_view_resolves_folders_as_the_view_does_and_keeps_the_last_component(tmp_path: Path) -> None:
    d = _tree(tmp_path / "exposed")
    exposed = [str(tmp_path / "exposed")]
    assert in_view(str(d / "alias"), exposed) == str(d / "alias")  # the link itself, not public.txt
    assert in_view(str(d / "dlink" / "answer.txt"), exposed) == str(d / "realdir" / "answer.txt")
    assert in_view(str(d / "dirlink2"), exposed) == str(d / "dirlink2")
    # '..' after a folder link leaves the link's target, as the kernel resolves it (not dropped lexically)
    assert in_view(str(d / "deeplink") + "/../other.txt", exposed) == str(d / "realdir" / "other.txt")
    (tmp_path / "outside").mkdir()
    (d / "out").symlink_to(tmp_path / "outside")
    assert in_view(str(d / "out" / "f.txt"), exposed) is None  # the view has no way there: nothing to mask
    (d / "loop").symlink_to("loop")
    assert in_view(str(d / "loop" / "f.txt"), exposed) is None
    # a host symlink *above* an exposed tree is a plain folder in the view: not followed
    (tmp_path / "above").symlink_to(tmp_path / "elsewhere")
    assert in_view(str(tmp_path / "above" / "env" / "x"), [str(tmp_path / "above" / "env")]) == str(
        tmp_path / "above" / "env" / "x")


def test_masked_names_the_link_and_its_target(tmp_path: Path) -> None:
    d = _tree(tmp_path / "exposed")
    exposed = [str(tmp_path / "exposed")]
    got = masked(exposed, [str(d / "alias"), str(d / "abs_alias"), str(d / "dlink" / "answer.txt"),
                           str(d / "dirlink2"), str(d / "dotdot"), str(d / "chain")], None)
    mine = [p for p in got if p.startswith(str(d))]
    assert mine == sorted(str(d / rel) for rel in (
        "alias", "public.txt", "abs_alias", "public2.txt", "realdir/answer.txt", "dirlink2", "dir2", "dotdot",
        "realdir/other.txt", "chain", "alias2", "public3.txt"))
    (tmp_path / "outside.txt").write_text("x")
    (d / "out_alias").symlink_to(tmp_path / "outside.txt")  # target outside the view: the link alone
    assert [p for p in masked(exposed, [str(d / "out_alias")], None) if "out" in p] == [str(d / "out_alias")]


@pytest.fixture(scope="module")
def venv() -> Iterator[tuple[Path, Path]]:
    """A venv outside the repo and /tmp (a job's /tmp is its own), seeing hackwatch through a ``.pth``."""
    if not os.access("/var/tmp", os.W_OK):
        pytest.skip("/var/tmp is not writable")
    root = Path(tempfile.mkdtemp(prefix="hackwatch-masklinks-", dir="/var/tmp"))
    env = root / "env"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(env)],
                   check=True, capture_output=True)
    site = Path(sysconfig.get_path("purelib", vars={"base": str(env), "platbase": str(env)}))
    (site / "__editable__.hackwatch-0.1.0.pth").write_text(f"{REPO / 'src'}\n")
    yield env, site
    shutil.rmtree(root, ignore_errors=True)


@pytest.mark.skipif(not sandbox_mode_available("namespaces"), reason="kernel refuses user/mount/PID/net namespaces")
def test_a_job_loses_the_masked_link_and_what_it_points_to(venv: tuple[Path, Path]) -> None:
    env, site = venv
    d = _tree(site)
    hide = [d / "alias", d / "abs_alias", d / "dlink" / "answer.txt", d / "dirlink2", d / "secretdir",
            d / "dotdot", d / "chain"]
    hidden = [d / "alias", d / "abs_alias", d / "dlink" / "answer.txt", d / "realdir" / "answer.txt",
              d / "dirlink2", d / "dirlink2" / "x.txt", d / "secretdir" / "answer.txt", d / "into",
              d / "public.txt", d / "public2.txt", d / "dir2" / "x.txt", d / "dotdot", d / "realdir" / "other.txt",
              d / "dlink" / "other.txt", d / "chain", d / "alias2", d / "public3.txt"]
    visible = {d / "realdir" / "deep": "listed:", d / "dlink" / "deep": "listed:"}
    paths = [str(p) for p in [*hidden, *visible]]
    proc = subprocess.run([str(env / "bin" / "python"), "-c", DRIVER, json.dumps([str(p) for p in hide]),
                           json.dumps(paths)], capture_output=True, text=True, cwd=str(REPO), timeout=300,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["error"] is None, out
    read = out["read"]
    for path in hidden:  # a masked link to a folder reads as an empty file: nothing to walk into
        allowed = (*HIDDEN_ERRORS, "NotADirectoryError") if path.parent.name in ("dirlink2", "dir2") else HIDDEN_ERRORS
        assert read[str(path)] in allowed, (path, read[str(path)])
    for path, want in visible.items():
        assert read[str(path)] == want, (path, read[str(path)])


SWAP_DRIVER = """
import json, os, sys
from hackwatch.sandbox import Limits, SandboxPool
d = sys.argv[1]
paths = [d + "/answer.txt", d + "/sdir/a.txt", d + "/late.txt"]
with SandboxPool(1, limits=Limits(wall_seconds=30), mode="namespaces", preload=["tests.sandbox.hostile"],
                 hide_paths=[d + "/answer.txt", d + "/sdir", d + "/late.txt"]) as pool:
    before = pool.run("tests.sandbox.hostile:read_paths", paths).value
    with open(d + "/answer.tmp", "w") as fh:
        fh.write("new answer")
    os.replace(d + "/answer.tmp", d + "/answer.txt")  # an atomic rewrite: rename over the masked file
    os.mkdir(d + "/sdir.new")
    with open(d + "/sdir.new/a.txt", "w") as fh:
        fh.write("new secret")
    os.rename(d + "/sdir", d + "/sdir.old")
    os.rename(d + "/sdir.new", d + "/sdir")  # a folder swapped in under the masked name
    with open(d + "/late.txt", "w") as fh:  # absent when the pool started
        fh.write("late answer")
    after = pool.run("tests.sandbox.hostile:read_paths", paths).value
print(json.dumps({"before": before, "after": after}))
"""


@pytest.mark.skipif(not sandbox_mode_available("namespaces"), reason="kernel refuses user/mount/PID/net namespaces")
def test_a_hidden_path_the_host_replaces_or_creates_while_the_pool_runs_stays_hidden(venv: tuple[Path, Path]) -> None:
    """A mask is a mount on the path's dentry: renaming a new file (or folder) over it on the host detaches the
    mount in every namespace, so the next job read the new content; a path absent at start was never masked.
    Each job now starts with every mask in place."""
    env, site = venv
    d = site / "hwswap"
    (d / "sdir").mkdir(parents=True)
    (d / "answer.txt").write_text("old answer")
    (d / "sdir" / "a.txt").write_text("old secret")
    proc = subprocess.run([str(env / "bin" / "python"), "-c", SWAP_DRIVER, str(d)], capture_output=True, text=True,
                          cwd=str(REPO), timeout=300, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    for when in ("before", "after"):
        for path, got in out[when].items():
            assert got in HIDDEN_ERRORS, (when, path, got)
