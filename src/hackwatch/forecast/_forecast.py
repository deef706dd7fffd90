"""Emergence labels, emergence scores, crossing forecasts and lead time per series (e.g. exploit type)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from hackwatch.estimate import SchemaError
from hackwatch.forecast._evaluate import AUCResult, auc_interval
from hackwatch.forecast._trend import (
    checkpoint_steps,
    crossing_interval,
    crossing_step,
    fit_line,
    series_columns,
    trajectory,
)

ScoreKind = Literal["slope", "level", "projected"]


def emergence_labels(estimates: pd.DataFrame, *, threshold: float = 0.1,
                     series_by: Sequence[str] | None = None) -> pd.DataFrame:
    """Per series: ``emerged`` = the direct (prefill-free) rate exceeds ``threshold`` at any checkpoint.

    This is hackwatch's one definition of *emerged*: the forecast labels and AUC, the report's
    verdict and the demo's validation all call it. The direct rate of a checkpoint is the estimate
    table's direct ``value`` — ``k/n`` over the cell's samples (``hackwatch estimate``'s default
    ``pooling="sample"``; the mean of per-task rates with ``pooling="task"``) — and 0 where no exploit
    was seen (``value`` null). Strictly above ``threshold``, at any checkpoint of the table.

    Also ``max_direct_rate``, ``first_exploit_step``/``first_exploit_index`` (first checkpoint where
    direct sampling saw any exploit, 1-based in the run's checkpoint order; NaN if never) and
    ``first_crossing_step`` (first step above threshold).
    """
    by = series_columns(estimates, series_by)
    traj = trajectory(estimates, method="direct", series_by=by)
    traj["rate"] = pd.to_numeric(traj["value"], errors="coerce").fillna(0.0)
    hits = traj["successes"] if "successes" in traj.columns else traj["rate"]
    traj["seen"] = pd.to_numeric(hits, errors="coerce").fillna(0) > 0
    rows = []
    for key, g in traj.groupby(by, sort=True):
        above = g[g["rate"] > threshold]
        seen = g[g["seen"]]
        rows.append({**dict(zip(by, key if isinstance(key, tuple) else (key,), strict=True)),
                     "emerged": bool(len(above)), "max_direct_rate": float(g["rate"].max()),
                     "n_checkpoints": len(g),
                     "first_exploit_step": float(seen["step"].iloc[0]) if len(seen) else np.nan,
                     "first_exploit_index": float(seen["checkpoint_index"].iloc[0]) if len(seen) else np.nan,
                     "first_crossing_step": float(above["step"].iloc[0]) if len(above) else np.nan})
    return pd.DataFrame(rows)


def emergence_scores(estimates: pd.DataFrame, *, method: str = "is", cutoff: int | None = None,
                     score: ScoreKind = "slope", target_step: float | None = None, threshold: float = 0.1,
                     series_by: Sequence[str] | None = None, floor: float | None = None,
                     step_offset: float = 0.0, n_boot: int = 2000, alpha: float = 0.1,
                     seed: int = 0) -> pd.DataFrame:
    """Per series: the trend of ``method``'s log10 estimate on its first ``cutoff`` checkpoints.

    Columns: ``n_points, n_floored, last_step, level`` (log10 at the last used checkpoint),
    ``slope`` (decades per e-fold of step), ``slope_se`` (NaN below 3 points), ``intercept``,
    ``projected_log10`` (at ``target_step``), ``crossing_step`` with a ``1−alpha`` interval
    (``crossing_lower/upper``) and ``crossing_kind`` (observed: the estimate already exceeded the
    threshold; projected; never: slope ≤ 0; undetermined: < 2 points), and ``score`` — the slope,
    the level or the projected value. Zeros are floored (see module ``_trend``) so sample size
    cannot raise a score.
    """
    if cutoff is not None and cutoff < 1:
        raise ValueError(f"cutoff must be a number of checkpoints >= 1, got {cutoff}")
    if score == "projected" and target_step is None:
        raise ValueError("score='projected' needs target_step (--target-step)")
    if score not in ("slope", "level", "projected"):
        raise ValueError(f"score {score!r} unknown; use slope, level or projected")
    by = series_columns(estimates, series_by)
    traj = trajectory(estimates, method=method, series_by=by, floor=floor)
    log_thr = float(np.log10(threshold))
    rng = np.random.default_rng(seed)
    rows = []
    for key, g in traj.groupby(by, sort=True):
        g = g[g["checkpoint_index"] <= cutoff] if cutoff is not None else g
        g = g[np.isfinite(g["y"]) & (g["step"] + step_offset > 0)]
        x = np.log(g["step"].to_numpy(float) + step_offset)
        y = g["y"].to_numpy(float)
        fit = fit_line(x, y)
        row = dict(zip(by, key if isinstance(key, tuple) else (key,), strict=True))
        observed = g[(~g["floored"]) & (g["y"] >= log_thr)]
        lo = hi = float("nan")
        if len(observed):
            kind, cross = "observed", float(observed["step"].iloc[0])
        else:
            cross = crossing_step(fit, log_thr, step_offset)
            kind = "undetermined" if np.isnan(cross) else ("never" if np.isinf(cross) else "projected")
            if kind != "undetermined":
                lo, hi = crossing_interval(x, y, g["sigma"].to_numpy(float), log_thr, step_offset=step_offset,
                                           n_boot=n_boot, alpha=alpha, rng=rng)
        projected = (fit.intercept + fit.slope * np.log(target_step + step_offset)
                     if target_step is not None and np.isfinite(fit.slope) else float("nan"))
        level = float(y[-1]) if y.size else float("nan")
        row.update(method=method, n_points=int(y.size), n_floored=int(g["floored"].sum()),
                   last_step=int(g["step"].iloc[-1]) if len(g) else -1, level=level, slope=fit.slope,
                   slope_se=fit.slope_se, intercept=fit.intercept, target_step=target_step,
                   projected_log10=float(projected), crossing_step=cross, crossing_lower=lo, crossing_upper=hi,
                   crossing_kind=kind)
        row["score"] = {"slope": fit.slope, "level": level, "projected": float(projected)}[score]
        rows.append(row)
    out = pd.DataFrame(rows)
    out.attrs["floor"] = traj.attrs["floor"]
    return out


@dataclass
class ForecastResult:
    """Per-series forecasts joined with emergence labels, and the score's AUC where both classes exist."""

    summary: pd.DataFrame
    evaluation: AUCResult | None
    notes: list[str] = field(default_factory=list)

    def print_summary(self, console: object | None = None, max_rows: int = 60) -> None:
        """Print the per-series table and the AUC line."""
        from hackwatch.estimate._display import print_table

        series = [c for c in self.summary.columns[: list(self.summary.columns).index("method")]]
        cols = [*series, "n_points", "level", "slope", "projected_log10", "crossing_step", "crossing_lower",
                "crossing_upper", "crossing_kind", "score", "emerged", "first_exploit_step"]
        notes = list(self.notes)
        if self.evaluation is not None:
            e = self.evaluation
            notes.append(f"AUC of score vs emergence: {e.auc:.3f} [{e.lower:.3f}, {e.upper:.3f}] "
                         f"({e.n_pos} emerging, {e.n_neg} not)")
        print_table(self.summary, title="forecast", console=console, max_rows=max_rows, notes=notes,
                    columns=cols)


def forecast(estimates: pd.DataFrame, *, threshold: float = 0.1, cutoff: int | None = None,
             target_step: float | None = None, method: str = "is", score: ScoreKind = "slope",
             series_by: Sequence[str] | None = None, step_offset: float = 0.0, n_boot: int = 2000,
             seed: int = 0) -> ForecastResult:
    """Emergence scores and crossing forecasts from the first ``cutoff`` checkpoints, labels from all.

    Labels need direct rows in ``estimates``; without them ``emerged`` is null and no AUC is given.
    """
    if not 0 < threshold < 1:
        raise ValueError(f"threshold must be a rate in (0, 1), got {threshold}")
    by = series_columns(estimates, series_by)
    scores = emergence_scores(estimates, method=method, cutoff=cutoff, score=score, target_step=target_step,
                              threshold=threshold, series_by=by, step_offset=step_offset, n_boot=n_boot, seed=seed)
    notes = [f"score = {score} of log10 {method} estimate vs ln(step"
             f"{f' + {step_offset:g}' if step_offset else ''}) on the first "
             f"{cutoff if cutoff is not None else 'all'} checkpoints; zeros floored at "
             f"{scores.attrs['floor']:.2f}", f"emerged = direct rate > {threshold:g} at any checkpoint"]
    steps = pd.to_numeric(estimates.loc[estimates["method"] == method, "step"], errors="coerce")
    if (steps + step_offset <= 0).any():
        notes.append(f"{int((steps + step_offset <= 0).sum())} rows at step <= {-step_offset:g} left out of the "
                     f"trend (ln of a non-positive step); use --step-offset 1 to keep a step-0 checkpoint")
    evaluation = None
    if (estimates["method"] == "direct").any():
        labels = emergence_labels(estimates, threshold=threshold, series_by=by)
        summary = scores.merge(labels, on=by, how="left")
        y = summary["emerged"].fillna(False).to_numpy(bool)
        if y.any() and not y.all():
            evaluation = auc_interval(summary["score"].to_numpy(float), y, seed=seed)
        else:
            notes.append("AUC not computed: all series are in one class")
    else:
        summary = scores.assign(emerged=pd.NA)
        notes.append("no direct rows: emergence labels and AUC unavailable")
    return ForecastResult(summary=summary, evaluation=evaluation, notes=notes)


@dataclass
class LeadTimeResult:
    """AUC per cutoff and how many checkpoints before direct sampling the score separated the classes."""

    by_cutoff: pd.DataFrame
    """cutoff, auc, lower, upper: the score computed from the first ``cutoff`` checkpoints."""
    per_series: pd.DataFrame
    """Emerging series: first_exploit_index and lead (= first_exploit_index − separation_cutoff)."""
    separation_cutoff: float
    """Smallest cutoff K whose AUC ≥ ``auc_target`` (NaN if none)."""
    lead: float
    """min over emerging series of ``first_exploit_index − separation_cutoff`` (NaN if undefined)."""


def lead_time(estimates: pd.DataFrame, *, threshold: float = 0.1, method: str = "is", score: ScoreKind = "slope",
              auc_target: float = 0.9, target_step: float | None = None, series_by: Sequence[str] | None = None,
              step_offset: float = 0.0, n_boot: int = 1000, seed: int = 0) -> LeadTimeResult:
    """Lead time of a score over direct sampling, in checkpoints.

    For K = 1, 2, … the score is computed from the first K checkpoints of each series and its AUC
    against the emergence labels (from all checkpoints) is measured. The *separation cutoff* K* is
    the smallest K with AUC ≥ ``auc_target``. For an emerging series e let O_e be the 1-based index of
    the first checkpoint at which direct sampling observed any exploit. Its lead is ``O_e − K*``:
    positive means the score had already separated emerging from non-emerging series that many
    checkpoints before direct sampling saw e's first exploit. The reported ``lead`` is the minimum over
    emerging series (the earliest direct detection). Needs both classes.
    """
    by = series_columns(estimates, series_by)
    labels = emergence_labels(estimates, threshold=threshold, series_by=by)
    y = labels["emerged"].to_numpy(bool)
    if y.all() or not y.any():
        raise SchemaError(f"lead time needs emerging and non-emerging series at threshold {threshold:g}; "
                          f"got {int(y.sum())} of {len(y)} emerging")
    rows = []
    for k in range(1, len(checkpoint_steps(estimates)) + 1):  # the run's checkpoints, not one series' count
        sc = emergence_scores(estimates, method=method, cutoff=k, score=score, target_step=target_step,
                              threshold=threshold, series_by=by, step_offset=step_offset, n_boot=0)
        merged = labels[by].merge(sc[[*by, "score"]], on=by, how="left")
        res = auc_interval(merged["score"].to_numpy(float), y, n_boot=n_boot, seed=seed)
        rows.append({"cutoff": k, "auc": res.auc, "lower": res.lower, "upper": res.upper})
    by_cutoff = pd.DataFrame(rows)
    ok = by_cutoff.loc[by_cutoff["auc"] >= auc_target, "cutoff"]
    k_star = float(ok.iloc[0]) if len(ok) else float("nan")
    per = labels.loc[labels["emerged"], [*by, "first_exploit_index", "first_exploit_step"]].copy()
    per["lead"] = per["first_exploit_index"] - k_star
    lead = float(per["lead"].min()) if per["lead"].notna().any() else float("nan")
    return LeadTimeResult(by_cutoff=by_cutoff, per_series=per, separation_cutoff=k_star, lead=lead)


def combination_auc(estimates: pd.DataFrame, *, features: Sequence[tuple[str, ScoreKind]] = (("is", "slope"),
                                                                                            ("is", "level")),
                    threshold: float = 0.1, cutoff: int | None = None, target_step: float | None = None,
                    series_by: Sequence[str] | None = None, step_offset: float = 0.0,
                    seed: int = 0) -> tuple[pd.DataFrame, AUCResult]:
    """AUC of a fitted combination of scores, each series scored by a model fitted without it.

    ``features`` lists (method, score) pairs computed on the first ``cutoff`` checkpoints; a
    logistic regression on them is evaluated leave-one-out (:func:`leave_one_out_scores`), so the
    AUC is not inflated by fitting. Returns the per-series table (features, ``loo_score``, ``emerged``)
    and the AUC with its bootstrap interval.
    """
    from hackwatch.forecast._evaluate import leave_one_out_scores

    by = series_columns(estimates, series_by)
    table = emergence_labels(estimates, threshold=threshold, series_by=by)[[*by, "emerged"]]
    for method, kind in features:
        sc = emergence_scores(estimates, method=method, cutoff=cutoff, score=kind, target_step=target_step,
                              threshold=threshold, series_by=by, step_offset=step_offset, n_boot=0)
        table = table.merge(sc[[*by, "score"]].rename(columns={"score": f"{method}_{kind}"}), on=by, how="left")
    names = [f"{m}_{k}" for m, k in features]
    y = table["emerged"].to_numpy(bool)
    table["loo_score"] = leave_one_out_scores(table[names].to_numpy(float), y)
    return table, auc_interval(table["loo_score"].to_numpy(float), y, seed=seed)
