"""File edges shared by every stage: guarded input, errors naming file and line, atomic output.

Every command reads its files through these functions, so a file that is missing, a folder, not
UTF-8, not JSON/Parquet, empty or truncated gives one line naming the file, the line or field, what
was expected and what to do — never a traceback — and outputs are created all at once or not at all.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

TABLE_SUFFIXES = (".jsonl", ".parquet")
"""The row-table formats every stage reads and writes."""

Error = Callable[[str], Exception]


def input_file(path: str | Path, error: Error, *, suffixes: tuple[str, ...] | None = None,
               what: str = "file") -> Path:
    """``path`` as an existing regular file with one of ``suffixes`` (any when None), else ``error(...)``."""
    p = Path(path)
    if not p.exists():
        raise error(f"{p}: no such file; expected {what}")
    if not p.is_file():
        raise error(f"{p}: is a folder, not a file; expected {what}")
    if suffixes is not None and p.suffix.lower() not in suffixes:
        raise error(f"{p}: unknown format {p.suffix or '(no suffix)'!r}; expected {what} "
                    f"({' or '.join(suffixes)})")
    return p


def check_out_suffix(path: str | Path, error: Error, *, option: str = "--out",
                     suffixes: tuple[str, ...] = TABLE_SUFFIXES) -> None:
    """Refuse an output name whose suffix is not one of ``suffixes`` before any work is done."""
    p = Path(path)
    if p.suffix.lower() not in suffixes:
        raise error(f"{option} {p}: unknown output format {p.suffix or '(no suffix)'!r}; "
                    f"name the file with {' or '.join(suffixes)}")


def read_text(path: str | Path, error: Error, *, what: str = "a UTF-8 text file") -> str:
    """The whole file as text; not UTF-8 or empty raises ``error("FILE:LINE: ...")``."""
    p = input_file(path, error, what=what)
    data = p.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise error(f"{p}:{line}: not UTF-8 text (byte {data[exc.start]:#04x}); expected {what} — "
                    "is this the right file?") from None
    if not text.strip():
        raise error(f"{p}: empty; expected {what}")
    return text


def iter_jsonl(path: str | Path, error: Error) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, object)`` for every non-blank line of ``path``.

    A line that is not UTF-8, not valid JSON, or not a JSON object, raises ``error("FILE:LINE: ...")``
    — each stage passes its own exception type (``TaskError``, ``BankError``, ...) so callers keep theirs.
    """
    p = input_file(path, error, what="a JSONL file (one JSON object per line)")
    with p.open("rb") as fh:
        for n, raw in enumerate(fh, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise error(f"{path}:{n}: not UTF-8 text (byte {raw[exc.start]:#04x} at column {exc.start + 1}); "
                            "expected one JSON object per line — is this the right file?") from None
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise error(f"{path}:{n}: not valid JSON ({exc.msg} at column {exc.colno}); "
                            "expected one JSON object per line") from None
            if not isinstance(obj, dict):
                raise error(f"{path}:{n}: expected a JSON object per line, got {type(obj).__name__}")
            yield n, obj


def read_jsonl(path: str | Path, error: Error) -> list[tuple[int, dict[str, Any]]]:
    """All ``(line_number, object)`` of a JSONL file; an empty file is an error, not zero rows."""
    rows = list(iter_jsonl(path, error))
    if not rows:
        raise error(f"{path}: empty (no JSON lines); expected one JSON object per line")
    return rows


def read_parquet_rows(path: str | Path, error: Error) -> list[dict[str, Any]]:
    """All rows of a Parquet file as dicts; unreadable (not Parquet, truncated) or empty is an error."""
    p = input_file(path, error, what="a Parquet table")
    try:
        import pyarrow.parquet as pq

        rows = pq.read_table(p).to_pylist()
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for corrupt or foreign files
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise error(f"{p}: not a readable Parquet file ({msg}); expected a table written by "
                    "hackwatch, pandas or pyarrow") from None
    if not rows:
        raise error(f"{p}: empty Parquet table (0 rows)")
    return rows


def read_rows_with_place(path: str | Path, error: Error) -> list[tuple[str, dict[str, Any]]]:
    """Rows of a ``.jsonl`` or ``.parquet`` table, each with its place (``FILE:LINE`` / ``FILE:row N``)."""
    p = input_file(path, error, suffixes=TABLE_SUFFIXES, what="a table of rows")
    if p.suffix.lower() == ".parquet":
        return [(f"{p}:row {i}", row) for i, row in enumerate(read_parquet_rows(p, error), start=1)]
    return [(f"{p}:{n}", row) for n, row in read_jsonl(p, error)]


def run_database(path: str | Path, error: Error) -> Path:
    """The DuckDB file of a run given its directory or the file; anything else raises ``error(...)``.

    Checks the DuckDB magic bytes, so a report or export pointed at a notes file or a Parquet table
    says what it got instead of a database engine's message.
    """
    p = Path(path)
    db = p if (p.suffix == ".duckdb" or p.is_file()) else p / "run.duckdb"
    hint = "expected a run directory written by `hackwatch run` (or `hackwatch demo`) or its run.duckdb"
    if not db.is_file():
        raise error(f"{db}: no run database here; {hint}")
    with db.open("rb") as fh:
        head = fh.read(12)
    if head[8:12] != b"DUCK":
        raise error(f"{db}: not a DuckDB database (it starts with {head[:8]!r}); {hint}")
    return db


def read_format_doc(directory: Path, name: str, fmt: str, error: Callable[[str], Exception],
                    what: str, create_hint: str) -> dict[str, Any]:
    """The JSON document ``directory/name`` of a store whose ``format`` field must equal ``fmt``.

    Raises ``error(...)`` naming the directory when the file is absent (``what`` says what the
    directory should have been, ``create_hint`` how to make one), or naming the file when it is not
    valid JSON or carries another format.
    """
    doc_path = directory / name
    if not doc_path.is_file():
        raise error(f"{directory}: not {what} (no {name}); create one with {create_hint}")
    try:
        doc = json.loads(read_text(doc_path, error, what="a JSON document"))
    except json.JSONDecodeError as e:
        raise error(f"{doc_path}: not valid JSON ({e.msg}, line {e.lineno})") from e
    if not isinstance(doc, dict) or doc.get("format") != fmt:
        got = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
        raise error(f"{doc_path}: field 'format' is {got!r}, expected {fmt!r}")
    return doc


def atomic_write(path: str | Path, write: Callable[[str], None]) -> Path:
    """Create ``path`` all at once: ``write(tmp)`` fills a temporary file beside it, then a rename.

    A crash or a malformed input half-way leaves no partial file behind. The result gets the usual
    permissions (0666 less the umask), not ``mkstemp``'s private 0600, so reports can be shared.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def write_rows(rows: Iterable[Mapping[str, Any]], path: str | Path) -> Path:
    """Write ``rows`` as JSONL, or Parquet for a ``.parquet`` path, atomically."""
    target = Path(path)
    rows = list(rows)

    def write(tmp: str) -> None:
        if target.suffix.lower() == ".parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(pa.Table.from_pylist(rows), tmp)
            return
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)

    return atomic_write(target, write)


def atomic_dir(path: str | Path, fill: Callable[[Path], None]) -> Path:
    """Create or replace the directory ``path`` all at once: ``fill(tmp)`` writes a sibling, then a rename."""
    import shutil

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        fill(tmp)
        os.chmod(tmp, 0o777 & ~_umask())
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
