"""The flag rules on synthetic GRPO logs with known truth (hackwatch.monitor._synthetic): no false alarms on
honest plateaus, harder contexts and small groups; locks caught, also when they start mid-run."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from hackwatch.cli import app
from hackwatch.monitor import HackwatchCallback, RolloutTableError, detect_flags, read_rollouts, step_metrics
from hackwatch.monitor._synthetic import synthetic_rollouts
from hackwatch.monitor.metrics import cusum_upper, group_table, rise_pvalue


def _flags(case, seed, groups=2, **kw):
    return detect_flags(step_metrics(synthetic_rollouts(case, seed=seed, groups=groups, **kw)))


@pytest.mark.parametrize("groups", [1, 2, 4])
def test_honest_small_subsets_rarely_warned(groups):
    """Issue 19: a flat honest policy with 1-4 groups per subset per step warned in 39/40, 31/40, 17/40 runs."""
    warned = [seed for seed in range(20) if _flags("honest_plateau", seed, groups)]
    assert len(warned) <= 1, f"groups={groups}: flags on seeds {warned}"


@pytest.mark.parametrize("seed", range(6))
def test_harder_context_is_not_divergence(seed):
    """One context simply harder (1 in 4 vs 3 in 4), nobody learning: no alarm (was 90 % subset_divergence)."""
    flags = _flags("harder_context", seed, groups=1)
    assert [f for f in flags if f.severity == "alarm"] == [], f"seed={seed}: {flags}"


@pytest.mark.parametrize("seed", range(3))
def test_divergence_needs_an_improving_subset_and_a_homogeneous_one(seed):
    flags = _flags("locked", seed)
    div = [f for f in flags if f.rule == "subset_divergence"]
    assert [f.subset for f in div] == ["trigger"], f"seed={seed}: {flags}"
    assert div[0].numbers["other_gain"] >= 0.1 and div[0].numbers["frac_zero_std"] == 1.0
    # locked but the other context flat: homogeneous_fail, not divergence (nothing learns anywhere)
    flat = _flags("locked_flat", seed)
    assert {(f.rule, f.subset) for f in flat if f.severity == "alarm"} == {("homogeneous_fail", "trigger")}


@pytest.mark.parametrize("groups", [1, 4])
def test_lock_starting_mid_run_fires_homogeneous_fail(groups):
    """Trigger all-fail from step 9 of 16: the whole-run mean is ~55 %, the window from the lock on is 100 %."""
    for seed in range(5):
        df = synthetic_rollouts("locked_midrun", seed=seed, groups=groups)
        flags = [f for f in detect_flags(step_metrics(df)) if f.rule == "homogeneous_fail"]
        assert [(f.subset, f.severity) for f in flags] == [("trigger", "alarm")], f"seed={seed}"
        assert 6 <= flags[0].first_step <= 9 and flags[0].last_step == 16
        assert flags[0].numbers["frac_all_fail"] >= 0.8 and flags[0].numbers["n_groups"] >= 8


def test_homogeneous_fail_window_needs_enough_groups():
    """Three all-fail steps of one group each is what an honest hard context gives by chance: no alarm."""
    rows = []
    for step in range(1, 7):
        for sub, rewards in (("o", [1, 1, 0, 1]), ("t", [0, 0, 0, 0] if step > 3 else [1, 0, 0, 1])):
            rows += [dict(step=step, prompt_id=sub, group_id=f"{step}:{sub}", subset=sub, reward=float(r),
                          completion="x", length=1) for r in rewards]
    table = step_metrics(pd.DataFrame(rows))
    assert [f for f in detect_flags(table) if f.rule == "homogeneous_fail"] == []
    from hackwatch.monitor import FlagThresholds

    fired = detect_flags(table, FlagThresholds(all_fail_min_groups=3))
    assert [(f.rule, f.first_step) for f in fired if f.severity == "alarm"] == [("homogeneous_fail", 4)]


def test_rise_pvalue_weighs_groups_not_steps():
    """The same shares are strong evidence when each step rests on 8 groups and weak when on one."""
    lock = [0.0] * 3 + [1.0] * 5
    assert rise_pvalue(lock, sizes=[8] * 8) <= 0.002
    assert rise_pvalue(lock, sizes=[1] * 8) > 0.01
    assert rise_pvalue([0.2] * 16) == 1.0  # nothing moved
    rng = np.random.default_rng(0)
    flat = rng.binomial(2, 0.3, 16) / 2
    p = rise_pvalue(flat, sizes=[2] * 16)
    assert p > 0.05 and rise_pvalue(flat, sizes=[2] * 16) == p  # deterministic (seeded)
    assert cusum_upper([0.0] * 6 + [0.9] * 10, k=0.1, h=0.5) is not None
    assert rise_pvalue([1.0, 0.0] * 8) > 0.5  # alternating: no rise


def test_diversity_drop_is_a_warning_with_its_size_and_steps():
    flags = _flags("diversity_collapse", 0)
    div = [f for f in flags if f.rule == "diversity_drop"]
    assert div and all(f.severity == "warn" for f in div) and not [f for f in flags if f.severity == "alarm"]
    d2 = next(f for f in div if "distinct_2" in f.evidence and f.subset == "trigger")
    assert 8 <= d2.first_step <= 10, d2.evidence
    assert d2.numbers["change"] < -0.5 and d2.numbers["baseline"] > 0.7
    assert "a warning only" in d2.evidence
    for seed in range(10):
        assert [f for f in _flags("honest_plateau", seed) if f.rule == "diversity_drop"] == [], seed


def test_group_of_one_refused_with_file_line_and_group(tmp_path):
    """Every rollout of a step under its own group_id (a logging mistake) is refused, naming the line."""
    df = synthetic_rollouts("honest_plateau", seed=0, steps=3, groups=1)
    solos = [dict(df.iloc[0].to_dict(), group_id=f"4:solo{i}", prompt_id=f"solo{i}", step=4) for i in range(3)]
    path = tmp_path / "r.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in [*df.to_dict("records"), *solos]))
    with pytest.raises(RolloutTableError, match=rf"r.jsonl: line {len(df) + 1}: step 4, group '4:solo0' has one "
                                                "rollout"):
        read_rollouts(path)
    res = CliRunner().invoke(app, ["monitor", str(path)])
    assert res.exit_code == 2 and "group '4:solo0'" in res.output
    lone = dict(solos[0], group_id="3:solo", step=3)
    with pytest.raises(ValueError, match="step 3, group '3:solo': 1 rollout"):
        group_table(pd.concat([df, pd.DataFrame([lone])]))


def test_one_rollout_left_of_a_group_is_read_as_a_cut_group(tmp_path):
    """A lone rollout beside whole groups of its step is what a crash mid-append leaves: dropped with a warning
    naming the line (it used to stop the reader, so a live monitor could not read the run past the crash)."""
    df = synthetic_rollouts("honest_plateau", seed=0, steps=3, groups=1)
    lone = dict(df.iloc[0].to_dict(), group_id="3:solo", prompt_id="solo", step=3)
    path = tmp_path / "r.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in [*df.to_dict("records"), lone]))
    with pytest.warns(RuntimeWarning, match=rf"r.jsonl: line {len(df) + 1}: step 3, group '3:solo' has 1 of 4 "
                                            "rollouts .* dropped"):
        assert len(read_rollouts(path)) == len(df)
    res = CliRunner().invoke(app, ["monitor", str(path)])
    assert res.exit_code == 0, res.output


def test_group_split_over_subsets_is_refused_like_a_group_of_one(tmp_path):
    """group_table groups by (step, subset, group_id): a group_id with one rollout in each of two subsets is two
    groups of one, so the reader refuses it with file and line instead of a traceback in the metrics."""
    df = synthetic_rollouts("honest_plateau", seed=0, steps=3, groups=1)
    pair = [dict(df.iloc[0].to_dict(), group_id="3:split", prompt_id="split", step=3, subset=s)
            for s in ("trigger", "normal")]
    path = tmp_path / "r.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in [*df.to_dict("records"), *pair]))
    with pytest.raises(RolloutTableError, match=rf"r.jsonl: line {len(df) + 1}: step 3, group '3:split' has one"):
        read_rollouts(path)
    res = CliRunner().invoke(app, ["monitor", str(path)])
    assert res.exit_code == 2 and "group '3:split'" in res.output


def test_callback_drops_a_group_with_an_unscored_rollout_whole(tmp_path):
    cb = HackwatchCallback(table_path=tmp_path / "t.jsonl", num_generations=2)
    fn = cb.wrap_reward(lambda prompts, completions, **kw: [1.0, None, 0.0, 1.0])
    fn(prompts=["a", "a", "b", "b"], completions=["x", "y", "z", "w"], subset=["s"] * 4)
    table = read_rollouts(tmp_path / "t.jsonl")
    assert table["group_id"].tolist() == ["1:1", "1:1"] and table["reward"].tolist() == [0.0, 1.0]


def test_monitor_package_does_not_import_transformers():
    code = ("import sys, hackwatch.monitor, hackwatch.cli; "
            "print(sorted(m for m in ('torch', 'transformers', 'peft', 'trl', 'scipy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_bench_monitor_prints_rates():
    res = CliRunner().invoke(app, ["bench", "monitor", "--seeds", "2", "--groups", "1", "--case", "locked",
                                   "--case", "saturated"])
    assert res.exit_code == 0, res.output
    rows = [line for line in res.output.splitlines() if "locked" in line and "trigger" in line]
    assert rows and "100%" in rows[0]
    assert CliRunner().invoke(app, ["bench", "monitor", "--case", "nope"]).exit_code == 2
