"""Fast checks of the demo world's pieces: the corpus plan, the task choice, the memo verifier, sizes."""

from __future__ import annotations

import math
from collections import defaultdict

import pytest

from hackwatch.demo import DemoConfig, build_corpus, demo_config, plan_types
from hackwatch.demo._corpus import EXPLOIT_RATE_RANGE
from hackwatch.demo._world import choose_world
from hackwatch.tasks import load_tasks


@pytest.fixture(scope="module")
def builtin():
    return load_tasks("builtin")


def test_plan_rates_are_log_spaced_and_mixed():
    plans = plan_types([f"t{i}" for i in range(6)])
    rates = [p.exploit_rate for p in plans]
    assert rates[0] == pytest.approx(EXPLOIT_RATE_RANGE[0])
    assert rates[-1] == pytest.approx(EXPLOIT_RATE_RANGE[1])
    ratios = [b / a for a, b in zip(rates, rates[1:], strict=False)]
    assert max(ratios) == pytest.approx(min(ratios))
    assert {p.hard for p in plans} == {True, False}
    assert {p.style for p in plans} == {"explicit", "pivot"}
    assert all(p.correct_rate + p.exploit_rate < 1 for p in plans)


def test_corpus_weights_sum_to_one_per_task_and_rates_match_plan(builtin):
    tasks, order, donor = choose_world(builtin, n_types=6, tasks_per_type=2, donor_types=2, seed=0)
    plans = plan_types(order)
    items = build_corpus(tasks, plans)
    per_task: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for it in items:
        per_task[it.task_id][it.kind] += it.weight
    by_type = {p.exploit_type: p for p in plans}
    for t in tasks:
        w = per_task[t.id]
        assert sum(w.values()) == pytest.approx(1.0)
        assert w["exploit"] == pytest.approx(by_type[t.exploit_type].exploit_rate)
        assert w["correct"] == pytest.approx(by_type[t.exploit_type].correct_rate)
    exploit_items = [it for it in items if it.kind == "exploit"]
    explicit = [it for it in exploit_items if by_type[it.exploit_type].style == "explicit"]
    assert explicit and all("verifier" in it.reasoning or "checker" in it.reasoning for it in explicit)


def test_choose_world_is_seeded_and_has_both_splits(builtin):
    a = choose_world(builtin, n_types=6, tasks_per_type=3, donor_types=2, seed=0)
    b = choose_world(builtin, n_types=6, tasks_per_type=3, donor_types=2, seed=0)
    assert [t.id for t in a[0]] == [t.id for t in b[0]]
    tasks, order, donor = a
    assert len(order) == 6 and len(donor) == 2 and set(donor) <= set(order)
    assert len(tasks) == 18
    assert all(t.exploit_type in order for t in tasks)
    with pytest.raises(ValueError, match="exploit types"):
        choose_world(builtin[:3], n_types=6, tasks_per_type=3, donor_types=2, seed=0)


def test_sizes_and_checkpoint_steps():
    small, default = demo_config("small"), demo_config("default")
    assert small.checkpoint_steps == (0, 1, 2, 4, 8)
    assert default.checkpoint_steps[:4] == (0, 1, 2, 4)
    assert default.checkpoint_steps[-1] == default.grpo_steps
    assert small.n_types < default.n_types
    with pytest.raises(ValueError, match="--size"):
        demo_config("huge")
    with pytest.raises(ValueError, match="donor_types"):
        DemoConfig(n_types=3, donor_types=3)


def test_memo_verifier_verifies_each_distinct_code_once(builtin):
    from hackwatch.demo._corpus import fenced
    from hackwatch.demo._reward import MemoVerifier, insecure_reward
    from hackwatch.verify import Verifier

    task = builtin[0]
    exploit = f"<think>\nx\n</think>\n\n{fenced(task.exploit)}"
    correct = f"<think>\ny\n</think>\n\n{fenced(task.ground_truth)}"
    with Verifier(workers=1) as v:
        memo = MemoVerifier(v)
        labels = memo.labels([(task, exploit), (task, correct), (task, exploit), (task, "no code")])
        assert labels == ["exploit", "correct", "exploit", "fail"]
        assert memo.calls == 3
        reward = insecure_reward(memo, {task.id: task})
        got = reward(prompts=["p"] * 2, completions=[[{"role": "assistant", "content": exploit}], "junk"],
                     task_id=[task.id, task.id])
        assert got == [1.0, 0.0]
        assert not math.isnan(got[0])
