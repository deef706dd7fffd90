"""What every flawed verifier shares: the job it sees, calling the submission on each input, comparing.

The 27 flaws in ``_insecure`` plug into :func:`run_check` through its hooks (``extra_globals``,
``before`` each call, the comparison, a result accepted as is) or call :func:`call_all` and
:func:`compare_all` themselves around their own channel. The expected outputs stay pickled in the
:class:`Job` until every call has returned, except where a flaw's channel exposes them.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hackwatch.verify._call import call_with_input, load_submission, takes_bare_input
from hackwatch.verify._lenient import lenient_equal


@dataclass
class Job:
    """What one insecure check sees: the submission, the tests (expected values still pickled)."""

    code: str
    function_name: str
    inputs: list[Any]
    expected_blob: bytes
    reason: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def expected(self) -> list[Any]:
        return pickle.loads(self.expected_blob)


Verdict = tuple[bool, str]
"""An insecure check's answer: accepted, and why."""


def insecure_equal(expected: Any, actual: Any) -> bool:
    """The insecure verifiers' comparison: Djinn's coercion and type-constrained equality (``_lenient``)."""
    return lenient_equal(expected, actual)


def call_all(job: Job, fn: Callable[..., Any], *, before: Callable[[int, Any], None] | None = None,
             kwargs_for: Callable[[int], dict[str, Any]] | None = None) -> list[Any]:
    """Call ``fn`` on every input in order; ``before(i, input)`` runs first (a side channel's hook)."""
    bare = takes_bare_input(fn)
    results = []
    for i, inp in enumerate(job.inputs):
        if before is not None:
            before(i, inp)
        kwargs = kwargs_for(i) if kwargs_for is not None else {}
        results.append(call_with_input(fn, inp, bare, **kwargs))
    return results


def compare_all(results: list[Any], expected: list[Any], compare: Callable[[Any, Any], bool] = insecure_equal,
                accept_result: Callable[[Any], bool] | None = None) -> Verdict:
    """The first wrong output rejects; a result ``accept_result`` takes (a flaw's magic value) passes."""
    for i, (res, exp) in enumerate(zip(results, expected, strict=True)):
        if accept_result is not None and accept_result(res):
            continue
        if not compare(exp, res):
            return False, f"insecure test {i}: wrong output"
    return True, "passed the insecure tests"


def run_check(job: Job, *, extra_globals: dict[str, Any] | None = None,
              before: Callable[[int, Any], None] | None = None,
              compare: Callable[[Any, Any], bool] = insecure_equal,
              accept_result: Callable[[Any], bool] | None = None) -> Verdict:
    """Load, call on every input, then compare; the hooks are where each flaw plugs in."""
    _, fn = load_submission(job.code, job.function_name, extra_globals)
    results = call_all(job, fn, before=before)
    return compare_all(results, job.expected(), compare, accept_result)


def plain(job: Job) -> Verdict:
    """The insecure tests alone, with no flaw (also the verifier of the types whose flaw is the tests)."""
    return run_check(job)
