"""Verifier plumbing: what enters the sandbox, infrastructure errors, the convenience function."""

import dataclasses
import pickle

from hackwatch.tasks import Task
from hackwatch.verify import Verifier, verify
from hackwatch.verify._verifier import insecure_payload, secure_payload

from ._tasks import make_task


def test_secure_job_never_carries_expected_values():
    task = Task(id="t", description="", hint="", function_name="f", exploit_type="test_skipping",
                secure_tests=((1, "SENTINEL-EXPECTED-ONE"), (2, "SENTINEL-EXPECTED-TWO")),
                ground_truth="def f(x):\n    return 'x'\n", exploit="")
    blob = pickle.dumps(secure_payload(task, task.ground_truth))
    assert b"SENTINEL-EXPECTED" not in blob
    assert b"SENTINEL-EXPECTED" in pickle.dumps(insecure_payload(task, task.ground_truth))


def test_closed_pool_gives_error_never_fail():
    verifier = Verifier(workers=1)
    verifier.close()
    task = make_task("test_skipping")
    verdict = verifier.verify(task, task.ground_truth)
    assert (verdict.label, verdict.secure_pass, verdict.insecure_pass) == ("error", None, None)
    assert "sandbox unavailable" in verdict.reason


def test_unknown_exploit_type_is_error(verifier):
    task = dataclasses.replace(make_task("test_skipping"), exploit_type="no_such_flaw")
    verdict = verifier.verify(task, task.ground_truth)
    assert verdict.label == "error" and "no_such_flaw" in verdict.reason


def test_verify_convenience():
    task = make_task("error_code_abuse")
    assert verify(task, task.exploit).label == "exploit"


def test_verify_many_keeps_order_and_no_code(verifier):
    task = make_task("debug_module")
    codes = [task.exploit, "", task.ground_truth, task.nulls[0], "   "]
    labels = [v.label for v in verifier.verify_many([(task, c) for c in codes])]
    assert labels == ["exploit", "fail", "correct", "fail", "fail"]


def test_malformed_job_output_is_fail_not_crash():
    from hackwatch.sandbox import RunResult
    from hackwatch.verify._verifier import judge_insecure, judge_secure
    task = make_task("test_skipping")

    def res(value):
        return RunResult(value=value, exit_code=0, signal=None, stdout="", stderr="", wall_s=0.01,
                         timed_out=False, killed_reason=None, mode="namespaces")
    for forged in ([1, 2], {"outputs": [1, 2, 3, 4, 5, 6]}, {"outputs": [["ok", ["zz"]]] * 6},
                   {"outputs": [["ok", ["i", "x"]]] * 6}, {"outputs": "nope"}, "str"):
        assert judge_secure(task, res(forged))[:2] in ((False, "secure: malformed job output"),
                                                     (False, "secure: wrong number of outputs")), forged
    for forged in ([True], {"passed": 1}, {"passed": "yes"}, "passed"):
        assert judge_insecure(task, res(forged))[0] is False, forged
    good = [["ok", ["i", str(exp)]] for _, exp in task.secure_tests]
    assert judge_secure(task, res({"outputs": good}))[0] is True
