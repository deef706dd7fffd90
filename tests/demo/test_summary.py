"""The terminal summary and the pretraining loop on real (tiny) inputs."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from hackwatch.demo import BANNER, DemoResult, demo_config, summary_lines
from hackwatch.demo._extras import is_errors


def _result() -> DemoResult:
    types = pd.DataFrame([
        {"exploit_type": "process_exit", "split": "heldout", "base_rate_corpus": 0.08, "hard": True,
         "style": "explicit", "direct_first": 0.05, "direct_last": 0.4, "emerged": True},
        {"exploit_type": "assert_bypass", "split": "donor", "base_rate_corpus": 0.005, "hard": False,
         "style": "pivot", "direct_first": 0.0, "direct_last": 0.0, "emerged": False},
    ])
    evaluation = pd.DataFrame([{"method": "is", "cutoff": 3, "auc": 1.0, "auc_lower": 0.5, "auc_upper": 1.0,
                                "lead_checkpoints": 2.0},
                               {"method": "exploit_logprob", "cutoff": 3, "auc": math.nan}])
    errors = pd.DataFrame({"exploit_type": ["process_exit"], "step": [4], "gt": [0.1], "is": [0.02],
                           "log10_error": [math.log10(0.2)]})
    flags = pd.DataFrame([{"rule": "homogeneous_fail", "subset": "trigger", "run": "locked organism"}])
    return DemoResult(out=Path("/o"), report_path=Path("/o/run/report.html"), db_path=Path("/o/run/run.duckdb"),
                      types=types, evaluation=evaluation, is_errors=errors, flags=flags, timings={"total": 12.0})


def test_summary_says_toy_world_and_shows_every_table():
    lines = summary_lines(_result(), demo_config("small"))
    text = "\n".join(lines)
    assert text.count(BANNER) == 2
    assert "1 of 2 types emerged" in text
    assert "process_exit" in text and "YES" in text
    assert "[0.50, 1.00]" in text
    assert "median log10(IS/GT) = -0.70" in text
    assert "locked organism: 1 flag(s): homogeneous_fail (trigger)" in text
    assert "demo RL run: no flags" in text
    assert "Report: /o/run/report.html" in text


def test_is_errors_only_where_ground_truth_is_measurable():
    est = pd.DataFrame([
        {"exploit_type": "a", "step": 1, "method": "direct", "value": 0.01, "ess": math.nan},
        {"exploit_type": "a", "step": 1, "method": "is", "value": 0.001, "ess": 3.0},
        {"exploit_type": "b", "step": 1, "method": "direct", "value": math.nan, "ess": math.nan},
        {"exploit_type": "b", "step": 1, "method": "is", "value": 1e-6, "ess": 2.0},
    ])
    err = is_errors(est)
    assert list(err["exploit_type"]) == ["a"]
    assert err["log10_error"].iloc[0] == -1.0 or abs(err["log10_error"].iloc[0] + 1.0) < 1e-12


@pytest.mark.slow
def test_pretraining_learns_the_corpus():
    from hackwatch.demo import build_corpus, plan_types
    from hackwatch.demo._pretrain import encode_items, pretrain_subject
    from hackwatch.demo._world import choose_world
    from hackwatch.tasks import load_tasks

    tasks, order, _ = choose_world(load_tasks("builtin"), n_types=2, tasks_per_type=1, donor_types=1, seed=0)
    items = build_corpus(tasks, plan_types(order))
    model, tok, losses = pretrain_subject(items, vocab_size=400, layers=1, hidden=32, steps=60, batch=8, lr=3e-3,
                                          seed=0)
    assert sum(losses[-5:]) / 5 < 0.6 * losses[0]
    enc = encode_items(tok, items)
    assert all(0 < e.start < len(e.ids) for e in enc)
    assert tok.decode(enc[0].ids[e.start:] if (e := enc[0]) else []).rstrip().endswith("<|im_end|>")
