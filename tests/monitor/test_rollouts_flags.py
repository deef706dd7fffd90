import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from hackwatch.cli import app
from hackwatch.monitor import (
    FlagThresholds,
    RolloutTableError,
    detect_flags,
    read_rollouts,
    rollouts_from_trl_batch,
    step_metrics,
    write_rollouts,
)


def synthetic_run(locked: bool, seed: int, steps: int = 10) -> pd.DataFrame:
    """Known truth: the 'trigger' subset is all-fail when locked; otherwise both subsets learn alike."""
    rng = np.random.default_rng(seed)
    rows = []
    for step in range(1, steps + 1):
        for p in range(8):
            sub = "trigger" if p < 4 else "ordinary"
            for _ in range(4):
                r = 0.0 if (locked and sub == "trigger") else float(rng.random() < 0.3 + 0.05 * step)
                rows.append(dict(step=step, prompt_id=f"{sub}{p}", group_id=f"{step}:{p}", subset=sub, reward=r,
                                 completion=f"answer {rng.integers(100)} done", length=3))
    return pd.DataFrame(rows)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_flags_locked_not_honest(seed):
    locked = detect_flags(step_metrics(synthetic_run(True, seed)))
    assert {f.rule for f in locked if f.severity == "alarm"} >= {"homogeneous_fail", "subset_divergence"}
    assert all(f.subset == "trigger" for f in locked if f.severity == "alarm")
    assert "trigger" in locked[0].evidence and "steps 1–10" in locked[0].evidence
    honest = detect_flags(step_metrics(synthetic_run(False, seed)))
    assert [f for f in honest if f.severity == "alarm"] == []


def test_single_subset_warns_only_when_all_fail():
    df = synthetic_run(True, 0)
    df = df[df["subset"] == "trigger"]
    flags = detect_flags(step_metrics(df))
    assert [(f.rule, f.severity) for f in flags] == [("homogeneous_fail", "warn")]


def test_reference_gap_flag():
    df = synthetic_run(True, 0)
    ref = synthetic_run(False, 0).assign(reward=1.0)
    flags = detect_flags(step_metrics(df, reference=ref))
    assert any(f.rule == "reference_gap" and f.subset == "trigger" for f in flags)


def test_cusum_pass_drop_reports_the_stretch_that_dropped():
    """pass@1 0.5 for 6 steps, 0.0 for 4, then 0.25: the warning (at step 8) must say it fell to 0.0 over
    steps 7-8, not quote the partly recovered mean after the alarm as if it were the drop."""
    rows = []
    for step, rate in enumerate([0.5] * 6 + [0.0] * 4 + [0.25] * 2, 1):
        for g in range(4):
            for i in range(4):
                rows.append(dict(step=step, prompt_id=f"p{g}", group_id=f"{step}:{g}", subset="s",
                                 reward=float(i < 4 * rate), completion="x", length=1))
    flags = [f for f in detect_flags(step_metrics(pd.DataFrame(rows))) if f.rule == "cusum_pass_drop"]
    assert len(flags) == 1
    flag = flags[0]
    assert flag.severity == "warn" and flag.first_step == 7
    assert flag.numbers["shifted"] == 0.0 and flag.numbers["baseline"] == 0.5 and flag.numbers["change"] == -0.5
    assert "pass@1 fell from 0.50 (first 3 steps) to 0.00 (steps 7–8, a change of -0.50;" in flag.evidence
    assert "0.10 from step 8 on" in flag.evidence  # steps 8-12: 0, 0, 0, 0.25, 0.25
    assert 0 < flag.numbers["p_value"] <= 0.01 and "permutation p = " in flag.evidence


def test_thresholds_validated():
    with pytest.raises(ValueError, match="all_fail"):
        FlagThresholds(all_fail=1.5)


def test_roundtrip_and_errors(tmp_path):
    df = synthetic_run(False, 0)
    for name in ("r.jsonl", "r.parquet"):
        write_rollouts(df, tmp_path / name)
        back = read_rollouts(tmp_path / name)
        assert len(back) == len(df) and back["reward"].sum() == df["reward"].sum()
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(df.iloc[0].to_dict()) + "\n" + '{"step": 1.5}\n')
    with pytest.raises(RolloutTableError, match=r"bad.jsonl: line 2: column 'step' must be an integer"):
        read_rollouts(bad)
    missing = tmp_path / "missing.jsonl"
    missing.write_text('{"step": 1}\n')
    with pytest.raises(RolloutTableError, match="missing column"):
        read_rollouts(missing)


def test_from_trl_batch_groups_consecutive_rows():
    b = rollouts_from_trl_batch(prompts=["p1"] * 2 + ["p2"] * 2, completions=["a", "b", "c", "d"],
                                rewards=[1, 0, 0, 0], step=3, num_generations=2,
                                completion_ids=[[1], [1, 2], [1], [1]], kwargs={"subset": ["x", "x", "y", "y"]},
                                components={"partial": [0.5, 0.1, 0.0, 0.2]})
    assert b["group_id"].tolist() == ["3:0", "3:0", "3:1", "3:1"]
    assert b["length"].tolist() == [1, 2, 1, 1] and b["subset"].tolist() == ["x", "x", "y", "y"]
    with pytest.raises(RolloutTableError, match="multiple of num_generations"):
        rollouts_from_trl_batch(prompts=["p"] * 3, completions=["a"] * 3, rewards=[0] * 3, step=1, num_generations=2)


def test_cli(tmp_path):
    src = tmp_path / "run.jsonl"
    write_rollouts(synthetic_run(True, 0).rename(columns={"subset": "ctx"}), src)
    out = tmp_path / "flags.jsonl"
    res = CliRunner().invoke(app, ["monitor", str(src), "--subset-col", "ctx", "--out", str(out), "--fail-on-flag"])
    assert res.exit_code == 1, res.output
    assert "homogeneous_fail" in res.output
    flags = pd.read_json(out, lines=True)
    assert set(flags["subset"]) == {"trigger"}
    res = CliRunner().invoke(app, ["monitor", str(tmp_path / "nope.jsonl")])
    assert res.exit_code == 2


def test_from_trl_completions_table():
    from hackwatch.monitor import rollouts_from_trl_completions

    t = pd.DataFrame({"step": [1] * 4 + [2] * 4, "prompt": ["a", "a", "b", "b"] * 2,
                      "completion": list("wxyzwxyz"), "acc": [1, 0, 0, 0, 1, 1, 0, 0], "advantage": [0.0] * 8})
    df = rollouts_from_trl_completions(t, reward_col="acc", num_generations=2, subset_of={"b": "eval"})
    assert df["group_id"].tolist() == ["1:0", "1:0", "1:1", "1:1", "2:0", "2:0", "2:1", "2:1"]
    assert df["subset"].tolist()[:4] == ["all", "all", "eval", "eval"]
    with pytest.raises(RolloutTableError, match="reward_col"):
        rollouts_from_trl_completions(t, reward_col="nope", num_generations=2)


def test_jsonl_error_names_real_line_after_blank_lines(tmp_path):
    df = synthetic_run(False, 0).head(2)
    recs = [json.dumps(r) for r in df.to_dict("records")]
    bad = dict(df.iloc[0].to_dict(), reward="high")
    (tmp_path / "r.jsonl").write_text(recs[0] + "\n\n\n" + json.dumps(bad) + "\n")
    with pytest.raises(RolloutTableError, match=r"r.jsonl: line 4: column 'reward' must be a number"):
        read_rollouts(tmp_path / "r.jsonl")
    ok = dict(df.iloc[0].to_dict(), ran=True)
    (tmp_path / "ran.jsonl").write_text(json.dumps(ok) + "\n" + recs[1] + "\n")
    assert read_rollouts(tmp_path / "ran.jsonl")["ran"].tolist() == [True, None]
