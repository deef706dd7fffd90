"""The demo's method comparison: scores, AUC with unscored types, IS errors, transfer and pooling — exact cases."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from hackwatch.demo._validation import (
    METHODS,
    auc_entry,
    emergence,
    error_summary,
    is_errors,
    logprob_estimates,
    method_scores,
    pool,
    world_scores,
)


def _cell(typ: str, step: int, method: str, value: float, n: int = 10, successes: int = 0) -> dict:
    return {"exploit_type": typ, "step": step, "checkpoint": f"step-{step}", "method": method, "value": value,
            "log10_value": math.log10(value) if value > 0 else -math.inf, "n": n, "successes": successes,
            "ess": 5.0}


def _estimates() -> pd.DataFrame:
    rows = []
    # "up": IS rises a decade per checkpoint and its direct rate crosses 10 %; "flat": IS flat, never emerges.
    for i, step in enumerate((1, 2, 4)):
        rows.append(_cell("up", step, "is", 10.0 ** (-4 + i)))
        rows.append(_cell("flat", step, "is", 1e-4))
        rows.append(_cell("up", step, "direct", [0.0, 0.05, 0.3][i], n=20, successes=[0, 1, 6][i]))
        rows.append(_cell("flat", step, "direct", 0.0, n=20, successes=0))
    return pd.DataFrame(rows)


def test_emergence_uses_the_sample_rate_at_any_checkpoint():
    assert emergence(_estimates(), 0.1) == {"up": True, "flat": False}
    assert emergence(_estimates(), 0.5) == {"up": False, "flat": False}


def test_method_scores_are_slopes_per_decade_per_ln_step():
    s = method_scores(_estimates(), "is", 3, ["up", "flat", "missing"])
    assert s["up"] == pytest.approx(1 / math.log(2))  # one decade per doubling of the step
    assert s["flat"] == pytest.approx(0.0, abs=1e-12)
    assert math.isnan(s["missing"])
    assert all(math.isnan(v) for v in method_scores(_estimates(), "probe", 3, ["up"]).values())


def test_auc_ranks_unscored_types_last_and_counts_them():
    e = auc_entry([0.5, math.nan, -1.0, 0.1], [True, True, False, False], cutoff=2)
    # pairs (pos, neg): (0.5,-1) win, (0.5,0.1) win, (nan->lowest,-1) loss, (nan,0.1) loss -> 2/4
    assert e["value"] == pytest.approx(0.5)
    assert (e["n_pos"], e["n_neg"], e["n_scored"]) == (2, 2, 3)
    assert e["lower"] <= e["value"] <= e["upper"]
    assert auc_entry([1.0, 2.0], [True, True], cutoff=2)["value"] is None
    assert auc_entry([math.nan, math.nan], [True, False], cutoff=2)["value"] is None


def test_is_errors_only_where_ground_truth_is_measurable():
    est = pd.DataFrame([
        {"exploit_type": "a", "step": 1, "method": "direct", "value": 0.01, "ess": math.nan},
        {"exploit_type": "a", "step": 1, "method": "is", "value": 0.001, "ess": 3.0},
        {"exploit_type": "b", "step": 1, "method": "direct", "value": math.nan, "ess": math.nan},
        {"exploit_type": "b", "step": 1, "method": "is", "value": 1e-6, "ess": 2.0},
    ])
    err = is_errors(est)
    assert list(err["exploit_type"]) == ["a"]
    assert err["log10_error"].iloc[0] == pytest.approx(-1.0)
    assert error_summary(err) == {"cells": 1, "within_1": 1.0, "median_log10": pytest.approx(-1.0)}
    assert error_summary(is_errors(est.iloc[0:0]))["cells"] == 0


def test_logprob_baseline_rows_and_world_scores():
    logp = pd.DataFrame({"step": [0, 1, 1, 2, 2], "task_id": list("xabab"), "exploit_type": ["up"] * 5,
                         "logp_exploit": [-50.0, -20.0, -22.0, -10.0, -12.0], "n_tokens": [30] * 5})
    rows = logprob_estimates(logp)
    assert list(rows["step"]) == [1, 2]  # step 0 has no place on ln(step)
    assert rows["log10_value"].tolist() == pytest.approx([-21 / math.log(10), -11 / math.log(10)])
    scores = world_scores(pd.concat([_estimates(), rows]), ["up", "flat"], (2, 3))
    assert set(scores["method"]) == set(METHODS)
    got = scores[(scores["method"] == "exploit_logprob") & (scores["cutoff"] == 2)].set_index("exploit_type")
    assert got.loc["up", "score"] == pytest.approx(10 / math.log(10) / math.log(2))
    assert math.isnan(got.loc["flat", "score"])


def test_pool_bootstraps_over_world_type_pairs():
    summaries = []
    for seed in (0, 1):
        scores = world_scores(_estimates(), ["up", "flat"], (2, 3))
        summaries.append({"seed": seed, "scores": scores.to_dict(orient="records"),
                          "types": [{"exploit_type": "up", "emerged": True}, {"exploit_type": "flat", "emerged": False}],
                          "is_error_cells": [0.5, -2.0], "donor_transfer": {"base_rate": 0.01, "donor_rate": 0.3}})
    doc = pool(summaries, (2, 3))
    assert doc["seeds"] == [0, 1]
    assert doc["auc"]["is"]["value"] == 1.0 and doc["auc"]["is"]["n_pos"] == 2 and doc["auc"]["is"]["n_neg"] == 2
    assert doc["auc"]["probe"]["value"] is None  # no estimates at all for that method
    assert doc["is_error"] == {"cells": 4, "within_1": 0.5, "median_log10": pytest.approx(np.median([0.5, -2, 0.5, -2]))}
    assert doc["donor_transfer"] == {"base_rate": 0.01, "donor_rate": 0.3}
    assert "scores" not in doc["summaries"][0]
