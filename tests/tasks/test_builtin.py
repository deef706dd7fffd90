"""The builtin suite: structure, and every ground truth / null checked in-process (trusted code).

Its data form (problem.yaml folders, ``suite.txt``) is tested in ``test_builtin_data.py``.
"""

from __future__ import annotations

import copy
import inspect
from collections import Counter
from typing import Any

import pytest

from hackwatch.catalogue import EXPLOIT_TYPE_NAMES
from hackwatch.tasks import Task, load_tasks
from hackwatch.tasks.builtin import BUILTIN_SPLITS, SPLIT_BY_TYPE, builtin_tasks

TASKS = builtin_tasks()


def _function(code: str, name: str) -> Any:
    namespace: dict[str, Any] = {}
    exec(compile(code, f"<{name}>", "exec"), namespace)  # trusted: our own bank
    return namespace[name]


def _outcome(fn: Any, case: tuple[Any, Any]) -> str:
    """Djinn's convention: one parameter gets the bare input, several get the input list as arguments."""
    inp, expected = copy.deepcopy(case)
    try:
        got = fn(*inp) if len(inspect.signature(fn).parameters) > 1 else fn(inp)
    except Exception:
        return "raise"
    return "pass" if type(got) is type(expected) and got == expected else "fail"


def test_size_ids_and_types():
    assert len(TASKS) >= 60
    ids = [t.id for t in TASKS]
    assert len(set(ids)) == len(ids)
    counts = Counter(t.exploit_type for t in TASKS)
    assert set(counts) == set(EXPLOIT_TYPE_NAMES)  # all 27 types
    assert min(counts.values()) >= 2
    assert sum(c >= 3 for c in counts.values()) >= 12
    assert set(SPLIT_BY_TYPE) == set(EXPLOIT_TYPE_NAMES)


def test_splits_separate_exploit_types():
    assert {t.split for t in TASKS} == set(BUILTIN_SPLITS)
    donor = load_tasks("builtin:donor")
    heldout = load_tasks("builtin:heldout")
    assert len(donor) + len(heldout) == len(TASKS)
    assert not {t.exploit_type for t in donor} & {t.exploit_type for t in heldout}
    assert len(load_tasks("builtin:donor,heldout")) == len(TASKS)
    assert min(len(donor), len(heldout)) >= 30


@pytest.mark.parametrize("task", TASKS, ids=[t.id for t in TASKS])
def test_task_is_sound(task: Task):
    assert 6 <= len(task.secure_tests) <= 12
    assert 1 <= len(task.nulls) <= 2
    assert task.source == "builtin"
    assert f"`{task.function_name}(" in task.description
    inputs = [repr(i) for i, _ in task.secure_tests]
    assert len(set(inputs)) == len(inputs), "duplicate test inputs"
    gt = _function(task.ground_truth, task.function_name)
    assert [_outcome(gt, c) for c in task.secure_tests] == ["pass"] * len(task.secure_tests)
    for code in task.nulls:
        null = _function(code, task.function_name)
        results = [_outcome(null, c) for c in task.secure_tests]
        # each null fails one of the first two tests, so verifiers that check a prefix still reject it
        assert results[:2] != ["pass", "pass"], results
    if task.exploit_type == "assert_bypass":  # a verifier that ignores wrong values still sees a raise
        assert any(_outcome(_function(n, task.function_name), c) == "raise"
                   for n in task.nulls for c in task.secure_tests[:2])
    if task.exploit_type == "type_confusion":  # str(result) must differ from the expected value itself
        assert not any(isinstance(e, str) for _, e in task.secure_tests)
    if task.exploit_type == "state_bleed_expected_recompute":  # the input must be mutable
        assert all(isinstance(i, list) for i, _ in task.secure_tests)
        assert task.metadata["params"] == ["xs"]


def test_hint_and_exploit_come_from_the_catalogue():
    from hackwatch.catalogue import EXPLOIT_TYPES

    for task in TASKS:
        kind = EXPLOIT_TYPES[task.exploit_type]
        stale = f"{task.id}: the data is stale; run `python tools/builtin_suite.py` to rewrite it from the catalogue"
        assert task.hint and task.hint == kind.hint(task), stale
        assert task.exploit and task.exploit == kind.make_exploit(task), stale
        assert task.prompt == f"{task.description}\n\n{task.hint}"
        if kind.insecure_subset is None:
            assert task.insecure_tests is None
        else:
            assert task.insecure_tests == task.secure_tests[: kind.insecure_subset]


@pytest.mark.slow
def test_every_builtin_task_is_consistent_under_the_real_verifiers():
    """The same check as ``hackwatch tasks check builtin`` (sandboxed; ~20 s on two cores)."""
    from hackwatch.verify import check_tasks

    result = check_tasks(TASKS, workers=2)
    problems = [f"{r.task_id}: {p}" for r in result.results for p in r.problems]
    assert problems == [], "\n".join(problems[:20])
    assert result.summary == f"{len(TASKS)} consistent, 0 inconsistent"
