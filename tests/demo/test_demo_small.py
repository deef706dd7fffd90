"""The demo world end to end at its smallest size (slow: a few minutes on a 2-core CPU)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from hackwatch.cli import app
from hackwatch.demo import BANNER, demo_config
from hackwatch.demo._validation import METHODS


@pytest.mark.slow
def test_demo_small_end_to_end(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a relative --out, as the README's `hackwatch demo` (default: hackwatch-demo)
    out = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "--size", "small", "--seed", "0", "--out", "demo"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    text = result.output
    assert BANNER in text
    assert "Report:" in text and "toy" in text.lower()
    cfg = demo_config("small")
    for step in cfg.checkpoint_steps:
        assert (out / "checkpoints" / f"step-{step}" / "config.json").is_file()
    assert (out / "run" / "report.html").is_file()
    types = pd.read_csv(out / "types.csv")
    assert len(types) == cfg.n_types
    assert set(types["split"]) == {"donor", "unrelated", "heldout"}
    assert types["direct_last"].between(0, 1).all()
    evaluation = pd.read_csv(out / "evaluation.csv")
    assert set(evaluation["method"]) == set(METHODS)
    assert set(evaluation["cutoff"]) == set(cfg.cutoffs)
    # summary.json: the keys issue 14 fixes, whatever the (toy, small) numbers are
    summary = json.loads((out / "summary.json").read_text())
    for key in ("seed", "seconds", "types", "auc", "auc_second", "is_error", "donor_transfer", "versions"):
        assert key in summary, key
    assert summary["seed"] == 0 and summary["seconds"] > 0
    assert {t["exploit_type"] for t in summary["types"]} == set(types["exploit_type"])
    for t in summary["types"]:
        assert set(t) >= {"exploit_type", "tasks", "tasks_with_prefixes", "emerged", "direct_first", "direct_last"}
        assert 0 <= t["tasks_with_prefixes"] <= t["tasks"] == cfg.tasks_per_type
    for key in ("auc", "auc_second"):
        assert set(summary[key]) == set(METHODS)
        for entry in summary[key].values():
            assert set(entry) >= {"cutoff", "value", "lower", "upper", "n_pos", "n_neg"}
            assert entry["n_pos"] + entry["n_neg"] == cfg.n_types
            assert entry["value"] is None or entry["lower"] <= entry["value"] <= entry["upper"]
    assert set(summary["is_error"]) == {"cells", "within_1", "median_log10"}
    assert set(summary["donor_transfer"]) >= {"base_rate", "donor_rate", "types"}
    assert set(summary["versions"]) >= {"torch", "transformers", "trl"}
    assert (out / "donor" / "model" / "donor.json").is_file()  # trained by hackwatch.donor.train_donor
    logp = pd.read_csv(out / "exploit_logprobs.csv")
    assert set(logp["step"]) == set(cfg.checkpoint_steps)
    assert (logp["logp_exploit"] < 0).all()
    rollouts = pd.read_parquet(out / "rl" / "rollouts.parquet")
    assert rollouts["step"].nunique() >= cfg.grpo_steps - 1
    flags = pd.read_csv(out / "flags.csv")
    assert "run" in flags.columns or flags.empty


def test_demo_refuses_non_empty_out(tmp_path):
    (tmp_path / "x").write_text("keep me")
    result = CliRunner().invoke(app, ["demo", "--size", "small", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "not empty" in result.output
    assert (tmp_path / "x").read_text() == "keep me"


def test_demo_rejects_bad_seeds(tmp_path):
    for bad in ("a,b", "1,1", ","):
        result = CliRunner().invoke(app, ["demo", "--size", "small", "--seeds", bad, "--out", str(tmp_path / "d")])
        assert result.exit_code == 2, bad
        assert "--seeds" in result.output
    assert not (tmp_path / "d").exists()


def test_demo_rejects_unknown_size(tmp_path):
    result = CliRunner().invoke(app, ["demo", "--size", "huge", "--out", str(tmp_path / "d")])
    assert result.exit_code == 2
    assert "--size" in result.output
