"""Jobs that run on workers (inline, a local process pool, or Ray tasks) and return plain rows.

A job computes; it never writes the run database. The driver commits each unit of a finished job
in its own transaction, so a worker crash or a killed driver loses at most uncommitted work.
Backends and verifiers are cached per worker process (loading a checkpoint is the expensive part).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

_BACKENDS: dict[tuple[str, str], Any] = {}
_VERIFIERS: dict[int, Any] = {}


@dataclass(frozen=True)
class SampleUnit:
    """One sampling unit: ``n`` samples of checkpoint × task × prefix, attempts ``attempt0 …``."""

    unit_key: str
    stage: str
    task_id: str
    prompt: str
    checkpoint: str
    step: int
    prefix_id: str | None
    prefix_ids: tuple[int, ...]
    n: int
    attempt0: int


@dataclass(frozen=True)
class ScoreUnit:
    """One scoring unit: the log-prob of one prefix under one model."""

    unit_key: str
    stage: str
    model: str
    task_id: str
    prompt: str
    prefix_id: str
    prefix_ids: tuple[int, ...]


@dataclass(frozen=True)
class ModelJob:
    """Which model a job needs and how to call it."""

    spec: str
    device: str
    temperature: float
    max_new_tokens: int
    seed: int
    batch_size: int
    score_top_k: int = 20
    """Servers and vLLM at τ ≠ 1: prompt log-probs per position when scoring (``[subject].score_top_k``)."""


def get_backend(spec: str, device: str, score_top_k: int = 20) -> Any:
    """The backend for ``spec``, loaded once per worker process."""
    key = (spec, device, score_top_k)
    if key not in _BACKENDS:
        from transformers.utils import logging as hf_logging

        from hackwatch.models import load_backend

        hf_logging.disable_progress_bar()  # the run shows its own per-stage bars
        extra = {"score_top_k": score_top_k} if spec.startswith(("openai:", "vllm:")) else {}
        _BACKENDS[key] = load_backend(spec, device=device, **extra)
        while len(_BACKENDS) > 2:  # keep memory bounded when a worker walks over checkpoints
            _BACKENDS.pop(next(iter(_BACKENDS)))
    return _BACKENDS[key]


def sample_job(job: ModelJob, units: list[SampleUnit]) -> list[tuple[SampleUnit, list[dict[str, Any]]]]:
    """Sample every unit with one backend call; return each unit with its sample rows."""
    from hackwatch.models import SampleRequest

    backend = get_backend(job.spec, job.device, job.score_top_k)
    requests = [SampleRequest(prompt=u.prompt, prefix_ids=tuple(u.prefix_ids), n=u.n, key=u.unit_key)
                for u in units]
    completions = backend.sample(requests, temperature=job.temperature, max_new_tokens=job.max_new_tokens,
                                 seed=job.seed, batch_size=job.batch_size)
    by_key: dict[str, list[Any]] = {u.unit_key: [] for u in units}
    for c in completions:
        by_key[c.key].append(c)
    out = []
    for u in units:
        rows = []
        for c in sorted(by_key[u.unit_key], key=lambda c: c.index):
            rows.append({
                "sample_id": f"{u.unit_key}/{c.index}", "unit_key": u.unit_key, "task_id": u.task_id,
                "checkpoint": u.checkpoint, "step": u.step, "prefix_id": u.prefix_id,
                "prefix_tokens": len(u.prefix_ids), "temperature": float(c.temperature), "seed": int(c.seed),
                "attempt": u.attempt0 + int(c.index), "reasoning": c.reasoning, "final": c.final,
                "completion": c.text, "generated_ids": [int(t) for t in c.generated_ids],
                "n_generated_tokens": len(c.generated_ids), "finish_reason": c.finish_reason,
            })
        if len(rows) != u.n:
            raise RuntimeError(f"backend {job.spec!r} returned {len(rows)} completions for unit {u.unit_key}, "
                               f"expected {u.n}")
        out.append((u, rows))
    return out


def score_job(job: ModelJob, units: list[ScoreUnit]) -> list[tuple[ScoreUnit, dict[str, Any]]]:
    """Score every unit's prefix under the job's model at the sampling temperature."""
    from hackwatch.models import ScoreRequest

    backend = get_backend(job.spec, job.device, job.score_top_k)
    requests = [ScoreRequest(prompt=u.prompt, prefix_ids=tuple(u.prefix_ids), key=u.unit_key) for u in units]
    scores = backend.score_prefixes(requests, temperature=job.temperature, batch_size=job.batch_size)
    by_key = {s.key: s for s in scores}
    out = []
    for u in units:
        s = by_key[u.unit_key]
        bound = getattr(s, "approx_error_bound", None)
        out.append((u, {
            "model": u.model, "prefix_id": u.prefix_id, "task_id": u.task_id, "logprob": float(s.logprob),
            "n_tokens": int(s.n_tokens), "temperature": float(s.temperature),
            "approx_error_bound": None if bound is None else float(bound),
        }))
    return out


def verify_job(workers: int, items: list[tuple[str, Any, str]]) -> list[dict[str, Any]]:
    """Verify ``(sample_id, task, completion)`` items; return verdict rows (sandboxed, pool cached).

    The submission is :func:`hackwatch.verify.extract_code` of the completion (code after the
    reasoning section; reasoning itself is never run).
    """
    from hackwatch.verify import Verifier, extract_code

    verifier = _VERIFIERS.get(workers)
    if verifier is None:
        verifier = _VERIFIERS[workers] = Verifier(workers=workers)
    verdicts = verifier.verify_many([(task, extract_code(completion)) for _, task, completion in items])
    rows = []
    for (sample_id, _, _), v in zip(items, verdicts, strict=True):
        rows.append({
            "sample_id": sample_id, "label": v.label, "exploit": v.label == "exploit",
            "secure_pass": v.secure_pass, "insecure_pass": v.insecure_pass, "reason": v.reason,
            "sandbox": v.sandbox, "secure_s": getattr(v, "secure_s", None),
            "insecure_s": getattr(v, "insecure_s", None),
        })
    return rows


def close_verifiers() -> None:
    """Close the cached verifiers of this process (their sandbox pools)."""
    while _VERIFIERS:
        _, v = _VERIFIERS.popitem()
        close = getattr(v, "close", None)
        if close is not None:
            close()
