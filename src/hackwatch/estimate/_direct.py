"""Direct Monte Carlo exploit rates: prefill-free samples, exact binomial intervals, no smoothing."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from hackwatch.estimate._columns import DEFAULT_BY, SchemaError, validate_verdicts
from hackwatch.estimate._shared import (
    EstimateResult,
    IntervalMethod,
    Pooling,
    add_cell_context,
    binomial_interval,
    log10_safe,
    single_per_cell,
)


def direct_rates(verdicts: pd.DataFrame, *, by: Sequence[str] = DEFAULT_BY, pooling: Pooling = "sample",
                 interval: IntervalMethod = "clopper-pearson", alpha: float = 0.05,
                 source: str | None = None) -> EstimateResult:
    """Exploit rate per cell from direct samples (``prefix_tokens == 0``) with an exact interval.

    ``pooling="sample"``: ``k/n`` over all direct samples of the cell, interval from
    ``binomial_interval(k, n)``. ``pooling="task"``: the mean of per-task rates ``mean_t k_t/n_t``
    (every task weighs the same); its interval is the binomial interval at the effective size
    ``n_eff = T² / Σ_t 1/n_t`` (variance-matched; exact when all tasks have the same n).
    A cell with zero exploits gets ``value`` null and ``upper`` the upper bound — never a smoothed
    rate, so sample size alone cannot create signal. Cells must not mix temperatures or checkpoints.
    """
    if pooling not in ("sample", "task"):
        raise ValueError(f"pooling {pooling!r} unknown; use 'sample' or 'task'")
    if not by:
        raise ValueError("by must name at least one grouping column, e.g. ['checkpoint', 'exploit_type']")
    by = list(by)
    df = validate_verdicts(verdicts, source=source, by=by)
    df = df[df["prefix_tokens"] == 0]
    if df.empty:
        raise SchemaError(f"{source or '<table>'}: no direct samples (rows with prefix_tokens == 0); "
                          f"sample each checkpoint without a prefix to get direct rates")
    temperature = single_per_cell(df, by, "temperature", "temperature")
    checkpoint = single_per_cell(df, by, "checkpoint", "checkpoint")
    step = df.groupby(by, sort=True)["step"].first()
    per_task = df.groupby([*by, "task_id"], sort=True)["exploit"].agg(k="sum", n="count").reset_index()
    per_task["rate"] = per_task["k"] / per_task["n"]
    per_task["inv_n"] = 1.0 / per_task["n"]
    cells = per_task.groupby(by, sort=True).agg(
        k=("k", "sum"), n=("n", "sum"), n_tasks=("task_id", "nunique"), mean_rate=("rate", "mean"),
        sum_inv_n=("inv_n", "sum"))
    k = cells["k"].to_numpy(dtype=float)
    n = cells["n"].to_numpy(dtype=float)
    if pooling == "sample":
        value = k / n
        lo, hi = binomial_interval(k, n, alpha=alpha, method=interval)
    else:
        value = cells["mean_rate"].to_numpy(dtype=float)
        n_eff = cells["n_tasks"].to_numpy(dtype=float) ** 2 / cells["sum_inv_n"].to_numpy(dtype=float)
        lo, hi = binomial_interval(value * n_eff, n_eff, alpha=alpha, method=interval)
    zero = k == 0
    value = np.where(zero, np.nan, value)
    out = cells.index.to_frame(index=False)
    out["method"] = "direct"
    out["value"] = value
    out["log10_value"] = log10_safe(value)
    out["lower"] = lo
    out["upper"] = hi
    out["log10_lower"] = log10_safe(lo)
    out["log10_upper"] = log10_safe(hi)
    out["n"] = cells["n"].to_numpy(dtype="int64")
    out["n_tasks"] = cells["n_tasks"].to_numpy(dtype="int64")
    out["successes"] = cells["k"].to_numpy(dtype="int64")
    out["ess"] = np.nan
    out["max_weight_share"] = np.nan
    out["khat"] = np.nan
    out["interval"] = interval
    out["pooling"] = pooling
    out["donor_correction"] = pd.array([pd.NA] * len(out), dtype="boolean")
    out["flags"] = ""
    add_cell_context(out, by, step, checkpoint, temperature)
    notes = [f"direct samples only (prefix_tokens == 0); {100 * (1 - alpha):g}% "
             f"{interval} intervals; pooling={pooling}",
             "value is null where no exploit was seen: read 'upper' as the upper bound"]
    return EstimateResult(summary=out, by=tuple(by), method="direct", notes=notes)
