"""The worker's allowlist filesystem view: a new root holding only what a Python job needs.

Built once per worker, after its modules are preloaded (they are in memory, so their source files
need not be visible any more). The new root is a small read-only tmpfs with read-only bind mounts
of the allowlisted host paths — the host interpreter's environment (see :func:`host_interpreter`:
its venv or conda prefix, the base installation, the real executable behind ``sys.executable`` with
its symlink chain re-created) and the ``sys.path`` entries inside it (with the folders their
installed files are symlinks into, as uv's symlink link mode makes), ``/usr``, ``/bin``, ``/sbin``,
``/lib*``, ``/etc`` — a minimal ``/dev``, the worker's own ``/proc``
and an empty ``/tmp`` and ``/dev/shm`` (a fresh tmpfs per job, see :func:`fresh_tmp`). The worker
``pivot_root``s into it and detaches the host tree, so nothing else of the host (project sources,
task files, ``/work``, home directories, ``/run``, ``/var``, ``/sys``) exists for a job at all.
Masked even inside allowlisted paths: the builtin task suite's directory (expected outputs), the
caller's ``hide_paths``, ``$HOME``, and a few secret files of ``/etc``.
"""

from __future__ import annotations

import csv
import os
import stat
import sys
from collections.abc import Iterable
from typing import Any

from hackwatch.sandbox import _linux as lx

SYSTEM_PATHS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
"""Host paths every job sees (read-only), besides the interpreter's prefixes."""
ETC_SECRETS = ("/etc/shadow", "/etc/gshadow", "/etc/shadow-", "/etc/gshadow-", "/etc/ssh",
               "/etc/ssl/private", "/etc/sudoers", "/etc/sudoers.d")
"""Masked inside /etc (unreadable for an unprivileged uid anyway; hidden to be sure)."""
DEVICES = ("null", "zero", "full", "random", "urandom")
"""Device nodes bind-mounted into the job's minimal /dev."""
PRIVATE_PATHS = ("/tmp", "/dev", "/proc")
"""Paths of the view that are the job's own (fresh tmpfs, minimal /dev, own /proc), never the host's."""
NEW_ROOT = "/tmp"
"""Where the new root is assembled before pivot_root (inside the worker's private mount namespace)."""
_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "ppc64le": 203, "s390x": 217}
_TMP_FLAGS = lx.MS_NOSUID | lx.MS_NODEV


class MaskError(OSError):
    """A path to hide could not be masked: the worker must not start (no fallback, where nothing is hidden)."""


def _inside(path: str, top: str) -> bool:
    return path == top or path.startswith(top.rstrip("/") + "/")


def _outermost(paths: Iterable[str]) -> list[str]:
    paths = sorted(set(paths))
    return [p for p in paths if not any(q != p and _inside(p, q) for q in paths)]


def host_interpreter() -> dict[str, list[str]]:
    """The running interpreter's environment, taken on the host and handed to its sandbox workers.

    A worker runs ``python -S``: without ``site`` it never reads ``pyvenv.cfg``, so its own
    ``sys.prefix`` is the *base* installation, not the venv the host runs in. ``prefixes``: the
    host's ``sys.prefix``, ``sys.exec_prefix`` and their base counterparts (venv, conda env, pyenv,
    uv-managed Python alike), in that order; ``executables``: ``sys.executable`` and the base
    executable behind it.
    """
    prefixes = [sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix]
    executables = [sys.executable, getattr(sys, "_base_executable", "")]
    return {"prefixes": [os.path.abspath(p) for p in prefixes],
            "executables": list(dict.fromkeys(os.path.abspath(p) for p in executables if p))}


def resolution_chain(path: str, limit: int = 40) -> list[str]:
    """Every host path the kernel passes through to open ``path``: each symlink met, on any
    component, in order, then the real file. Re-creating the links and exposing the real file makes
    ``path`` work inside the view exactly as on the host (so Python finds its landmarks from it).
    """
    out: list[str] = []
    todo = os.path.abspath(path)
    for _ in range(limit):
        parts = [part for part in todo.split("/") if part]
        here = "/"
        for i, part in enumerate(parts):
            step = os.path.join(here, part)
            if os.path.islink(step):
                out.append(step)
                todo = os.path.normpath(os.path.join(here, os.readlink(step), *parts[i + 1:]))
                break
            here = step
        else:
            out.append(here)
            return out
    return out  # a symlink loop: what was met so far


def linked_installs(site_dirs: Iterable[str], rows: int = 8) -> list[str]:
    """Folders outside the environment that its installed files are symlinks into, one per distribution.

    uv's ``--link-mode symlink`` (``UV_LINK_MODE=symlink``) installs every file of a wheel as a symlink
    into uv's cache (``…/archive-v0/<id>/``, laid out as site-packages is); without that folder in the
    view, a job would import such a package as an empty namespace package. Each ``*.dist-info/RECORD``
    is read for its first ``rows`` entries; the first that is a symlink whose real path ends in the
    entry's own relative path gives the folder, if that folder holds the same ``*.dist-info`` (an
    unpacked wheel, as uv's cache is). Development links (``flit install --symlink``: a package's
    directory, or a one-module project's file, linked into its source tree) are not followed: the
    project's sources stay hidden.
    """
    roots: set[str] = set()
    for site in site_dirs:
        try:
            infos = [e.path for e in os.scandir(site) if e.name.endswith(".dist-info") and e.is_dir()]
        except OSError:
            continue
        for info in infos:
            try:
                with open(os.path.join(info, "RECORD"), newline="") as f:
                    entries = [row[0] for _, row in zip(range(rows), csv.reader(f), strict=False) if row]
            except (OSError, UnicodeDecodeError, csv.Error):
                continue
            for rel in entries:
                path = os.path.normpath(os.path.join(site, rel))
                if rel.startswith(("..", "/")) or not os.path.islink(path):
                    continue
                real = os.path.realpath(path)
                root = real[: -len(rel) - 1]
                if real.endswith("/" + rel) and os.path.isdir(os.path.join(root, os.path.basename(info))):
                    roots.add(root)
                break
    return sorted(roots)


def allowlist(sys_path: list[str], interpreter: dict[str, list[str]] | None = None) -> list[str]:
    """Outermost host paths to expose: the interpreter's prefixes and the real files behind its
    executables, ``sys.path`` entries under the prefixes, the folders their installed files link into
    (:func:`linked_installs`), system dirs.

    ``interpreter`` is :func:`host_interpreter` as taken on the host (default: this process's).
    ``sys.path`` entries outside the prefixes (an editable project's ``src``, the current directory)
    are *not* exposed: modules from there must be preloaded. ``OSError`` if the environment lies
    where jobs see their own paths instead of the host's (a venv under ``/tmp``).
    """
    interpreter = interpreter or host_interpreter()
    prefixes = [p for p in interpreter["prefixes"] if os.path.isdir(p)]
    paths = set(prefixes)
    inside = {p for p in map(os.path.abspath, sys_path) if os.path.isdir(p) and any(_inside(p, q) for q in prefixes)}
    paths |= inside | set(linked_installs(sorted(inside)))
    paths |= {resolution_chain(exe)[-1] for exe in interpreter["executables"] if os.path.exists(exe)}
    paths |= {p for p in SYSTEM_PATHS if os.path.lexists(p)}
    for p in paths:
        _refuse_private(p)
    return _outermost(paths)


def _refuse_private(path: str) -> None:
    for private in PRIVATE_PATHS:
        if _inside(path, private):
            raise OSError(f"the interpreter's environment {path} lies under {private}, which every sandbox job "
                          f"sees as its own (a fresh tmpfs, a minimal /dev, its own /proc), so jobs could not "
                          f"use it: create the venv elsewhere (e.g. under /var/tmp or your home directory)")


def interpreter_links(exposed: list[str], interpreter: dict[str, list[str]]) -> dict[str, str]:
    """The symlinks on the way to each executable that the exposed paths do not already show, with
    their targets (re-created as symlinks in the view, as the top-level ``/lib -> usr/lib`` is). A
    link above an exposed path is left out: that path is bound where the host shows it.
    """
    links: dict[str, str] = {}
    for exe in interpreter["executables"]:
        for step in resolution_chain(exe)[:-1]:
            if not any(_inside(step, q) or _inside(q, step) for q in exposed):
                _refuse_private(step)
                links[step] = os.readlink(step)
    return links


def masked(exposed: list[str], hide: Iterable[str], home: str | None) -> list[str]:
    """Paths inside the exposed tree to cover: the builtin task suite, ``hide``, $HOME, /etc secrets.

    The suite is covered where the running hackwatch is installed, in every other ``hackwatch`` package
    on ``sys.path`` (a copy installed in the base interpreter that a venv with system site-packages
    shadows, an old install), and, when its files are symlinks into a cache (uv's symlink link mode, see
    :func:`linked_installs`), in that cache folder too. Each path is taken where the view finds it
    (:func:`in_view`); a symlink is masked with what it points to (:func:`_mask_targets`).
    """
    want = [*hide, *ETC_SECRETS, *([home] if home else [])]
    import hackwatch
    tops = [*getattr(hackwatch, "__path__", []), *(os.path.join(p, "hackwatch") for p in sys.path if p)]
    for top in dict.fromkeys(map(os.path.abspath, tops)):
        builtin = os.path.join(top, "tasks", "builtin")
        want += [builtin, *filter(None, [_linked_copy(builtin)])]
    out = []
    for p in (target for w in want for target in _mask_targets(w, exposed)):
        if any(_inside(p, q) and p != q for q in exposed) or p in exposed:  # absent ones too (keep_masks)
            out.append(p)
    return sorted(set(out))


def in_view(path: str, exposed: list[str], limit: int = 40) -> str | None:
    """Where the job's kernel finds ``path`` in the view, as the path to mask: its folders resolved the
    way the view resolves them, its last component kept as named (a symlink there is masked itself).

    A symlink on the way inside an exposed tree is followed from the view's root (an absolute target
    means the view's path, not the host's), and a ``..`` after it leaves the link's target, as the
    kernel does (not the link's folder, as a lexical normalisation would); a folder above an exposed
    tree is a plain folder of the view (a host symlink there is not in the view). None when the view
    has no way to ``path`` (it passes outside every exposed tree, or through a symlink loop).
    """
    parts = [part for part in (path if path.startswith("/") else os.path.join(os.getcwd(), path)).split("/")
             if part not in ("", ".")]
    here, links = "/", 0
    while parts:
        part = parts.pop(0)
        if part in (".", ".."):
            here = os.path.dirname(here) if part == ".." else here
            continue
        step = os.path.join(here, part)
        if not parts:
            return step
        if not any(_inside(step, q) for q in exposed):
            if not any(_inside(q, step) for q in exposed):
                return None
        elif os.path.islink(step):
            links += 1
            if links > limit:
                return None
            target = os.readlink(step)
            parts[:0] = target.split("/")
            here = "/" if target.startswith("/") else here
            continue
        here = step
    return here


def _mask_targets(path: str, exposed: list[str], limit: int = 40) -> list[str]:
    """``path`` as the view finds it (:func:`in_view`) and, while that is a symlink, what it points to:
    hiding a link hides its content wherever the view shows it. Empty when the view has no way there.
    """
    out: list[str] = []
    p = in_view(path, exposed)
    while p is not None and len(out) < limit:
        out.append(p)
        if not os.path.islink(p):
            break
        p = in_view(os.path.join(os.path.dirname(p), os.readlink(p)), exposed)
    return out


def _linked_copy(folder: str) -> str | None:
    """The folder's counterpart in the cache its files are symlinks into (uv's symlink link mode), from
    its first linked file; None when no file in it is a link or the link is not laid out as the folder.
    """
    for root, _dirs, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            if os.path.islink(path):
                rel, real = os.path.relpath(path, folder), os.path.realpath(path)
                return real[: -len(rel) - 1] if real.endswith(os.sep + rel) else None
    return None


def open_sources(paths: list[str], links: dict[str, str] | None = None) -> dict[str, int | str]:
    """O_PATH handles of the paths (opened while the worker still has the host's rights), or the
    target of a top-level symlink such as ``/lib -> usr/lib``; ``links`` (path -> target) as given.
    """
    out: dict[str, int | str] = dict(links or {})
    for p in paths:
        if os.path.islink(p) and os.path.dirname(p) == "/":
            out[p] = os.readlink(p)
        else:
            out[p] = os.open(p, os.O_PATH | os.O_CLOEXEC)
    return out


def _bind(source_fd: int, target: str, directory: bool) -> None:
    if directory:
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if not os.path.exists(target):
            os.close(os.open(target, os.O_CREAT | os.O_WRONLY, 0o000))
    lx.mount(f"/proc/self/fd/{source_fd}", target, None, lx.MS_BIND | lx.MS_REC)


def _mask(path: str) -> None:
    """Cover one path of the new root where it is named: a directory with an empty unreadable tmpfs,
    anything else with the empty file — a symlink itself, never its target (mount(2) follows links,
    so the mount goes on an ``O_PATH | O_NOFOLLOW`` handle). ``path``'s folders hold no symlink
    (:func:`in_view` resolved them); one that does is refused rather than masked somewhere else.
    """
    parent = os.path.dirname(path)
    if os.path.realpath(parent) != os.path.join(os.path.realpath(NEW_ROOT), os.path.relpath(parent, NEW_ROOT)):
        raise MaskError(f"mask {path[len(NEW_ROOT):]}: a folder on the way is a symlink in the view; not masked "
                        "where it points")
    try:
        _cover(path, f"{NEW_ROOT}/.masked")
    except OSError as exc:
        raise MaskError(f"mask {path[len(NEW_ROOT):]}: {exc}") from exc


def _cover(path: str, empty_file: str, readonly: bool = False) -> bool:
    """Mount the mask on ``path`` itself (never a link's target); False when ``path`` does not exist."""
    try:
        fd = os.open(path, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError, PermissionError):  # absent, under an earlier mask, or
        return False  # out of the worker's reach (so of its jobs', which have fewer rights)
    try:
        here = f"/proc/self/fd/{fd}"
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            lx.mount("tmpfs", here, "tmpfs", _TMP_FLAGS | lx.MS_NOEXEC, "size=4k,nr_inodes=1,mode=000")
        else:
            lx.mount(empty_file, here, None, lx.MS_BIND)
    finally:
        os.close(fd)
    if readonly:
        lx.remount_readonly(path)
    return True


def mask_state(mask: list[str]) -> dict[str, tuple[int, int] | None]:
    """After :func:`enter_root`: what each masked path of the view is now (``(st_dev, st_ino)`` of its
    mask, None where the path is absent), for :func:`keep_masks`.
    """
    return {path: _identity(path) for path in mask}


def keep_masks(state: dict[str, tuple[int, int] | None]) -> None:
    """Before each job: cover again a masked path that is no longer its mask, or that exists now.

    A mask is a mount on the path's dentry: a host that renames a new file or folder over the path
    (an atomic rewrite) detaches that mount in every namespace, and a path absent when the worker
    started was never covered; either way the next job would read the host's new content. One
    ``lstat`` per mask (parents before children, so a re-covered folder hides what is below it).
    """
    for path in sorted(state):
        now = _identity(path)
        if now is not None and now != state[path]:
            _cover(path, "/.masked", readonly=True)
            state[path] = _identity(path)


def _identity(path: str) -> tuple[int, int] | None:
    try:
        st = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return None
    return st.st_dev, st.st_ino


def build_root(sources: dict[str, int | str], mask: list[str]) -> None:
    """Assemble the new root at :data:`NEW_ROOT` (binds, masks, /dev, mount points); call before
    the worker becomes PID 1 of its namespace (it needs the host's /proc for the handles).
    """
    r = NEW_ROOT
    lx.mount("tmpfs", r, "tmpfs", _TMP_FLAGS, "size=1m,mode=755")
    os.close(os.open(f"{r}/.masked", os.O_CREAT | os.O_WRONLY, 0o000))
    for path, src in sorted(sources.items()):
        if isinstance(src, str):
            os.makedirs(os.path.dirname(r + path), exist_ok=True)
            os.symlink(src, r + path)
        else:
            _bind(src, r + path, os.path.isdir(f"/proc/self/fd/{src}"))
            os.close(src)
    for path in mask:
        _mask(r + path)
    os.makedirs(f"{r}/dev/shm")
    for name in DEVICES:
        if os.path.exists(f"/dev/{name}"):
            fd = os.open(f"/dev/{name}", os.O_PATH)
            _bind(fd, f"{r}/dev/{name}", False)
            os.close(fd)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                         ("stderr", "/proc/self/fd/2")):
        os.symlink(target, f"{r}/dev/{name}")
    for d in ("proc", "tmp", ".old"):
        os.makedirs(f"{r}/{d}", exist_ok=True)
    os.chmod(f"{r}/tmp", 0o1777)


def enter_root() -> bool:
    """As PID 1 of the worker's PID namespace: mount its /proc (else bind the host's), pivot_root into
    the new root, detach the host tree and make every mount read-only. True if /proc is our own.
    """
    r = NEW_ROOT
    try:
        lx.mount("proc", f"{r}/proc", "proc", lx.MS_NOSUID | lx.MS_NODEV | lx.MS_NOEXEC)
        own_proc = True
    except OSError:  # a partly masked outer /proc (Docker): show the host's, read-only
        lx.mount("/proc", f"{r}/proc", None, lx.MS_BIND | lx.MS_REC)
        own_proc = False
    number = _PIVOT_ROOT.get(os.uname().machine)
    if number is None:
        raise OSError(f"pivot_root: unknown system call number on {os.uname().machine}")
    if lx.syscall(number, r.encode(), f"{r}/.old".encode()) != 0:
        lx.raise_errno("pivot_root")
    os.chdir("/")
    lx.umount("/.old")
    os.rmdir("/.old")
    for point in lx.mount_points():
        lx.remount_readonly(point)
    return own_proc


def fresh_tmp(limits: dict[str, Any], state: dict[str, Any]) -> None:
    """Give the next job an empty private /tmp and /dev/shm (size ``tmp_mb``).

    A fresh tmpfs is mounted when the last job left anything behind: an entry, or any change of the
    directory itself (its ctime moves on chmod, chown, xattr and utime too, and cannot be set back),
    or when the size changed; an untouched one is reused (one ``listdir`` and ``stat`` each).
    """
    size = int(limits["tmp_mb"])
    if state.get("tmp_size") == size and _pristine("/tmp", state) and _pristine("/dev/shm", state):
        return
    opts = f"size={size}m,mode=1777"
    for path, extra in (("/tmp", 0), ("/dev/shm", lx.MS_NOEXEC)):
        if state.get("tmp_size") is not None:
            lx.umount(path)
        lx.mount("tmpfs", path, "tmpfs", _TMP_FLAGS | extra, opts)
        st = os.stat(path)
        state[path] = (st.st_mode, st.st_uid, st.st_gid, st.st_mtime_ns, st.st_ctime_ns)
    state["tmp_size"] = size


def _pristine(path: str, state: dict[str, Any]) -> bool:
    st = os.stat(path)
    return state.get(path) == (st.st_mode, st.st_uid, st.st_gid, st.st_mtime_ns, st.st_ctime_ns) and not os.listdir(path)
