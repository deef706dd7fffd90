"""Lower bounds on the exploit probability from tested prefixes: ``π(x) ≥ P_τ(z|x) · r(x,z)``."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from hackwatch.estimate._columns import DEFAULT_BY
from hackwatch.estimate._shared import EstimateResult, add_cell_context, logmeanexp, single_per_cell
from hackwatch.estimate._terms import importance_terms

LN10 = float(np.log(10.0))


def task_lower_bounds(terms: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Per (cell, task): ``max_z [log P_τ(z|x) + log r̂(x,z)]`` over the task's tested prefixes.

    Nested prefixes of one donor trace (same ``trace_id``) are not disjoint events, so their bounds
    are combined by the max, never the sum; the max over *all* of a task's prefixes is used (it is
    at least the max within each trace, and valid whatever the traces share).
    """
    with np.errstate(divide="ignore"):
        lb = terms["logp_subject"].to_numpy(float) + np.log(terms["r_hat"].to_numpy(float))
    df = terms[[*by, "task_id"]].copy()
    df["log_bound"] = lb
    return df.groupby([*by, "task_id"], sort=True)["log_bound"].max().reset_index()


def lower_bounds(scores: pd.DataFrame, verdicts: pd.DataFrame, *, by: Sequence[str] = DEFAULT_BY,
                 scores_source: str | None = None, verdicts_source: str | None = None,
                 terms: pd.DataFrame | None = None) -> EstimateResult:
    """Cell average of per-task lower bounds, ``mean_x max_z P_τ(z|x) · r̂(x,z)``, in log10.

    A bound with r̂ in place of r is itself an estimate; it needs no donor quantities. The cell
    population is the tasks with at least one scored, sampled prefix (see ``n_tasks``).
    """
    if not by:
        raise ValueError("by must name at least one grouping column, e.g. ['checkpoint', 'exploit_type']")
    by = list(by)
    if terms is None:
        terms = importance_terms(scores, verdicts, by=by, donor_correction=False,
                                 scores_source=scores_source, verdicts_source=verdicts_source)
    temperature = single_per_cell(terms, by, "temperature", "temperature")
    checkpoint = single_per_cell(terms, by, "checkpoint", "checkpoint")
    step = terms.groupby(by, sort=True)["step"].first()
    per_task = task_lower_bounds(terms, by)
    grouped = per_task.groupby(by, sort=True)["log_bound"]
    lv = grouped.agg(lambda s: logmeanexp(s.to_numpy())).to_numpy(float)
    n_terms = terms.groupby(by, sort=True).size().to_numpy()
    out = temperature.index.to_frame(index=False)
    out["method"] = "lower_bound"
    out["value"] = np.exp(lv)
    out["log10_value"] = lv / LN10
    out["lower"] = np.nan
    out["upper"] = np.nan
    out["log10_lower"] = np.nan
    out["log10_upper"] = np.nan
    out["n"] = n_terms.astype("int64")
    out["n_tasks"] = grouped.size().to_numpy(dtype="int64")
    out["successes"] = terms.assign(c=terms["k"] > 0).groupby(by, sort=True)["c"].sum().to_numpy("int64")
    out["ess"] = np.nan
    out["max_weight_share"] = np.nan
    out["interval"] = "none"
    out["pooling"] = "task"
    out["donor_correction"] = pd.array([pd.NA] * len(out), dtype="boolean")
    add_cell_context(out, by, step, checkpoint, temperature)
    notes = ["lower bound: per task the max over tested prefixes of P(z|x)*r_hat(x,z), averaged over tasks"]
    return EstimateResult(summary=out, by=tuple(by), method="lower_bound", notes=notes)
