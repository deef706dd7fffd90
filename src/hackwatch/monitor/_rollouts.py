"""The rollout table: one row per RL completion, with readers that validate and name the bad place.

Columns (pandas): ``step`` (int), ``prompt_id`` (str), ``group_id`` (str: the GRPO group, i.e. the
rollouts of one prompt at one step), ``subset`` (str: context tag), ``reward`` (float), any reward
components (extra float columns, named by the caller), ``completion`` (str), ``length`` (int, tokens),
and the optional ``entropy`` (float, mean token entropy) and ``ran`` (bool: compiled/ran).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hackwatch._files import iter_jsonl

REQUIRED = ("step", "prompt_id", "group_id", "subset", "reward", "completion", "length")
OPTIONAL = ("entropy", "ran")
COLUMNS = REQUIRED + OPTIONAL
GROUP_KEY = ["step", "subset", "group_id"]
"""How ``group_table`` keys a GRPO group (a group_id split over subsets counts once per subset)."""


class RolloutTableError(ValueError):
    """A rollout file or table does not have the expected columns/types (the message says where)."""


def _check_value(col: str, value: Any, where: str) -> Any:
    if col in ("step", "length"):
        if isinstance(value, bool) or not isinstance(value, int | float) or not float(value).is_integer():
            raise RolloutTableError(f"{where}: column '{col}' must be an integer, got {value!r}; fix the value")
        return int(value)
    if col in ("reward", "entropy"):
        if value is None and col == "entropy":
            return math.nan
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise RolloutTableError(f"{where}: column '{col}' must be a number, got {value!r}; fix the value")
        return float(value)
    if col == "ran":
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        if not isinstance(value, bool):
            raise RolloutTableError(f"{where}: column 'ran' must be true/false (or null), got {value!r}")
        return value
    if col in ("prompt_id", "group_id", "subset"):
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise RolloutTableError(f"{where}: column '{col}' must be a string, got {value!r}")
        return str(value)
    if not isinstance(value, str):
        raise RolloutTableError(f"{where}: column '{col}' must be a string, got {value!r}")
    return value


def validate_rollouts(df: pd.DataFrame, *, components: Sequence[str] = (), source: str = "<table>",
                      subset_col: str = "subset") -> pd.DataFrame:
    """Check and normalise a rollout DataFrame (renaming ``subset_col`` to ``subset``); returns a copy.

    Refuses NaN rewards and GRPO groups (``step``, ``subset``, ``group_id``, as ``group_table`` groups
    them) of fewer than two rollouts.
    """
    return _refuse_lone(_normalise(df, components=components, source=source, subset_col=subset_col), source)


def _normalise(df: pd.DataFrame, *, components: Sequence[str], source: str, subset_col: str) -> pd.DataFrame:
    """``validate_rollouts`` without the group-of-one check: columns present, values typed, 0-based index."""
    df = df.copy()
    if subset_col != "subset":
        if subset_col not in df.columns:
            raise RolloutTableError(f"{source}: subset column '{subset_col}' not found; columns are {list(df.columns)}")
        df = df.drop(columns=[c for c in ["subset"] if c in df.columns]).rename(columns={subset_col: "subset"})
    if "subset" not in df.columns:
        df["subset"] = "all"
    if "group_id" not in df.columns and {"step", "prompt_id"} <= set(df.columns):
        df["group_id"] = df["step"].astype(str) + ":" + df["prompt_id"].astype(str)
    if "length" not in df.columns and "completion" in df.columns:
        df["length"] = df["completion"].astype(str).str.split().str.len()
    missing = [c for c in (*REQUIRED, *components) if c not in df.columns]
    if missing:
        raise RolloutTableError(f"{source}: missing column(s) {missing}; a rollout table needs {list(REQUIRED)} "
                                f"plus the reward components {list(components)}")
    for col in (*REQUIRED, *components, *(c for c in OPTIONAL if c in df.columns)):
        rule = col if col in COLUMNS else "reward"
        df[col] = [_check_value(rule, v, f"{source}: row {i + 1}") for i, v in enumerate(df[col].tolist())]
    df["step"] = df["step"].astype("int64")
    df["length"] = df["length"].astype("int64")
    if df["reward"].isna().any():
        row = int(df["reward"].isna().to_numpy().argmax()) + 1
        raise RolloutTableError(f"{source}: row {row}: column 'reward' is NaN; drop unscored rollouts first")
    return df.reset_index(drop=True)


def _refuse_lone(df: pd.DataFrame, source: str) -> pd.DataFrame:
    """Raise on the first GRPO group of one rollout (naming its row); ``df`` has a 0-based RangeIndex."""
    # the key group_table uses: a group_id split over subsets is counted per subset
    lone = df.groupby(GROUP_KEY, sort=False)["reward"].transform("size") < 2
    if lone.any():
        i = int(lone.to_numpy().argmax())
        raise RolloutTableError(f"{source}: row {i + 1}: step {df['step'][i]}, group '{df['group_id'][i]}' has one "
                                f"rollout; a GRPO group needs >= 2 rollouts of one prompt (one alone has no spread "
                                f"and reads as all-fail or all-pass) — give a prompt's rollouts one group_id, or "
                                f"drop the group ({int(lone.sum())} such row(s))")
    return df


def read_rollouts(path: str | Path, *, components: Sequence[str] = (), subset_col: str = "subset",
                  num_generations: int | None = None) -> pd.DataFrame:
    """Read a JSONL or Parquet rollout file and validate it; errors name the file, line and column.

    A JSONL file may be live (appended to by a running trainer) or left by a crash mid-append, so
    what a cut write leaves is read around, with a ``RuntimeWarning`` naming the file and line: an
    unfinished last line is left out, and a GRPO group cut short is dropped whole — read as a
    smaller group it would bias the step's group statistics (zero-variance share, spread). A group
    is short when it has fewer rollouts than ``num_generations`` (when given, for any file) or, for
    JSONL, than its step's usual group size (the most common one, ties to the larger; a step of one
    group is compared with the whole file's). A group larger than ``num_generations`` is an error.
    """
    path = Path(path)
    if not path.is_file():
        raise RolloutTableError(f"{path}: no such file; pass a .jsonl or .parquet rollout table")
    if num_generations is not None and (isinstance(num_generations, bool) or not isinstance(num_generations, int)
                                        or num_generations < 2):
        raise RolloutTableError(f"num_generations={num_generations!r}: expected an integer >= 2 (rollouts per "
                                "prompt), or None to compare each group with its step's usual size")
    if path.suffix.lower() == ".parquet":
        try:
            df = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several types for corrupt files
            raise RolloutTableError(f"{path}: not a readable Parquet file ({exc})") from exc
        if df.empty:
            raise RolloutTableError(f"{path}: no rollouts in file (a Parquet table of 0 rows); expected one row per "
                                    "completion")
        df = _normalise(df, components=components, source=str(path), subset_col=subset_col)
        keep = _short_groups_kept(df, [f"row {i + 1}" for i in range(len(df))], str(path), num_generations,
                                  usual=False)
        return _refuse_lone(df[keep].reset_index(drop=True), str(path))
    numbered = _read_jsonl_live(path)
    linenos = [n for n, _ in numbered]
    if not numbered:
        raise RolloutTableError(f"{path}: no rollouts in file; expected one JSON object per line")
    # validate per record so that the message carries the line number
    df = pd.DataFrame.from_records([rec for _, rec in numbered])
    with _rows_as_lines(linenos):
        df = _normalise(df, components=components, source=str(path), subset_col=subset_col)
    keep = _short_groups_kept(df, [f"line {n}" for n in linenos], str(path), num_generations, usual=True)
    with _rows_as_lines([n for n, k in zip(linenos, keep, strict=True) if k]):
        return _refuse_lone(df[keep].reset_index(drop=True), str(path))


def _read_jsonl_live(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """Every ``(line, object)`` of a JSONL file, leaving out (with a warning) a last line a write left unfinished.

    Unfinished means no newline at the end and not decodable (invalid JSON, or UTF-8 cut mid-character):
    no cut of a JSON object parses. A whole value that is not an object (``42``, ``[1]``) stays an error.
    """
    torn = _torn_last_line(path)
    numbered: list[tuple[int, dict[str, Any]]] = []
    try:
        numbered.extend(iter_jsonl(path, RolloutTableError))
    except RolloutTableError as exc:
        if torn is None or not str(exc).startswith((f"{path}:{torn}: not valid JSON", f"{path}:{torn}: not UTF-8")):
            raise
        warnings.warn(f"{path}: line {torn}: unfinished last line (a write still going on, or cut by a crash) "
                      "left out; the next append cuts it off", RuntimeWarning, stacklevel=3)
    return numbered


def _torn_last_line(path: Path) -> int | None:
    """The number of the last line when the file does not end with a newline (else None, after one byte read)."""
    with path.open("rb") as fh:
        size = fh.seek(0, os.SEEK_END)
        if size == 0 or (fh.seek(size - 1), fh.read(1))[1] == b"\n":
            return None
        fh.seek(0)
        return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b"")) + 1


@contextmanager
def _rows_as_lines(linenos: Sequence[int]) -> Iterator[None]:
    """Rewrite a ``RolloutTableError``'s ``row N`` (0-based table position + 1) into the file's ``line L``."""
    try:
        yield
    except RolloutTableError as exc:
        found = re.search(r": row (\d+):", str(exc))
        if found is None:
            raise
        line = linenos[int(found.group(1)) - 1]
        raise RolloutTableError(str(exc).replace(found.group(0), f": line {line}:", 1)) from exc


def _usual_size(sizes: pd.Series) -> int:
    """The most common group size, ties to the larger."""
    counts = sizes.value_counts()
    return int(counts[counts == counts.max()].index.max())


def _short_groups_kept(df: pd.DataFrame, where: list[str], source: str, num_generations: int | None, *,
                       usual: bool) -> np.ndarray:
    """Which rows to keep: GRPO groups with fewer rollouts than expected are dropped, one warning each
    (``where[i]`` names row ``i``).

    Expected is ``num_generations`` when given, else (``usual``) the step's usual group size. A
    group_id spread over several subsets of a step is not what a cut write leaves: left to the
    group-of-one check.
    """
    if df.empty or (num_generations is None and not usual):
        return np.ones(len(df), dtype=bool)
    groups = df.groupby(GROUP_KEY, sort=False)
    size, first = groups["reward"].transform("size"), groups.cumcount() == 0
    if num_generations is not None:
        over = size > num_generations
        if over.any():
            i = int(over.to_numpy().argmax())
            raise RolloutTableError(f"{source}: {where[i]}: step {df['step'][i]}, group '{df['group_id'][i]}' has "
                                    f"{int(size[i])} rollouts, more than num_generations={num_generations}; pass the "
                                    "run's num_generations, or give each step's rollouts of a prompt one group_id")
        expected = pd.Series(num_generations, index=df.index)
    else:
        sizes = size[first]
        overall = _usual_size(sizes)
        per_step = sizes.groupby(df["step"][first]).agg(lambda s: _usual_size(s) if len(s) > 1 else overall)
        expected = df["step"].map(per_step)
    spread = df.groupby(["step", "group_id"], sort=False)["subset"].transform("nunique") > 1
    short = (size < expected) & ~spread
    basis = (f"num_generations={num_generations}" if num_generations is not None
             else "the step's usual group size; pass num_generations for the run's")
    for i in short[short & first].index:
        warnings.warn(f"{source}: {where[i]}: step {df['step'][i]}, group '{df['group_id'][i]}' has {int(size[i])} "
                      f"of {int(expected[i])} rollouts ({basis}) — cut short (a crash during an append, or a batch still "
                      "being written); dropped, as a smaller group it would bias the step's group statistics",
                      RuntimeWarning, stacklevel=3)
    keep = ~short.to_numpy()
    if not keep.any():
        raise RolloutTableError(f"{source}: no rollouts left: every GRPO group is smaller than expected "
                                f"({int(first.sum())} groups, each dropped as cut short); check num_generations, or "
                                "wait until a whole batch is written")
    return keep


PARQUET_APPEND_WARN_ROWS = 200_000
"""Appending to a Parquet table this long warns once (per file) that JSONL appends in constant time."""
_warned: set[str] = set()


def write_rollouts(df: pd.DataFrame, path: str | Path, *, append: bool = False) -> None:
    """Write (or append) rows as JSONL or Parquet.

    Writing (``append=False``) goes to a temporary file that is renamed over ``path``, so a reader
    sees the old file or the new one. Appending to JSONL is a true append, so a long run costs
    O(batch) per step: the batch is encoded whole, written with one ``O_APPEND`` write and fsynced
    before the call returns (a reader that opens the file during that write may see part of the
    batch). A process killed in the middle of that write can leave the batch's first lines only; the
    next append cuts off a last line left unfinished (and adds the newline a whole last line lacks),
    while whole lines of the cut batch stay: ``read_rollouts`` drops the GRPO group the cut left
    short (and a torn last line, while no append has mended it yet), with a warning naming the line.

    A Parquet file cannot be appended in place, so appending to ``.parquet`` rewrites the file
    (O(rows so far) per batch, atomic by rename): fine for thousands of rollouts per run, quadratic
    over a long one — past :data:`PARQUET_APPEND_WARN_ROWS` rows it warns once; pass a ``.jsonl``
    path for long runs.
    """
    path = Path(path)
    parquet = path.suffix.lower() == ".parquet"
    if append and path.exists() and not parquet:
        _append_jsonl(df, path)
        return
    if append and path.exists():
        old = pd.read_parquet(path)
        if len(old) >= PARQUET_APPEND_WARN_ROWS and str(path) not in _warned:
            _warned.add(str(path))
            warnings.warn(f"{path}: appending to a Parquet rollout table of {len(old)} rows rewrites it every "
                          "batch (quadratic over a run); write rollouts to a .jsonl file for long runs",
                          RuntimeWarning, stacklevel=2)
        df = pd.concat([old, df], ignore_index=True)
    tmp = path.with_name(path.name + ".tmp")
    if path.suffix.lower() == ".parquet":
        df.to_parquet(tmp, index=False)
    elif df.empty:
        tmp.write_text("", encoding="utf-8")
    else:
        df.to_json(tmp, orient="records", lines=True, force_ascii=False)
    tmp.replace(path)


def _append_jsonl(df: pd.DataFrame, path: Path) -> None:
    """Append ``df`` to a JSONL file in one write, fsynced, after mending the file's last line."""
    if df.empty:
        return
    data = df.to_json(orient="records", lines=True, force_ascii=False).encode("utf-8")
    if not data.endswith(b"\n"):
        data += b"\n"
    fd = os.open(path, os.O_RDWR | os.O_APPEND)
    try:
        data = _mend_last_line(fd) + data
        view = memoryview(data)
        while view:  # os.write may write less than asked (e.g. on a signal); finish the batch
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)


def _mend_last_line(fd: int, chunk: int = 1 << 16) -> bytes:
    """Make the file end at a line break before an append; returns what to write first.

    A last line without its newline that is a whole JSON value (a file written without a final
    newline) gets its newline; one that is not (a write cut short by a crash) is truncated away.
    """
    end = os.lseek(fd, 0, os.SEEK_END)
    if end == 0 or os.pread(fd, 1, end - 1) == b"\n":
        return b""
    pos, tail = end, b""
    while pos > 0 and b"\n" not in tail:
        start = max(0, pos - chunk)
        tail = os.pread(fd, pos - start, start) + tail
        pos = start
    cut = tail.rfind(b"\n") + 1  # 0 when the file is one unfinished line
    try:
        json.loads(tail[cut:])
        return b"\n"
    except ValueError:  # not JSON, or not UTF-8: the torn end of an interrupted write
        os.ftruncate(fd, pos + cut)
        return b""


def _digest(prompt: str) -> str:
    return "p" + hashlib.sha1(prompt.encode("utf-8")).hexdigest()[:10]


def rollouts_from_trl_batch(
    *,
    prompts: Sequence[Any],
    completions: Sequence[Any],
    rewards: Sequence[float],
    step: int,
    num_generations: int,
    completion_ids: Sequence[Sequence[int]] | None = None,
    kwargs: Mapping[str, Sequence[Any]] | None = None,
    components: Mapping[str, Sequence[float]] | None = None,
    subset_col: str = "subset",
    prompt_id_col: str = "prompt_id",
    ran: Sequence[bool | None] | None = None,
) -> pd.DataFrame:
    """Turn what a TRL GRPO reward function receives (one generation batch) into rollout rows.

    GRPO lays a batch out as consecutive runs of ``num_generations`` completions per prompt, so
    row ``i`` belongs to group ``i // num_generations``. Conversational prompts/completions
    (lists of messages) are flattened to the last message's content.
    """
    n = len(prompts)
    if len(completions) != n or len(rewards) != n:
        raise RolloutTableError(f"TRL batch: {n} prompts, {len(completions)} completions, {len(rewards)} rewards; "
                                "expected one reward per prompt-completion pair")
    if num_generations < 1 or n % num_generations:
        raise RolloutTableError(f"TRL batch: {n} rows is not a multiple of num_generations={num_generations}")
    kwargs = dict(kwargs or {})

    def text(x: Any) -> str:
        if isinstance(x, list):
            return str(x[-1].get("content", "")) if x else ""
        return str(x)

    subsets = kwargs.get(subset_col)
    pids = kwargs.get(prompt_id_col)
    rows: dict[str, list[Any]] = {
        "step": [int(step)] * n,
        "prompt_id": [str(pids[i]) if pids is not None else _digest(text(prompts[i]))
                      for i in range(n)],
        "group_id": [f"{step}:{i // num_generations}" for i in range(n)],
        "subset": [str(subsets[i]) if subsets is not None else "all" for i in range(n)],
        "reward": [float(r) for r in rewards],
        "completion": [text(c) for c in completions],
        "length": [len(completion_ids[i]) if completion_ids is not None else len(text(completions[i]).split())
                   for i in range(n)],
    }
    for name, values in (components or {}).items():
        rows[name] = [float(v) for v in values]
    if ran is not None:
        rows["ran"] = list(ran)
    return pd.DataFrame(rows)


def rollouts_from_trl_completions(table: pd.DataFrame, *, reward_col: str, num_generations: int,
                                  subset_of: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Convert TRL's completions table (``log_completions=True``: columns ``step, prompt, completion,
    <reward function names>, advantage``) into rollout rows.

    Rows of one step come in GRPO order (runs of ``num_generations`` per prompt); ``subset_of`` maps
    a prompt's text to its context tag (default ``all``).
    """
    missing = [c for c in ("step", "prompt", "completion", reward_col) if c not in table.columns]
    if missing:
        raise RolloutTableError(f"TRL completions table: missing column(s) {missing}; columns are "
                                f"{list(table.columns)} (pass reward_col= one of the reward function names)")
    frames = []
    for step, part in table.groupby("step", sort=True):
        kwargs = {"subset": [(subset_of or {}).get(str(p), "all") for p in part["prompt"]]}
        frames.append(rollouts_from_trl_batch(prompts=part["prompt"].tolist(), completions=part["completion"].tolist(),
                                              rewards=part[reward_col].astype(float).tolist(), step=int(step),
                                              num_generations=num_generations, kwargs=kwargs))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(REQUIRED))
