"""Trend statistics on per-step metric series: least-squares slope and a one-sided CUSUM.

The one-sided upper CUSUM (Page 1954) accumulates evidence that a series has shifted *above* its
baseline ``mu0`` by more than a slack ``k``:

    S_0 = 0,   S_t = max(0, S_{t-1} + (x_t - mu0 - k)),   alarm when S_t > h

It reacts to a sustained shift and ignores single noisy steps. ``mu0`` is the mean of the first
``baseline`` points; ``k`` and ``h`` are in the metric's own units (shares for fractions).

A fixed ``h`` ignores how noisy the series is: a step's share that rests on one GRPO group jumps
between 0 and 1 with no change in the policy, and a three-step baseline of such steps is itself
noise. ``rise_pvalue`` is the check that goes with the CUSUM: a permutation test of "the series
rose at some step" (largest standardised difference of the means after and before a change point)
against re-orderings of the same steps -- or of the same groups' outcomes among the steps -- which a
flat policy makes equally likely, so it is exact whatever the number of groups behind each step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def slope(x: Sequence[float], y: Sequence[float]) -> float:
    """Least-squares slope of y on x (NaN with fewer than two distinct x)."""
    xa, ya = np.asarray(x, float), np.asarray(y, float)
    keep = ~np.isnan(ya)
    xa, ya = xa[keep], ya[keep]
    if len(np.unique(xa)) < 2:
        return float("nan")
    return float(np.polyfit(xa, ya, 1)[0])


@dataclass(frozen=True)
class CusumAlarm:
    """First alarm of an upper CUSUM: index into the series, baseline, and statistic at the alarm."""

    index: int
    baseline: float
    statistic: float
    start: int = -1
    """Where the run of evidence that raised the alarm began (the index after the CUSUM last stood at
    0): the usual change-point estimate. ``values[start:index + 1]`` is the shifted stretch."""


def _shuffled(x: np.ndarray, sizes: np.ndarray | None, permutations: int, seed: int) -> np.ndarray:
    """``permutations`` re-orderings of a series (rows): of its steps, or -- with ``sizes`` (groups per
    step, ``x`` a share of them) -- of its groups' 0/1 outcomes among steps of the same sizes.
    """
    rng = np.random.default_rng(seed)
    if sizes is None:
        return rng.permuted(np.tile(x, (permutations, 1)), axis=1)
    n = sizes.astype(int)
    hits = np.rint(x * n).astype(int)
    outcomes = np.concatenate([np.r_[np.ones(h), np.zeros(m - h)] for h, m in zip(hits, n, strict=True)])
    shuffled = rng.permuted(np.tile(outcomes, (permutations, 1)), axis=1)
    return np.add.reduceat(shuffled, np.r_[0, np.cumsum(n)[:-1]], axis=1) / n


def rise_statistic(x: np.ndarray, weights: np.ndarray, *, baseline: int) -> np.ndarray:
    """Largest standardised rise of each row of ``x`` (2-D, steps along axis 1) over one change point τ
    (at least ``baseline`` steps before it): ``max_τ (mean after − mean before) · sqrt(W_b W_a / W)``,
    means weighted by ``weights`` (groups per step, or 1).
    """
    cx, cw = np.cumsum(x * weights, axis=1), np.cumsum(weights)
    wb = cw[baseline - 1:-1]
    wa = cw[-1] - wb
    before = cx[:, baseline - 1:-1] / wb
    after = (cx[:, -1:] - cx[:, baseline - 1:-1]) / wa
    return ((after - before) * np.sqrt(wb * wa / cw[-1])).max(axis=1)


def rise_pvalue(values: Sequence[float], *, baseline: int = 3, permutations: int = 999, seed: int = 0,
                sizes: Sequence[float] | None = None) -> float:
    """Permutation p-value that ``values`` rose at some step (``rise_statistic``), against re-orderings that
    a flat policy makes equally likely: of the (non-NaN) steps, or -- with ``sizes``, the groups behind each
    step, ``values`` the share of them with a 0/1 property such as all-fail -- of the groups' outcomes
    among steps of the same sizes. A step resting on one group then weighs one group, not a whole step.
    ``(1 + #{null >= observed}) / (1 + permutations)``; deterministic for a given ``seed``.
    """
    x = np.asarray(values, float)
    keep = ~np.isnan(x)
    size = None
    if sizes is not None:
        size = np.asarray(sizes, float)
        keep &= size > 0
        size = size[keep]
    x = x[keep]
    if len(x) <= baseline:
        return 1.0
    weights = size if size is not None else np.ones(len(x))
    observed = rise_statistic(x[None, :], weights, baseline=baseline)[0]
    null = rise_statistic(_shuffled(x, size, permutations, seed), weights, baseline=baseline)
    return float((1 + np.sum(null >= observed - 1e-12)) / (1 + permutations))


def cusum_upper(values: Sequence[float], *, k: float, h: float, baseline: int = 3) -> CusumAlarm | None:
    """One-sided upper CUSUM against the mean of the first ``baseline`` values; first alarm or None."""
    x = np.asarray(values, float)
    if len(x) <= baseline or baseline < 1:
        return None
    mu0 = float(np.nanmean(x[:baseline]))
    s, start = 0.0, baseline
    for i in range(baseline, len(x)):
        if np.isnan(x[i]):
            continue
        if s == 0.0:
            start = i
        s = max(0.0, s + (x[i] - mu0 - k))
        if s > h:
            return CusumAlarm(index=i, baseline=mu0, statistic=s, start=start)
    return None
