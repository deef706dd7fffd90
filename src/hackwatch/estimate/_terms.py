"""Joining prefix scores with the verdicts of prefilled samples: one row per (checkpoint, task, prefix)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from hackwatch.estimate._columns import (
    DEFAULT_BY,
    DEFAULT_MISSING_DONOR_RATE,
    MissingDonorRate,
    SchemaError,
    validate_scores,
    validate_verdicts,
)
from hackwatch.estimate._donor_rates import donor_correction_terms
from hackwatch.estimate._shared import MissingVerdictsWarning, warn_cells

KEY = ["checkpoint", "task_id", "prefix_id"]


def importance_terms(scores: pd.DataFrame, verdicts: pd.DataFrame, *, by: Sequence[str] = DEFAULT_BY,
                     donor_correction: bool = True, missing_donor_rate: MissingDonorRate = DEFAULT_MISSING_DONOR_RATE,
                     alpha: float = 0.05, scores_source: str | None = None,
                     verdicts_source: str | None = None) -> pd.DataFrame:
    """One importance term per scored prefix, in natural log:

    ``λ = log P_τ(z|x) − log D_τ(z|x) + log r̂_P(x,z) [+ log π̂_D(x) − log â_D(x,z)]``

    where ``r̂_P(x,z) = k/n`` over the verdict rows sampled with that prefix at that checkpoint
    (``log 0 = −inf`` exactly, never smoothed). The bracket is the exploit-conditioning correction
    (donor traces were kept only when they exploited); ``donor_correction=False`` omits it.

    Rows whose π̂_D or â_D is null or 0 (the bank leaves â_D null when none of the B donor
    continuations from z exploited) follow ``missing_donor_rate``, row by row:
    ``"error"`` refuses naming the row; ``"uncorrected"`` omits the bracket for that term only
    (biased low when a_D < π_D, the usual case after 0 of B); ``"drop"`` marks the prefix to be
    left out of the IS cell (``log_term`` NaN; unbiased only when missingness does not depend on
    the prefix); ``"upper"`` uses the one-sided ``1 − alpha`` Clopper–Pearson bound
    ``1 − alpha^{1/B}`` for â_D (needs ``donor_prefix_attempts`` = B), which understates the term
    unless an event of probability < ``alpha`` occurred. The derivations are in
    :mod:`hackwatch.estimate._donor_rates`. Column ``donor_rate_status`` says what each row got
    (corrected, uncorrected, dropped, upper, not_requested). Refuses prefixes whose verdicts were sampled at another temperature than the score, or with
    another prefix length. Scored prefixes without verdicts are dropped with a
    :class:`MissingVerdictsWarning`. Returns the score columns plus ``k, n_r, r_hat, log_term,
    log_correction, donor_rate_status``.
    """
    by = list(by)
    sc = validate_scores(scores, source=scores_source, by=by, donor_correction=donor_correction,
                         missing_donor_rate=missing_donor_rate)
    # computed before the merge so that errors name the input row
    sc["log_correction"], sc["donor_rate_status"] = donor_correction_terms(
        sc, donor_correction=donor_correction, policy=missing_donor_rate, alpha=alpha, source=scores_source)
    vd = validate_verdicts(verdicts, source=verdicts_source, by=())
    pre = vd[vd["prefix_tokens"] > 0].copy()
    pre["prefix_id"] = pre["prefix_id"].astype(str)
    grouped = pre.groupby(KEY, sort=False)
    agg = grouped.agg(k=("exploit", "sum"), n_r=("exploit", "count"),
                      v_temperature=("temperature", "first"), v_tokens=("prefix_tokens", "first"), v_step=("step", "first"),
                      n_temp=("temperature", "nunique"), n_tok=("prefix_tokens", "nunique")).reset_index()
    mixed = agg[agg["n_temp"] > 1]
    if len(mixed):
        key = tuple(mixed.iloc[0][KEY])
        raise SchemaError(f"{verdicts_source or '<verdicts>'}: prefix {key} (checkpoint, task_id, prefix_id) "
                          f"was sampled at several temperatures; r_hat must come from one temperature — "
                          f"filter the verdicts to the temperature the prefix was scored at")
    merged = sc.merge(agg, on=KEY, how="left", validate="one_to_one")
    missing = merged["n_r"].isna().to_numpy()
    if missing.any():
        labels = [f"{r.checkpoint}/{r.task_id}/{r.prefix_id}" for r in merged[missing].head(5).itertuples()]
        warn_cells(labels, MissingVerdictsWarning,
                   f"{int(missing.sum())} scored prefixes have no prefilled verdicts and were left out "
                   f"(sample them, or drop them from the scores)")
        merged = merged[~missing].copy()
    if merged.empty:
        raise SchemaError(f"{scores_source or '<scores>'}: no scored prefix has prefilled verdicts in "
                          f"{verdicts_source or '<verdicts>'}; check that checkpoint, task_id and prefix_id "
                          f"match between the two tables")
    bad_t = ~np.isclose(merged["temperature"].to_numpy(float), merged["v_temperature"].to_numpy(float))
    if bad_t.any():
        r = merged[bad_t].iloc[0]
        raise SchemaError(
            f"{scores_source or '<scores>'}: prefix ({r.checkpoint}, {r.task_id}, {r.prefix_id}) was scored at "
            f"temperature {r.temperature} but sampled at {r.v_temperature} in {verdicts_source or '<verdicts>'}; "
            f"score prefixes at the sampling temperature")
    bad_n = (merged["n_tok"] > 1) | (merged["prefix_tokens"].to_numpy() != merged["v_tokens"].to_numpy())
    if bad_n.any():
        r = merged[bad_n].iloc[0]
        raise SchemaError(
            f"{scores_source or '<scores>'}: prefix ({r.checkpoint}, {r.task_id}, {r.prefix_id}) has "
            f"prefix_tokens {r.prefix_tokens} but its verdicts say {r.v_tokens}; the scored prefix must be the "
            f"one that was prefilled")
    bad_s = merged["step"].to_numpy() != merged["v_step"].to_numpy()
    if bad_s.any():
        r = merged[bad_s].iloc[0]
        raise SchemaError(
            f"{scores_source or '<scores>'}: checkpoint {r.checkpoint!r} has step {r.step} in the scores but "
            f"{r.v_step} in {verdicts_source or '<verdicts>'}; one checkpoint name must mean one model")
    merged["k"] = merged["k"].astype("int64")
    merged["n_r"] = merged["n_r"].astype("int64")
    merged["r_hat"] = merged["k"] / merged["n_r"]
    with np.errstate(divide="ignore"):
        log_r = np.log(merged["r_hat"].to_numpy(float))
    lam = merged["logp_subject"].to_numpy(float) - merged["logp_donor"].to_numpy(float) + log_r
    # a dropped row's log_correction is NaN, so its log_term is NaN (even when r_hat = 0)
    lam = lam + merged["log_correction"].to_numpy(float)
    merged["log_term"] = lam
    return merged.drop(columns=["v_temperature", "v_tokens", "v_step", "n_temp", "n_tok"]).reset_index(drop=True)
