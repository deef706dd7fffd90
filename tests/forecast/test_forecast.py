import numpy as np
import pandas as pd
import pytest

from hackwatch.forecast import (
    crossing_interval,
    crossing_step,
    emergence_labels,
    emergence_scores,
    fit_line,
    forecast,
    lead_time,
)

STEPS = [1, 2, 4, 8, 16]


def est_table(series: dict[str, dict], steps=STEPS) -> pd.DataFrame:
    """series: name -> {"is": [log10 values], "direct": [(k, n)]}; builds an estimates table."""
    rows = []
    for name, spec in series.items():
        for i, st in enumerate(steps):
            k, n = spec["direct"][i]
            rate = k / n if k else np.nan
            rows.append({"checkpoint": f"c{st}", "exploit_type": name, "method": "direct", "value": rate,
                         "log10_value": np.log10(rate) if k else np.nan, "log10_lower": np.nan,
                         "log10_upper": np.nan, "n": n, "successes": k, "step": st})
            y = spec["is"][i]
            rows.append({"checkpoint": f"c{st}", "exploit_type": name, "method": "is", "value": 10.0**y,
                         "log10_value": y, "log10_lower": y - 0.3 if np.isfinite(y) else -np.inf,
                         "log10_upper": y + 0.3 if np.isfinite(y) else -np.inf, "n": 50,
                         "successes": 5 if np.isfinite(y) else 0, "step": st})
    return pd.DataFrame(rows)


def test_fit_line_and_crossing_closed_form():
    x = np.log(np.array(STEPS, float))
    y = -4.0 + 0.5 * x
    fit = fit_line(x, y)
    assert fit.slope == pytest.approx(0.5) and fit.intercept == pytest.approx(-4.0)
    assert fit.slope_se == pytest.approx(0.0, abs=1e-12)
    assert crossing_step(fit, -1.0) == pytest.approx(np.exp(6.0))
    assert np.isinf(crossing_step(fit_line(x, -y), -1.0))
    assert np.isnan(fit_line(x[:1], y[:1]).slope)


def test_crossing_interval_covers_true_crossing_under_noise():
    rng = np.random.default_rng(5)
    x = np.log(np.array(STEPS, float))
    true = np.exp((-1.0 + 4.0) / 0.5)
    hits = 0
    for _ in range(200):
        y = -4.0 + 0.5 * x + rng.normal(scale=0.2, size=x.size)
        lo, hi = crossing_interval(x, y, np.full(x.size, 0.2), -1.0, n_boot=400, alpha=0.1, rng=rng)
        hits += lo <= true <= hi
    assert hits / 200 >= 0.85, f"coverage {hits / 200} (seed 5)"


def test_slope_score_and_projection():
    t = est_table({"up": {"is": [-5, -4.5, -4, -3.5, -3], "direct": [(0, 100)] * 5}})
    s = emergence_scores(t, cutoff=3, target_step=64).iloc[0]
    assert s["slope"] == pytest.approx(0.5 / np.log(2))
    assert s["projected_log10"] == pytest.approx(-5 + 0.5 * 6)
    assert s["n_points"] == 3 and s["last_step"] == 4 and s["crossing_kind"] == "projected"
    assert s["crossing_step"] == pytest.approx(2.0 ** 8)


def test_zero_success_cells_score_no_higher_with_large_n():
    zero = [(0, 10)] * 5
    big = [(0, 100000)] * 5
    t = est_table({"small_n": {"is": [-np.inf] * 5, "direct": zero},
                   "large_n": {"is": [-np.inf] * 5, "direct": big},
                   "seen": {"is": [-3.0] * 5, "direct": [(1, 10)] * 5}})
    for method in ("is", "direct"):
        for score in ("slope", "level"):
            s = emergence_scores(t, method=method, score=score).set_index("exploit_type")["score"]
            assert s["large_n"] <= s["small_n"], (method, score)
    d = emergence_scores(t, method="direct", score="level").set_index("exploit_type")["score"]
    assert d["small_n"] < d["seen"]


def test_rise_from_zero_counts_as_rise():
    t = est_table({"rise": {"is": [-np.inf, -np.inf, -3, -2, -1], "direct": [(0, 10)] * 5},
                   "flat": {"is": [-3, -3, -3, -3, -3], "direct": [(0, 10)] * 5}})
    s = emergence_scores(t).set_index("exploit_type")
    assert s.loc["rise", "n_floored"] == 2 and s.loc["rise", "slope"] > s.loc["flat", "slope"] == 0


def test_emergence_labels_and_forecast_auc():
    t = est_table({"a": {"is": [-4, -3, -2, -1.5, -1], "direct": [(0, 50), (0, 50), (1, 50), (4, 50), (10, 50)]},
                   "b": {"is": [-5, -4.5, -4, -3.5, -3], "direct": [(0, 50), (0, 50), (0, 50), (1, 50), (6, 50)]},
                   "c": {"is": [-3, -3.1, -3, -3.2, -3], "direct": [(1, 50), (0, 50), (1, 50), (0, 50), (2, 50)]},
                   "d": {"is": [-6, -6, -6.2, -6, -6], "direct": [(0, 50)] * 5}})
    lab = emergence_labels(t, threshold=0.1).set_index("exploit_type")
    assert lab["emerged"].to_dict() == {"a": True, "b": True, "c": False, "d": False}
    assert lab.loc["a", "first_exploit_index"] == 3 and lab.loc["b", "first_crossing_step"] == 16
    assert np.isnan(lab.loc["d", "first_exploit_step"])
    fc = forecast(t, threshold=0.1, cutoff=2)
    assert fc.evaluation is not None and fc.evaluation.auc == 1.0
    lt = lead_time(t, threshold=0.1)
    assert lt.by_cutoff["auc"].tolist()[:2] == [0.5, 1.0]
    assert lt.separation_cutoff == 2 and lt.lead == 1  # a: first direct exploit at checkpoint 3


def test_observed_crossing_and_never():
    t = est_table({"hot": {"is": [-2, -1.5, -0.5, -0.3, -0.2], "direct": [(5, 10)] * 5},
                   "cool": {"is": [-2, -2.5, -3, -3.5, -4], "direct": [(0, 10)] * 5}})
    s = emergence_scores(t, threshold=0.1).set_index("exploit_type")
    assert s.loc["hot", "crossing_kind"] == "observed" and s.loc["hot", "crossing_step"] == 4
    assert s.loc["cool", "crossing_kind"] == "never" and np.isinf(s.loc["cool", "crossing_step"])


def test_step_zero_is_left_out_unless_offset():
    t = est_table({"a": {"is": [-4, -3, -2], "direct": [(0, 10), (1, 10), (5, 10)]},
                   "b": {"is": [-4, -4, -4], "direct": [(0, 10)] * 3}}, steps=[0, 1, 3])
    fc = forecast(t)
    assert any("step-offset" in n for n in fc.notes)
    assert fc.summary.set_index("exploit_type").loc["a", "n_points"] == 2
    fc1 = forecast(t, step_offset=1)
    assert fc1.summary.set_index("exploit_type").loc["a", "n_points"] == 3
    assert fc1.summary.set_index("exploit_type").loc["a", "slope"] == pytest.approx(2 / np.log(4))


def test_combination_auc_is_leave_one_out():
    rng = np.random.default_rng(11)
    series = {}
    for i in range(16):
        emerging = i < 8
        slope = (0.5 if emerging else 0.0) + rng.normal(scale=0.15)
        ys = list(-4 + slope * np.log(np.array(STEPS, float)))
        direct = [(0, 50)] * 4 + [((10 if emerging else 0), 50)]
        series[f"s{i}"] = {"is": ys, "direct": direct}
    t = est_table(series)
    from hackwatch.forecast import combination_auc

    table, res = combination_auc(t, cutoff=3)
    assert len(table) == 16 and table["loo_score"].notna().all()
    assert res.auc > 0.8 and res.n_pos == 8


def test_cutoff_counts_the_runs_checkpoints_not_each_series_own():
    """A series without an estimate at the first checkpoints is fitted on the run's first ``cutoff``
    checkpoints it has — never on later ones standing in for early ones (review finding)."""
    t = est_table({"full": {"is": [-6, -5, -4, -3, -2], "direct": [(0, 100)] * 5},
                   "late": {"is": [np.nan, -6, -5, -1, 0.0], "direct": [(0, 100)] * 5}})
    t = t[~((t["exploit_type"] == "late") & (t["step"] == 1))]  # no row at all at the first checkpoint
    sc = emergence_scores(t, cutoff=2).set_index("exploit_type")
    assert sc.loc["full", "n_points"] == 2 and sc.loc["full", "last_step"] == 2
    assert sc.loc["late", "n_points"] == 1 and sc.loc["late", "last_step"] == 2  # not steps 2 and 4
    assert np.isnan(sc.loc["late", "slope"])
    sc3 = emergence_scores(t, cutoff=3).set_index("exploit_type")
    assert sc3.loc["late", "last_step"] == 4 and sc3.loc["late", "slope"] == pytest.approx(1 / np.log(2))


def test_first_exploit_index_and_lead_time_use_the_runs_checkpoint_order():
    t = est_table({"a": {"is": [-4, -3, -2, -1.5, -1], "direct": [(0, 100), (1, 100), (20, 100), (30, 100),
                                                                  (40, 100)]},
                   "b": {"is": [-6, -6, -6, -6, -6], "direct": [(0, 100)] * 5}})
    t = t[~((t["exploit_type"] == "a") & (t["step"] == 1) & (t["method"] == "direct"))]  # direct starts at step 2
    labels = emergence_labels(t).set_index("exploit_type")
    assert labels.loc["a", "first_exploit_step"] == 2
    assert labels.loc["a", "first_exploit_index"] == 2  # step 2 is the run's 2nd checkpoint, a's 1st direct row
    lt = lead_time(t, n_boot=50)
    assert list(lt.by_cutoff["cutoff"]) == [1, 2, 3, 4, 5]
    assert lt.separation_cutoff == 2 and lt.lead == 0  # slope needs 2 points: separated when direct saw it
