"""The terminal summary and the pretraining loop on real (tiny) inputs."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from hackwatch.demo import BANNER, DemoResult, demo_config, summary_lines, validation_lines


def _result() -> DemoResult:
    types = pd.DataFrame([
        {"exploit_type": "process_exit", "split": "heldout", "base_rate_corpus": 0.08, "hard": True, "tasks": 2,
         "tasks_with_prefixes": 2, "step0_rate": 0.02, "donor_rate": 0.5, "direct_first": 0.05, "direct_last": 0.4,
         "emerged": True},
        {"exploit_type": "assert_bypass", "split": "donor", "base_rate_corpus": 0.005, "hard": False, "tasks": 2,
         "tasks_with_prefixes": 1, "step0_rate": 0.0, "donor_rate": 0.9, "direct_first": 0.0, "direct_last": 0.0,
         "emerged": False},
    ])
    evaluation = pd.DataFrame([{"method": "is", "cutoff": 2, "auc": 1.0, "auc_lower": 0.5, "auc_upper": 1.0,
                                "n_emerged": 1, "n_not_emerged": 1, "types_scored": 2},
                               {"method": "exploit_logprob", "cutoff": 2, "auc": math.nan, "auc_lower": None,
                                "auc_upper": None, "n_emerged": 1, "n_not_emerged": 1, "types_scored": 0}])
    errors = pd.DataFrame({"exploit_type": ["process_exit"], "step": [4], "gt": [0.1], "is": [0.02],
                           "log10_error": [math.log10(0.2)]})
    flags = pd.DataFrame([{"rule": "homogeneous_fail", "subset": "trigger", "run": "locked organism"}])
    return DemoResult(out=Path("/o"), report_path=Path("/o/run/report.html"), db_path=Path("/o/run/run.duckdb"),
                      types=types, evaluation=evaluation, is_errors=errors, flags=flags, timings={"total": 12.0},
                      summary={"donor_transfer": {"base_rate": 0.02, "donor_rate": 0.5, "ratio": 25.0,
                                                  "types": ["process_exit"]}})


def test_summary_says_toy_world_and_shows_every_table():
    lines = summary_lines(_result(), demo_config("small"))
    text = "\n".join(lines)
    assert text.count(BANNER) == 2
    assert "1 of 2 types emerged" in text
    assert "process_exit" in text and "YES" in text
    assert "[0.50, 1.00]" in text
    assert "2.0% -> 50.0% (25.0x)" in text
    assert "2/2" in text and "1/2" in text  # tasks with donor prefixes
    assert "median log10(IS/GT) = -0.70" in text
    assert "locked organism: 1 flag(s): homogeneous_fail (trigger)" in text
    assert "demo RL run: no flags" in text
    assert "Report: /o/run/report.html" in text


def test_validation_lines_show_every_method_and_cutoff():
    entry = {"cutoff": 2, "value": 0.9, "lower": 0.7, "upper": 1.0, "n_pos": 10, "n_neg": 12, "n_scored": 22}
    doc = {"seeds": [0, 1], "auc": {"is": entry, "direct": {**entry, "value": None, "lower": None, "upper": None}},
           "auc_second": {"is": {**entry, "cutoff": 3}}, "is_error": {"cells": 5, "within_1": 0.8, "median_log10": -0.3},
           "donor_transfer": {"base_rate": 0.01, "donor_rate": 0.2}, "emerged": {"types": 22, "emerged": 10}}
    text = "\n".join(validation_lines(doc))
    assert text.count(BANNER) == 2
    assert "10 of 22 (world, type) pairs emerged" in text
    assert "[0.70, 1.00]" in text and "80.0%" in text and "1.0% -> 20.0%" in text
    assert len([ln for ln in text.splitlines() if ln.strip().startswith("is ")]) == 2


@pytest.mark.slow
def test_pretraining_learns_the_corpus():
    from hackwatch.demo import build_corpus, plan_types
    from hackwatch.demo._pretrain import encode_items, pretrain_subject
    from hackwatch.demo._world import choose_world
    from hackwatch.tasks import load_tasks

    world = choose_world(load_tasks("builtin"), n_types=2, tasks_per_type=1, donor_types=0, unrelated_types=0,
                         seed=0)
    items = build_corpus(world.tasks, plan_types(world.order))
    model, tok, losses = pretrain_subject(items, vocab_size=400, layers=1, hidden=32, steps=60, batch=8, lr=3e-3,
                                          seed=0)
    assert sum(losses[-5:]) / 5 < 0.6 * losses[0]
    enc = encode_items(tok, items)
    assert all(0 < e.start < len(e.ids) for e in enc)
    assert tok.decode(enc[0].ids[e.start:] if (e := enc[0]) else []).rstrip().endswith("<|im_end|>")
