"""The exploit-conditioning correction of each IS term, and the per-row policy for missing donor rates.

Donor traces enter the bank only when they exploited, so a prefix z of task x is drawn from
``q(z|x) = D(z|x)·a_D(x,z)/π_D(x)``, and the weight of its term is
``P/q = (P/D)·c`` with the correction factor ``c = π_D(x)/a_D(x,z)``. The bank estimates
``a_D`` as ``â_D = K/B`` from B donor continuations of z and leaves it **null when K = 0** (log 0 is
undefined); banks from other sources may lack ``π̂_D`` too. What to do with such a row is a choice
with a known bias, made explicitly per row by ``missing_donor_rate``:

``"error"`` (default of the Python API)
    Refuse, naming the row. No bias; no estimate.

``"uncorrected"`` (default of ``hackwatch run``)
    Use ``c = 1`` for that term (``log π̂_D − log â_D`` omitted); the other terms keep theirs. The
    term is scaled by ``a_D/π_D`` relative to the corrected one, i.e. **underweighted when
    a_D < π_D** and overweighted when a_D > π_D. Observing 0 of B makes small ``a_D`` likely:
    ``a_D ≥ π_D`` has probability ``(1 − a_D)^B ≤ (1 − π_D)^B`` of giving K = 0 (e.g. 0.06 for
    π_D = 0.3, B = 8), and the true factor of a row with ``a_D ≈ 1/B`` is about ``π_D·B``. So when
    B is large enough that ``(1 − π̂_D)^B`` is small, the uncorrected terms — the ones whose true
    weight is *largest* — are biased downward, by a factor ``a_D/π_D`` that the data cannot bound,
    and the cell estimate leans low. With small B, prefixes with ``a_D > π_D`` also go missing
    often and the two directions can cancel (synthetic world: mean/truth 0.95 at B = 8, 1.00 at
    B = 4). ``n_terms_uncorrected`` says how many terms carry this bias.

``"drop"``
    Leave the prefix out of the IS cell (numerator and ``n``; a task whose prefixes are all dropped
    leaves the cell's population). A prefix survives with probability ``s(z) = 1 − (1 − a_D)^B``, so
    the kept prefixes are drawn from ``q·s/E_q[s]`` and (as the number of terms grows) the
    sample-pooled value tends to ``E_x[Σ_z P r s] / E_x[Σ_z q s]`` instead of ``E_x[Σ_z P r]``.
    **Unbiased when missingness does not depend on z** (s constant, e.g. rates missing at random
    or B = 0 for every prefix); otherwise the relative bias is ``S_P/S_q`` — the survival rate on
    the subject's own exploit paths (z weighted by ``P·r``) over that on the proposal's — upward
    when the donor continues the subject's exploit reasoning more reliably than its own, downward
    otherwise. The sign is not known from the data; ``n_terms_dropped`` says how many were dropped.

``"upper"``
    Replace ``â_D`` by its one-sided ``1 − α`` Clopper–Pearson upper bound after 0 of B,
    ``a⁺ = 1 − α^{1/B}`` (``a⁺ = 1`` when B = 0: nothing was tried, and ``a_D ≤ 1`` always holds),
    keeping ``π̂_D``. Needs ``donor_prefix_attempts`` (B) and ``donor_rate_task``. Exact property,
    for every true ``a_D``: either ``a_D ≤ a⁺`` — then the factor ``π̂_D/a⁺ ≤ π̂_D/a_D``, so the term
    is **at most** the term with the true ``a_D`` (a conservative, downward-biased term) — or
    ``a_D > a⁺``, in which case seeing 0 of B had probability ``(1 − a_D)^B < α``. Hence a row
    ends up both bounded and overstated with probability below α, and (union bound over the cell's
    n terms) the cell estimate exceeds the estimate computed with the true ``a_D`` of its bounded
    rows (other terms unchanged) with probability below ``α·n`` — in fact below α times the number
    of its prefixes with ``a_D > a⁺``. ``n_terms_upper`` counts these terms.

All four treat ``π̂_D`` and the present ``â_D`` as exact, as the corrected estimator does. The
plug-in ``1/â_D`` is itself biased (no unbiased estimator of ``1/a`` exists for a fixed B; Jensen
pushes it up when ``a_D·B`` is a few, and ``â_D ≥ 1/B`` caps it at B when ``a_D ≪ 1/B``); sampling
continuations *until the first exploit* would make ``N`` (the number of continuations) an exactly
unbiased estimate of ``1/a_D``.
A rate of exactly 0 is treated like a null (0 exploits observed); rates must lie in [0, 1].
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hackwatch.estimate._columns import MISSING_DONOR_RATE_POLICIES, MissingDonorRate, SchemaError

STATUSES: tuple[str, ...] = ("corrected", "uncorrected", "dropped", "upper", "not_requested")
"""Values of the terms' ``donor_rate_status`` column."""


def check_policy(policy: str) -> None:
    """Raise ``ValueError`` for an unknown ``missing_donor_rate`` value."""
    if policy not in MISSING_DONOR_RATE_POLICIES:
        raise ValueError(f"missing_donor_rate {policy!r} unknown; use one of "
                         f"{', '.join(MISSING_DONOR_RATE_POLICIES)} (docs/statistics.md)")


def zero_success_upper(attempts: np.ndarray, alpha: float = 0.05) -> np.ndarray:
    """One-sided ``1 − α`` Clopper–Pearson upper bound of a rate after 0 successes in B trials.

    ``1 − α^{1/B}`` (the p with ``(1 − p)^B = α``); 1 when B = 0.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha {alpha}: expected a number in (0, 1), e.g. 0.05")
    b = np.asarray(attempts, dtype=float)
    with np.errstate(divide="ignore"):
        return np.where(b > 0, 1.0 - alpha ** (1.0 / np.where(b > 0, b, 1.0)), 1.0)


def missing_rate_rows(scores: pd.DataFrame) -> np.ndarray:
    """Rows whose ``donor_rate_task`` or ``donor_rate_prefix`` is null or 0 (absent column = null)."""
    miss = np.zeros(len(scores), dtype=bool)
    for col in ("donor_rate_task", "donor_rate_prefix"):
        if col not in scores.columns:
            return np.ones(len(scores), dtype=bool)
        vals = pd.to_numeric(scores[col], errors="coerce").to_numpy(dtype=float)
        miss |= ~(vals > 0)
    return miss


def donor_correction_terms(scores: pd.DataFrame, *, donor_correction: bool, policy: MissingDonorRate,
                           alpha: float = 0.05, source: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per score row: ``log π̂_D − log â_D`` (the log correction factor) and the row's status.

    ``scores`` is a validated score table (index = input row number). Returns ``(log_factor,
    status)``: ``log_factor`` is 0 for ``uncorrected`` and ``not_requested`` rows and NaN for
    ``dropped`` rows; ``status`` takes the values of :data:`STATUSES`. ``policy="error"`` never
    gets here with a missing rate (``validate_scores`` refuses it first).
    """
    check_policy(policy)
    n = len(scores)
    if not donor_correction:
        return np.zeros(n), np.full(n, "not_requested", dtype=object)
    miss = missing_rate_rows(scores)
    status = np.where(miss, {"uncorrected": "uncorrected", "upper": "upper", "drop": "dropped"}.get(
        policy, "missing"), "corrected").astype(object)
    rt = pd.to_numeric(scores.get("donor_rate_task", pd.Series(np.nan, index=scores.index)),
                       errors="coerce").to_numpy(dtype=float)
    rp = pd.to_numeric(scores.get("donor_rate_prefix", pd.Series(np.nan, index=scores.index)),
                       errors="coerce").to_numpy(dtype=float)
    if policy == "error" and miss.any():  # validate_scores should have refused; be safe
        row = int(np.flatnonzero(miss)[0])
        raise SchemaError(f"{source or '<scores>'}: scores row {scores.index[row]}: donor rate missing")
    if policy == "upper" and miss.any():
        where = source or "<scores>"
        no_task = miss & ~(rt > 0)
        if no_task.any():
            row = int(np.flatnonzero(no_task)[0])
            raise SchemaError(f"{where}: scores row {scores.index[row]}, column 'donor_rate_task': null or 0; "
                              f"missing_donor_rate='upper' bounds only a_D and needs pi_D — use 'uncorrected' "
                              f"or 'drop' for rows without it")
        if "donor_prefix_attempts" not in scores.columns:
            raise SchemaError(f"{where}: scores table lacks column 'donor_prefix_attempts' (B, the donor "
                              f"continuations behind donor_rate_prefix) needed by missing_donor_rate='upper'; "
                              f"add it from the bank, or use 'uncorrected' or 'drop'")
        att = pd.to_numeric(scores["donor_prefix_attempts"], errors="coerce").to_numpy(dtype=float)
        bad = miss & ~((att >= 0) & (np.floor(att) == att))
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise SchemaError(f"{where}: scores row {scores.index[row]}, column 'donor_prefix_attempts': expected "
                              f"a count >= 0, got {scores['donor_prefix_attempts'].iloc[row]!r}")
        rp = np.where(miss, zero_success_upper(np.where(miss, att, 0.0), alpha), rp)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_factor = np.log(rt) - np.log(rp)
    if policy in ("uncorrected", "drop"):
        log_factor = np.where(miss, 0.0 if policy == "uncorrected" else np.nan, log_factor)
    return log_factor, status
