"""The worker compiles submissions before the fork: same verdicts, same meaning as plain Python."""

from __future__ import annotations

import pytest

from hackwatch.sandbox import SandboxPool
from hackwatch.tasks import load_tasks
from hackwatch.verify._call import SubmissionError, compile_submission, load_submission
from hackwatch.verify._runner import ENTRY, PRECOMPILE_MAX_CHARS, precompile
from hackwatch.verify._verifier import PRELOAD, insecure_payload, secure_payload

from ._tasks import make_task

PLAIN = "tests.verify.plain_runner:run"


def test_precompile_adds_a_code_object_only_where_it_compiles():
    good = precompile({"kind": "secure", "code": "def f(x):\n    return x\n", "function_name": "f"})
    assert good["compiled"].co_filename == "<submission>"
    assert "compiled" not in precompile({"kind": "secure", "code": "def f(:\n", "function_name": "f"})
    assert "compiled" not in precompile({"kind": "insecure", "code": "x = 1\n" * (PRECOMPILE_MAX_CHARS // 6 + 1)})
    assert "compiled" not in precompile({"kind": "legacy", "code": "x = 1", "verifier_code": "y = 2"})
    assert "compiled" not in precompile({"kind": "secure", "code": None})


def test_submissions_compile_without_our_future_flags():
    """Our modules use ``from __future__ import annotations``; a submission must not inherit it:
    under plain Python an annotation naming an undefined type fails when the function is defined."""
    code = "def f(x: UndefinedType) -> int:\n    return x\n"
    with pytest.raises(SubmissionError, match="raised at import: NameError"):
        load_submission(code, "f")
    with pytest.raises(SubmissionError, match="raised at import: NameError"):
        load_submission(code, "f", compiled=compile_submission(code))


def test_undefined_annotation_fails_in_the_sandbox_too(verifier):
    task = make_task("test_skipping")
    code = task.ground_truth.replace("def add_all(nums):", "def add_all(nums: Undefined):")
    verdict = verifier.verify(task, code)
    assert verdict.label == "fail" and "NameError" in verdict.reason


def test_precompiled_and_plain_jobs_agree_on_every_builtin_task():
    """Secure outputs and insecure verdicts, ground truths and reference exploits of all builtin tasks,
    each job run twice: compiled by the worker before the fork, and compiled by the job itself."""
    tasks = load_tasks("builtin")
    payloads = [make(t, code) for t in tasks for code in (t.ground_truth, t.exploit)
                for make in (secure_payload, insecure_payload)]
    payloads.append(secure_payload(make_task("test_skipping"), "def add_all(:\n"))  # does not compile
    with SandboxPool(2, preload=[*PRELOAD, "tests.verify.plain_runner"]) as pool:
        fast = [r.value for r in pool.map(ENTRY, payloads)]
        plain = [r.value for r in pool.map(PLAIN, payloads)]
    assert all(v is not None for v in fast)
    assert fast == plain
    assert fast[-1]["error"].startswith("does not compile")
