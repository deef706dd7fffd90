import math

import numpy as np
import pytest

from hackwatch.models import tempered_topk_logprob


def _exact(logp: np.ndarray, z: int, tau: float) -> float:
    x = logp / tau
    return float(x[z] - np.logaddexp.reduce(x))


@pytest.mark.parametrize("tau", [0.3, 0.4, 0.7, 1.3, 2.0])
@pytest.mark.parametrize("k", [1, 5, 20])
def test_bound_contains_exact_value(tau, k):
    rng = np.random.default_rng(7)
    worst = 0.0
    for trial in range(200):
        v = 50 + trial
        logits = rng.normal(0, rng.uniform(0.5, 4.0), v)
        logp = logits - np.logaddexp.reduce(logits)
        order = np.argsort(-logp)
        z = int(order[rng.integers(0, v)]) if trial % 2 else int(order[0])
        top = [float(logp[i]) for i in order[:k]]
        approx, bound = tempered_topk_logprob(float(logp[z]), top, tau, v, z in set(order[:k].tolist()))
        err = approx - _exact(logp, z, tau)
        assert -1e-9 <= err <= bound + 1e-9, (trial, err, bound)
        worst = max(worst, err / bound if bound > 0 else 0)
    assert worst > 0.01  # the bound is not vacuous: some errors come close to it


def test_tau_one_is_exact_and_full_vocab_has_zero_bound():
    logp = np.log(np.array([0.5, 0.3, 0.2]))
    assert tempered_topk_logprob(float(logp[1]), [float(logp[0])], 1.0, 3, False) == (float(logp[1]), 0.0)
    approx, bound = tempered_topk_logprob(float(logp[2]), list(map(float, logp)), 0.5, 3, True)
    assert bound == 0.0
    assert math.isclose(approx, _exact(logp, 2, 0.5), abs_tol=1e-12)
