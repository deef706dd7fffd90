"""Activations for stored sample rows (``hackwatch sample`` output or run-database samples).

Samples generated elsewhere (a file, a server, vLLM) get one extra forward pass over exactly their
stored ids: ``prompt_ids`` (the row's, or the prompt rendered by the model's own template and checked
against the row's ``n_prompt_tokens``), then ``prefix_ids + generated_ids``. Nothing is re-tokenised.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from hackwatch.probes._acts import Activations, make_activations
from hackwatch.probes._capture import Captured, capture_forward, reasoning_length
from hackwatch.probes._pool import CaptureSpec
from hackwatch.probes._probe import ProbeError
from hackwatch.probes._score import sample_id


def _ids(row: Mapping[str, Any], name: str, where: str, required: bool = True) -> tuple[int, ...]:
    value = row.get(name)
    if value is None:
        if required:
            raise ProbeError(f"{where}: field {name!r} is missing; expected a list of token ids "
                             "(sample rows from `hackwatch sample` have it)")
        return ()
    try:
        ids = tuple(int(t) for t in value)
    except (TypeError, ValueError) as e:
        raise ProbeError(f"{where}: field {name!r} must be a list of integer token ids ({e})") from e
    if any(isinstance(t, bool | float) for t in value) or any(t < 0 for t in ids):
        raise ProbeError(f"{where}: field {name!r} must hold non-negative integer token ids")
    return ids


def index_row(row: Mapping[str, Any], where: str, *, tasks: Mapping[str, Any], checkpoint: str | None,
              step: int | None) -> dict[str, Any]:
    """The index fields of one sample row (checkpoint/step from the row, else from the arguments)."""
    try:
        sid = sample_id(row)
    except ProbeError as e:
        raise ProbeError(f"{where}: {e}") from e
    tid = str(row.get("task_id", ""))
    task = tasks.get(tid)
    etype = row.get("exploit_type") or (task.exploit_type if task is not None else "")
    ck = row.get("checkpoint") if row.get("checkpoint") is not None else (checkpoint or row.get("model") or "")
    st = row.get("step") if row.get("step") is not None else (step if step is not None else -1)
    try:
        st = int(st)
    except (TypeError, ValueError) as e:
        raise ProbeError(f"{where}: field 'step' must be an integer training step, got {st!r}") from e
    prefix = row.get("prefix_ids")
    return {"sample_id": sid, "task_id": tid, "exploit_type": str(etype), "checkpoint": str(ck), "step": st,
            "prefix_id": str(row.get("prefix_id") or ""),
            "prefix_tokens": int(row.get("prefix_tokens", row.get("prefix_len", len(prefix or ()))) or 0),
            "sample_index": int(row.get("sample_index", row.get("attempt", 0)) or 0),
            "temperature": float(row.get("temperature") or float("nan"))}


def capture_rows(backend: Any, rows: Sequence[Mapping[str, Any]], spec: CaptureSpec, *,
                 tasks: Mapping[str, Any] | None = None, checkpoint: str | None = None, step: int | None = None,
                 source: str = "<samples>", batch_size: int = 8, progress: bool = False) -> Activations:
    """Pooled activations of stored sample rows under ``backend`` (a TransformersBackend), one forward pass each.

    Each row needs ``generated_ids`` (and ``prefix_ids`` when prefilled) and one of ``prompt_ids``,
    ``prompt``, or a ``task_id`` found in ``tasks`` (id → Task). Errors name ``source`` and the line.
    """
    tasks = tasks or {}
    index, prompts, conts, n_reasoning = [], [], [], []
    rendered: dict[str, tuple[int, ...]] = {}
    for i, row in enumerate(rows, start=1):
        where = f"{source}:{i}"
        if not isinstance(row, Mapping):
            raise ProbeError(f"{where}: expected an object with token ids, got {type(row).__name__}")
        prefix = _ids(row, "prefix_ids", where, required=False)
        gen = _ids(row, "generated_ids", where)
        declared = row.get("prefix_tokens", row.get("prefix_len"))
        if declared is not None and int(declared) != len(prefix):
            raise ProbeError(f"{where}: prefix_tokens={declared} but prefix_ids has {len(prefix)} ids; the forced "
                             "prefix's exact ids are needed (join them from the prefix bank into the row)")
        if row.get("prompt_ids") is not None:
            p_ids = _ids(row, "prompt_ids", where)
        else:
            if isinstance(row.get("prompt"), str):
                prompt = row["prompt"]
            elif str(row.get("task_id")) in tasks:
                prompt = tasks[str(row["task_id"])].prompt
            else:
                raise ProbeError(f"{where}: needs 'prompt_ids', 'prompt', or a 'task_id' found in --tasks")
            if prompt not in rendered:
                rendered[prompt] = backend.prompt_ids(prompt)
            p_ids = rendered[prompt]
            n_p = row.get("n_prompt_tokens")
            if n_p is not None and int(n_p) != len(p_ids):
                raise ProbeError(f"{where}: the prompt renders to {len(p_ids)} tokens under this model but the "
                                 f"row says n_prompt_tokens={n_p}; capture with the model (and --chat-format) "
                                 "that sampled it")
        if not prefix and not gen:
            raise ProbeError(f"{where}: no token after the prompt (prefix_ids and generated_ids are empty)")
        index.append(index_row(row, where, tasks=tasks, checkpoint=checkpoint, step=step))
        prompts.append(p_ids)
        conts.append(prefix + gen)
        n_reasoning.append(reasoning_length(backend, prefix, gen))
    if not index:
        raise ProbeError(f"{source}: no sample rows")
    cap = capture_forward(backend.model, prompts, conts, n_reasoning, spec, device=backend.device,
                          batch_size=batch_size, progress=progress)
    return to_activations(cap, pd.DataFrame(index), model=backend.model_id)


def to_activations(cap: Captured, index: pd.DataFrame, *, model: str) -> Activations:
    """An :class:`Activations` from captured arrays and one index row per sample (same order)."""
    index = index.reset_index(drop=True).copy()
    index["n_reasoning_tokens"] = cap.n_reasoning
    index["capture"] = cap.capture
    return make_activations(index, cap.arrays, model=model, layers=list(cap.spec.layers),
                            windows=list(cap.spec.windows), poolings=list(cap.spec.poolings),
                            n_states=cap.n_states)
