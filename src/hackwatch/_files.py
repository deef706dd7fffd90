"""File edges shared by every stage: JSONL input with errors naming file and line, atomic output."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any


def iter_jsonl(path: str | Path, error: Callable[[str], Exception]) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, object)`` for every non-blank line of ``path``.

    A line that is not valid JSON, or not a JSON object, raises ``error("FILE:LINE: ...")`` — each
    stage passes its own exception type (``TaskError``, ``BankError``, ...) so callers keep theirs.
    """
    with Path(path).open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
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
        doc = json.loads(doc_path.read_text())
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
        if target.suffix == ".parquet":
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
