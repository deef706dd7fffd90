"""Thin ctypes wrappers for the Linux calls Python 3.11 lacks: unshare, mount, prctl, capset.

Everything here is a direct system call with ``OSError`` on failure (errno and the call named),
so the worker can tell "the kernel refused namespaces" apart from a bug.
"""

from __future__ import annotations

import ctypes
import os

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_NOATIME = 1024
MS_NODIRATIME = 2048
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MS_RELATIME = 1 << 21
MNT_DETACH = 2

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_CAPBSET_DROP = 24
PR_SET_SECUREBITS = 28
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38

# statvfs f_flag bits -> mount flags that must be preserved on a bind remount inside a user namespace
_STATVFS_TO_MS = {2: MS_NOSUID, 4: MS_NODEV, 8: MS_NOEXEC, 1024: MS_NOATIME, 2048: MS_NODIRATIME,
                  4096: MS_RELATIME}

# dlopen(NULL): the process's own symbols, libc included (ctypes.util.find_library would pull in
# subprocess and run ldconfig, and every module a worker holds costs on each job's fork).
_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
_libc.unshare.argtypes = [ctypes.c_int]
_libc.setns.argtypes = [ctypes.c_int, ctypes.c_int]
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]


_libc.syscall.restype = ctypes.c_long
_bare = ctypes.PyDLL(None)
"""The same libc through ctypes' cheapest call path, for the calls made once per job: the GIL held
(for fork, the child must not find it released), no errno capture, no declared argument types
(plain ints pass straight through). The first call of a ctypes function after a fork writes
pages; through ``_libc`` (GIL released, errno swapped, converters) it costs ~30-50 copy-on-write
faults, through ``_bare`` ~15. Failures are rare and read errno directly (:func:`_errno`)."""
_bare_prctl = _bare.prctl
_errno_location = _bare["__errno_location"]
_errno_location.restype = ctypes.c_void_p


def raise_errno(what: str) -> None:
    """Raise OSError for the errno of the last failed libc call."""
    err = ctypes.get_errno()
    raise OSError(err, f"{what}: {os.strerror(err)}")


def _check(result: int, what: str) -> None:
    if result != 0:
        raise_errno(what)


def _errno() -> int:
    """Errno of the last libc call of this thread, read from libc itself (for ``_bare`` calls)."""
    return ctypes.c_int.from_address(_errno_location()).value


def raw_fork() -> int:
    """fork(2) without CPython's fork handling (``os.fork`` runs PyOS_AfterFork_Child and every
    ``os.register_at_fork`` hook: threading, random re-seeding, logging...). Only for a
    single-threaded caller; it saves ~200 copy-on-write page faults (~0.4 ms) per child here, and the
    child keeps the caller's ``random`` state (deterministic jobs).
    """
    pid: int = _bare.fork()
    if pid < 0:
        err = _errno()
        raise OSError(err, f"fork: {os.strerror(err)}")
    return pid


def fresh_pid_namespace_for_children(own_pidns_fd: int) -> None:
    """Make the next child PID 1 of a new PID namespace: ``setns`` back to our own namespace (the
    last child's may be the current target), then ``unshare(CLONE_NEWPID)``. The per-job fast path
    (``_bare``); a failure is retried through the checked calls, which raise with errno.
    """
    if _bare.setns(own_pidns_fd, CLONE_NEWPID) != 0 or _bare.unshare(CLONE_NEWPID) != 0:
        setns(own_pidns_fd, CLONE_NEWPID)
        unshare(CLONE_NEWPID)


def syscall(number: int, *args: bytes | int) -> int:
    """A raw system call (for those glibc has no wrapper for, e.g. pivot_root)."""
    return int(_libc.syscall(number, *args))


def unshare(flags: int) -> None:
    """Move the calling process into new namespaces (unshare(2))."""
    _check(_libc.unshare(flags), f"unshare({flags:#x})")


def setns(fd: int, nstype: int) -> None:
    """Join the namespace ``fd`` refers to (setns(2))."""
    _check(_libc.setns(fd, nstype), f"setns({nstype:#x})")


def _enc(text: str | None) -> bytes | None:
    return text.encode() if text is not None else None


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    """Mount a filesystem or change a mount (mount(2))."""
    _check(_libc.mount(_enc(source), target.encode(), _enc(fstype), flags, _enc(data)), f"mount {target}")


def umount(target: str, flags: int = MNT_DETACH) -> None:
    """Unmount (umount2(2)), lazily by default."""
    _check(_libc.umount2(target.encode(), flags), f"umount {target}")


def prctl(option: int, arg: int = 0) -> None:
    """Set a process attribute (prctl(2) with one argument)."""
    _check(_libc.prctl(option, arg, 0, 0, 0), f"prctl({option})")


def sethostname(name: str) -> None:
    """Set the UTS namespace's host name (socket.sethostname without loading the socket module)."""
    raw = name.encode()
    _check(_libc.sethostname(raw, len(raw)), "sethostname")


def job_prctl(option: int, arg: int) -> None:
    """prctl(2) for the hot path of a forked job: ``OSError`` without errno on failure."""
    if _bare_prctl(option, arg, 0, 0, 0) != 0:
        raise OSError(f"prctl({option}, {arg}) failed")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def last_capability() -> int:
    """The highest capability number this kernel knows (read once, before the worker's pivot_root)."""
    global _LAST_CAP
    if _LAST_CAP is None:
        with open("/proc/sys/kernel/cap_last_cap") as fh:
            _LAST_CAP = int(fh.read())
    return _LAST_CAP


_LAST_CAP: int | None = None


def drop_all_capabilities() -> None:
    """Clear the bounding set, lock root-regains-caps off, then empty every capability set.

    Used for jobs that stay uid 0 inside their user namespace (non-root hosts, where only one uid
    can be mapped): without capabilities that "root" cannot mount, remount, or override file modes.
    """
    for cap in range(last_capability() + 1):
        _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
    # SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP | ..._LOCKED | SECBIT_KEEP_CAPS_LOCKED
    prctl(PR_SET_SECUREBITS, 0x01 | 0x02 | 0x04 | 0x08 | 0x20)
    header = _CapHeader(0x20080522, 0)
    data = (_CapData * 2)()
    _check(_libc.capset(ctypes.byref(header), data), "capset")


def mount_points() -> list[str]:
    """Mount points of the calling process's mount namespace, parents before children."""
    points = []
    with open("/proc/self/mountinfo") as fh:
        for line in fh:
            raw = line.split()[4]
            points.append(raw.encode().decode("unicode_escape"))  # \040 -> space
    return sorted(set(points), key=lambda p: (p.count("/"), p))


def remount_readonly(path: str) -> None:
    """Bind-remount one mount point read-only, keeping its nosuid/nodev/noexec/atime flags."""
    fflag = os.statvfs(path).f_flag
    keep = 0
    for bit, ms in _STATVFS_TO_MS.items():
        if fflag & bit:
            keep |= ms
    mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | keep)


def write_id_maps(pid: int | str, uid_map: str, gid_map: str, deny_setgroups: bool) -> None:
    """Write /proc/PID/{uid,gid}_map (and setgroups=deny, required for unprivileged writers)."""
    if deny_setgroups:
        with open(f"/proc/{pid}/setgroups", "w") as fh:
            fh.write("deny")
    with open(f"/proc/{pid}/uid_map", "w") as fh:
        fh.write(uid_map)
    with open(f"/proc/{pid}/gid_map", "w") as fh:
        fh.write(gid_map)
