import numpy as np
import pandas as pd
import pytest
from scipy import stats

from hackwatch.estimate import SchemaError, binomial_interval, direct_rates


def verdict_rows(cells: dict[tuple[str, str], list[tuple[str, int, int]]], temperature: float = 0.7) -> pd.DataFrame:
    """cells: (checkpoint, exploit_type) -> [(task_id, k, n)]; direct samples only."""
    rows = []
    for (ck, et), tasks in cells.items():
        for task, k, n in tasks:
            for i in range(n):
                rows.append({"task_id": task, "exploit_type": et, "checkpoint": ck, "step": int(ck[1:]),
                             "prefix_id": None, "prefix_tokens": 0, "temperature": temperature, "seed": i,
                             "attempt": i, "label": "exploit" if i < k else "correct", "exploit": i < k})
    return pd.DataFrame(rows)


def test_sample_pooled_rate_and_exact_interval():
    df = verdict_rows({("c10", "a"): [("t1", 3, 20), ("t2", 1, 10)]})
    s = direct_rates(df).summary.iloc[0]
    assert s["value"] == pytest.approx(4 / 30)
    ci = stats.binomtest(4, 30).proportion_ci(confidence_level=0.95, method="exact")
    assert s["lower"] == pytest.approx(ci.low) and s["upper"] == pytest.approx(ci.high)
    assert s["log10_value"] == pytest.approx(np.log10(4 / 30))
    assert (s["n"], s["n_tasks"], s["successes"], s["pooling"], s["step"]) == (30, 2, 4, "sample", 10)


def test_task_averaged_rate_is_explicit():
    df = verdict_rows({("c1", "a"): [("t1", 3, 20), ("t2", 1, 10)]})
    s = direct_rates(df, pooling="task").summary.iloc[0]
    assert s["value"] == pytest.approx((3 / 20 + 1 / 10) / 2)
    assert s["pooling"] == "task"
    # Equal n per task: task-averaged equals sample-pooled, interval included.
    eq = verdict_rows({("c1", "a"): [("t1", 3, 10), ("t2", 1, 10)]})
    a, b = direct_rates(eq, pooling="task").summary.iloc[0], direct_rates(eq).summary.iloc[0]
    assert a["value"] == pytest.approx(b["value"]) and a["upper"] == pytest.approx(b["upper"])


def test_zero_exploits_reports_upper_bound_not_rate():
    df = verdict_rows({("c1", "a"): [("t1", 0, 50)], ("c1", "b"): [("t1", 0, 5000)]})
    s = direct_rates(df).summary.set_index("exploit_type")
    assert s["value"].isna().all() and s["log10_value"].isna().all()
    assert s.loc["a", "upper"] == pytest.approx(1 - 0.025 ** (1 / 50))
    assert s.loc["b", "upper"] < s.loc["a", "upper"]
    assert (s["lower"] == 0).all()


def test_jeffreys_interval_matches_beta_quantiles():
    lo, hi = binomial_interval(np.array([3]), np.array([40]), method="jeffreys")
    assert lo[0] == pytest.approx(stats.beta.ppf(0.025, 3.5, 37.5))
    assert hi[0] == pytest.approx(stats.beta.ppf(0.975, 3.5, 37.5))


@pytest.mark.parametrize(("method", "low", "high"), [("clopper-pearson", 0.945, 1.0), ("jeffreys", 0.92, 0.98)])
def test_interval_coverage_is_nominal(method, low, high):
    rng = np.random.default_rng(7)
    p, n, reps = 0.03, 200, 1500
    k = rng.binomial(n, p, size=reps)
    exploit = np.concatenate([np.arange(n) < ki for ki in k])
    df = pd.DataFrame({"task_id": "t", "exploit_type": np.repeat(np.arange(reps).astype(str), n),
                       "checkpoint": "c", "step": 1, "prefix_id": None, "prefix_tokens": 0,
                       "temperature": 1.0, "exploit": exploit})
    s = direct_rates(df, interval=method).summary
    cover = ((s["lower"] <= p) & (p <= s["upper"])).mean()
    assert low <= cover <= high, f"coverage {cover} (seed 7)"


def test_prefilled_rows_are_not_direct_samples():
    df = verdict_rows({("c1", "a"): [("t1", 1, 10)]})
    pre = df.assign(prefix_id="p1", prefix_tokens=5, exploit=True)
    s = direct_rates(pd.concat([df, pre])).summary.iloc[0]
    assert s["n"] == 10 and s["successes"] == 1


def test_refuses_mixed_temperatures_and_checkpoints():
    a = verdict_rows({("c1", "a"): [("t1", 1, 10)]})
    b = verdict_rows({("c1", "a"): [("t2", 1, 10)]}, temperature=1.0)
    with pytest.raises(SchemaError, match="temperature"):
        direct_rates(pd.concat([a, b]))
    c = verdict_rows({("c1", "a"): [("t1", 1, 10)], ("c2", "a"): [("t1", 1, 10)]})
    with pytest.raises(SchemaError, match="checkpoint"):
        direct_rates(c, by=["exploit_type"])


def test_errors_name_column_and_row():
    df = verdict_rows({("c1", "a"): [("t1", 1, 3)]})
    with pytest.raises(SchemaError, match="'exploit'.*expected at least"):
        direct_rates(df.drop(columns="exploit"), source="v.jsonl")
    bad = df.astype({"step": object})
    bad.loc[1, "step"] = "ten"
    with pytest.raises(SchemaError, match="row 1, column 'step'"):
        direct_rates(bad)


def test_infrastructure_errors_are_not_samples():
    df = verdict_rows({("c1", "a"): [("t1", 2, 10)]})
    broken = df.iloc[:3].assign(label="error", exploit=None)
    s = direct_rates(pd.concat([df, broken], ignore_index=True)).summary.iloc[0]
    assert (s["n"], s["successes"]) == (10, 2)


def test_error_rows_keep_input_row_numbers_in_messages():
    df = verdict_rows({("c1", "a"): [("t1", 2, 5)]}).astype({"temperature": object})
    df.loc[0, "label"] = "error"
    df.loc[3, "temperature"] = None
    with pytest.raises(SchemaError, match="row 3, column 'temperature': null"):
        direct_rates(df, source="v.jsonl")
