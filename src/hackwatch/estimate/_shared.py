"""Machinery every estimator shares: warnings, binomial intervals, log-space helpers, result objects."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from hackwatch.estimate._columns import SchemaError

IntervalMethod = Literal["clopper-pearson", "jeffreys"]
Pooling = Literal["sample", "task"]


class StatisticalWarning(UserWarning):
    """A valid result that deserves doubt (few samples, low effective sample size, ...)."""


class LowESSWarning(StatisticalWarning):
    """The Kish effective sample size of an IS estimate is low: a few weights carry it."""


class SingleSampleWarning(StatisticalWarning):
    """An estimate rests on one or two contributing samples; its level is anecdotal."""


class MissingDonorRateWarning(StatisticalWarning):
    """Some IS terms lack a donor rate and were used uncorrected, dropped or bounded (``missing_donor_rate``)."""


class HeavyTailWarning(StatisticalWarning):
    """The PSIS k̂ of an IS cell's weights is above 0.7: its value and interval are unreliable."""


class ImpossibleValueWarning(StatisticalWarning):
    """An estimate is impossible (IS above 1, or below its own cell's lower confidence bound); not clipped."""


class MissingVerdictsWarning(StatisticalWarning):
    """Some scored prefixes have no verdict rows, so r_hat is unknown and they were left out."""


def binomial_interval(k: np.ndarray, n: np.ndarray, *, alpha: float = 0.05,
                      method: IntervalMethod = "clopper-pearson") -> tuple[np.ndarray, np.ndarray]:
    """Two-sided exact (Clopper–Pearson) or Jeffreys interval for ``k`` successes in ``n`` trials.

    Clopper–Pearson: ``[B(α/2; k, n−k+1), B(1−α/2; k+1, n−k)]``, guaranteed coverage ≥ 1−α.
    Jeffreys: quantiles of ``Beta(k+½, n−k+½)``, coverage close to 1−α on average. The lower end is
    0 when k = 0 and the upper end is 1 when k = n. ``k`` may be fractional (effective counts).
    """
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    if method == "clopper-pearson":
        a_lo, b_lo, a_hi, b_hi = k, n - k + 1, k + 1, n - k
    elif method == "jeffreys":
        a_lo, b_lo, a_hi, b_hi = k + 0.5, n - k + 0.5, k + 0.5, n - k + 0.5
    else:
        raise ValueError(f"interval method {method!r} unknown; use 'clopper-pearson' or 'jeffreys'")
    with np.errstate(invalid="ignore", divide="ignore"):
        lo = np.where(k <= 0, 0.0, stats.beta.ppf(alpha / 2, np.maximum(a_lo, 1e-12), np.maximum(b_lo, 1e-12)))
        hi = np.where(k >= n, 1.0, stats.beta.ppf(1 - alpha / 2, np.maximum(a_hi, 1e-12),
                                                 np.maximum(b_hi, 1e-12)))
    return lo, hi


def log10_safe(x: np.ndarray | pd.Series) -> np.ndarray:
    """log10 that maps 0 to -inf and null to NaN without warnings."""
    arr = np.asarray(x, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log10(arr)


def logmeanexp(values: np.ndarray) -> float:
    """``log(mean(exp(values)))`` computed stably; -inf terms are exact zeros, empty input is NaN."""
    v = np.asarray(values, dtype=float)
    if v.size == 0:
        return float("nan")
    m = np.max(v)
    if not np.isfinite(m):
        return float("-inf")
    return float(m + np.log(np.sum(np.exp(v - m))) - np.log(v.size))


def kish_ess(log_weights: np.ndarray) -> float:
    """Kish effective sample size ``(Σw)² / Σw²`` of weights given in log space (0 when all are zero)."""
    v = np.asarray(log_weights, dtype=float)
    if v.size == 0 or not np.isfinite(np.max(v)):
        return 0.0
    w = np.exp(v - np.max(v))
    return float(w.sum() ** 2 / np.sum(w**2))


def max_weight_share(log_weights: np.ndarray) -> float:
    """Share of the sum carried by the largest weight (NaN when all weights are zero)."""
    v = np.asarray(log_weights, dtype=float)
    if v.size == 0 or not np.isfinite(np.max(v)):
        return float("nan")
    w = np.exp(v - np.max(v))
    return float(1.0 / w.sum())


def single_per_cell(df: pd.DataFrame, by: Sequence[str], column: str, what: str) -> pd.Series:
    """Return the one value ``column`` takes in each cell, or refuse to combine several.

    Raises :class:`SchemaError` naming the first cell that mixes values and how to fix it.
    """
    grouped = df.groupby(list(by), sort=True, dropna=False)[column] if by else None
    if grouped is None:
        vals = pd.unique(df[column])
        counts = pd.Series([len(vals)])
        firsts = pd.Series([vals[0] if len(vals) else np.nan])
    else:
        counts = grouped.nunique(dropna=False)
        firsts = grouped.first()
    bad = counts.to_numpy() > 1
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        key = keys_of(by, counts.index[i]) if by else ()
        sub = df
        for c, v in zip(by, key, strict=True):
            sub = sub[sub[c] == v]
        where = cell_label(by, key) or "the whole table"
        vals = sorted(map(str, pd.unique(sub[column])))
        raise SchemaError(
            f"cell ({where}) mixes {what}s {vals}; estimates must not combine samples taken at different "
            f"{what}s — add {column!r} to the grouping (--by) or filter the input")
    return firsts


def warn_cells(cells: list[str], category: type[StatisticalWarning], message: str) -> None:
    """Emit one warning listing the affected cells (at most five named)."""
    if cells:
        shown = "; ".join(cells[:5]) + (f"; ... ({len(cells)} cells)" if len(cells) > 5 else "")
        warnings.warn(f"{message}: {shown}", category, stacklevel=3)


def cell_label(by: Sequence[str], key: tuple) -> str:
    """Readable ``col=value`` label of a cell key."""
    return ", ".join(f"{c}={v}" for c, v in zip(by, key, strict=True))


@dataclass
class EstimateResult:
    """A table of per-cell estimates with a readable summary (lifelines-style)."""

    summary: pd.DataFrame
    """One row per cell: grouping columns then the estimate columns of docs/statistics.md."""
    by: tuple[str, ...]
    """The grouping columns (the cell)."""
    method: str
    """direct, is, lower_bound, lower_bound_point, or all (a stacked table)."""
    notes: list[str] = field(default_factory=list)
    """Human-readable notes on how the estimate was made."""

    def print_summary(self, console: object | None = None, max_rows: int = 60) -> None:
        """Print the summary as a rich table (log10 values, intervals and diagnostics)."""
        from hackwatch.estimate._display import print_table

        cols = [*self.by, "method", "log10_value", "log10_lower", "log10_upper", "n", "n_tasks", "successes",
                "ess", "khat", "max_weight_share", "flags"]
        print_table(self.summary, title=f"{self.method} estimates (log10)", console=console,
                    max_rows=max_rows, notes=self.notes, columns=cols)


def keys_of(by: Sequence[str], key: object) -> tuple:
    """Normalise a pandas groupby key to a tuple."""
    return key if isinstance(key, tuple) else (key,)


def add_cell_context(out: pd.DataFrame, by: Sequence[str], step: pd.Series, checkpoint: pd.Series,
                     temperature: pd.Series) -> None:
    """Add each cell's step, checkpoint and temperature as columns where they are not grouping keys."""
    if "step" not in by:
        out["step"] = step.to_numpy(dtype="int64")
    if "checkpoint" not in by:
        out["checkpoint"] = checkpoint.to_numpy()
    if "temperature" not in by:
        out["temperature"] = temperature.to_numpy(dtype=float)
