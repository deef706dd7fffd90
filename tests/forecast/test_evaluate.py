import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from hackwatch.forecast import auc_interval, leave_one_out_scores, roc_auc


@pytest.mark.parametrize("seed", range(5))
def test_auc_agrees_with_sklearn_including_ties(seed):
    rng = np.random.default_rng(seed)
    y = rng.uniform(size=40) < 0.4
    s = np.round(rng.normal(size=40) + y, 1)  # rounding makes ties
    assert roc_auc(s, y) == pytest.approx(roc_auc_score(y, s))


def test_nan_scores_rank_lowest():
    s = np.array([np.nan, 0.1, 0.9, -5.0])
    y = np.array([False, False, True, False])
    assert roc_auc(s, y) == pytest.approx(roc_auc_score(y, [-99.0, 0.1, 0.9, -5.0]))


def test_auc_needs_both_classes():
    with pytest.raises(ValueError, match="both classes"):
        roc_auc(np.array([1.0, 2.0]), np.array([True, True]))


def test_bootstrap_interval_brackets_auc_and_is_seeded():
    rng = np.random.default_rng(0)
    y = np.arange(30) < 12
    s = rng.normal(size=30) + 1.0 * y
    a = auc_interval(s, y, n_boot=500, seed=1)
    b = auc_interval(s, y, n_boot=500, seed=1)
    assert a == b
    assert a.lower <= a.auc <= a.upper and a.upper - a.lower > 0.05
    assert (a.n_pos, a.n_neg) == (12, 18)


def test_leave_one_out_combination_is_out_of_sample():
    rng = np.random.default_rng(3)
    y = np.arange(40) < 20
    informative = rng.normal(size=40) + 2.0 * y
    noise = rng.normal(size=(40, 3))
    loo = leave_one_out_scores(np.column_stack([informative, noise]), y)
    assert roc_auc(loo, y) > 0.8
    # Pure noise features: in-sample fits look good, leave-one-out does not.
    loo_noise = leave_one_out_scores(noise, y)
    assert roc_auc(loo_noise, y) < 0.75
