"""Every secure test starts from freshly loaded submission state: nothing carries from one test to the next.

Two ways, chosen per job after the first load, whichever is cheaper:

- **fresh module** (the usual case: executing the module took at most :data:`REEXEC_MAX_S`): before
  each test after the first the compiled module is executed again into a new ``submission`` module,
  so module globals, function attributes, default arguments, classes and caches defined in it start
  afresh; each test gets its own deep copy of its input;
- **fork** (a slow import, e.g. a large precomputation): the job forks a child per test from the
  loaded state; the child calls, sends the type-tagged output through a pipe and exits, so *all*
  process state (also what the code stashed on other modules or ``builtins``, the ``random`` state)
  starts afresh. A fork costs ~1 ms of CPU on the development VM (fork and exit of the warm worker's
  image), a hundred times a typical module execution, hence not the default.

A submission that behaves correctly only after earlier calls (Djinn's ``stateful_test_case_manipulation``)
therefore fails. Runs inside the sandbox job, next to the untrusted code: what the children send is
validated on the host like any job output. Known limits (state kept outside the module on the fresh-module
path, kernel objects shared by all tests of a job): docs/verification.md.
"""

from __future__ import annotations

import _thread
import copy
import json
import math
import os
import resource
import signal
import sys
import time
import types
from collections.abc import Callable
from pickle import dumps as _pickle
from pickle import loads as _unpickle
from typing import Any

from hackwatch.sandbox._linux import raw_fork
from hackwatch.sandbox._wire import read_exact
from hackwatch.verify._call import call_with_input, load_compiled
from hackwatch.verify._encode import EncodeError, encode

REEXEC_MAX_S = 0.002
"""CPU seconds the first execution of the module may take for the fresh-module path; slower imports fork."""

_MAX_REASON = 200
_HEADER = 8  # bytes of the little-endian message length that precedes each child's JSON reply
_dumps = json.JSONEncoder(ensure_ascii=True, check_circular=False).encode


def _fresh_copy(value: Any) -> Any:
    """A deep copy of one test input, made in C (``pickle``: the input reached the worker pickled).

    Inputs of one job arrive in one pickle, so two tests may share an object: each call gets its own.
    """
    try:
        return _unpickle(_pickle(value, 5))
    except Exception:  # noqa: BLE001 - anything pickle refuses gets the general copy
        return copy.deepcopy(value)


def _short(exc: BaseException) -> str:
    try:
        return f"{type(exc).__name__}: {exc}"[:_MAX_REASON]
    except BaseException:  # noqa: BLE001 - a submission's exception whose __str__ raises
        return type(exc).__name__[:_MAX_REASON]


class _CpuBudget:
    """The job's RLIMIT_CPU shared by all its test processes (each child's own counter starts at 0).

    Before each fork the parent subtracts what it and its finished children used; the child then
    lowers its own limit to what is left, rounded up to whole seconds (the kernel's granularity).
    """

    def __init__(self) -> None:
        self.soft, self.hard = resource.getrlimit(resource.RLIMIT_CPU)

    def left(self) -> float:
        """CPU seconds left to the job (``inf`` without a limit)."""
        if self.soft == resource.RLIM_INFINITY:
            return math.inf
        own = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return self.soft - (own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime)

    def apply(self, left: float, own: float = 0.0) -> None:
        """Never more than what the job has left: in a child (``own`` 0: its counter starts at 0), or in
        the job process itself (``own``: what it used so far, which its counter already holds).
        """
        if left == math.inf:
            return
        soft = max(1, math.ceil(own + left))
        hard = soft + 1 if self.hard == resource.RLIM_INFINITY else min(self.hard, soft + 1)
        resource.setrlimit(resource.RLIMIT_CPU, (min(soft, hard), hard))

    def own(self) -> float:
        """CPU seconds this process used itself."""
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime


def _reply(fn: Callable[..., Any], inp: Any, bare: bool) -> list[Any]:
    try:
        return ["ok", encode(call_with_input(fn, inp, bare))]
    except EncodeError as exc:
        return ["bad", _short(exc)]
    except BaseException as exc:  # noqa: BLE001 - every exception is a failed test, never a crash
        return ["err", _short(exc)]


def _child(fn: Callable[..., Any], inp: Any, bare: bool, write_fd: int, budget: _CpuBudget, left: float) -> None:
    """The test process: call, send the reply, exit without running anything of the parent's."""
    try:
        budget.apply(left)
        data = _dumps(_reply(fn, inp, bare)).encode()
        view = memoryview(len(data).to_bytes(_HEADER, "little") + data)
        while view:
            view = view[os.write(write_fd, view):]
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
    finally:
        os._exit(0)


def _no_reply(status: int) -> list[Any]:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        what = {signal.SIGXCPU: " (CPU time limit)", signal.SIGKILL: " (CPU time or memory limit)"}.get(sig, "")
        return ["err", f"test process killed by {name}{what}"]
    return ["err", f"test process exited with status {os.waitstatus_to_exitcode(status)} before returning"]


def call_isolated(fn: Callable[..., Any], inp: Any, bare: bool, budget: _CpuBudget) -> list[Any]:
    """One test in a fresh fork: ``[status, data]`` as :func:`run_secure` reports it."""
    left = budget.left()
    if left <= 0:
        return ["err", "CPU time limit of the job exhausted by earlier tests"]
    for stream in (sys.stdout, sys.stderr):  # nothing buffered may be written twice
        stream.flush()
    fork = raw_fork if _thread._count() == 0 else os.fork  # os.fork re-initialises the runtime's locks
    read_fd, write_fd = os.pipe()
    try:
        pid = fork()
    except BaseException:
        os.close(read_fd)
        os.close(write_fd)
        raise
    if pid == 0:
        os.close(read_fd)
        _child(fn, inp, bare, write_fd, budget, left)
    os.close(write_fd)
    try:
        header = read_exact(read_fd, _HEADER)
        data = None if header is None else read_exact(read_fd, int.from_bytes(header, "little"))
    finally:
        os.close(read_fd)
    _, status = os.waitpid(pid, 0)
    if data is None:
        return _no_reply(status)
    return _checked_reply(data)


_MALFORMED = ["err", "test process sent a malformed reply"]
"""What a test gets whose process wrote anything but a reply of :func:`_reply`'s shape: a failed test."""


def _checked_reply(data: bytes) -> list[Any]:
    """The child's reply if it has :func:`_reply`'s shape, else :data:`_MALFORMED`.

    The untrusted code ran in the child and can write to the pipe itself (not JSON, not UTF-8, nested past
    the recursion limit, an unknown status): that fails its own test, never the whole job. An ``ok``
    payload is decoded and checked on the host (``judge_secure``), as any job output.
    """
    try:
        reply = json.loads(data)
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        return list(_MALFORMED)
    if (not isinstance(reply, list) or len(reply) != 2 or reply[0] not in ("ok", "bad", "err")
            or (reply[0] != "ok" and not isinstance(reply[1], str))):
        return list(_MALFORMED)
    return reply


def call_each_isolated(fn: Callable[..., Any], inputs: list[Any], bare: bool) -> list[list[Any]]:
    """Every input in its own fork, except the last, which runs in this process: nothing runs after it,
    so it too starts from the state right after import (one fork fewer per job).
    """
    budget = _CpuBudget()
    outputs = [call_isolated(fn, inp, bare, budget) for inp in inputs[:-1]]
    if inputs:
        left = budget.left()
        if left <= 0:
            outputs.append(["err", "CPU time limit of the job exhausted by earlier tests"])
        else:
            if len(inputs) > 1:
                budget.apply(left, budget.own())
            outputs.append(_reply(fn, inputs[-1], bare))
    return outputs


def run_each_fresh(compiled: types.CodeType, function_name: str, inputs: list[Any],
                   bare_of: Callable[[Callable[..., Any]], bool]) -> list[list[Any]]:
    """Every input from freshly loaded module state (see the module docstring): ``[status, data]`` per test.

    The first load raises as :func:`load_compiled` does (the whole check fails); a later load that
    raises fails only its test. ``bare_of`` is the calling-convention check (``_runner._takes_bare_input``).
    """
    start = time.process_time()
    _, fn = load_compiled(compiled, function_name)
    if time.process_time() - start > REEXEC_MAX_S:
        return call_each_isolated(fn, inputs, bare_of(fn))
    outputs = []
    for k, inp in enumerate(inputs):
        if k:
            try:
                _, fn = load_compiled(compiled, function_name)
            except BaseException as exc:  # noqa: BLE001 - this test's fresh load failed
                outputs.append(["err", f"loading the submission again raised {_short(exc)}"[:_MAX_REASON]])
                continue
        outputs.append(_reply(fn, _fresh_copy(inp), bare_of(fn)))
    return outputs


__all__ = ["REEXEC_MAX_S", "call_each_isolated", "call_isolated", "run_each_fresh"]
