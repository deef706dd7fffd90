"""The run's inputs: the selected tasks and the prefix bank, checked with errors naming file and row."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from hackwatch._files import iter_jsonl
from hackwatch.runs._config import ConfigError, RunConfig
from hackwatch.tasks import Task

BANK_REQUIRED = ("task_id", "prefix_id", "prefix_tokens")
"""Columns a prefix bank must have (plus one token-id column, see ``BANK_ID_COLUMNS``)."""
BANK_ID_COLUMNS = ("prefix_ids", "prefix_token_ids", "token_ids")
"""Accepted names of the column holding the exact prefix token ids (first present wins)."""


def select_tasks(config: RunConfig) -> list[Task]:
    """Load ``[tasks].source`` and apply the split / exploit-type / id / per-type limit filters."""
    from hackwatch.tasks import load_tasks

    sec = config.tasks
    source = sec.source
    if not source.startswith("builtin"):
        source = str(config.resolve(source))
    try:
        tasks = list(load_tasks(source))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{config.origin}: [tasks].source: cannot load {source!r}: {exc}") from None
    if sec.split:
        tasks = [t for t in tasks if t.split == sec.split]
    if sec.exploit_types:
        tasks = [t for t in tasks if t.exploit_type in sec.exploit_types]
    if sec.ids:
        known = {t.id for t in tasks}
        missing = [i for i in sec.ids if i not in known]
        if missing:
            raise ConfigError(f"{config.origin}: [tasks].ids: task {missing[0]!r} is not in {source!r} "
                              "after the split/type filters")
        tasks = [t for t in tasks if t.id in sec.ids]
    if sec.limit:
        per_type: dict[str, int] = {}
        kept = []
        for t in tasks:
            if per_type.get(t.exploit_type, 0) < sec.limit:
                kept.append(t)
                per_type[t.exploit_type] = per_type.get(t.exploit_type, 0) + 1
        tasks = kept
    if not tasks:
        raise ConfigError(f"{config.origin}: [tasks]: no task left after the filters; loosen split/exploit_types/ids")
    return tasks


def _read_table(path: Path) -> pd.DataFrame:
    if path.suffix == ".parquet":
        try:
            return pd.read_parquet(path)
        except Exception as exc:  # noqa: BLE001 - pyarrow raises many types for a corrupt file
            raise ConfigError(f"{path}: cannot read the prefix bank as Parquet ({exc})") from None
    if path.suffix not in (".jsonl", ".json"):
        raise ConfigError(f"{path}: prefix bank must be .parquet or .jsonl")
    return pd.DataFrame([row for _, row in iter_jsonl(path, ConfigError)])


def _ids(value: Any, where: str) -> list[int]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise ConfigError(f"{where}: expected a list of token ids, got text {value[:40]!r}") from None
    try:
        ids = [int(v) for v in value]
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: expected a list of token ids, got {value!r:.60}") from None
    return ids


def _opt_float(row: pd.Series, col: str) -> float | None:
    if col not in row.index or row[col] is None or pd.isna(row[col]):
        return None
    return float(row[col])


def _validated(raw: pd.DataFrame, path: Path) -> pd.DataFrame:
    """A bank written by :mod:`hackwatch.donor` (it has ``schema_version``), checked by its own validator."""
    from hackwatch.donor import BankError, validate_bank

    try:
        return validate_bank(raw, source=str(path))
    except BankError as exc:
        raise ConfigError(str(exc)) from None


def load_bank(config: RunConfig, tasks: list[Task]) -> pd.DataFrame:
    """The prefix bank restricted to the run's tasks, as rows of the store's ``prefixes`` table.

    A bank with a ``schema_version`` column (written by ``hackwatch donor``) is checked in full by
    :func:`hackwatch.donor.validate_bank` (every column, types, rates against their counts, prefixes
    that are heads of their traces, one task per trace); a minimal bank (the columns of
    ``BANK_REQUIRED`` and a token-id column) gets the lighter checks below. Either way rows whose
    ``prefix_tokens`` disagrees with the number of stored token ids are an error: the scored prefix
    must be exactly the sampled one. Errors name the file, the 0-based data row and the field
    (``file:line`` for bad JSON).
    """
    from hackwatch.store import columns

    if not config.donor.bank:
        return pd.DataFrame(columns=columns("prefixes"))
    path = config.resolve(config.donor.bank)
    if not path.is_file():
        raise ConfigError(f"{config.origin}: [donor].bank: {path} does not exist")
    raw = _read_table(path)
    if "schema_version" in raw.columns:
        raw = _validated(raw, path)
    missing = [c for c in BANK_REQUIRED if c not in raw.columns]
    id_col = next((c for c in BANK_ID_COLUMNS if c in raw.columns), None)
    if missing or id_col is None:
        need = missing or [" or ".join(BANK_ID_COLUMNS)]
        raise ConfigError(f"{path}: prefix bank lacks column {need[0]!r}; expected columns "
                          f"{', '.join(BANK_REQUIRED)} and a token-id column ({', '.join(BANK_ID_COLUMNS)})")
    wanted = {t.id for t in tasks}
    lengths = set(config.donor.prefix_lengths)
    out: list[dict[str, Any]] = []
    per_key: dict[tuple[str, int], int] = {}
    seen: set[str] = set()
    for i, row in raw.iterrows():
        where = f"{path}: row {int(i)}"  # type: ignore[call-overload]  # 0-based data row, as hackwatch.donor
        task_id = str(row["task_id"])
        pid = str(row["prefix_id"])
        if pid in seen:
            raise ConfigError(f"{where}, column 'prefix_id': duplicate prefix id {pid!r}; ids must be unique")
        seen.add(pid)
        if task_id not in wanted:
            continue
        ids = _ids(row[id_col], f"{where}, column {id_col!r}")
        n = int(row["prefix_tokens"])
        if n != len(ids) or n <= 0:
            raise ConfigError(f"{where}, column 'prefix_tokens': says {n} but {id_col} holds {len(ids)} ids; "
                              "regenerate the bank (lengths are counted in tokens)")
        if lengths and n not in lengths:
            continue
        cap = config.donor.max_prefixes_per_task
        if cap and per_key.get((task_id, n), 0) >= cap:
            continue
        per_key[(task_id, n)] = per_key.get((task_id, n), 0) + 1
        out.append({
            "prefix_id": pid, "task_id": task_id,
            "trace_id": str(row["trace_id"]) if "trace_id" in raw.columns and pd.notna(row["trace_id"]) else pid,
            "prefix_tokens": n, "prefix_ids": ids,
            "text": str(row["text"]) if "text" in raw.columns and pd.notna(row["text"]) else "",
            "source": str(row["source"]) if "source" in raw.columns and pd.notna(row["source"]) else "donor",
            "donor_rate_task": _opt_float(row, "donor_rate_task"),
            "donor_rate_prefix": _opt_float(row, "donor_rate_prefix"),
            "logp_donor_bank": _opt_float(row, "logp_donor"),
        })
    if not out:
        raise ConfigError(f"{path}: no prefix of the run's tasks (after [donor].prefix_lengths / "
                          "max_prefixes_per_task); check the bank's task ids against [tasks]")
    frame = pd.DataFrame(out, columns=columns("prefixes"))
    if not config.donor.model and frame["logp_donor_bank"].isna().any():
        bad = frame.loc[frame["logp_donor_bank"].isna(), "prefix_id"].iloc[0]
        raise ConfigError(f"{path}: prefix {bad!r} has no logp_donor and [donor].model is not set; "
                          "set [donor].model to score the donor log-probs, or add a logp_donor column")
    return frame


def tasks_frame(tasks: list[Task]) -> pd.DataFrame:
    """Rows of the store's ``tasks`` table."""
    return pd.DataFrame([{
        "task_id": t.id, "exploit_type": t.exploit_type, "split": t.split, "source": t.source,
        "function_name": t.function_name, "prompt": t.prompt, "n_secure_tests": len(t.secure_tests),
        "n_insecure_tests": len(t.effective_insecure_tests),
    } for t in tasks])
