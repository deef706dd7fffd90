"""Pure pieces: classifying a finished job, the wire framing, the limits validation."""

from __future__ import annotations

import os
import signal

import pytest

from hackwatch.sandbox import Limits
from hackwatch.sandbox._classify import to_result
from hackwatch.sandbox._wire import recv_frame, send_frame


def reply(status: int, result: str | None = None, timed_out: bool = False, cpu_s: float = 0.01) -> dict:
    return {"event": "done", "status": status, "cpu_s": cpu_s, "wall_s": 0.02, "timed_out": timed_out,
            "stdout": "o", "stderr": "e", "result": result, "result_overflow": False}


def exited(code: int) -> int:
    return code << 8


def test_normal_return() -> None:
    res = to_result(reply(exited(0), '{"value": [1, {"a": 2}]}'), Limits(), "namespaces")
    assert (res.value, res.exit_code, res.signal, res.killed_reason, res.error, res.ok) == (
        [1, {"a": 2}], 0, None, None, None, True)


def test_value_ignored_unless_clean_exit() -> None:
    res = to_result(reply(exited(3), '{"value": 1}'), Limits(), "rlimits")
    assert (res.value, res.exit_code, res.mode) == (None, 3, "rlimits")


@pytest.mark.parametrize(("status", "timed_out", "cpu", "expected"), [
    (signal.SIGKILL, True, 0.1, "wall_timeout"),
    (signal.SIGXCPU, False, 5.0, "cpu_limit"),
    (signal.SIGKILL, False, 6.0, "cpu_limit"),
    (signal.SIGKILL, False, 0.1, "signal"),
    (signal.SIGXFSZ, False, 0.1, "file_size"),
    (signal.SIGSEGV, False, 0.1, "signal"),
])
def test_signals(status: int, timed_out: bool, cpu: float, expected: str) -> None:
    res = to_result(reply(status, timed_out=timed_out, cpu_s=cpu), Limits(cpu_seconds=5), "namespaces")
    assert (res.killed_reason, res.signal, res.exit_code, res.value, res.timed_out) == (
        expected, status, None, None, timed_out)


def test_errors_and_untrusted_result_text() -> None:
    res = to_result(reply(exited(1), '{"error": "MemoryError: "}'), Limits(), "namespaces")
    assert (res.killed_reason, res.error) == ("memory", "MemoryError: ")
    res = to_result(reply(exited(1), '{"error": "KeyError: 1"}'), Limits(), "namespaces")
    assert (res.killed_reason, res.error) == (None, "KeyError: 1")
    for text in ("not json{", "[1, 2]", '"value"'):
        res = to_result(reply(exited(0), text), Limits(), "namespaces")
        assert res.value is None and res.error is not None and not res.ok
    overflow = {**reply(exited(0)), "result_overflow": True}
    assert "16 MiB" in (to_result(overflow, Limits(), "namespaces").error or "")


def test_wire_roundtrip() -> None:
    r, w = os.pipe()
    send_frame(w, b"hello")
    send_frame(w, b"")
    os.close(w)
    assert (recv_frame(r), recv_frame(r), recv_frame(r)) == (b"hello", b"", None)
    os.close(r)


def test_limits_validation() -> None:
    assert Limits().to_dict()["memory_mb"] == 1024
    with pytest.raises(ValueError, match="Limits.memory_mb must be > 0"):
        Limits(memory_mb=0)
