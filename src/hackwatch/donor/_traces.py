"""Donor traces: sample the donor *with* reasoning, verify, keep the exploit-successful traces.

Also estimates the two rates of the exploit-conditioning correction (DESIGN.md, IS section):
``π̂_D(x)`` = exploit share of all donor samples of task x, and ``â_D(x,z)`` = exploit share of
``B`` fresh donor continuations from prefix z. Tasks with no exploit-successful trace are listed in
``TraceSet.missing``, never dropped silently.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hackwatch.models import Backend, Completion
    from hackwatch.tasks import Task

log = logging.getLogger("hackwatch.donor")


@dataclass(frozen=True)
class Trace:
    """One exploit-successful donor sample, kept as token ids."""

    task_id: str
    exploit_type: str
    trace_id: str
    """``<task_id>/t<sample index>``."""
    trace_ids: tuple[int, ...]
    """Everything the donor generated after the prompt (reasoning, close marker, answer, stop token)."""
    token_logprobs: tuple[float, ...]
    """The sampler's ``log softmax(logits/τ)`` of every id in ``trace_ids``."""
    reasoning_tokens: int
    """Length of the reasoning section: ``trace_ids[:reasoning_tokens]`` is what prefixes are cut from."""
    text: str
    """``trace_ids`` decoded."""
    label: str
    """Verifier label of the trace's answer."""
    temperature: float
    seed: int


@dataclass
class TraceSet:
    """The outcome of :func:`generate_traces`."""

    traces: list[Trace]
    """Kept (exploit-successful) traces, task by task in task order."""
    task_counts: dict[str, tuple[int, int]]
    """Per task: (exploit samples, samples) behind ``π̂_D(x)``."""
    labels: dict[str, Counter[str]]
    """Per task: verdict label counts of all samples."""
    missing: list[str]
    """Tasks without any exploit-successful trace (reported, not dropped silently)."""
    model: str
    temperature: float
    seed: int
    settings: dict[str, Any] = field(default_factory=dict)

    def rate(self, task_id: str) -> float:
        """``π̂_D(x)``."""
        k, n = self.task_counts[task_id]
        return k / n if n else float("nan")


def find_ids(ids: Sequence[int], needle: Sequence[int]) -> int:
    """Index of the first occurrence of ``needle`` in ``ids``, or -1."""
    n = len(needle)
    for i in range(len(ids) - n + 1):
        if n and tuple(ids[i:i + n]) == tuple(needle):
            return i
    return -1


def reasoning_length(backend: Backend, ids: Sequence[int]) -> int:
    """Tokens before the reasoning section's close marker (all non-stop ids when it never closes)."""
    close = backend.encode(backend.chat_format.reasoning_close)  # type: ignore[attr-defined]
    pos = find_ids(ids, close)
    if pos >= 0:
        return pos
    stops = set(getattr(backend, "stop_ids", ()))
    n = len(ids)
    while n and ids[n - 1] in stops:
        n -= 1
    return n


def verify_completions(verifier: Any, pairs: Sequence[tuple[Task, Completion]], progress: bool = False) -> list[str]:
    """Labels of completions: code is extracted from the *answer* (after the reasoning section) only."""
    from hackwatch.verify import extract_code

    verdicts = verifier.verify_many([(t, extract_code(c.final)) for t, c in pairs], progress=progress)
    return [v.label for v in verdicts]


def generate_traces(backend: Backend, tasks: Sequence[Task], verifier: Any, *, n: int, temperature: float,
                    max_new_tokens: int, seed: int = 0, rate_samples: int = 0, batch_size: int = 16,
                    progress: bool = False) -> TraceSet:
    """Sample every task ``n`` times with reasoning, verify, keep the traces whose answer exploited.

    ``π̂_D(x)`` is estimated from the ``n`` samples plus ``rate_samples`` extra ones (whose traces are
    not kept). Samples labelled ``error`` (the sandbox broke) count neither way.
    """
    from hackwatch.models import SampleRequest

    if n < 1:
        raise ValueError(f"generate_traces: n must be >= 1, got {n}")
    by_id = {t.id: t for t in tasks}
    reqs = [SampleRequest(t.prompt, n=n + rate_samples, key=t.id) for t in tasks]
    comps = backend.sample(reqs, temperature=temperature, max_new_tokens=max_new_tokens, seed=seed,
                           batch_size=batch_size, progress=progress)
    labels = verify_completions(verifier, [(by_id[c.key], c) for c in comps], progress)
    counts: dict[str, Counter[str]] = {t.id: Counter() for t in tasks}
    traces: list[Trace] = []
    for c, label in zip(comps, labels, strict=True):
        task = by_id[c.key]
        counts[task.id][label] += 1
        if label != "exploit" or c.index >= n:
            continue
        ids = tuple(c.generated_ids)
        traces.append(Trace(task.id, task.exploit_type, f"{task.id}/t{c.index}", ids, tuple(c.token_logprobs),
                            reasoning_length(backend, ids), c.text, label, c.temperature, seed))
    task_counts = {t: (cnt["exploit"], sum(v for k, v in cnt.items() if k != "error")) for t, cnt in counts.items()}
    missing = [t.id for t in tasks if not any(tr.task_id == t.id for tr in traces)]
    if missing:
        log.warning("%d of %d tasks have no exploit-successful donor trace: %s", len(missing), len(tasks),
                    ", ".join(missing[:10]) + (" ..." if len(missing) > 10 else ""))
    return TraceSet(traces, task_counts, counts, missing, str(backend.model_id), float(temperature), seed,
                    {"n": n, "rate_samples": rate_samples, "max_new_tokens": max_new_tokens})


def prefix_rates(backend: Backend, tasks: Sequence[Task], verifier: Any, prefixes: Sequence[tuple[str, str,
                 tuple[int, ...]]], *, attempts: int, temperature: float, max_new_tokens: int, seed: int = 0,
                 batch_size: int = 16, progress: bool = False) -> dict[str, tuple[int, int]]:
    """``â_D(x,z)`` counts: for each ``(prefix_id, task_id, prefix_ids)``, (exploits, valid continuations).

    The donor is continued ``attempts`` times from each prefix with fresh seeds (keys are prefix ids).
    """
    from hackwatch.models import SampleRequest

    by_id = {t.id: t for t in tasks}
    reqs = [SampleRequest(by_id[tid].prompt, tuple(ids), n=attempts, key=pid) for pid, tid, ids in prefixes]
    comps = backend.sample(reqs, temperature=temperature, max_new_tokens=max_new_tokens, seed=seed,
                           batch_size=batch_size, progress=progress)
    task_of = {pid: tid for pid, tid, _ in prefixes}
    labels = verify_completions(verifier, [(by_id[task_of[c.key]], c) for c in comps], progress)
    out: dict[str, tuple[int, int]] = {pid: (0, 0) for pid, _, _ in prefixes}
    for c, label in zip(comps, labels, strict=True):
        if label == "error":
            continue
        k, m = out[c.key]
        out[c.key] = (k + (label == "exploit"), m + 1)
    return out
