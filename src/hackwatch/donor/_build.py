"""From kept traces to bank rows: the ladder of prefix lengths, pivots, donor log-probs and rates.

A prefix of length L is ``trace_ids[start : start+L]`` read from the beginning: exactly the first
``start + L`` tokens of the reasoning (``start`` = 0, or the pivot with ``start_at_pivot``). Rungs
longer than the reasoning section are dropped (a prefix never includes the close marker or the
answer); ``full_reasoning=True`` adds the whole reasoning as one extra rung. Its donor log-prob is
the sum of the sampler's own token log-probs over those tokens — exactly ``log D_τ(z|x)``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from hackwatch.donor._bank import SCHEMA_VERSION
from hackwatch.donor._pivot import Classifier, find_pivot

if TYPE_CHECKING:
    from hackwatch.donor._traces import Trace, TraceSet
    from hackwatch.models import Backend
    from hackwatch.tasks import Task

log = logging.getLogger("hackwatch.donor")

DEFAULT_LENGTHS: tuple[int, ...] = (2, 5, 10, 20, 45, 100)
"""Default ladder of prefix lengths in model tokens."""


def ladder(reasoning_tokens: int, lengths: Sequence[int], *, start: int = 0,
           full_reasoning: bool = False) -> list[int]:
    """Cut points (total prefix lengths) of one trace: ``start + L`` for each L that fits in the reasoning."""
    if any(L < 1 for L in lengths):
        raise ValueError(f"prefix lengths must be >= 1 token, got {list(lengths)}")
    cuts = sorted({start + L for L in lengths if start + L <= reasoning_tokens})
    if full_reasoning and reasoning_tokens > 0 and reasoning_tokens not in cuts:
        cuts.append(reasoning_tokens)
    return cuts


def trace_rows(trace: Trace, backend: Backend, *, lengths: Sequence[int], start_at_pivot: bool = False,
               full_reasoning: bool = False, classifier: Classifier | None = None, source: str = "donor",
               model: str = "", donor_rate: tuple[int, int] | None = None) -> list[dict[str, Any]]:
    """Bank rows of one trace (without ``â_D``, which :func:`build_bank` fills in)."""
    reasoning = trace.trace_ids[: trace.reasoning_tokens]
    pivot = find_pivot(reasoning, trace.exploit_type, backend.decode, classifier=classifier) if reasoning else None
    start = pivot.token if (start_at_pivot and pivot is not None) else 0
    rows = []
    for cut in ladder(trace.reasoning_tokens, lengths, start=start, full_reasoning=full_reasoning):
        ids = list(trace.trace_ids[:cut])
        k, m = donor_rate if donor_rate else (None, None)
        rows.append({
            "schema_version": SCHEMA_VERSION, "task_id": trace.task_id, "exploit_type": trace.exploit_type,
            "trace_id": trace.trace_id, "prefix_id": f"{trace.trace_id}/{cut}", "prefix_tokens": cut,
            "prefix_ids": ids, "text": backend.decode(ids), "trace_ids": list(trace.trace_ids),
            "trace_text": trace.text, "trace_reasoning_tokens": trace.reasoning_tokens, "source": source,
            "model": model, "logp_donor": float(sum(trace.token_logprobs[:cut])), "temperature": trace.temperature,
            "seed": trace.seed, "donor_rate_task": (k / m) if m else None, "donor_task_successes": k,
            "donor_task_samples": m, "donor_rate_prefix": None, "donor_prefix_successes": None,
            "donor_prefix_attempts": 0, "pivot": None if pivot is None else pivot.token,
            "pivot_term": None if pivot is None else pivot.term, "prefix_start": start, "trace_label": trace.label,
        })
    return rows


def build_bank(traceset: TraceSet, backend: Backend, tasks: Sequence[Task], verifier: Any = None, *,
               lengths: Sequence[int] = DEFAULT_LENGTHS, start_at_pivot: bool = False, full_reasoning: bool = False,
               prefix_attempts: int = 0, max_new_tokens: int | None = None, classifier: Classifier | None = None,
               source: str = "donor", batch_size: int = 16,
               progress: bool = False) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Bank rows for every kept trace, and the provenance (settings, per-task counts, ``missing``).

    With ``prefix_attempts = B > 0`` the donor is continued B times from every prefix and
    ``â_D(x,z)`` = exploits / valid continuations; a prefix none of whose continuations exploited gets
    ``donor_rate_prefix = null`` (its counts are kept) and is listed in the provenance — raise B.
    """
    rows: list[dict[str, Any]] = []
    no_rung = []
    for tr in traceset.traces:
        got = trace_rows(tr, backend, lengths=lengths, start_at_pivot=start_at_pivot, full_reasoning=full_reasoning,
                         classifier=classifier, source=source, model=traceset.model,
                         donor_rate=traceset.task_counts.get(tr.task_id))
        if not got:
            no_rung.append(tr.trace_id)
        rows += got
    zero_rate: list[str] = []
    if prefix_attempts > 0 and rows:
        if verifier is None:
            raise ValueError("build_bank: prefix_attempts > 0 needs a verifier to label the continuations")
        from hackwatch.donor._traces import prefix_rates

        counts = prefix_rates(backend, tasks, verifier, [(r["prefix_id"], r["task_id"], tuple(r["prefix_ids"]))
                                                         for r in rows],
                              attempts=prefix_attempts, temperature=traceset.temperature,
                              max_new_tokens=max_new_tokens or int(traceset.settings.get("max_new_tokens", 512)),
                              seed=traceset.seed, batch_size=batch_size, progress=progress)
        for r in rows:
            k, m = counts[r["prefix_id"]]
            r["donor_prefix_successes"], r["donor_prefix_attempts"] = k, m
            r["donor_rate_prefix"] = k / m if k > 0 and m > 0 else None
            if k == 0:
                zero_rate.append(r["prefix_id"])
        if zero_rate:
            log.warning("%d of %d prefixes: no donor continuation exploited in %d attempts, so a_D is unknown "
                        "(donor_rate_prefix = null); raise prefix_attempts (hackwatch donor traces --prefix-attempts; "
                        "the demo's DemoConfig.donor_prefix_attempts)", len(zero_rate), len(rows),
                        prefix_attempts)
    kept_tasks = {r["task_id"] for r in rows}
    missing = list(traceset.missing) + [t.id for t in tasks if t.id not in kept_tasks and t.id not in traceset.missing]
    provenance = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "source": source, "model": traceset.model,
        "temperature": traceset.temperature, "seed": traceset.seed, **traceset.settings,
        "lengths": list(lengths), "start_at_pivot": start_at_pivot, "full_reasoning": full_reasoning,
        "prefix_attempts": prefix_attempts, "classifier": getattr(classifier, "__name__", None) if classifier else None,
        "chat_format": getattr(getattr(backend, "chat_format", None), "name", None),
        "tasks": [t.id for t in tasks], "n_traces": len(traceset.traces), "n_prefixes": len(rows),
        "task_counts": {t: {"exploit": k, "samples": n} for t, (k, n) in traceset.task_counts.items()},
        "labels": {t: dict(c) for t, c in traceset.labels.items()},
        "missing": missing, "missing_reason": {t: ("no exploit-successful trace" if t in traceset.missing
                                                   else "traces too short for every ladder length")
                                               for t in missing},
        "traces_without_prefix": no_rung, "prefixes_without_exploit_continuation": zero_rate,
    }
    return rows, provenance
