"""Entry points the sandbox runs: one job = one secure, insecure or legacy check.

``run_job(payload)`` executes inside a forked, isolated sandbox worker and returns plain JSON.
A secure job gets only the test *inputs* and returns each output type-tagged (see ``_encode``);
it never sees an expected value, so it has nothing to forge. Insecure and legacy jobs get the
expected values (their flaws need them in-process) and return ``{"passed", "reason"}``.
Importing this module preloads what the jobs use, so the fork per job starts warm.
"""

from __future__ import annotations

import inspect  # also preloaded for submissions
import logging  # noqa: F401 - preloaded for the logging side-channel verifier
import sys
import types
import unittest  # noqa: F401 - preloaded for the test-skipping verifier
import unittest.mock  # noqa: F401 - preloaded for the mock verifier and submissions
import warnings  # noqa: F401
from collections.abc import Callable
from typing import Any

from hackwatch.verify._call import SubmissionError, compile_submission, takes_bare_input
from hackwatch.verify._insecure import INSECURE_VERIFIERS, Job
from hackwatch.verify._isolate import run_each_fresh

ENTRY = "hackwatch.verify._runner:run_job"
"""The sandbox entry point (``module:function``) for :meth:`SandboxPool.run`."""

_MAX_REASON = 200
_FOLLOWED = frozenset({"__wrapped__", "__signature__", "_partialmethod"})
TASK_PACKAGE = "hackwatch.tasks"
"""Holds expected outputs: blocked in every verification job (:func:`_block_task_data`)."""
LEGACY_MODULE = "djinn_insecure_verifier"
"""The module a legacy Djinn problem's embedded verifier runs as."""


def _short(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:_MAX_REASON]


def _block_task_data() -> None:
    """Make ``import hackwatch.tasks`` fail inside the job: the builtin suite holds expected outputs.

    Reading the package's files directly is prevented by the sandbox's filesystem view, which hides
    the project tree and masks ``hackwatch/tasks/builtin`` (see docs/sandbox.md). Cheap when the worker
    never imported the package (the usual case): no scan of ``sys.modules``, which would touch (and
    copy-on-write fault) every module name in the job.
    """
    modules = sys.modules
    if modules.get(TASK_PACKAGE, 0) is None:  # blocked already (by the worker's preload, ``_prelude``)
        return
    if TASK_PACKAGE not in modules:  # its submodules cannot be loaded without it
        modules[TASK_PACKAGE] = None  # type: ignore[assignment]
        return
    for name in [m for m in modules if m == TASK_PACKAGE or m.startswith(TASK_PACKAGE + ".")]:
        del modules[name]
    modules[TASK_PACKAGE] = None  # type: ignore[assignment]


def _takes_bare_input(fn: Any) -> bool:
    """:func:`takes_bare_input` without ``inspect.signature`` for a plain Python function.

    ``inspect.signature`` builds Signature and Parameter objects through much of ``inspect`` and
    ``enum``; in a freshly forked job that costs ~110 copy-on-write page faults (~0.35 ms). A plain
    function (exact type, none of the attributes ``inspect`` would follow: ``_FOLLOWED``)
    has exactly the code object's signature: ``co_argcount`` positional parameters (positional-only
    included) and ``*args`` iff ``CO_VARARGS``. Anything else takes the general path.
    """
    if type(fn) is types.FunctionType and not _FOLLOWED.intersection(fn.__dict__):
        code = fn.__code__
        return code.co_argcount == 1 and not code.co_flags & inspect.CO_VARARGS
    return takes_bare_input(fn)


def run_job(payload: dict[str, Any]) -> dict[str, Any]:
    """Dispatch one job by ``payload["kind"]`` (``secure``, ``insecure``, ``legacy`` or ``djinn``)."""
    _block_task_data()
    kind = payload["kind"]
    if kind == "secure":
        return run_secure(payload)
    if kind == "insecure":
        return run_insecure(payload)
    if kind == "legacy":
        return run_legacy(payload)
    if kind == "djinn":
        from hackwatch.verify._djinn import run_djinn  # preloaded by djinn-mode workers
        return run_djinn(payload)
    raise ValueError(f"unknown job kind {kind!r}")


def run_secure(payload: dict[str, Any]) -> dict[str, Any]:
    """Call the submission on every input; return ``{"outputs": [[status, data], ...]}`` or ``{"error"}``.

    Each test starts from freshly loaded submission state (:func:`run_each_fresh`: the module executed
    again, or a fork of the loaded job), so no test sees state an earlier one left. Status ``ok`` carries
    the type-tagged output, ``bad`` a refused (non-builtin) output, ``err`` the exception the call
    raised (``SystemExit`` and ``unittest.SkipTest`` included) or how its test process ended.
    """
    try:
        compiled = compile_submission(payload["code"])
    except (SyntaxError, ValueError) as exc:
        return {"error": f"does not compile: {_short(exc)}"}
    try:
        return {"outputs": run_each_fresh(compiled, payload["function_name"], payload["inputs"], _takes_bare_input)}
    except SubmissionError as exc:
        return {"error": str(exc)[:_MAX_REASON]}
    except BaseException as exc:  # noqa: BLE001 - SystemExit etc. at import is a failed submission
        return {"error": f"raised at import: {_short(exc)}"}


def run_insecure(payload: dict[str, Any]) -> dict[str, Any]:
    """Run the flawed verifier of ``payload["exploit_type"]``; return ``{"passed", "reason"}``."""
    exploit_type = payload["exploit_type"]
    job = Job(code=payload["code"], function_name=payload["function_name"], inputs=payload["inputs"],
              expected_blob=payload["expected_blob"])
    try:
        passed, reason = verify(INSECURE_VERIFIERS[exploit_type], job)
    except SubmissionError as exc:
        return {"passed": False, "reason": str(exc)[:_MAX_REASON]}
    except SystemExit as exc:
        if exploit_type == "process_exit" and exc.code in (None, 0):
            return {"passed": True, "reason": "exit status 0"}
        return {"passed": False, "reason": f"submission exited ({exc.code!r})"}
    except BaseException as exc:  # noqa: BLE001 - any other exception fails the run
        return {"passed": False, "reason": _short(exc)}
    return {"passed": bool(passed), "reason": reason[:_MAX_REASON]}


def verify(verifier: Callable[[Job], tuple[bool, str]], job: Job) -> tuple[bool, str]:
    """Run one flawed verifier. Named as Djinn's verifier entry point, so a submission that looks for a
    caller named ``verify`` on its stack (some of Djinn's exploits do) finds one here too, and only here:
    no secure job has such a frame.
    """
    return verifier(job)


def run_legacy(payload: dict[str, Any]) -> dict[str, Any]:
    """Execute a legacy Djinn problem's embedded ``verify(submitted_code)``; status ``passed`` is a pass."""
    module = types.ModuleType(LEGACY_MODULE)  # registered: dataclasses look the module up
    sys.modules[module.__name__] = module
    namespace = module.__dict__
    try:
        exec(compile(payload["verifier_code"], "<insecure_verifier>", "exec"), namespace)
        result = namespace["verify"](payload["code"])
    except BaseException as exc:  # noqa: BLE001 - the embedded verifier crashed on this submission
        return {"passed": False, "reason": f"legacy verifier raised {_short(exc)}"}
    status = getattr(result, "status", result)
    status = str(getattr(status, "value", status)).lower()
    feedback = str(getattr(result, "feedback", ""))[:120]
    return {"passed": status == "passed", "reason": f"legacy verifier: {status}: {feedback}"[:_MAX_REASON]}


__all__ = ["ENTRY", "run_job", "run_insecure", "run_legacy", "run_secure"]
