"""Lower bounds on the exploit probability from tested prefixes: ``π(x) ≥ P_τ(z|x) · r(x,z)``.

Every tested prefix z of task x proves ``π(x) = Σ_z P(z|x)·r(x,z) ≥ P(z|x)·r(x,z)``, but r is only
estimated. ``lower_bound`` (the bound users read) puts in r's one-sided Clopper–Pearson lower
limit at level ``α/m_x`` (Bonferroni over the ``m_x`` prefixes tested on the task in the cell), so
with probability ≥ 1 − α every one of the task's limits is below its r and hence
``max_z P(z|x)·r⁻(x,z) ≤ π(x)``: ``P(bound > π(x)) ≤ α`` for every task, whatever the rates.
``lower_bound_point`` is the old ``max_z P(z|x)·r̂(x,z)``: an *estimate* (the luckiest prefix wins,
so it exceeds π often when r is small), kept for comparison with the published study.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from hackwatch.estimate._columns import DEFAULT_BY
from hackwatch.estimate._shared import EstimateResult, add_cell_context, logmeanexp, single_per_cell
from hackwatch.estimate._terms import importance_terms

LN10 = float(np.log(10.0))


def log_cp_lower(k: np.ndarray, n: np.ndarray, level: np.ndarray) -> np.ndarray:
    """Natural log of the one-sided Clopper–Pearson lower limit ``Beta⁻¹(level; k, n−k+1)``.

    ``P(limit > r) ≤ level`` for every true rate r; −inf when k = 0 (the limit is 0).
    """
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    level = np.broadcast_to(np.asarray(level, dtype=float), k.shape)
    out = np.full(k.shape, -np.inf)
    pos = k > 0
    if pos.any():
        out[pos] = np.log(stats.beta.ppf(level[pos], k[pos], n[pos] - k[pos] + 1))
    return out


def task_lower_bounds(terms: pd.DataFrame, by: Sequence[str], *, alpha: float = 0.05,
                      point: bool = False) -> pd.DataFrame:
    """Per (cell, task): ``log_bound = max_z [log P_τ(z|x) + log r⁻(x,z)]`` and ``m`` prefixes tested.

    ``r⁻`` is the one-sided Clopper–Pearson lower limit of r at level ``alpha/m`` (``point=True``:
    r̂ itself, an estimate). Nested prefixes of one donor trace (same ``trace_id``) are not disjoint
    events, so bounds are combined by the max, never the sum; the max over *all* of a task's
    prefixes is valid whatever the traces share.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha {alpha}: expected a number in (0, 1), e.g. 0.05")
    keys = list(dict.fromkeys([*by, "task_id"]))  # a cell may be one task (by = [..., "task_id"])
    df = terms[keys].copy()
    m = df.groupby(keys, sort=False)[keys[0]].transform("size").to_numpy(float)
    k = terms["k"].to_numpy(float)
    n = terms["n_r"].to_numpy(float)
    if point:
        with np.errstate(divide="ignore"):
            log_r = np.log(k / n)
    else:
        log_r = log_cp_lower(k, n, alpha / m)
    df["log_bound"] = terms["logp_subject"].to_numpy(float) + log_r
    df["m"] = m
    return df.groupby(keys, sort=True).agg(log_bound=("log_bound", "max"), m=("m", "first")).reset_index()


def lower_bounds(scores: pd.DataFrame, verdicts: pd.DataFrame, *, by: Sequence[str] = DEFAULT_BY,
                 alpha: float = 0.05, point: bool = False, scores_source: str | None = None,
                 verdicts_source: str | None = None, terms: pd.DataFrame | None = None) -> EstimateResult:
    """Cell mean of per-task lower bounds ``mean_x max_z P_τ(z|x)·r⁻(x,z)``, in log10.

    ``method = "lower_bound"``: one-sided ``1 − alpha`` bound per task (Bonferroni over its tested
    prefixes, see the module docstring); the cell value is the mean over the cell's tasks (the
    tasks with at least one scored, sampled prefix, ``n_tasks``) and can exceed the cell's mean π
    only when some task's bound fails. ``point=True`` gives ``method = "lower_bound_point"``, the
    same with r̂ in place of r⁻: an estimate, not a bound. Needs no donor quantities. A cell where
    no prefilled sample exploited has value 0 and the flag ``no_support``.
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
    per_task = task_lower_bounds(terms, by, alpha=alpha, point=point)
    grouped = per_task.groupby(by, sort=True)["log_bound"]
    lv = grouped.agg(lambda s: logmeanexp(s.to_numpy())).to_numpy(float)
    n_terms = terms.groupby(by, sort=True).size().to_numpy()
    successes = terms.assign(c=terms["k"] > 0).groupby(by, sort=True)["c"].sum().to_numpy("int64")
    out = temperature.index.to_frame(index=False)
    out["method"] = "lower_bound_point" if point else "lower_bound"
    out["value"] = np.exp(lv)
    out["log10_value"] = lv / LN10
    out["lower"] = np.nan
    out["upper"] = np.nan
    out["log10_lower"] = np.nan
    out["log10_upper"] = np.nan
    out["n"] = n_terms.astype("int64")
    out["n_tasks"] = grouped.size().to_numpy(dtype="int64")
    out["successes"] = successes
    out["ess"] = np.nan
    out["max_weight_share"] = np.nan
    out["khat"] = np.nan
    out["interval"] = "none"
    out["pooling"] = "task"
    out["donor_correction"] = pd.array([pd.NA] * len(out), dtype="boolean")
    out["flags"] = np.where(successes == 0, "no_support", "")
    add_cell_context(out, by, step, checkpoint, temperature)
    if point:
        notes = ["lower_bound_point: per task the max over tested prefixes of P(z|x)*r_hat(x,z), averaged over "
                 "tasks; an ESTIMATE (the luckiest prefix wins), not a bound"]
    else:
        notes = [f"lower_bound: per task the max over tested prefixes of P(z|x) times the one-sided "
                 f"{100 * (1 - alpha):g}% Clopper-Pearson lower limit of r (Bonferroni over the task's prefixes), "
                 f"averaged over tasks; P(bound > pi(x)) <= {alpha:g} per task"]
    return EstimateResult(summary=out, by=tuple(by), method=out["method"].iloc[0] if len(out) else "lower_bound",
                          notes=notes)
