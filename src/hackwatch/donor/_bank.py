"""The prefix bank: one row per (trace, prefix length), its documented schema, writer and validating reader.

Token ids are the source of truth: ``prefix_ids`` are the subject-tokenizer ids that are forced into
the reasoning section, ``text`` is exactly ``decode(prefix_ids)`` (for reading only). A bank is a
``.parquet`` or ``.jsonl`` file; its provenance (settings, versions, the tasks without a successful
trace) sits beside it in ``<stem>.provenance.json`` and, for Parquet, in the file's metadata.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from hackwatch._files import atomic_write, iter_jsonl

SCHEMA_VERSION = 1
"""Version of the bank schema; bumped whenever a column changes meaning."""

SOURCES = ("donor", "other_model", "prompted", "file")
"""Where a prefix came from: the fine-tuned donor, an unrelated model, an LLM asked to write one, a user file."""

BANK_COLUMNS: dict[str, str] = {
    "schema_version": "bank schema version (int, currently 1)",
    "task_id": "task the prefix belongs to (prefixes never cross tasks)",
    "exploit_type": "exploit type of the task",
    "trace_id": "trace the prefix was cut from; nested prefixes of one trace share it",
    "prefix_id": "unique id of the prefix: '<trace_id>/<prefix_tokens>'",
    "prefix_tokens": "prefix length in subject-model tokens (== len(prefix_ids))",
    "prefix_ids": "exact token ids forced after the reasoning opening (list[int], subject tokenizer)",
    "text": "the prefix text, decoded from prefix_ids (for reading; never re-tokenised)",
    "trace_ids": "all token ids of the trace after the prompt (reasoning, close marker, answer, stop token)",
    "trace_text": "trace_ids decoded",
    "trace_reasoning_tokens": "length of the trace's reasoning section in tokens (before the close marker)",
    "source": "donor, other_model, prompted or file",
    "model": "model that produced the trace (donor directory, writer model, or the file path)",
    "logp_donor": "log D_tau(prefix | prompt) under the proposal model at `temperature` (natural log); "
                  "null when the source has no proposal density (prompted, file, re-tokenised other_model)",
    "temperature": "sampling temperature tau of the trace (and of logp_donor); null for prompted/file",
    "seed": "run seed of the trace sampling",
    "donor_rate_task": "pi_D(x): proposal's exploit rate on the task (successes / samples); null if not estimated",
    "donor_task_successes": "exploit samples behind donor_rate_task",
    "donor_task_samples": "samples behind donor_rate_task",
    "donor_rate_prefix": "a_D(x,z): proposal's exploit rate continuing from the prefix; null if not estimated "
                         "or if no continuation exploited (see donor_prefix_successes)",
    "donor_prefix_successes": "exploit continuations behind donor_rate_prefix",
    "donor_prefix_attempts": "continuations behind donor_rate_prefix (0 = not estimated)",
    "pivot": "token index (in the reasoning) where the trace first turns to the exploit; null if none found",
    "pivot_term": "lexicon term (or 'classifier') that located the pivot",
    "prefix_start": "offset the length ladder was counted from (0, or the pivot with --start-at-pivot)",
    "trace_label": "verifier label of the trace's own answer ('exploit' for kept donor traces; null for file)",
}
"""Every column of a bank row, in file order."""

_INT = ("schema_version", "prefix_tokens", "trace_reasoning_tokens", "donor_prefix_attempts")
_OPT_INT = ("seed", "donor_task_successes", "donor_task_samples", "donor_prefix_successes", "pivot", "prefix_start")
_OPT_FLOAT = ("logp_donor", "temperature", "donor_rate_task", "donor_rate_prefix")
_STR = ("task_id", "exploit_type", "trace_id", "prefix_id", "text", "source", "model")
_OPT_STR = ("trace_text", "pivot_term", "trace_label")
_IDS = ("prefix_ids", "trace_ids")


class BankError(ValueError):
    """A bank file is malformed; the message names the file, the row (0-based data row) and the field."""


def provenance_path(path: str | os.PathLike[str]) -> Path:
    """``bank.parquet`` → ``bank.provenance.json``."""
    p = Path(path)
    return p.with_name(p.stem + ".provenance.json")


def _atomic(target: Path, write: Any) -> None:
    atomic_write(target, write)


def write_bank(rows: Sequence[Mapping[str, Any]], path: str | os.PathLike[str],
               provenance: Mapping[str, Any] | None = None) -> Path:
    """Validate ``rows`` and write them (Parquet or JSONL by suffix) plus the provenance JSON, atomically."""
    target = Path(path)
    if target.suffix not in (".parquet", ".jsonl"):
        raise BankError(f"{target}: a prefix bank must end in .parquet or .jsonl")
    frame = pd.DataFrame([{c: r.get(c) for c in BANK_COLUMNS} for r in rows], columns=list(BANK_COLUMNS))
    validate_bank(frame, source=str(target))
    prov = {"format": "hackwatch.prefix_bank", "schema_version": SCHEMA_VERSION, **dict(provenance or {})}
    if target.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        # NaN -> None first: pandas 3 stores missing strings as float NaN, which Arrow cannot mix with text.
        table = pa.Table.from_pylist([_jsonable(r) for r in frame.to_dict("records")])
        table = table.replace_schema_metadata({b"hackwatch.provenance": json.dumps(prov).encode()})
        _atomic(target, lambda tmp: pq.write_table(table, tmp))
    else:
        def write_jsonl(tmp: str) -> None:
            with open(tmp, "w", encoding="utf-8") as fh:
                for rec in frame.to_dict("records"):
                    fh.write(json.dumps(_jsonable(rec), ensure_ascii=False) + "\n")
        _atomic(target, write_jsonl)
    _atomic(provenance_path(target), lambda tmp: Path(tmp).write_text(json.dumps(prov, indent=2) + "\n"))
    return target


def _jsonable(rec: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in rec.items():
        if isinstance(v, float) and math.isnan(v):
            v = None
        elif hasattr(v, "tolist"):
            v = v.tolist()
        out[k] = v
    return out


def read_bank(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read and validate a bank; a :class:`BankError` names the file, row and field of the first problem."""
    p = Path(path)
    if not p.is_file():
        raise BankError(f"{p}: no such file; expected a prefix bank (.parquet or .jsonl) from `hackwatch donor`")
    if p.suffix == ".parquet":
        try:
            frame = pd.read_parquet(p)
        except Exception as exc:  # noqa: BLE001 - pyarrow raises many types for a corrupt file
            raise BankError(f"{p}: cannot read as Parquet ({exc})") from None
    elif p.suffix == ".jsonl":
        frame = pd.DataFrame([row for _, row in iter_jsonl(p, BankError)])
    else:
        raise BankError(f"{p}: a prefix bank must end in .parquet or .jsonl")
    return validate_bank(frame, source=str(p))


def read_provenance(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The provenance JSON written beside a bank (empty dict when it is absent)."""
    prov = provenance_path(path)
    return json.loads(prov.read_text()) if prov.is_file() else {}


def _null(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _ids(v: Any, where: str) -> list[int]:
    if _null(v) or isinstance(v, str | bytes):
        raise BankError(f"{where}: expected a list of token ids, got {v!r:.60}")
    out = []
    for t in list(v):
        if isinstance(t, bool) or not float(t).is_integer() or t < 0:
            raise BankError(f"{where}: expected non-negative integer token ids, got {t!r}")
        out.append(int(t))
    return out


def validate_bank(frame: pd.DataFrame, *, source: str = "<bank>") -> pd.DataFrame:
    """Check every row against the schema and the cross-row rules; return a normalised copy.

    Rules: all columns present; ``schema_version`` known; ``prefix_tokens == len(prefix_ids) > 0``;
    ``prefix_ids`` is a prefix of ``trace_ids``; ``logp_donor <= 0``; rates in [0, 1] and consistent with
    their counts; ``source`` known; ``prefix_id`` unique; one trace never spans two tasks.
    """
    missing = [c for c in BANK_COLUMNS if c not in frame.columns]
    if missing:
        raise BankError(f"{source}: prefix bank lacks column(s) {', '.join(map(repr, missing))}; "
                        "regenerate it with `hackwatch donor traces|prompted|from-file` (see docs/donor.md)")
    records = frame[list(BANK_COLUMNS)].to_dict("records")
    trace_task: dict[str, str] = {}
    seen: set[str] = set()
    for i, r in enumerate(records):
        def where(field: str, i: int = i) -> str:
            return f"{source}: row {i}, field {field!r}"
        for c in _STR:
            if _null(r[c]) or not isinstance(r[c], str):
                raise BankError(f"{where(c)}: expected text, got {r[c]!r:.60}")
        for c in _OPT_STR:
            if not _null(r[c]) and not isinstance(r[c], str):
                raise BankError(f"{where(c)}: expected text or null, got {r[c]!r:.60}")
            r[c] = None if _null(r[c]) else r[c]
        for c in (*_INT, *_OPT_INT):
            v = r[c]
            if _null(v):
                if c in _INT:
                    raise BankError(f"{where(c)}: required integer is missing")
                r[c] = None
                continue
            if isinstance(v, bool) or not isinstance(v, int | float) or not float(v).is_integer():
                raise BankError(f"{where(c)}: expected an integer, got {v!r:.60}")
            r[c] = int(v)
        for c in _OPT_FLOAT:
            v = r[c]
            if _null(v):
                r[c] = None
                continue
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise BankError(f"{where(c)}: expected a finite number or null, got {v!r:.60}")
            r[c] = float(v)
        if r["schema_version"] != SCHEMA_VERSION:
            raise BankError(f"{where('schema_version')}: this hackwatch reads bank schema {SCHEMA_VERSION}, "
                            f"got {r['schema_version']}; regenerate the bank or upgrade hackwatch")
        r["prefix_ids"] = _ids(r["prefix_ids"], where("prefix_ids"))
        r["trace_ids"] = None if _null(r["trace_ids"]) else _ids(r["trace_ids"], where("trace_ids"))
        n = r["prefix_tokens"]
        if n <= 0 or n != len(r["prefix_ids"]):
            raise BankError(f"{where('prefix_tokens')}: says {n} but prefix_ids holds {len(r['prefix_ids'])} ids; "
                            "lengths are counted in tokens and must be > 0")
        if r["trace_ids"] is not None and r["trace_ids"][:n] != r["prefix_ids"]:
            raise BankError(f"{where('prefix_ids')}: not the first {n} ids of trace_ids; a prefix must be cut from "
                            "its own trace")
        if r["source"] not in SOURCES:
            raise BankError(f"{where('source')}: expected one of {', '.join(SOURCES)}, got {r['source']!r}")
        if r["logp_donor"] is not None and r["logp_donor"] > 1e-9:
            raise BankError(f"{where('logp_donor')}: expected a natural-log probability <= 0, got {r['logp_donor']}")
        if r["temperature"] is not None and r["temperature"] <= 0:
            raise BankError(f"{where('temperature')}: expected a temperature > 0, got {r['temperature']}")
        for rate, k, m in (("donor_rate_task", "donor_task_successes", "donor_task_samples"),
                           ("donor_rate_prefix", "donor_prefix_successes", "donor_prefix_attempts")):
            v = r[rate]
            if v is not None and not 0.0 <= v <= 1.0:
                raise BankError(f"{where(rate)}: expected a rate in [0, 1], got {v}")
            if v is not None and r[k] is not None and r[m] and abs(v - r[k] / r[m]) > 1e-9:
                raise BankError(f"{where(rate)}: {v} disagrees with {k}/{m} = {r[k]}/{r[m]}")
        if r["prefix_id"] in seen:
            raise BankError(f"{where('prefix_id')}: duplicate prefix id {r['prefix_id']!r}; ids must be unique")
        seen.add(r["prefix_id"])
        owner = trace_task.setdefault(r["trace_id"], r["task_id"])
        if owner != r["task_id"]:
            raise BankError(f"{where('task_id')}: trace {r['trace_id']!r} belongs to task {owner!r} in an earlier "
                            f"row but to {r['task_id']!r} here; a prefix must never leak into another task")
    return pd.DataFrame(records, columns=list(BANK_COLUMNS))
