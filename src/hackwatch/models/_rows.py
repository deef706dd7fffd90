"""Sample and score rows: the JSONL/Parquet files ``hackwatch sample`` and ``hackwatch score`` write.

Every row keeps token ids next to text so nothing is ever re-tokenised downstream. Files are written
atomically (temp file, then rename): a failed run leaves no partial output.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from hackwatch import _files
from hackwatch.models._types import Completion, PrefixScore

SAMPLE_FORMAT = "hackwatch.sample/1"
SCORE_FORMAT = "hackwatch.score/1"


class RowsError(ValueError):
    """A row file is malformed; the message names the file, the line and the field."""


def completion_row(c: Completion, *, task_id: str, prefix_id: str, model: str) -> dict[str, Any]:
    """One sample row (``task_id`` + ``completion`` are what ``hackwatch verify --completions`` reads)."""
    return {
        "format": SAMPLE_FORMAT, "task_id": task_id, "prefix_id": prefix_id, "prefix_len": len(c.prefix_ids),
        "sample_index": c.index, "model": model, "temperature": c.temperature, "seed": c.seed,
        "completion": c.text, "reasoning": c.reasoning, "final": c.final, "finish_reason": c.finish_reason,
        "n_prompt_tokens": len(c.prompt_ids), "prefix_ids": list(c.prefix_ids),
        "generated_ids": list(c.generated_ids), "token_logprobs": list(c.token_logprobs),
        "generated_logprob": c.logprob, "n_generated_tokens": len(c.generated_ids), "exact": c.exact,
        "logprob_error_bound": c.logprob_error_bound,
    }


def score_row(s: PrefixScore, source: Mapping[str, Any], *, model: str, scored: str,
              ids: Sequence[int]) -> dict[str, Any]:
    """One score row: the input row's identifying fields plus ``logprob`` at ``temperature``."""
    keep = {k: source[k] for k in ("task_id", "prefix_id", "sample_index", "key") if k in source}
    return {"format": SCORE_FORMAT, **keep, "model": model, "temperature": s.temperature, "scored": scored,
            "n_tokens": s.n_tokens, "logprob": s.logprob, "token_logprobs": list(s.token_logprobs),
            "approx_error_bound": s.approx_error_bound, "scored_ids": list(ids)}


def read_rows(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Rows of a ``.jsonl`` or ``.parquet`` file, each a dict; one-line errors name file and line."""
    return [row for _, row in _files.read_rows_with_place(path, RowsError)]


def token_ids(row: Mapping[str, Any], field: str, where: str) -> tuple[int, ...]:
    """``row[field]`` as a tuple of non-negative ints, or a :class:`RowsError` naming ``where``."""
    value = row.get(field)
    if value is None:
        raise RowsError(f"{where}: field {field!r} is missing; expected a list of token ids")
    try:
        ids = tuple(int(t) for t in value)
    except (TypeError, ValueError) as e:
        raise RowsError(f"{where}: field {field!r} must be a list of integer token ids ({e})") from e
    if any(t < 0 for t in ids) or any(isinstance(t, bool | float) for t in value):
        raise RowsError(f"{where}: field {field!r} must hold non-negative integer token ids")
    return ids


def write_rows(rows: Iterable[Mapping[str, Any]], path: str | os.PathLike[str]) -> Path:
    """Write rows as JSONL (or Parquet for a ``.parquet`` path), atomically."""
    return _files.write_rows(rows, path)
