"""Table contracts: the columns every stage writes and the estimators read, and their validation.

Other stages (run orchestration, demo, donor) produce *verdict* and *prefix score* tables; the
estimators produce *estimate* tables and the forecaster reads them back. The column lists live here
once so the docs, the validators and the writers agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

VERDICT_COLUMNS: dict[str, str] = {
    "task_id": "task identifier",
    "exploit_type": "exploit type of the task (DESIGN.md catalogue)",
    "checkpoint": "checkpoint name (str)",
    "step": "training step of the checkpoint (int)",
    "prefix_id": "id of the forced reasoning prefix; null for a direct sample",
    "prefix_tokens": "prefix length in tokens; 0 for a direct sample",
    "temperature": "sampling temperature (float)",
    "seed": "sampling seed",
    "attempt": "attempt number",
    "label": "verdict label (exploit, correct, fail, secure_only, error)",
    "exploit": "True when the completion exploited (passes insecure, fails secure)",
}
"""One row per sampled completion (direct or prefilled)."""

SCORE_COLUMNS: dict[str, str] = {
    "task_id": "task identifier",
    "exploit_type": "exploit type of the task",
    "checkpoint": "checkpoint name of the subject that scored the prefix",
    "step": "training step of that checkpoint",
    "prefix_id": "prefix identifier (matches verdict rows sampled with that prefix)",
    "prefix_tokens": "prefix length in tokens",
    "temperature": "temperature at which the prefix was scored and sampled",
    "logp_subject": "natural-log probability of the prefix under the subject, log P_tau(z|x)",
    "logp_donor": "natural-log probability of the prefix under the donor, log D_tau(z|x)",
}
"""One row per checkpoint x task x prefix."""

SCORE_OPTIONAL_COLUMNS: dict[str, str] = {
    "donor_rate_task": "donor exploit rate on the task, pi_D(x) (needed for the donor correction)",
    "donor_rate_prefix": "donor exploit rate after the prefix, a_D(x,z) (needed for the donor correction)",
    "trace_id": "donor trace the prefix was cut from (nested prefixes share it)",
    "donor_prefix_attempts": "B, the donor continuations behind donor_rate_prefix (needed by "
                             "missing_donor_rate='upper' for rows whose a_D is null)",
}

ESTIMATE_COLUMNS: dict[str, str] = {
    "method": "direct, is, lower_bound (one-sided 1-alpha bound) or lower_bound_point (an estimate)",
    "value": "probability estimate (null for a direct cell with zero exploits: see upper; may underflow to 0 "
             "below 1e-308: read log10_value)",
    "log10_value": "log10 of value (-inf when no term contributed)",
    "lower": "lower end of the interval",
    "upper": "upper end of the interval (zero exploits: the upper bound; is without support: the bound of "
             "docs/statistics.md)",
    "log10_lower": "log10 of lower",
    "log10_upper": "log10 of upper",
    "n": "direct: samples; is/lower_bound: (task, prefix) terms",
    "n_tasks": "tasks in the cell",
    "successes": "direct: exploit samples; is: terms with r_hat > 0 (contributing)",
    "ess": "Kish effective sample size of the IS weights",
    "max_weight_share": "share of the IS estimate carried by the largest weight",
    "khat": "is: PSIS Pareto k-hat of the cell's IS weights (> 0.7: unreliable); NaN for other methods and "
            "when fewer than 5 positive weights fall in the tail",
    "interval": "clopper-pearson, jeffreys, bootstrap or none",
    "pooling": "sample (pool all samples/terms) or task (average per task first)",
    "donor_correction": "whether the exploit-conditioning correction log pi_D - log a_D was requested "
                        "(see n_terms_uncorrected / n_terms_dropped / n_terms_upper for the terms that lacked a rate)",
    "missing_donor_rate": "is: policy for terms without a donor rate (error, uncorrected, drop, upper); null "
                          "when the correction was not requested",
    "n_terms_uncorrected": "is: terms without a donor rate used without the correction factor (biased low when "
                           "a_D < pi_D)",
    "n_terms_dropped": "is: prefixes without a donor rate left out of the cell (not counted in n)",
    "n_terms_upper": "is: terms whose missing a_D was replaced by its one-sided Clopper-Pearson upper bound",
    "flags": "';'-joined reliability flags, '' when none: above_one, below_lcb, heavy_tail, low_ess, no_support",
    "step": "training step (when checkpoint is in the grouping)",
    "temperature": "sampling temperature of the cell",
}
"""Estimate table columns after the grouping ("cell") columns."""

DEFAULT_BY: tuple[str, ...] = ("checkpoint", "exploit_type")

MissingDonorRate = Literal["error", "uncorrected", "drop", "upper"]
"""Per-row policy for IS terms whose donor rate (pi_D or a_D) is null or 0 (see ``_donor_rates``)."""

MISSING_DONOR_RATE_POLICIES: tuple[str, ...] = ("error", "uncorrected", "drop", "upper")
DEFAULT_MISSING_DONOR_RATE: MissingDonorRate = "uncorrected"
"""The one default everywhere (Python API, ``hackwatch estimate``, ``[estimate]`` in a run config): a term
without a donor rate is used without the correction factor and counted in ``n_terms_uncorrected``."""
"""The accepted values of ``missing_donor_rate``."""


class SchemaError(ValueError):
    """A table does not follow its contract; the message names the source, column/row and the fix."""


def _where(source: str | None) -> str:
    return source or "<table>"


def require_columns(df: pd.DataFrame, columns: Sequence[str], *, source: str | None, kind: str) -> None:
    """Raise :class:`SchemaError` naming the first missing column of a ``kind`` table."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise SchemaError(
            f"{_where(source)}: {kind} table lacks column(s) {', '.join(map(repr, missing))}; "
            f"expected at least {', '.join(columns)} (see docs/statistics.md, table contracts)")


def _check_no_nulls(df: pd.DataFrame, columns: Sequence[str], *, source: str | None, kind: str) -> None:
    for col in columns:
        bad = df[col].isna().to_numpy()
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise SchemaError(f"{_where(source)}: {kind} row {df.index[row]}, column {col!r}: null value; "
                              f"fill it in or drop the row")


def _check_numeric(df: pd.DataFrame, col: str, *, source: str | None, kind: str) -> pd.Series:
    vals = pd.to_numeric(df[col], errors="coerce")
    bad = (vals.isna() & df[col].notna()).to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise SchemaError(f"{_where(source)}: {kind} row {df.index[row]}, column {col!r}: expected a number, "
                          f"got {df[col].iloc[row]!r}")
    return vals


def validate_verdicts(df: pd.DataFrame, *, source: str | None = None,
                      by: Sequence[str] = DEFAULT_BY) -> pd.DataFrame:
    """Check a verdict table against its contract and return a normalised copy.

    Only the columns the estimators use are required (``task_id, checkpoint, step, prefix_id,
    prefix_tokens, temperature, exploit`` plus the grouping columns); ``seed``, ``attempt`` and
    ``label`` are kept when present. Rows labelled ``error`` (the sandbox or verifier broke: no
    observation of the policy) are dropped, so infrastructure failures never count as samples.
    """
    needed = list(dict.fromkeys(["task_id", "checkpoint", "step", "prefix_id", "prefix_tokens",
                                 "temperature", "exploit", *by]))
    require_columns(df, needed, source=source, kind="verdicts")
    out = df.reset_index(drop=True)  # index = row number in the input, kept through filtering
    if "label" in out.columns:
        out = out[out["label"].astype(str) != "error"]
    _check_no_nulls(out, [c for c in needed if c != "prefix_id"], source=source, kind="verdicts")
    for col in ("step", "prefix_tokens", "temperature"):
        out[col] = _check_numeric(out, col, source=source, kind="verdicts")
    out["step"] = out["step"].astype("int64")
    out["prefix_tokens"] = out["prefix_tokens"].astype("int64")
    out["temperature"] = out["temperature"].astype("float64")
    ex = out["exploit"]
    if ex.dtype != bool:
        ok = ex.isin([True, False, 0, 1]).to_numpy()
        if not ok.all():
            row = int(np.flatnonzero(~ok)[0])
            raise SchemaError(f"{_where(source)}: verdicts row {out.index[row]}, column 'exploit': expected true/false, "
                              f"got {ex.iloc[row]!r}")
        out["exploit"] = ex.astype(bool)
    out["checkpoint"] = out["checkpoint"].astype(str)
    out["task_id"] = out["task_id"].astype(str)
    direct = out["prefix_tokens"].to_numpy() == 0
    bad = (~direct) & out["prefix_id"].isna().to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise SchemaError(f"{_where(source)}: verdicts row {out.index[row]}: prefix_tokens > 0 but prefix_id is null; "
                          f"set the prefix id of prefilled samples")
    return out


def validate_scores(df: pd.DataFrame, *, source: str | None = None, by: Sequence[str] = DEFAULT_BY,
                    donor_correction: bool = True, missing_donor_rate: MissingDonorRate = DEFAULT_MISSING_DONOR_RATE) -> pd.DataFrame:
    """Check a prefix-score table against its contract and return a normalised copy.

    With ``donor_correction`` the rates ``donor_rate_task`` and ``donor_rate_prefix`` are checked: with
    ``missing_donor_rate="error"`` they must be present, non-null and in (0, 1] (the error names the
    row and prefix); with any other policy a rate may be null, 0 or its column absent (the policy
    decides what the term does, see :func:`hackwatch.estimate.importance_terms`), but a present
    rate must lie in [0, 1].
    """
    if missing_donor_rate not in MISSING_DONOR_RATE_POLICIES:
        raise ValueError(f"missing_donor_rate {missing_donor_rate!r} unknown; use one of "
                         f"{', '.join(MISSING_DONOR_RATE_POLICIES)} (docs/statistics.md)")
    needed = list(dict.fromkeys([*SCORE_COLUMNS, *by]))
    require_columns(df, needed, source=source, kind="scores")
    out = df.reset_index(drop=True)  # index = row number in the input, kept through filtering
    _check_no_nulls(out, needed, source=source, kind="scores")
    for col in ("step", "prefix_tokens", "temperature", "logp_subject", "logp_donor"):
        out[col] = _check_numeric(out, col, source=source, kind="scores")
    for col in ("logp_subject", "logp_donor"):
        bad = (out[col].to_numpy() > 1e-9) | ~np.isfinite(out[col].to_numpy())
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise SchemaError(f"{_where(source)}: scores row {out.index[row]}, column {col!r}: expected a finite "
                              f"natural-log probability <= 0, got {out[col].iloc[row]!r}")
    out["step"] = out["step"].astype("int64")
    out["checkpoint"] = out["checkpoint"].astype(str)
    out["task_id"] = out["task_id"].astype(str)
    out["prefix_id"] = out["prefix_id"].astype(str)
    if donor_correction:
        strict = missing_donor_rate == "error"
        fix = ("choose a policy for such rows, missing_donor_rate='uncorrected', 'drop' or 'upper' "
               "(docs/statistics.md), or estimate without the correction (--no-donor-correction)")
        for col in ("donor_rate_task", "donor_rate_prefix"):
            if col not in out.columns:
                if strict:
                    raise SchemaError(f"{_where(source)}: scores table lacks column {col!r} needed for the donor "
                                      f"correction; add it, or {fix}")
                out[col] = np.nan
                continue
            vals = _check_numeric(out, col, source=source, kind="scores").to_numpy(dtype=float)
            bad = (vals < 0) | (vals > 1)
            if strict:
                bad |= ~(vals > 0)
            if bad.any():
                row = int(np.flatnonzero(bad)[0])
                r = out.iloc[row]
                what = "null" if np.isnan(vals[row]) else repr(float(vals[row]))
                hint = (f"a null a_D means none of the donor's continuations from this prefix exploited (or none "
                        f"were run); raise the donor's --prefix-attempts, or {fix}" if col == "donor_rate_prefix"
                        else f"the bank has no donor rate for this task; {fix}")
                if not (0 <= vals[row] <= 1) and not np.isnan(vals[row]):
                    hint = "a rate must lie in [0, 1]"
                raise SchemaError(f"{_where(source)}: scores row {out.index[row]} (prefix {r['checkpoint']}/"
                                  f"{r['task_id']}/{r['prefix_id']}), column {col!r}: expected a rate in "
                                  f"{'(0, 1]' if strict else '[0, 1] or null'}, got {what}; {hint}")
            out[col] = vals
    key = ["checkpoint", "task_id", "prefix_id"]
    dup = out.duplicated(key).to_numpy()
    if dup.any():
        row = int(np.flatnonzero(dup)[0])
        raise SchemaError(f"{_where(source)}: scores row {out.index[row]}: duplicate (checkpoint, task_id, prefix_id) "
                          f"{tuple(out.iloc[row][key])}; score each prefix once per checkpoint")
    return out
