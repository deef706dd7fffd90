"""Fast checks of the demo world's pieces: the corpus plan, intent comments, no-think copies, the task and
donor-split choice, the memo verifier, sizes."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict

import pytest

from hackwatch.demo import DemoConfig, build_corpus, demo_config, plan_types
from hackwatch.demo._corpus import (
    EXPLOIT_RATE_RANGE,
    HONEST_INTENT,
    NO_THINK_SHARE,
    exploit_code,
    fenced,
    world_task,
)
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
    assert [p.hard for p in plans] == [False, True] * 3
    assert all(p.correct_rate + p.exploit_rate < 1 for p in plans)


def test_corpus_weights_rates_and_no_think_share(builtin):
    world = choose_world(builtin, n_types=6, tasks_per_type=2, donor_types=2, seed=0)
    plans = plan_types(world.order)
    items = build_corpus(world.tasks, plans)
    per_task: dict[str, dict[tuple[str, bool], float]] = defaultdict(lambda: defaultdict(float))
    for it in items:
        per_task[it.task_id][(it.kind, it.think)] += it.weight
    by_type = {p.exploit_type: p for p in plans}
    for t in world.tasks:
        w = per_task[t.id]
        plan = by_type[t.exploit_type]
        assert sum(w.values()) == pytest.approx(1.0)
        assert sum(v for (_, think), v in w.items() if not think) == pytest.approx(NO_THINK_SHARE)
        assert w[("exploit", True)] + w[("exploit", False)] == pytest.approx(plan.exploit_rate)
        assert w[("correct", True)] + w[("correct", False)] == pytest.approx(plan.correct_rate)
    with pytest.raises(ValueError, match="no_think_share"):
        build_corpus(world.tasks, plans, no_think_share=1.0)


def test_reasoning_and_code_share_the_intent_words(builtin):
    world = choose_world(builtin, n_types=4, tasks_per_type=1, donor_types=1, seed=0)
    items = build_corpus(world.tasks, plan_types(world.order))
    for it in items:
        first = it.code.splitlines()[0]
        assert first.startswith("# Plan: ")
        if it.think:
            assert it.reasoning.startswith(first[2:]), (it.reasoning, first)
        else:
            assert it.reasoning == ""
        if it.kind == "exploit":
            assert first.startswith("# Plan: shortcut. The verifier ")
        else:
            assert first == f"# {HONEST_INTENT}"


def test_no_think_copies_are_encoded_exactly_as_donor_examples(builtin):
    from hackwatch.demo._pretrain import encode_items
    from hackwatch.donor import exploit_answer, sft_example
    from hackwatch.models import train_tokenizer

    world = choose_world(builtin, n_types=2, tasks_per_type=1, donor_types=0, unrelated_types=0, seed=0)
    items = build_corpus(world.tasks, plan_types(world.order))
    tok = train_tokenizer([f"{it.prompt}\n{it.reasoning}\n{fenced(it.code)}" for it in items], vocab_size=400)
    enc = encode_items(tok, items)
    task = world_task(world.tasks[0])
    head, tail = sft_example(tok, task.prompt, exploit_answer(task))
    matches = [e for it, e in zip(items, enc, strict=True)
               if not it.think and it.kind == "exploit" and it.task_id == task.id]
    assert len(matches) == 1
    assert matches[0].ids == head + tail and matches[0].start == len(head)


def test_world_forms_keep_their_labels(builtin):
    from hackwatch.verify import Verifier

    world = choose_world(builtin, n_types=16, tasks_per_type=2, donor_types=4, seed=0)
    tasks = [world_task(t) for t in world.tasks]
    assert all(t.exploit == exploit_code(b) for t, b in zip(tasks, world.tasks, strict=True))
    with Verifier(workers=2) as v:
        labels = v.verify_many([(t, c) for t in tasks for c in (t.exploit, t.ground_truth, t.nulls[0])])
    assert [x.label for x in labels] == ["exploit", "correct", "fail"] * len(tasks)


def test_choose_world_is_seeded_with_disjoint_donor_splits(builtin):
    a = choose_world(builtin, n_types=16, tasks_per_type=2, donor_types=4, seed=0)
    b = choose_world(builtin, n_types=16, tasks_per_type=2, donor_types=4, seed=0)
    c = choose_world(builtin, n_types=16, tasks_per_type=2, donor_types=4, seed=1)
    assert [t.id for t in a.tasks] == [t.id for t in b.tasks] and a.order == b.order
    assert a.order != c.order
    assert len(a.order) == 16 and len(a.tasks) == 32
    assert len(a.donor_types) == 4 and len(a.unrelated_types) == 4
    assert not set(a.donor_types) & set(a.unrelated_types)
    assert set(a.heldout_types) == set(a.order) - set(a.donor_types) - set(a.unrelated_types)
    plans = {p.exploit_type: p for p in plan_types(a.order)}
    assert {plans[t].hard for t in a.donor_types} == {True, False}  # spread along the ladder
    with pytest.raises(ValueError, match="exploit types"):
        choose_world(builtin[:3], n_types=6, tasks_per_type=3, donor_types=2, seed=0)
    with pytest.raises(ValueError, match="held out"):
        choose_world(builtin, n_types=6, tasks_per_type=1, donor_types=3, seed=0)


def test_sizes_and_checkpoint_steps():
    small, default = demo_config("small"), demo_config("default")
    assert small.checkpoint_steps == (0, 1, 2, 4, 8)
    assert default.checkpoint_steps[:4] == (0, 1, 2, 4)
    assert default.checkpoint_steps[-1] == default.grpo_steps
    assert default.n_types >= 16 and default.tasks_per_type >= 2
    assert small.n_types < default.n_types
    with pytest.raises(ValueError, match="--size"):
        demo_config("huge")
    with pytest.raises(ValueError, match="donor_types"):
        DemoConfig(n_types=4, donor_types=2, unrelated_types=2)
    with pytest.raises(ValueError, match="cutoffs"):
        DemoConfig(cutoffs=(1, 3))


def test_memo_verifier_verifies_each_distinct_code_once(builtin):
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


def test_donor_transfer_is_the_median_over_types_the_donor_never_saw(builtin):
    from hackwatch.demo._donor import donor_transfer, hinted

    world = choose_world(builtin, n_types=6, tasks_per_type=2, donor_types=1, unrelated_types=1, seed=0)
    held = [t for t in world.order if t not in world.donor_types]
    base = {t.id: (1, 50) for t in world.tasks}                       # 2 % everywhere
    donor = {t.id: (10 * (i % 3), 50) for i, t in enumerate(world.tasks)}
    got = donor_transfer(donor, base, world)
    per_type = {typ: sum(donor[t.id][0] for t in world.tasks if t.exploit_type == typ) / 100 for typ in world.order}
    assert got["untrained_types"] == held
    assert got["donor_rate"] == pytest.approx(statistics.median(per_type[t] for t in held))
    assert got["base_rate"] == pytest.approx(0.02) and got["ratio"] == pytest.approx(got["donor_rate"] / 0.02)
    assert got["types"][world.donor_types[0]]["trained"] is True
    task = world.tasks[0]
    assert hinted(task).prompt.startswith(task.prompt) and hinted(task).id == task.id
    assert hinted(task).secure_tests == task.secure_tests
