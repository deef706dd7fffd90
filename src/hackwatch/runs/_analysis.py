"""The derived stages of a run: estimates, forecasts, evaluation and monitor flags.

These read the whole work tables, call :mod:`hackwatch.estimate`, :mod:`hackwatch.forecast` and
:mod:`hackwatch.monitor`, and replace the derived tables in one transaction each. They are cheap
and deterministic (seeded), so every (re)run recomputes them from what is stored.
"""

from __future__ import annotations

import json
import logging
import warnings
from typing import Any

import pandas as pd

from hackwatch.runs._config import ConfigError, RunConfig
from hackwatch.runs._inputs import DONOR_PROPOSAL
from hackwatch.runs._progress import Progress
from hackwatch.store import RunStore

log = logging.getLogger("hackwatch.runs")

VERDICT_SQL = """
SELECT s.task_id, t.exploit_type, s.checkpoint, s.step, s.prefix_id, s.prefix_tokens, s.temperature,
       s.seed, s.attempt, v.label, v.exploit, p.trace_id, s.sample_id, {proposal} AS proposal
FROM samples s JOIN verdicts v USING (sample_id) JOIN tasks t USING (task_id)
LEFT JOIN prefixes p ON p.prefix_id = s.prefix_id
ORDER BY s.step, s.task_id, s.prefix_id NULLS FIRST, s.attempt
"""

SCORE_SQL = """
SELECT sc.task_id, t.exploit_type, sc.model AS checkpoint, c.step, sc.prefix_id, p.prefix_tokens,
       sc.temperature, sc.logprob AS logp_subject, coalesce(d.logprob, p.logp_donor_bank) AS logp_donor,
       p.donor_rate_task, p.donor_rate_prefix, p.trace_id, {proposal} AS proposal
FROM scores sc JOIN checkpoints c ON c.checkpoint = sc.model AND c.role = 'subject'
JOIN prefixes p USING (prefix_id) JOIN tasks t ON t.task_id = sc.task_id
LEFT JOIN scores d ON d.prefix_id = sc.prefix_id
  AND d.model = CASE WHEN {proposal} = 'donor' THEN 'donor' ELSE 'donor:' || {proposal} END
ORDER BY c.step, sc.task_id, sc.prefix_id
"""
"""Each prefix's log D_τ comes from its own proposal's model (``donor``, ``donor:<name>``), else its bank row.

``VERDICT_SQL`` and ``SCORE_SQL`` are templates: :func:`verdict_sql` and :func:`score_sql` fill in
``{proposal}`` for the database at hand."""

OLD_PROPOSAL_SQL = "CASE WHEN p.prefix_id IS NULL THEN NULL ELSE 'donor' END"
"""``proposal`` of a database from before ``prefixes.proposal``: every prefix is the donor bank's (the
value the migration gives old rows), NULL for direct samples as in a migrated database."""


def _proposal_sql(store: RunStore) -> str:
    """``p.proposal``, or :data:`OLD_PROPOSAL_SQL` where the column is absent.

    A database opened read-only (``hackwatch report``/``export``, :func:`hackwatch.open_run`) is never
    migrated, so one written before ``[[proposals]]`` existed lacks the column.
    """
    present = store.query("SELECT 1 FROM information_schema.columns WHERE table_schema = 'main' "
                          "AND table_name = 'prefixes' AND column_name = 'proposal'")
    return "p.proposal" if len(present) else OLD_PROPOSAL_SQL


def verdict_sql(store: RunStore) -> str:
    """:data:`VERDICT_SQL` for the columns present in ``store``."""
    return VERDICT_SQL.format(proposal=_proposal_sql(store))


def score_sql(store: RunStore) -> str:
    """:data:`SCORE_SQL` for the columns present in ``store``."""
    return SCORE_SQL.format(proposal=_proposal_sql(store))

PROBE_SQL = """
SELECT ps.sample_id, ps.checkpoint, ps.step, ps.task_id, ps.exploit_type, s.temperature, ps.probe,
       ps.n_reasoning_tokens, ps.logit, ps.score
FROM probe_scores ps JOIN samples s USING (sample_id)
WHERE ps.probe_hash = ?
ORDER BY ps.sample_id
"""


def verdict_frame(store: RunStore) -> pd.DataFrame:
    """Verdict rows in the column contract of :mod:`hackwatch.estimate` (one row per sample)."""
    return store.query(verdict_sql(store))


def score_frame(store: RunStore) -> pd.DataFrame:
    """Prefix-score rows in the column contract of :mod:`hackwatch.estimate` (checkpoint × prefix)."""
    return store.query(score_sql(store))


def _estimates(config: RunConfig, store: RunStore) -> pd.DataFrame:
    """Estimates of every cell: the donor bank's (``direct``, ``is``, ``lower_bound``), each proposal's
    (``is_<name>``, ``lower_bound_<name>``) and the probe's (``probe``).

    Each bank is estimated by :func:`hackwatch.estimate.estimate_cells` on its own rows only
    (:func:`hackwatch.estimate.split_proposals`: the direct samples go with the donor bank), so no
    proposal's terms enter another's cells.
    """
    verdicts = verdict_frame(store)
    if verdicts.empty:
        return pd.DataFrame()
    from hackwatch.estimate import proposal_methods, split_proposals

    parts = []
    for bank in split_proposals(verdicts, score_frame(store), names=[p.name for p in config.proposals]):
        if not bank.estimable:
            if bank.name != DONOR_PROPOSAL:
                log.warning("estimate: proposal %r has no verified prefilled samples or no scores yet", bank.name)
            continue
        parts.append(proposal_methods(_estimate_bank(config, store, bank.verdicts, bank.scores, bank.name),
                                      bank.name))
    probe = _probe_estimates(config, store)
    if probe is not None:
        parts.append(probe)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _estimate_bank(config: RunConfig, store: RunStore, verdicts: pd.DataFrame, scores: pd.DataFrame | None,
                   proposal: str) -> pd.DataFrame:
    """``estimate_cells`` on one bank's rows; IS terms without a donor rate follow ``[estimate].missing_donor_rate``.

    The donor correction is always requested (``donor_correction`` true on IS rows); prefixes whose
    bank row has no ``donor_rate_prefix`` (none of the donor's continuations exploited) or no
    ``donor_rate_task`` are handled row by row — never by switching the correction off for the run —
    and each IS row counts them (``n_terms_uncorrected`` / ``n_terms_dropped``).
    """
    from hackwatch.estimate import MissingDonorRateWarning, SchemaError, estimate_cells

    policy = config.estimate.missing_donor_rate
    which = "" if proposal == DONOR_PROPOSAL else f" (proposal {proposal})"
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = estimate_cells(verdicts, scores if scores is not None and len(scores) else None,
                                    donor_correction=True,
                                    missing_donor_rate=policy,  # type: ignore[arg-type]
                                    seed=config.sampling.seed, verdicts_source=f"{store.path}: verdicts{which}",
                                    scores_source=f"{store.path}: scores{which}")
    except SchemaError as exc:
        if policy == "error" and "donor_rate" in str(exc):
            raise SchemaError(f"{exc} (in the run config: {config.origin}: [estimate].missing_donor_rate = "
                              f"\"uncorrected\" or \"drop\")") from None
        raise
    for w in caught:
        if issubclass(w.category, MissingDonorRateWarning):
            log.warning("estimate%s: %s", which, w.message)
        else:
            log.debug("estimate%s: %s", which, w.message)
    return result.summary


def _probe_estimates(config: RunConfig, store: RunStore) -> pd.DataFrame | None:
    """Per-cell mean probe scores (``method = "probe"``) of the current probe, as ``hackwatch probe score --cells``."""
    from hackwatch.probes import probe_cells
    from hackwatch.runs._probes import load_run_probe

    probe = load_run_probe(config)
    if probe is None:
        return None
    scores = store.query(PROBE_SQL, [probe.fingerprint])
    if scores.empty:
        return None
    return probe_cells(scores, seed=config.sampling.seed)


FORECAST_METHODS = ("is", "direct", "lower_bound")
"""Estimate methods whose trends are always forecast and evaluated (each where the estimates have it)."""


def forecast_methods(estimates: pd.DataFrame) -> list[str]:
    """``FORECAST_METHODS``, then every proposal's ``is_*`` and ``lower_bound_*`` and ``probe`` present."""
    present = set(estimates["method"]) if "method" in estimates.columns else set()
    extra = sorted(m for m in present if m.startswith("is_")) + \
        sorted(m for m in present if m.startswith("lower_bound_"))
    return [*FORECAST_METHODS, *extra, *(["probe"] if "probe" in present else [])]


def _forecasts(config: RunConfig, estimates: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Forecasts per method × exploit type, and each method's AUC and lead time against emergence labels.

    The score is the slope of the log10 estimate against ln(step) on the first ``[thresholds].cutoff``
    checkpoints; labels (emerged = direct rate > threshold at any checkpoint) use all checkpoints.
    """
    from hackwatch.forecast import forecast, lead_time

    if estimates.empty:
        return pd.DataFrame(), pd.DataFrame()
    th = config.thresholds
    seed = config.sampling.seed
    parts, evals = [], []
    for method in forecast_methods(estimates):
        if not (estimates["method"] == method).any():
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = forecast(estimates, threshold=th.emergence, cutoff=th.cutoff,
                           target_step=th.target_step or None, method=method, seed=seed)
        summary = res.summary.copy()
        summary["method"] = method
        parts.append(summary)
        for note in res.notes:
            log.debug("forecast %s: %s", method, note)
        if res.evaluation is None:
            continue
        row: dict[str, Any] = {"method": method, "score": "slope", "cutoff": th.cutoff, "auc": res.evaluation.auc,
                               "auc_lower": res.evaluation.lower, "auc_upper": res.evaluation.upper,
                               "n_emerged": res.evaluation.n_pos, "n_not_emerged": res.evaluation.n_neg}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                lt = lead_time(estimates, threshold=th.emergence, method=method, seed=seed)
            row["separation_cutoff"] = lt.separation_cutoff
            row["lead_checkpoints"] = lt.lead
        except ValueError as exc:  # one class only at some cutoff: no lead time
            log.debug("lead time %s: %s", method, exc)
        evals.append(row)
    forecasts = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    return forecasts, pd.DataFrame(evals)


def _flags(config: RunConfig) -> pd.DataFrame:
    """Exploration-hacking flags of ``[monitor].rollouts`` (``numbers`` stored as JSON text)."""
    if not config.monitor.rollouts:
        return pd.DataFrame()
    from hackwatch.monitor import RolloutTableError, detect_flags, flags_frame, read_rollouts, step_metrics

    path = config.resolve(config.monitor.rollouts)
    try:
        rollouts = read_rollouts(path, num_generations=config.monitor.num_generations)
    except RolloutTableError as exc:
        raise ConfigError(f"{config.origin}: [monitor].rollouts: {exc}") from None
    frame = flags_frame(detect_flags(step_metrics(rollouts)))
    frame["numbers"] = [json.dumps(n, sort_keys=True, default=str) for n in frame["numbers"]]
    log.info("flags: %d from %s", len(frame), path)
    return frame


def analyse(config: RunConfig, store: RunStore, progress: Progress) -> None:
    """Recompute and store estimates, forecasts, evaluation and flags."""
    progress.start("analyse", 3, 0, unit="table")
    estimates = _estimates(config, store)
    store.replace_table("estimates", estimates)
    progress.advance()
    forecasts, evaluation = _forecasts(config, estimates)
    store.replace_table("forecasts", forecasts)
    store.replace_table("evaluation", evaluation)
    progress.advance()
    flags, sensitivity = _flags(config), store.table("sensitivity_flags")  # the latter: runs/_sensitivity.py
    store.replace_table("flags", pd.concat([flags, sensitivity], ignore_index=True) if len(sensitivity) else flags)
    progress.advance()
    progress.finish()
