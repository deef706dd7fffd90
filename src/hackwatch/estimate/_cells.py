"""All estimates of a run in one long table: direct rates, IS and lower bounds per cell."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from hackwatch.estimate._bound import lower_bounds
from hackwatch.estimate._columns import (
    DEFAULT_BY,
    DEFAULT_MISSING_DONOR_RATE,
    ESTIMATE_COLUMNS,
    MissingDonorRate,
)
from hackwatch.estimate._direct import direct_rates
from hackwatch.estimate._flags import add_below_lcb
from hackwatch.estimate._importance import is_estimates
from hackwatch.estimate._shared import (
    EstimateResult,
    ImpossibleValueWarning,
    IntervalMethod,
    Pooling,
    cell_label,
    warn_cells,
)
from hackwatch.estimate._terms import importance_terms


def order_columns(df: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Grouping columns first, then the estimate columns in contract order, then anything else."""
    first = [*by, *[c for c in ESTIMATE_COLUMNS if c not in by]]
    if "checkpoint" not in first:
        first.append("checkpoint")
    cols = [c for c in first if c in df.columns] + [c for c in df.columns if c not in first]
    return df[cols]


METHOD_ORDER = {"direct": 0, "is": 1, "lower_bound": 2, "lower_bound_point": 3}


def sort_cells(df: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Rows by method, then by the grouping columns with checkpoints in step order."""
    keys = [("step" if c == "checkpoint" and "step" in df.columns else c) for c in by]
    keys = list(dict.fromkeys(["_m", *keys, *by]))
    out = df.assign(_m=df["method"].map(METHOD_ORDER).fillna(9))
    return out.sort_values(keys, kind="stable").drop(columns="_m").reset_index(drop=True)


def estimate_cells(verdicts: pd.DataFrame, scores: pd.DataFrame | None = None, *,
                   by: Sequence[str] = DEFAULT_BY, interval: IntervalMethod = "clopper-pearson",
                   pooling: Pooling = "sample", donor_correction: bool = True,
                   missing_donor_rate: MissingDonorRate = DEFAULT_MISSING_DONOR_RATE, n_boot: int = 1000,
                   alpha: float = 0.05, seed: int = 0, point_bound: bool = False,
                   verdicts_source: str | None = None, scores_source: str | None = None) -> EstimateResult:
    """Direct, IS and lower-bound estimates per cell, stacked in one table (column ``method``).

    Without ``scores`` (or with no prefilled verdicts) only direct rates are produced. Each method's
    details are in :func:`direct_rates`, :func:`is_estimates` and :func:`lower_bounds`
    (``lower_bound``: a one-sided ``1 − alpha`` bound per task; ``point_bound=True`` adds the point
    version ``lower_bound_point``, an estimate). Every row has ``flags``; IS rows whose value is
    below the cell's ``lower_bound`` get ``below_lcb`` and an :class:`ImpossibleValueWarning`.
    ``missing_donor_rate`` ("error", "uncorrected", "drop", "upper") decides, per IS term, what
    happens where a donor rate is null (see :func:`importance_terms`); lower bounds use every
    tested prefix whatever the policy (they need no donor rate).
    """
    by = list(by)
    parts = []
    notes: list[str] = []
    has_direct = (pd.to_numeric(verdicts.get("prefix_tokens", pd.Series(dtype=float)),
                                errors="coerce") == 0).any()
    if has_direct:
        d = direct_rates(verdicts, by=by, pooling=pooling, interval=interval, alpha=alpha,
                         source=verdicts_source)
        parts.append(d.summary)
        notes += d.notes
    if scores is not None:
        terms = importance_terms(scores, verdicts, by=by, donor_correction=donor_correction,
                                 missing_donor_rate=missing_donor_rate, alpha=alpha,
                                 scores_source=scores_source, verdicts_source=verdicts_source)
        est = is_estimates(scores, verdicts, by=by, donor_correction=donor_correction,
                           missing_donor_rate=missing_donor_rate, pooling=pooling, n_boot=n_boot, alpha=alpha,
                           seed=seed, terms=terms)
        lb = lower_bounds(scores, verdicts, by=by, alpha=alpha, terms=terms)
        parts += [est.summary, lb.summary]
        notes += est.notes + lb.notes
        if point_bound:
            lbp = lower_bounds(scores, verdicts, by=by, alpha=alpha, point=True, terms=terms)
            parts.append(lbp.summary)
            notes += lbp.notes
    if not parts:
        raise ValueError(f"{verdicts_source or '<verdicts>'}: no direct samples and no scores given; "
                         f"nothing to estimate")
    table = pd.concat(parts, ignore_index=True)
    table["flags"] = table["flags"].fillna("") if "flags" in table.columns else ""
    table = add_below_lcb(table, by)
    below = table[table["flags"].str.contains("below_lcb", regex=False)]
    warn_cells([cell_label(by, tuple(r)) for r in below[by].itertuples(index=False)], ImpossibleValueWarning,
               "IS value below the cell's lower confidence bound (flag below_lcb; not clipped)")
    table = order_columns(sort_cells(table, by), by)
    return EstimateResult(summary=table, by=tuple(by), method="all", notes=notes)
