"""PSIS k-hat: recovers known GPD shapes and agrees with ArviZ's psislw."""

import numpy as np
import pytest
from scipy import stats

from hackwatch.estimate import pareto_khat
from hackwatch.estimate._psis import gpd_fit

S = 200
U = (np.arange(1, S + 1) - 0.5) / S  # a deterministic "ideal sample": quantiles at the midpoints

# Reference values from ArviZ 0.22.0, `arviz.psislw(log_weights)[1]`, run in a scratch venv
# (pip install "arviz<0.23") on exactly these arrays (2026, this repository's issue 17).
ARVIZ_PSISLW_KHAT = {
    "gpd_k0.3": (np.log(stats.genpareto.ppf(U, c=0.3)), 0.349036971473989),
    "gpd_k0.9": (np.log(stats.genpareto.ppf(U, c=0.9)), 0.7876963633073673),
    "lognormal_s1": (stats.norm.ppf(U) * 1.0, 0.33512704736894205),
    "lognormal_s3": (stats.norm.ppf(U) * 3.0, 1.090239131568664),
    "zeros_60of100": (np.concatenate([stats.norm.ppf(U[:60]) * 2.0, np.full(40, -np.inf)]), -0.3130379708940925),
}


@pytest.mark.parametrize("name", sorted(ARVIZ_PSISLW_KHAT))
def test_khat_equals_arviz_psislw(name):
    log_w, expected = ARVIZ_PSISLW_KHAT[name]
    assert pareto_khat(log_w) == pytest.approx(expected, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("shape", [0.2, 0.5, 0.9])
def test_gpd_fit_recovers_the_shape_of_genpareto_samples(shape):
    rng = np.random.default_rng(7)
    x = np.sort(stats.genpareto.rvs(c=shape, scale=2.0, size=4000, random_state=rng))
    k, sigma = gpd_fit(x)
    assert k == pytest.approx(shape, abs=0.07), f"k-hat {k} for shape {shape} (seed 7)"
    assert sigma == pytest.approx(2.0, rel=0.15)


def test_khat_separates_light_and_heavy_weights():
    rng = np.random.default_rng(3)
    light = np.log(rng.uniform(0.5, 1.5, size=1000))
    heavy = np.log(stats.genpareto.rvs(c=1.2, size=1000, random_state=rng))
    assert pareto_khat(light) < 0.5 < 0.7 < pareto_khat(heavy)


def test_khat_is_nan_with_too_few_positive_tail_weights():
    assert np.isnan(pareto_khat(np.array([0.0, -1.0, -2.0, -3.0] + [-np.inf] * 50)))  # 4 positive weights
    assert np.isnan(pareto_khat(np.full(10, -np.inf))) and np.isnan(pareto_khat(np.array([])))
    assert np.isfinite(pareto_khat(np.array([0.0, -1.0, -2.0, -3.0, -4.0] + [-np.inf] * 50)))
