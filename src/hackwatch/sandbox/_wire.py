"""Length-prefixed frames over pipes between the pool and its workers."""

from __future__ import annotations

import os
import struct

_HEADER = struct.Struct(">I")
MAX_FRAME = 256 * 1024 * 1024


def send_frame(fd: int, data: bytes) -> None:
    """Write one frame (4-byte big-endian length, then the bytes)."""
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view):]


def read_exact(fd: int, n: int) -> bytes | None:
    """``n`` bytes, or None if the pipe ends first (the writer died or closed early)."""
    chunks = []
    while n:
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def recv_frame(fd: int) -> bytes | None:
    """Read one frame; None on end of file (the other side closed or died)."""
    header = read_exact(fd, _HEADER.size)
    if header is None:
        return None
    (size,) = _HEADER.unpack(header)
    if size > MAX_FRAME:
        raise ValueError(f"frame of {size} bytes exceeds the {MAX_FRAME}-byte limit")
    return read_exact(fd, size) if size else b""
