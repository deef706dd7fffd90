"""Reading and writing the stage tables as JSONL or Parquet (the only I/O of the estimate stage)."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pandas as pd

from hackwatch._files import TABLE_SUFFIXES, atomic_write, iter_jsonl
from hackwatch.estimate._columns import SchemaError

SUFFIXES = TABLE_SUFFIXES


def _suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise SchemaError(f"{path}: unknown table format {suffix or '(none)'!r}; use a .jsonl or .parquet file")
    return suffix


def read_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a JSONL (one JSON object per line) or Parquet table; errors name the file and line."""
    path = Path(path)
    suffix = _suffix(path)
    if not path.is_file():
        raise SchemaError(f"{path}: no such file")
    if suffix == ".parquet":
        try:
            return pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several types for corrupt files
            raise SchemaError(f"{path}: not a readable Parquet file ({type(exc).__name__}: {exc})") from exc
    rows = [obj for _, obj in iter_jsonl(path, SchemaError)]
    if not rows:
        raise SchemaError(f"{path}: empty table (no JSON lines)")
    return pd.DataFrame(rows)


def _jsonable(value: object) -> object:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):  # numpy scalar
        return _jsonable(value.item())
    return value


def write_table(df: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write atomically (temporary file, then rename). JSONL writes NaN and ±inf as null."""
    path = Path(path)
    suffix = _suffix(path)

    def write(tmp: str) -> None:
        if suffix == ".parquet":
            df.to_parquet(tmp, index=False)
            return
        cols = list(df.columns)
        with open(tmp, "w", encoding="utf-8") as fh:
            for row in df.itertuples(index=False, name=None):
                fh.write(json.dumps({c: _jsonable(v) for c, v in zip(cols, row, strict=True)}) + "\n")

    return atomic_write(path, write)
