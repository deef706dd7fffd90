"""The run's inputs: the selected tasks and the prefix banks (donor and proposals), checked with errors naming
file and row.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
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
DONOR_PROPOSAL = "donor"
"""``proposal`` of the ``[donor].bank`` prefixes (its estimates keep the method names ``is``, ``lower_bound``);
equal to :data:`hackwatch.estimate.DONOR_PROPOSAL`, spelled here so that loading a run's inputs does not import
the estimate stage (scipy)."""


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


@dataclass(frozen=True)
class BankSpec:
    """One prefix bank of the run: the ``[donor]`` bank or a ``[[proposals]]`` bank, and where it is configured."""

    proposal: str
    """``donor`` for ``[donor].bank``, else the proposal's name (which qualifies its prefix and trace ids)."""
    key: str
    """Config section for error messages: ``[donor]`` or ``[[proposals]][i]``."""
    bank: str
    model: str
    prefix_lengths: tuple[int, ...]
    max_prefixes_per_task: int

    def qualify(self, id_: str) -> str:
        """A prefix or trace id made unique across banks: unchanged for the donor, ``<name>:<id>`` otherwise."""
        return id_ if self.proposal == DONOR_PROPOSAL else f"{self.proposal}:{id_}"


def bank_specs(config: RunConfig) -> list[BankSpec]:
    """The run's banks: the donor bank (if set) first, then every ``[[proposals]]`` bank in config order."""
    d = config.donor
    specs = [BankSpec(DONOR_PROPOSAL, "[donor]", d.bank, d.model, d.prefix_lengths, d.max_prefixes_per_task)] \
        if d.bank else []
    specs += [BankSpec(p.name, f"[[proposals]][{i}]", p.bank, p.model, p.prefix_lengths, p.max_prefixes_per_task)
              for i, p in enumerate(config.proposals)]
    return specs


def load_bank(config: RunConfig, tasks: list[Task]) -> pd.DataFrame:
    """Every bank of the run (``[donor]`` and ``[[proposals]]``) restricted to the run's tasks, as rows
    of the store's ``prefixes`` table with their ``proposal`` column.

    Prefix and trace ids of a proposal are qualified as ``<name>:<id>``, so banks that reuse ids stay
    apart; a qualified id that still collides (a donor id spelled ``<name>:<id>``) is an error.
    """
    from hackwatch.store import columns

    frames = [_load_one(config, spec, tasks) for spec in bank_specs(config)]
    if not frames:
        return pd.DataFrame(columns=columns("prefixes"))
    frame = pd.concat(frames, ignore_index=True)
    dup = frame["prefix_id"].duplicated(keep="first")
    if dup.any():
        pid = frame.loc[dup, "prefix_id"].iloc[0]
        owners = frame.loc[frame["prefix_id"] == pid, "proposal"].tolist()
        raise ConfigError(f"{config.origin}: prefix id {pid!r} is used by both {owners[0]!r} and {owners[1]!r} "
                          "after qualifying proposal ids as <name>:<prefix_id>; rename the donor bank's prefix")
    return frame


def _load_one(config: RunConfig, spec: BankSpec, tasks: list[Task]) -> pd.DataFrame:
    """One bank restricted to the run's tasks (see :func:`load_bank` for the checks).

    A bank with a ``schema_version`` column (written by ``hackwatch donor``) is checked in full by
    :func:`hackwatch.donor.validate_bank` (every column, types, rates against their counts, prefixes
    that are heads of their traces, one task per trace); a minimal bank (the columns of
    ``BANK_REQUIRED`` and a token-id column) gets the lighter checks below. Either way rows whose
    ``prefix_tokens`` disagrees with the number of stored token ids are an error: the scored prefix
    must be exactly the sampled one. Errors name the file, the 0-based data row and the field
    (``file:line`` for bad JSON).
    """
    from hackwatch.store import columns

    path = config.resolve(spec.bank)
    if not path.is_file():
        raise ConfigError(f"{config.origin}: {spec.key}.bank: {path} does not exist")
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
    lengths = set(spec.prefix_lengths)
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
        cap = spec.max_prefixes_per_task
        if cap and per_key.get((task_id, n), 0) >= cap:
            continue
        per_key[(task_id, n)] = per_key.get((task_id, n), 0) + 1
        trace = str(row["trace_id"]) if "trace_id" in raw.columns and pd.notna(row["trace_id"]) else pid
        out.append({
            "prefix_id": spec.qualify(pid), "task_id": task_id, "trace_id": spec.qualify(trace),
            "prefix_tokens": n, "prefix_ids": ids,
            "text": str(row["text"]) if "text" in raw.columns and pd.notna(row["text"]) else "",
            "source": str(row["source"]) if "source" in raw.columns and pd.notna(row["source"]) else "donor",
            "donor_rate_task": _opt_float(row, "donor_rate_task"),
            "donor_rate_prefix": _opt_float(row, "donor_rate_prefix"),
            "logp_donor_bank": _opt_float(row, "logp_donor"),
            "proposal": spec.proposal,
        })
    if not out:
        raise ConfigError(f"{path}: no prefix of the run's tasks (after {spec.key}.prefix_lengths / "
                          "max_prefixes_per_task); check the bank's task ids against [tasks]")
    frame = pd.DataFrame(out, columns=columns("prefixes"))
    if not spec.model and frame["logp_donor_bank"].isna().any():
        bad = frame.loc[frame["logp_donor_bank"].isna(), "prefix_id"].iloc[0]
        raise ConfigError(f"{path}: prefix {bad!r} has no logp_donor and {spec.key}.model is not set; "
                          f"set {spec.key}.model to score the proposal log-probs, or add a logp_donor column")
    return frame


def tasks_frame(tasks: list[Task]) -> pd.DataFrame:
    """Rows of the store's ``tasks`` table."""
    return pd.DataFrame([{
        "task_id": t.id, "exploit_type": t.exploit_type, "split": t.split, "source": t.source,
        "function_name": t.function_name, "prompt": t.prompt, "n_secure_tests": len(t.secure_tests),
        "n_insecure_tests": len(t.effective_insecure_tests),
    } for t in tasks])
