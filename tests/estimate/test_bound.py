"""The lower confidence bound is a bound: exact answers, its analytic level, and its coverage."""

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from hackwatch.estimate import lower_bounds
from hackwatch.estimate._bound import log_cp_lower
from hackwatch.estimate.synthetic import simulate, synthetic_world

ALPHA = 0.05


def one_task(ks, p=0.1, n=8):
    """One task, one prefix of subject probability ``p`` per entry of ``ks`` (exploits in ``n`` rollouts)."""
    scores, verdicts = [], []
    base = {"task_id": "t", "exploit_type": "a", "checkpoint": "c", "step": 1, "temperature": 1.0}
    for j, k in enumerate(ks):
        scores.append({**base, "prefix_id": f"p{j}", "prefix_tokens": 5, "logp_subject": np.log(p),
                       "logp_donor": np.log(p), "trace_id": f"p{j}"})
        verdicts += [{**base, "prefix_id": f"p{j}", "prefix_tokens": 5, "seed": i, "attempt": i,
                      "label": "x", "exploit": i < k} for i in range(n)]
    return pd.DataFrame(scores), pd.DataFrame(verdicts)


def test_issue_example_three_prefixes_one_exploit_in_eight():
    # 3 prefixes of P = 0.1 and r = 0.02 (pi = 0.006); one exploit in 8 rollouts on one of them.
    s, v = one_task([1, 0, 0])
    point = lower_bounds(s, v, point=True).summary.iloc[0]
    bound = lower_bounds(s, v, alpha=ALPHA).summary.iloc[0]
    assert point["value"] == pytest.approx(0.0125) and point["value"] > 0.006  # the old "bound" was not one
    expected = 0.1 * stats.beta.ppf(ALPHA / 3, 1, 8)  # = 0.1 * (1 - (1 - 0.05/3)^(1/8))
    assert bound["value"] == pytest.approx(expected) and bound["value"] < 0.006
    assert bound["method"] == "lower_bound" and bound["interval"] == "none" and bound["flags"] == ""


def exceed_probability(p, r, n):
    """Exact P(bound > pi) for one task whose tested prefixes have probabilities p and rates r."""
    pi = float(np.dot(p, r))
    m = len(p)
    total = 0.0
    for ks in itertools.product(range(n + 1), repeat=m):
        ks = np.array(ks)
        log_b = np.max(np.log(p) + log_cp_lower(ks, np.full(m, n), ALPHA / m))
        if log_b > np.log(pi):
            total += float(np.prod(stats.binom.pmf(ks, n, r)))
    return total


@pytest.mark.parametrize("r", [0.002, 0.02, 0.1, 0.3, 0.6])
def test_issue_example_level_is_exact_at_most_alpha(r):
    assert exceed_probability(np.full(3, 0.1), np.full(3, r), 8) <= ALPHA


def test_clopper_pearson_level_is_alpha_and_tight():
    # one prefix (m = 1): sup_r P(lower limit > r) is alpha (Clopper-Pearson is exact at the limits)
    n = 8
    worst = 0.0
    for r in np.linspace(1e-4, 0.999, 400):
        k = np.arange(n + 1)
        exceed = np.exp(log_cp_lower(k, np.full(n + 1, n), ALPHA)) > r
        worst = max(worst, float(stats.binom.pmf(k, n, r)[exceed].sum()))
    assert 0.9 * ALPHA < worst <= ALPHA


def test_bonferroni_level_with_unequal_prefixes():
    # two prefixes with different P and r: the union of the two failures has probability <= alpha
    for r in ([0.05, 0.4], [0.3, 0.3], [0.01, 0.9]):
        assert exceed_probability(np.array([0.3, 0.05]), np.array(r), 6) <= ALPHA


def test_lower_bound_coverage_on_a_sampled_world():
    # Cells of one task each (the per-task guarantee) and of 10 tasks; world seed 0, simulation seed 1.
    world = synthetic_world(proposal="donor", log10_rate=-3, seed=0)
    d = simulate(world, replicates=200, n_tasks=10, prefixes_per_task=4, rollouts_per_prefix=8, seed=1)
    pi_task = d.task_truth.set_index("task_id")["pi"]
    pi_cell = d.task_truth.groupby("replicate")["pi"].mean()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        per_task = {pt: lower_bounds(d.scores, d.verdicts, by=["task_id"], point=pt).summary.set_index("task_id")
                    for pt in (False, True)}
        per_cell = lower_bounds(d.scores, d.verdicts, by=["replicate"]).summary.set_index("replicate")
    exceed = (per_task[False]["value"] > pi_task.loc[per_task[False].index]).mean()
    exceed_point = (per_task[True]["value"] > pi_task.loc[per_task[True].index]).mean()
    assert len(per_task[False]) == 2000
    assert exceed <= ALPHA, f"bound exceeded pi(x) in {exceed:.3f} of tasks (seeds 0, 1)"
    assert exceed_point > 2 * ALPHA, f"the point version exceeded in {exceed_point:.3f}: the check has power"
    assert (per_cell["value"] > pi_cell.loc[per_cell.index]).mean() <= ALPHA
