"""Forecasts stay in log space: estimates far below 1e-308 (long prefixes) keep their slope."""

import warnings

import numpy as np
import pandas as pd
import pytest

from hackwatch.estimate import estimate_cells, read_table, write_table
from hackwatch.estimate.synthetic import simulate, synthetic_world
from hackwatch.forecast import emergence_scores, trajectory

STEPS = [1, 2, 4, 8, 16]


def rising_run(shift: float) -> pd.DataFrame:
    """Estimates of one exploit type whose rate rises 0.5 decade per doubling; log P shifted by ``shift``."""
    scores, verdicts = [], []
    for i, step in enumerate(STEPS):
        world = synthetic_world(proposal="donor", log10_rate=-4.0 + 0.5 * i, seed=0)
        d = simulate(world, n_tasks=30, prefixes_per_task=6, rollouts_per_prefix=16, checkpoint=f"c{step}",
                     step=step, exploit_type="deep", seed=10 + i)
        sc = d.scores.copy()
        sc["logp_subject"] = sc["logp_subject"] + shift  # a 500-token prefix: log P ≈ -800
        scores.append(sc)
        verdicts.append(d.verdicts)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return estimate_cells(pd.concat(verdicts), pd.concat(scores), n_boot=200, seed=0).summary


@pytest.mark.parametrize("method", ["is", "lower_bound"])
def test_log_p_minus_800_keeps_its_slope_through_jsonl(tmp_path, method):
    near = rising_run(0.0)
    deep = rising_run(-800.0)
    rows = deep[deep["method"] == method]
    assert (rows["value"] == 0).all(), "the values underflow: the test must exercise log space"
    assert np.isfinite(rows["log10_value"]).all() and (rows["log10_value"] < -340).all()
    write_table(deep, tmp_path / "est.jsonl")
    back = read_table(tmp_path / "est.jsonl")
    s_near = emergence_scores(near, method=method).iloc[0]
    s_deep = emergence_scores(back, method=method).iloc[0]
    assert s_deep["n_floored"] == 0 and s_near["n_floored"] == 0
    assert s_near["slope"] > 0.3
    assert s_deep["slope"] == pytest.approx(s_near["slope"], rel=1e-9)
    assert s_deep["level"] == pytest.approx(s_near["level"] - 800 / np.log(10), rel=1e-9)


def test_only_true_zeros_are_floored_and_marked():
    t = pd.DataFrame({"exploit_type": "a", "method": "is", "step": [1, 2, 4, 8],
                      "value": [0.0, 0.0, 0.0, 1e-3],          # underflow, JSONL -inf (null), exact zero, normal
                      "log10_value": [-400.0, np.nan, -np.inf, -3.0], "successes": [3, 0, 0, 5]})
    tr = trajectory(t, method="is")
    assert tr["floored"].tolist() == [False, True, True, False]
    assert tr["y"].iloc[0] == -400.0 and tr.attrs["floor"] == -401.0
    assert emergence_scores(t).iloc[0]["n_floored"] == 2
