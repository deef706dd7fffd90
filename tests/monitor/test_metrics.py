import math

import numpy as np
import pandas as pd
import pytest

from hackwatch.monitor import step_metrics
from hackwatch.monitor.metrics import (
    cusum_upper,
    distinct_n,
    group_summary,
    group_table,
    ngram_overlap,
    pass_at_k,
    plausible_wrong_rate,
    slope,
)


def _frame(rewards_by_group, subset="a", step=1, **extra):
    rows = []
    for gi, rewards in enumerate(rewards_by_group):
        for r in rewards:
            rows.append(dict(step=step, prompt_id=f"p{gi}", group_id=f"{step}:{gi}", subset=subset, reward=r,
                             completion="x y z", length=3, **extra))
    return pd.DataFrame(rows)


def test_pass_at_k_closed_form():
    assert pass_at_k(10, 0, 5) == 0.0
    assert pass_at_k(10, 10, 1) == 1.0
    assert pass_at_k(4, 1, 1) == pytest.approx(0.25)
    # 1 - C(3,2)/C(5,2) = 1 - 3/10
    assert pass_at_k(5, 2, 2) == pytest.approx(0.7)
    assert pass_at_k(5, 4, 2) == 1.0
    assert pass_at_k(20, 3, 4) == pytest.approx(1 - math.comb(17, 4) / math.comb(20, 4))
    with pytest.raises(ValueError, match="k <= n"):
        pass_at_k(3, 1, 4)


def test_group_table_splits_all_fail_and_all_pass():
    df = _frame([[0, 0, 0, 0], [1, 1, 1, 1], [0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]])
    g = group_table(df, pass_threshold=1.0)
    assert g["zero_std"].tolist() == [True, True, False, True]
    assert g["all_fail"].tolist() == [True, False, False, True]
    assert g["all_pass"].tolist() == [False, True, False, False]
    s = group_summary(g)
    assert s["frac_zero_std"] == 0.75 and s["frac_all_fail"] == 0.5 and s["frac_all_pass"] == 0.25
    assert s["reward_spread"] == pytest.approx(0.5 / 4)
    assert s["binary_spread"] == pytest.approx(0.5 / 4)


def test_partial_credit_spread_differs_from_binary():
    df = _frame([[0, 0, 0, 0]])
    df["partial"] = [0.1, 0.4, 0.9, 0.2]
    s = group_summary(group_table(df, components=["partial"]), ["partial"])
    assert s["binary_spread"] == 0.0
    assert s["partial_spread"] == pytest.approx(float(np.std([0.1, 0.4, 0.9, 0.2])))


def test_plausible_wrong_rate():
    df = _frame([[0, 0, 1, 1]])
    df["ran"] = [True, False, True, None]
    assert plausible_wrong_rate(df) == pytest.approx(1 / 3)
    assert math.isnan(plausible_wrong_rate(df.drop(columns="ran")))


def test_diversity():
    assert distinct_n(["a b", "a b"], 1) == 0.5
    assert ngram_overlap(["a b c", "a b c"], 2) == 1.0
    assert ngram_overlap(["a b c", "d e f"], 2) == 0.0


def test_trends():
    assert slope([0, 1, 2], [1, 3, 5]) == pytest.approx(2.0)
    assert cusum_upper([0.1, 0.1, 0.1, 0.12, 0.08, 0.1], k=0.1, h=0.5) is None
    alarm = cusum_upper([0.1, 0.1, 0.1, 0.9, 0.9, 0.9], k=0.1, h=0.5)
    assert alarm is not None and alarm.index == 3 and alarm.baseline == pytest.approx(0.1)
    # evidence builds from index 4 (0.1 - 0.1 - 0.1 + 0.5 ... ) after an early blip that reset to 0:
    # S: i3 0.2, i4 0 (x=0.0), i5 0.3, i6 0.6 > 0.5 -> alarm at 6, run started at 5
    alarm = cusum_upper([0.1, 0.1, 0.1, 0.4, 0.0, 0.5, 0.5, 0.5], k=0.1, h=0.5)
    assert alarm is not None and (alarm.start, alarm.index) == (5, 6)
    alarm = cusum_upper([0.1, 0.1, 0.1, float("nan"), 0.5, 0.5], k=0.1, h=0.5)
    assert alarm is not None and (alarm.start, alarm.index) == (4, 5)


def test_step_metrics_keys_and_subsets():
    df = pd.concat([_frame([[0, 0, 0, 0]], subset="t"), _frame([[1, 0, 1, 1]], subset="o")])
    df["group_id"] = df["subset"] + df["group_id"]
    t = step_metrics(df, ks=(1, 2))
    row = t[t["subset"] == "t"].iloc[0]
    assert row["frac_all_fail"] == 1.0 and row["pass@2"] == 0.0
    row = t[t["subset"] == "o"].iloc[0]
    assert row["pass@1"] == 0.75 and row["pass@2"] == 1.0
    assert t[t["subset"] == "*"].iloc[0]["frac_all_fail"] == 0.5
