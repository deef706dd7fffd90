"""Trend statistics on per-step metric series: least-squares slope and a one-sided CUSUM.

The one-sided upper CUSUM (Page 1954) accumulates evidence that a series has shifted *above* its
baseline ``mu0`` by more than a slack ``k``:

    S_0 = 0,   S_t = max(0, S_{t-1} + (x_t - mu0 - k)),   alarm when S_t > h

It reacts to a sustained shift and ignores single noisy steps. ``mu0`` is the mean of the first
``baseline`` points; ``k`` and ``h`` are in the metric's own units (shares for fractions).
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
