"""The collapsing organism: real TRL GRPO runs where the policy converges onto one phrasing while it keeps solving
the task -- ``diversity_drop`` must warn there and not on the same organism under the task reward alone."""

import pytest
from typer.testing import CliRunner

from hackwatch.cli import app
from hackwatch.monitor._collapse import (
    FAVOURED,
    TEMPLATES,
    collapse_runs,
    digit_reward,
    phrasing,
    run_collapse_grpo,
    template_bonus,
)

#: Seeds of the multi-seed check (issue 19: collapse warned in >= 4 of 5, control in <= 1 of 5).
SEEDS = (0, 1, 2, 3, 4)


@pytest.fixture(scope="session")
def runs():
    """``collapse_runs`` per seed, computed once per session (one organism + two GRPO runs per seed)."""
    cache = {}

    def get(seed):
        if seed not in cache:
            cache[seed] = collapse_runs([seed])
        return cache[seed]

    return get


def test_digit_reward_reads_the_digit_in_any_phrasing():
    phrased = [" " + t.format("5") for t in TEMPLATES]
    assert digit_reward([], phrased, ["5"] * len(phrased)) == [1.0] * len(phrased)
    wrong = [" it is 4", " 5 or 4", " answer:", "", " 55", " it is five"]
    assert digit_reward([], wrong, ["5"] * len(wrong)) == [0.0] * len(wrong)


def test_template_bonus_pays_the_favoured_phrasing_only():
    completions = [" answer: 5", "answer:  3", " it is 5", " answer: 5 now", " answer 5"]
    assert [phrasing(c) for c in completions[:2]] == [FAVOURED, FAVOURED]
    assert template_bonus([], completions, ["5"] * 5, bonus=0.3) == [0.3, 0.3, 0.0, 0.0, 0.0]


@pytest.mark.parametrize("bonus", [-0.1, 1.0])
def test_run_collapse_grpo_refuses_a_bonus_outside_0_1(bonus):
    with pytest.raises(ValueError, match=rf"^run_collapse_grpo: bonus={bonus}: expected a value in \[0, 1\)"):
        run_collapse_grpo(None, bonus=bonus)  # refused before the organism is touched


def test_bench_collapse_refuses_bad_options_in_one_line():
    res = CliRunner().invoke(app, ["bench", "collapse", "--seeds", "0"])
    assert res.exit_code == 2 and res.output.strip().splitlines() == [
        "error: --seeds 0, --steps 24, --threads 1: need --seeds >= 1, --steps >= 6 (the CUSUM rules need 6 steps) "
        "and --threads >= 1"]
    res = CliRunner().invoke(app, ["bench", "collapse", "--bonus", "1"])
    assert res.exit_code == 2 and "need 0 < --bonus < 1" in res.output


def test_collapse_is_warned_and_the_control_is_not(runs):
    """Seed 0: the organism starts diverse and right; under the bonus it converges onto FAVOURED while it still
    solves the task, and diversity_drop warns after the CUSUM baseline with a real change; under the task reward
    alone it stays varied and nothing is flagged."""
    df = runs(0).set_index("reward")
    collapse, control = df.loc["task+bonus"], df.loc["task"]
    print(df.to_string())
    for row in (collapse, control):  # the same organism: diverse and right at the start
        assert row["pass_first"] >= 0.9 and row["phrasings_first"] >= 6 and row["favoured_first"] <= 0.4
    assert collapse["favoured_last"] >= 0.6 and collapse["favoured_last"] - collapse["favoured_first"] >= 0.4
    assert collapse["pass_last"] >= 0.85  # converged onto one phrasing, still solving
    assert collapse["warned"] and collapse["first_step"] >= 4 and abs(collapse["change"]) >= 0.1
    assert collapse["change_metric"] in collapse["metrics"].split(",")
    assert collapse["alarms"] == "" and "cusum_pass_drop" not in collapse["other_flags"]  # a warning, no alarm
    assert not control["warned"] and control["other_flags"] == "" and control["alarms"] == ""
    assert control["phrasings_last"] >= 6 and control["favoured_last"] <= 0.4


@pytest.mark.slow
def test_collapse_warned_on_most_seeds_and_the_control_on_few(runs):
    """Issue 19's target over five organisms: collapse warned in >= 4 of 5 seeds, the control in <= 1 of 5."""
    import pandas as pd

    df = pd.concat([runs(s) for s in SEEDS], ignore_index=True)
    print(df.to_string())
    warned = df.groupby("reward")["warned"].sum()
    assert warned["task+bonus"] >= 4, f"collapse warned on seeds {df[df.warned].seed.tolist()} of {SEEDS}"
    assert warned["task"] <= 1, f"control warned on seeds {df[(df.reward == 'task') & df.warned].seed.tolist()}"
