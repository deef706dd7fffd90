"""Importance-sampling estimates of exploit probability per cell, with diagnostics."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from hackwatch.estimate._columns import DEFAULT_BY, DEFAULT_MISSING_DONOR_RATE, MissingDonorRate
from hackwatch.estimate._donor_rates import check_policy
from hackwatch.estimate._flags import LOW_ESS, row_flags
from hackwatch.estimate._psis import KHAT_UNRELIABLE, pareto_khat
from hackwatch.estimate._shared import (
    EstimateResult,
    HeavyTailWarning,
    ImpossibleValueWarning,
    LowESSWarning,
    MissingDonorRateWarning,
    Pooling,
    SingleSampleWarning,
    StatisticalWarning,
    add_cell_context,
    cell_label,
    keys_of,
    kish_ess,
    max_weight_share,
    single_per_cell,
    warn_cells,
)
from hackwatch.estimate._terms import importance_terms
from hackwatch.estimate._upper import zero_support_log_upper

LN10 = float(np.log(10.0))

EMPTY_CELL = (float("nan"), float("nan"), float("nan"), 0, 0, 0, float("nan"), float("nan"))
"""CellIS fields of a cell whose every prefix was dropped (no estimate)."""

_POLICY_STATUS = {"uncorrected": "uncorrected", "drop": "dropped", "upper": "upper"}

_BIAS = {
    "error": "refused",
    "uncorrected": "those terms are biased low when a_D < pi_D, likely after 0 of B",
    "drop": "unbiased only if missingness does not depend on the prefix",
    "upper": "those terms are understated unless a probability < alpha event occurred",
}


@dataclass(frozen=True)
class CellIS:
    """IS estimate of one cell, natural-log value and interval, and its diagnostics."""

    log_value: float
    log_lower: float
    """NaN when there is no interval (one task, a zero-width bootstrap, or no contributing term)."""
    log_upper: float
    """Bootstrap upper end; with no contributing term the upper bound of :mod:`._upper` (or NaN)."""
    n_terms: int
    n_tasks: int
    contributing: int
    ess: float
    max_share: float
    khat: float = float("nan")
    """PSIS Pareto k̂: the larger of that of the terms and of the ratios P/q (NaN: too few to fit)."""

    @property
    def interval(self) -> str:
        """``bootstrap`` when both ends exist, else ``none``."""
        return "bootstrap" if np.isfinite(self.log_upper) and not np.isnan(self.log_lower) \
            and self.contributing > 0 else "none"


def is_cell(log_terms: np.ndarray, task_codes: np.ndarray, *, pooling: Pooling = "sample",
            n_boot: int = 1000, alpha: float = 0.05, rng: np.random.Generator | None = None,
            log_weights: np.ndarray | None = None, rollouts: np.ndarray | None = None) -> CellIS:
    """IS value of one cell from its terms λ (natural log) and the task of each term.

    ``sample``: ``log π̂ = logsumexp(λ) − log n``; ``task``: per-task ``logsumexp(λ_t) − log n_t``, then
    the mean over tasks. The interval is the percentile bootstrap over tasks (tasks resampled with
    replacement, their terms kept together); a bootstrap of zero width (every task alike) is no
    interval (NaN ends). ESS is Kish's ``(Σw)²/Σw²`` of the weights each term carries in the
    estimate; ``max_share`` is the largest weight's share of the sum. ``khat`` is the larger of the
    PSIS k̂ of those terms (``P/q·r̂``: exploit mass on rarely proposed prefixes) and, when
    ``log_weights`` is given, of the likelihood ratios ``P/q`` of all terms (a heavy-tailed
    proposal, seen even where few prefilled samples exploited); NaN where neither can be fitted.
    With no contributing term the value is exactly 0, there is no interval, and when
    ``log_weights`` (``λ − log r̂``, i.e. log P/q) and ``rollouts`` (n per term) are given,
    ``log_upper`` is the one-sided ``1 − alpha/2`` bound of :func:`zero_support_log_upper`.
    """
    lam = np.asarray(log_terms, dtype=float)
    _, codes = np.unique(np.asarray(task_codes), return_inverse=True)
    n_tasks = int(codes.max()) + 1
    n_t = np.bincount(codes, minlength=n_tasks).astype(float)
    per_term = np.log(n_t.sum()) * np.ones(lam.size) if pooling == "sample" else np.log(n_tasks * n_t[codes])
    weight_log = lam if pooling == "sample" else lam - np.log(n_t[codes])
    contributing = int(np.isfinite(lam).sum())
    adjust = 0.0 if pooling == "sample" else np.log(n_t[codes])
    ratio_log = None if log_weights is None else np.asarray(log_weights, float) - adjust
    k_ratio = float("nan") if ratio_log is None else pareto_khat(ratio_log)
    m = float(np.max(lam))
    if not np.isfinite(m):
        upper = float("nan")
        if log_weights is not None and rollouts is not None:
            upper = zero_support_log_upper(np.asarray(log_weights, float) - per_term, np.asarray(rollouts, float),
                                           alpha / 2)
        return CellIS(-np.inf, float("nan"), upper, lam.size, n_tasks, 0, 0.0, float("nan"), k_ratio)
    s_t = np.bincount(codes, weights=np.exp(lam - m), minlength=n_tasks)
    if pooling == "sample":
        log_value = m + np.log(s_t.sum()) - np.log(n_t.sum())
    else:
        log_value = m + np.log(np.mean(s_t / n_t))
    lo = hi = float("nan")
    if n_tasks >= 2 and n_boot > 0:
        rng = rng or np.random.default_rng(0)
        idx = rng.integers(0, n_tasks, size=(n_boot, n_tasks))
        if pooling == "sample":
            boot = s_t[idx].sum(axis=1) / n_t[idx].sum(axis=1)
        else:
            boot = (s_t / n_t)[idx].mean(axis=1)
        q_lo, q_hi = np.quantile(boot, [alpha / 2, 1 - alpha / 2])
        if q_hi > q_lo * (1 + 1e-12):  # a zero-width interval covers nothing: report none
            with np.errstate(divide="ignore"):
                lo, hi = m + float(np.log(q_lo)), m + float(np.log(q_hi))
    return CellIS(float(log_value), lo, hi, lam.size, n_tasks, contributing, kish_ess(weight_log),
                  max_weight_share(weight_log), float(np.fmax(pareto_khat(weight_log), k_ratio)))


def is_estimates(scores: pd.DataFrame, verdicts: pd.DataFrame, *, by: Sequence[str] = DEFAULT_BY,
                 donor_correction: bool = True, missing_donor_rate: MissingDonorRate = DEFAULT_MISSING_DONOR_RATE,
                 pooling: Pooling = "sample", n_boot: int = 1000, alpha: float = 0.05, seed: int = 0,
                 low_ess: float = LOW_ESS, scores_source: str | None = None, verdicts_source: str | None = None,
                 terms: pd.DataFrame | None = None) -> EstimateResult:
    """IS estimate of the exploit probability per cell (DESIGN.md), reported in log10.

    Per (task, prefix): ``λ = log P_τ(z|x) − log D_τ(z|x) + log r̂ + log π̂_D(x) − log â_D(x,z)``;
    cell value ``logsumexp(λ) − log n`` (``pooling="sample"``) or the mean of per-task values
    (``pooling="task"``). The cell population is the tasks with at least one scored, sampled prefix.
    Diagnostics per cell: Kish ESS, PSIS k̂ (``khat``), contributing terms (r̂ > 0), largest-weight
    share, a seeded bootstrap interval over tasks, and ``flags`` (above_one, heavy_tail, low_ess,
    no_support; :mod:`._flags`). A cell with no contributing term has value 0, ``interval = "none"``,
    lower NaN and ``upper`` the bound of :mod:`._upper`. Warns (:class:`SingleSampleWarning`) when an
    estimate rests on one or two contributing terms, (:class:`LowESSWarning`) when ESS < ``low_ess``
    otherwise, (:class:`HeavyTailWarning`) when k̂ > 0.7 and (:class:`ImpossibleValueWarning`)
    when the value exceeds 1 (never clipped).
    Refuses cells that mix temperatures or checkpoints. ``terms`` may pass precomputed
    :func:`importance_terms` output (made with the same ``donor_correction`` and ``missing_donor_rate``).

    Terms without a donor rate follow ``missing_donor_rate`` (see :func:`importance_terms` and
    :mod:`hackwatch.estimate._donor_rates` for the bias of each choice); every row reports
    ``n_terms_uncorrected``, ``n_terms_dropped`` and ``n_terms_upper`` (dropped prefixes are not in
    ``n``; a cell whose prefixes were all dropped has no value), and a
    :class:`MissingDonorRateWarning` names the cells concerned. ``alpha`` is also the level of the
    ``"upper"`` bound.
    """
    check_policy(missing_donor_rate)
    if pooling not in ("sample", "task"):
        raise ValueError(f"pooling {pooling!r} unknown; use 'sample' or 'task'")
    if not by:
        raise ValueError("by must name at least one grouping column, e.g. ['checkpoint', 'exploit_type']")
    by = list(by)
    if terms is None:
        terms = importance_terms(scores, verdicts, by=by, donor_correction=donor_correction,
                                 missing_donor_rate=missing_donor_rate, alpha=alpha,
                                 scores_source=scores_source, verdicts_source=verdicts_source)
    status = terms["donor_rate_status"] if "donor_rate_status" in terms.columns else pd.Series(
        "corrected" if donor_correction else "not_requested", index=terms.index)
    allowed = {"corrected", _POLICY_STATUS.get(missing_donor_rate, "corrected")} if donor_correction \
        else {"not_requested"}
    odd = sorted(set(status.unique()) - allowed)
    if odd:
        raise ValueError(f"terms carry donor_rate_status {odd} but is_estimates was called with "
                         f"donor_correction={donor_correction}, missing_donor_rate={missing_donor_rate!r}; "
                         f"compute the terms with the same settings")
    terms = terms.assign(_status=status.to_numpy())
    temperature = single_per_cell(terms, by, "temperature", "temperature")
    checkpoint = single_per_cell(terms, by, "checkpoint", "checkpoint")
    step = terms.groupby(by, sort=True)["step"].first()
    rng = np.random.default_rng(seed)
    rows, few, low, heavy, missing = [], [], [], [], []
    counts: dict[str, list[int]] = {"uncorrected": [], "dropped": [], "upper": []}
    for key, cell in terms.groupby(by, sort=True):
        key = keys_of(by, key)
        st = cell["_status"].to_numpy()
        for name, lst in counts.items():
            lst.append(int((st == name).sum()))
        n_missing = int(np.isin(st, list(counts)).sum())
        if n_missing:
            missing.append(f"{cell_label(by, key)} ({n_missing} of {len(cell)} "
                           f"{_POLICY_STATUS.get(missing_donor_rate, 'missing')})")
        kept = cell[st != "dropped"]
        log_w = (kept["logp_subject"].to_numpy(float) - kept["logp_donor"].to_numpy(float)
                 + kept["log_correction"].to_numpy(float))
        res = (is_cell(kept["log_term"].to_numpy(float), kept["task_id"].to_numpy(), pooling=pooling,
                       n_boot=n_boot, alpha=alpha, rng=rng, log_weights=log_w,
                       rollouts=kept["n_r"].to_numpy(float)) if len(kept) else CellIS(*EMPTY_CELL))
        if 0 < res.contributing <= 2:
            few.append(cell_label(by, key))
        elif res.contributing > 2 and res.ess < low_ess:
            low.append(f"{cell_label(by, key)} (ESS {res.ess:.1f})")
        if res.khat > KHAT_UNRELIABLE:
            heavy.append(f"{cell_label(by, key)} (k-hat {res.khat:.2f})")
        rows.append(res)
    out = temperature.index.to_frame(index=False)
    lv = np.array([r.log_value for r in rows])
    lo = np.array([r.log_lower for r in rows])
    hi = np.array([r.log_upper for r in rows])
    out["method"] = "is"
    out["value"] = np.exp(lv)
    out["log10_value"] = lv / LN10
    out["lower"] = np.exp(lo)
    out["upper"] = np.exp(hi)
    out["log10_lower"] = lo / LN10
    out["log10_upper"] = hi / LN10
    out["n"] = np.array([r.n_terms for r in rows], dtype="int64")
    out["n_tasks"] = np.array([r.n_tasks for r in rows], dtype="int64")
    out["successes"] = np.array([r.contributing for r in rows], dtype="int64")
    out["ess"] = np.array([r.ess for r in rows])
    out["max_weight_share"] = np.array([r.max_share for r in rows])
    out["khat"] = np.array([r.khat for r in rows])
    out["interval"] = [r.interval for r in rows]
    out["pooling"] = pooling
    out["donor_correction"] = pd.array([donor_correction] * len(out), dtype="boolean")
    out["missing_donor_rate"] = missing_donor_rate if donor_correction else None
    out["n_terms_uncorrected"] = pd.array(counts["uncorrected"], dtype="Int64")
    out["n_terms_dropped"] = pd.array(counts["dropped"], dtype="Int64")
    out["n_terms_upper"] = pd.array(counts["upper"], dtype="Int64")
    out["flags"] = row_flags(out, low_ess=low_ess)
    add_cell_context(out, by, step, checkpoint, temperature)
    warn_cells(missing, MissingDonorRateWarning,
               f"IS terms without a donor rate (missing_donor_rate={missing_donor_rate!r}; "
               f"{_BIAS[missing_donor_rate]})")
    warn_cells(few, SingleSampleWarning, "IS estimate rests on one or two contributing prefixes")
    warn_cells(low, LowESSWarning, f"IS effective sample size below {low_ess:g}")
    warn_cells(heavy, HeavyTailWarning, f"IS weights heavy-tailed (PSIS k-hat > {KHAT_UNRELIABLE:g}): the estimate "
               f"and its interval are unreliable whatever the ESS")
    above = out.loc[out["flags"].str.contains("above_one", regex=False), by]
    warn_cells([cell_label(by, tuple(r)) for r in above.itertuples(index=False)], ImpossibleValueWarning, "IS value above 1 (impossible; not clipped): the weights are wrong or "
               "the estimate is carried by a few terms")
    one_task = out.loc[out["n_tasks"] == 1]
    if len(one_task):
        warn_cells([cell_label(by, keys_of(by, tuple(r))) for r in one_task[by].itertuples(index=False)],
                   StatisticalWarning, "only one task in the cell, no bootstrap interval")
    notes = [f"importance sampling, pooling={pooling}, {100 * (1 - alpha):g}% bootstrap over tasks "
             f"({n_boot} resamples, seed {seed})",
             (f"donor correction applied (log pi_D - log a_D); terms without a donor rate: "
              f"{missing_donor_rate} ({int(sum(counts['uncorrected']))} uncorrected, "
              f"{int(sum(counts['dropped']))} dropped, {int(sum(counts['upper']))} upper-bounded)")
             if donor_correction else
             "donor correction OMITTED: the proposal is treated as the unconditioned donor",
             "log10_value -inf: no prefilled sample exploited (no contributing term); 'upper' is then a "
             f"one-sided {100 * (1 - alpha / 2):g}% bound from the tested prefixes' rollouts",
             f"khat: PSIS Pareto k-hat of the weights (> {KHAT_UNRELIABLE:g}: unreliable; NaN: < 5 positive tail "
             f"weights); flags: above_one, below_lcb, heavy_tail, low_ess, no_support"]
    return EstimateResult(summary=out, by=tuple(by), method="is", notes=notes)
