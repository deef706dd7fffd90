"""Estimates that never mislead: no zero-width intervals, bounds without support, flags on impossible cells."""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from hackwatch.estimate import (
    HeavyTailWarning,
    ImpossibleValueWarning,
    estimate_cells,
    is_estimates,
)
from hackwatch.estimate.synthetic import simulate, synthetic_world

ALPHA = 0.05


def cell(prefixes, *, direct=(0, 0)):
    """prefixes: (task, logp_subject, logp_donor, pi_D, a_D, k, n); one checkpoint, one exploit type."""
    base = {"exploit_type": "a", "checkpoint": "c", "step": 1, "temperature": 1.0}
    scores, verdicts = [], []
    for j, (task, lp, ld, rt, rp, k, n) in enumerate(prefixes):
        pid = f"{task}-p{j}"
        scores.append({**base, "task_id": task, "prefix_id": pid, "prefix_tokens": 4, "logp_subject": lp,
                       "logp_donor": ld, "donor_rate_task": rt, "donor_rate_prefix": rp, "trace_id": pid})
        verdicts += [{**base, "task_id": task, "prefix_id": pid, "prefix_tokens": 4, "seed": i, "attempt": i,
                      "label": "x", "exploit": i < k} for i in range(n)]
    kd, nd = direct
    verdicts += [{**base, "task_id": "t0", "prefix_id": None, "prefix_tokens": 0, "seed": i, "attempt": i,
                  "label": "x", "exploit": i < kd} for i in range(nd)]
    return pd.DataFrame(scores), pd.DataFrame(verdicts)


def quiet(fn, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kw)


def rows(table):
    return table.set_index("method")


def test_is_cell_without_support_reports_no_interval_and_an_upper_bound():
    s, v = cell([("t1", np.log(0.2), np.log(0.5), 0.4, 0.4, 0, 8)])
    t = rows(quiet(estimate_cells, v, s, alpha=ALPHA).summary)
    r = t.loc["is"]
    assert r["value"] == 0 and np.isneginf(r["log10_value"])
    assert r["interval"] == "none" and np.isnan(r["lower"])
    # one term: the Clopper-Pearson upper limit after 0 of 8 times the term's weight P/q = 0.2/0.5
    assert r["upper"] == pytest.approx(0.4 * (1 - (ALPHA / 2) ** (1 / 8)))
    assert r["upper"] == pytest.approx(0.4 * stats.beta.ppf(1 - ALPHA / 2, 1, 8))
    assert r["flags"] == "no_support" and t.loc["lower_bound", "flags"] == "no_support"
    assert np.isnan(r["khat"])


def test_no_support_upper_bound_lies_between_its_one_term_and_box_bounds():
    terms = [("t1", -2.0, -1.0, 0.3, 0.3, 0, 8), ("t1", -3.0, -1.0, 0.3, 0.2, 0, 4),
             ("t2", -1.0, -1.5, 0.2, 0.5, 0, 16)]
    s, v = cell(terms)
    r = quiet(is_estimates, s, v, alpha=ALPHA).summary.iloc[0]
    c = np.array([np.exp(lp - ld) * rt / rp for _, lp, ld, rt, rp, _, _ in terms]) / len(terms)
    n = np.array([t[-1] for t in terms])
    single = c * (1 - (ALPHA / 2) ** (1 / n))
    assert single.max() < r["upper"] < single.sum()


def test_no_estimator_returns_a_zero_width_interval():
    # very rare world: many replicate cells have no contributing term, some do; direct samples too
    world = synthetic_world(proposal="donor", log10_rate=-2.5, seed=0)
    d = simulate(world, replicates=60, n_tasks=5, prefixes_per_task=3, rollouts_per_prefix=4, direct_per_task=20,
                 seed=4)
    t = quiet(estimate_cells, d.verdicts, d.scores, by=["replicate"], n_boot=100, point_bound=True).summary
    is_rows = t[t["method"] == "is"]
    assert (is_rows["successes"] == 0).sum() >= 10 and (is_rows["successes"] > 0).sum() >= 5
    with_interval = t[t["interval"] != "none"]
    assert (with_interval["upper"] > with_interval["lower"]).all()
    assert not ((t["lower"] == 0) & (t["upper"] == 0)).any()
    assert (is_rows.loc[is_rows["successes"] == 0, "upper"] > 0).all()


def test_bootstrap_of_identical_tasks_is_no_interval():
    s, v = cell([("t1", -2.0, -1.0, 0.3, 0.3, 2, 8), ("t2", -2.0, -1.0, 0.3, 0.3, 2, 8)])
    r = quiet(is_estimates, s, v).summary.iloc[0]
    assert r["interval"] == "none" and np.isnan(r["lower"]) and np.isnan(r["upper"]) and r["value"] > 0


def test_value_above_one_is_flagged_and_not_clipped():
    # P = 1 but the proposal thought the prefix 100x less likely: weight 100, r_hat = 1
    s, v = cell([("t1", 0.0, np.log(0.01), 0.5, 0.5, 8, 8), ("t2", 0.0, np.log(0.01), 0.5, 0.5, 8, 8)])
    with pytest.warns(ImpossibleValueWarning, match="above 1"):
        t = rows(estimate_cells(v, s).summary)
    assert t.loc["is", "value"] == pytest.approx(100.0)
    assert "above_one" in t.loc["is", "flags"].split(";")


def test_value_below_the_cells_lower_confidence_bound_is_flagged():
    # the donor correction says the prefix is 100x over-proposed, yet every rollout exploited
    s, v = cell([("t1", -1.0, 0.0, 0.01, 1.0, 8, 8)])
    with pytest.warns(ImpossibleValueWarning, match="below the cell's lower confidence bound"):
        t = rows(estimate_cells(v, s).summary)
    assert t.loc["is", "value"] < t.loc["lower_bound", "value"]
    assert t.loc["is", "flags"].split(";") == ["below_lcb", "low_ess"]  # one contributing term: ESS 1
    assert t.loc["lower_bound", "flags"] == ""


def test_heavy_tailed_weights_are_flagged_beside_ess():
    u = (np.arange(1, 201) - 0.5) / 200
    w = stats.genpareto.ppf(u, c=1.0)
    lp = np.log(w / w.max())  # P/D = w (up to scale), every rollout exploits
    s, v = cell([(f"t{i}", lp[i], 0.0, 0.5, 0.5, 1, 1) for i in range(200)])
    with pytest.warns(HeavyTailWarning, match="k-hat"):
        r = is_estimates(s, v, n_boot=50).summary.iloc[0]
    assert r["khat"] > 0.7 and "heavy_tail" in r["flags"].split(";")


def test_low_ess_and_clean_cells():
    s, v = cell([("t1", -1.0, -1.0, 0.5, 0.5, 4, 8)] + [(f"t{i}", -30.0, -1.0, 0.5, 0.5, 4, 8) for i in range(2, 8)])
    r = quiet(is_estimates, s, v, n_boot=50).summary.iloc[0]
    assert r["ess"] < 5 and r["flags"] == "low_ess"
    s, v = cell([(f"t{i}", -1.0 - 0.02 * i, -1.0, 0.5, 0.5, 4, 8) for i in range(40)], direct=(0, 50))
    t = rows(quiet(estimate_cells, v, s).summary)
    assert (t["flags"] == "").all() and t.loc["is", "khat"] < 0.7
