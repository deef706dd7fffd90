"""Trajectories of a cell's estimate over checkpoints and their straight-line trend in log-log space.

The trend is ``log10 π̂ = a + b · ln(step + step_offset)`` fitted by least squares on the first
``cutoff`` checkpoints of each series (a series is a cell without its checkpoint, e.g. one exploit
type). The trend reads ``log10_value`` wherever it is finite (``value`` underflows to 0 below
~1e-308 and is not used then). Estimates of exactly zero (IS with no contributing prefix, log10 =
−inf; direct cells with no exploit, value null) are replaced by a common *floor* — the same number for every series, by
default one decade below the smallest finite log10 estimate of that method in the table — so a
rise from nothing counts as a rise and the sample size behind a zero never changes the trend.
Rows with no estimate at all (NaN) and steps with ``step + step_offset <= 0`` are left out.

"The first ``cutoff`` checkpoints" are the run's: ``checkpoint_index`` numbers a row's step among
all steps of the estimates table (every method and series), so a series that lacks the early
checkpoints is fitted on fewer points, never on later checkpoints standing in for early ones. A
table holds one run's checkpoints: split a table pooling runs with different step grids and
forecast each run on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from hackwatch.estimate import SchemaError

NON_SERIES = ("checkpoint", "step", "temperature")


def series_columns(estimates: pd.DataFrame, series_by: Sequence[str] | None = None) -> list[str]:
    """Columns that name a series: given, or the estimate table's grouping columns minus checkpoint/step."""
    if series_by is not None:
        missing = [c for c in series_by if c not in estimates.columns]
        if missing:
            raise SchemaError(f"estimates table lacks series column(s) {missing}; choose --series from "
                              f"{list(estimates.columns)}")
        return list(series_by)
    if "method" not in estimates.columns:
        raise SchemaError("estimates table lacks column 'method'; pass a table written by `hackwatch estimate`")
    cols = list(estimates.columns)
    return [c for c in cols[: cols.index("method")] if c not in NON_SERIES]


def trajectory(estimates: pd.DataFrame, *, method: str = "is", series_by: Sequence[str] | None = None,
               floor: float | None = None) -> pd.DataFrame:
    """Rows of one method, ordered by series and step, with ``y`` (log10 estimate, floored) and ``sigma``.

    ``sigma`` is a log10 standard error read off the row's interval ((log10_upper − log10_lower) / 3.92)
    where both ends are finite, else NaN. ``floored`` marks rows whose zero estimate was replaced: only
    rows whose ``log10_value`` is −inf or null *and* whose value is 0 (or, direct, no exploit was seen).
    ``checkpoint_index`` is the 1-based position of the row's step in :func:`checkpoint_steps` of the
    whole table (the run's checkpoint order), not its position within its own series.
    """
    for col in ("method", "step", "log10_value"):
        if col not in estimates.columns:
            raise SchemaError(f"estimates table lacks column {col!r}; pass a table written by `hackwatch estimate`")
    by = series_columns(estimates, series_by)
    df = estimates[estimates["method"] == method].copy()
    if df.empty:
        raise SchemaError(f"estimates table has no rows with method {method!r}; available: "
                          f"{sorted(pd.unique(estimates['method']))}")
    y = pd.to_numeric(df["log10_value"], errors="coerce").to_numpy(float)
    # log space end to end: a finite log10_value is read as is, even where `value` underflowed to 0
    # (estimates below ~1e-308, e.g. 500-token prefixes); only a true zero is floored
    zero = np.isneginf(y)
    unread = ~np.isfinite(y)
    if "value" in df.columns:  # JSONL stores -inf as null; value 0 still marks an exact zero
        zero |= unread & (pd.to_numeric(df["value"], errors="coerce").to_numpy(float) == 0)
    if method == "direct" and "successes" in df.columns:
        zero |= unread & (pd.to_numeric(df["successes"], errors="coerce").to_numpy() == 0)
    if floor is None:
        finite = y[np.isfinite(y)]
        floor = float(finite.min() - 1.0) if finite.size else -12.0
    df["y"] = np.where(zero, floor, y)
    df["floored"] = zero
    if {"log10_lower", "log10_upper"} <= set(df.columns):
        lo = pd.to_numeric(df["log10_lower"], errors="coerce").to_numpy(float)
        hi = pd.to_numeric(df["log10_upper"], errors="coerce").to_numpy(float)
        ok = np.isfinite(lo) & np.isfinite(hi) & ~zero
        with np.errstate(invalid="ignore"):
            df["sigma"] = np.where(ok, (hi - lo) / 3.92, np.nan)
    else:
        df["sigma"] = np.nan
    df["step"] = pd.to_numeric(df["step"], errors="raise").astype("int64")
    df = df.sort_values([*by, "step"], kind="stable").reset_index(drop=True)
    df["checkpoint_index"] = np.searchsorted(checkpoint_steps(estimates), df["step"].to_numpy(float)) + 1
    df.attrs["floor"] = floor
    return df


def checkpoint_steps(estimates: pd.DataFrame) -> np.ndarray:
    """The run's checkpoints: every distinct step of the table, over all methods and series, ascending."""
    steps = pd.to_numeric(estimates["step"], errors="coerce").dropna().to_numpy(float)
    return np.unique(steps)


@dataclass(frozen=True)
class LineFit:
    """Least-squares line ``y = intercept + slope · x``."""

    slope: float
    intercept: float
    slope_se: float
    resid_sd: float
    n: int


def fit_line(x: np.ndarray, y: np.ndarray) -> LineFit:
    """OLS fit; slope NaN with fewer than 2 distinct x, standard errors NaN with fewer than 3 points."""
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    n = x.size
    if n < 2 or np.ptp(x) == 0:
        return LineFit(float("nan"), float(y.mean()) if n else float("nan"), float("nan"), float("nan"), n)
    xm, ym = x.mean(), y.mean()
    sxx = float(np.sum((x - xm) ** 2))
    slope = float(np.sum((x - xm) * (y - ym)) / sxx)
    intercept = float(ym - slope * xm)
    if n >= 3:
        resid = y - intercept - slope * x
        resid_sd = float(np.sqrt(np.sum(resid**2) / (n - 2)))
        slope_se = resid_sd / np.sqrt(sxx)
    else:
        resid_sd = slope_se = float("nan")
    return LineFit(slope, intercept, float(slope_se), resid_sd, n)


def crossing_step(fit: LineFit, log10_threshold: float, step_offset: float = 0.0) -> float:
    """Step at which the fitted line reaches ``log10_threshold``; +inf when the slope is ≤ 0 (never)."""
    if not np.isfinite(fit.slope):
        return float("nan")
    if fit.slope <= 0:
        return float("inf")
    return float(np.exp((log10_threshold - fit.intercept) / fit.slope) - step_offset)


def crossing_interval(x: np.ndarray, y: np.ndarray, sigma: np.ndarray, log10_threshold: float, *,
                      step_offset: float = 0.0, n_boot: int = 2000, alpha: float = 0.1,
                      rng: np.random.Generator | None = None) -> tuple[float, float]:
    """Parametric-bootstrap interval of the crossing step.

    Each point is perturbed by ``N(0, σ_i² + s²)`` — σ_i from the point's own interval, s the
    residual standard deviation of the fit (when ≥ 3 points) — the line refitted, and the crossing
    step recomputed (+inf where the refitted slope is ≤ 0). NaN when there is no spread to use.
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    fit = fit_line(x, y)
    if not np.isfinite(fit.slope):
        return float("nan"), float("nan")
    s2 = np.nan_to_num(np.asarray(sigma, float) ** 2) + (fit.resid_sd**2 if np.isfinite(fit.resid_sd) else 0.0)
    if not np.any(s2 > 0) or n_boot <= 0:
        return float("nan"), float("nan")
    rng = rng or np.random.default_rng(0)
    ys = y[None, :] + rng.normal(size=(n_boot, x.size)) * np.sqrt(s2)[None, :]
    xm = x.mean()
    slopes = ((x - xm)[None, :] * (ys - ys.mean(axis=1, keepdims=True))).sum(axis=1) / np.sum((x - xm) ** 2)
    inter = ys.mean(axis=1) - slopes * xm
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        steps = np.where(slopes > 0, np.exp((log10_threshold - inter) / slopes) - step_offset, np.inf)
    lo, hi = np.quantile(steps, [alpha / 2, 1 - alpha / 2], method="inverted_cdf")
    return float(lo), float(hi)
