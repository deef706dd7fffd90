"""Pareto k̂: the heavy-tail diagnostic of Pareto-smoothed importance sampling (PSIS).

Vehtari, Simpson, Gelman, Yao & Gabry, "Pareto smoothed importance sampling" (JMLR 2024): fit a
generalized Pareto distribution (GPD) to the largest ``M = ceil(min(S/5, 3√S))`` of S importance
weights; its shape k̂ says how many moments the weight distribution has. k̂ < 0.5: finite variance,
the mean converges at the usual rate; 0.5–0.7: slower but usable; k̂ > 0.7: the estimate is
unreliable (pre-asymptotic bias and variance; a high ESS then means the sample *missed* the heavy
weights). The GPD fit is Zhang & Stephens (2009) with the weakly informative prior on k of Vehtari
et al. (the same estimator as ArviZ's ``psislw``/``_gpdfit`` and the R package ``loo``), so the
numbers agree with those tools (tested against ArviZ 0.22's ``psislw`` on fixed arrays).
"""

from __future__ import annotations

import math

import numpy as np

MIN_TAIL = 5
"""Fewest positive tail weights k̂ is fitted on (ArviZ returns inf below this; we return NaN)."""

KHAT_UNRELIABLE = 0.7
"""k̂ above this: the IS estimate is unreliable (the ``heavy_tail`` flag)."""


def gpd_fit(exceedances: np.ndarray) -> tuple[float, float]:
    """Shape k̂ and scale σ̂ of a GPD fitted to sorted positive ``exceedances`` (Zhang & Stephens 2009).

    The profile posterior of ``b = −k/σ`` is evaluated on ``m = 30 + ⌊√n⌋`` grid points; k̂ is then
    shrunk toward 0.5 by a weakly informative prior worth 10 observations,
    ``k̂ = (n·k̂ + 10·0.5) / (n + 10)`` (Vehtari et al.).
    """
    x = np.sort(np.asarray(exceedances, dtype=float))
    n = x.size
    prior_bs, prior_k = 3.0, 10.0
    m_est = 30 + int(n**0.5)
    b = 1.0 - np.sqrt(m_est / (np.arange(1, m_est + 1, dtype=float) - 0.5))
    b /= prior_bs * x[int(n / 4 + 0.5) - 1]
    b += 1.0 / x[-1]
    k_b = np.log1p(-b[:, None] * x).mean(axis=1)
    len_scale = n * (np.log(-(b / k_b)) - k_b - 1.0)
    with np.errstate(over="ignore"):  # an overflowing grid point has weight 0 (as in ArviZ)
        weights = 1.0 / np.exp(len_scale - len_scale[:, None]).sum(axis=1)
    keep = weights >= 10 * np.finfo(float).eps
    weights, b = weights[keep], b[keep]
    weights /= weights.sum()
    b_post = float(np.sum(b * weights))
    k_post = float(np.log1p(-b_post * x).mean())
    sigma = -k_post / b_post
    k_post = (n * k_post + prior_k * 0.5) / (n + prior_k)
    return k_post, sigma


def pareto_khat(log_weights: np.ndarray) -> float:
    """PSIS k̂ of importance weights given in log space (−inf = a zero weight).

    The tail is the ``M = ceil(min(S/5, 3√S))`` largest of the S weights (fewer when fewer are
    positive); a GPD is fitted to their exceedances over the next-largest weight, as ArviZ's
    ``psislw`` does. NaN when fewer than :data:`MIN_TAIL` positive weights fall in the tail (too
    few to fit; read ESS and ``successes`` instead).
    """
    lw = np.asarray(log_weights, dtype=float)
    s = lw.size
    if s == 0 or not np.isfinite(np.max(lw)):
        return float("nan")
    lw = lw - np.max(lw)
    m = math.ceil(min(0.2 * s, 3.0 * math.sqrt(s)))
    order = np.sort(lw)
    cutoff = max(order[-m - 1] if m < s else -np.inf, math.log(np.finfo(float).tiny))
    tail = lw[lw > cutoff]
    if tail.size < MIN_TAIL:
        return float("nan")
    k, _ = gpd_fit(np.exp(tail) - math.exp(cutoff))
    return float(k)
