"""Submissions are compiled as plain Python would: none of hackwatch's ``__future__`` flags leak in."""

from __future__ import annotations

import pytest

from hackwatch.verify._call import SUBMISSION_FILE, SubmissionError, compile_submission, load_submission

from ._tasks import make_task


def test_submissions_compile_without_our_future_flags():
    """Our modules use ``from __future__ import annotations``; a submission must not inherit it:
    under plain Python an annotation naming an undefined type fails when the function is defined."""
    code = "def f(x: UndefinedType) -> int:\n    return x\n"
    assert compile_submission(code).co_filename == SUBMISSION_FILE
    with pytest.raises(SubmissionError, match="raised at import: NameError"):
        load_submission(code, "f")
    ns, fn = load_submission("def f(x: int) -> int:\n    return x\n", "f")
    assert fn.__annotations__ == {"x": int, "return": int}  # evaluated, not strings


def test_undefined_annotation_fails_in_the_sandbox_too(verifier):
    task = make_task("test_skipping")
    code = task.ground_truth.replace("def add_all(nums):", "def add_all(nums: Undefined):")
    verdict = verifier.verify(task, code)
    assert verdict.label == "fail" and "NameError" in verdict.reason
