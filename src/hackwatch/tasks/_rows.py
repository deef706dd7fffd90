"""Row files: hackwatch's own task JSONL, and Djinn dataset rows exported as JSONL or Parquet.

Each row is classified by its keys (see :func:`row_kind`), so one file may even mix both kinds.
hackwatch's own rows store test cases as the ``repr`` of the Python tuple of ``(input, expected)``
pairs, so tuples stay tuples and lists stay lists through a save/load round trip.
"""

from __future__ import annotations

import ast
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from hackwatch.tasks._djinn import djinn_row_task
from hackwatch.tasks._fields import get_identifier, get_str, get_str_list, get_tests
from hackwatch.tasks._schema import COMPARISONS, Task, TaskError

#: The ``format`` marker written on every row by :func:`save_tasks_jsonl`.
TASK_FORMAT = "hackwatch.task/1"

_OWN_KEYS = frozenset({
    "format", "id", "description", "hint", "function_name", "secure_tests", "insecure_tests",
    "exploit_type", "ground_truth", "exploit", "nulls", "split", "source", "insecure_verifier_code", "metadata",
    "comparison",
})


def row_kind(row: Mapping[str, Any], where: str) -> str:
    """``"hackwatch"`` if the row has ``format`` or ``secure_tests``, ``"djinn"`` if it has ``test_cases``."""
    marker = row.get("format")
    if marker is not None:
        if marker != TASK_FORMAT:
            raise TaskError(where, None, "format", f"unknown format marker {marker!r}; expected {TASK_FORMAT!r}")
        return "hackwatch"
    if "secure_tests" in row:
        return "hackwatch"
    if "test_cases" in row:
        return "djinn"
    raise TaskError(where, None, None,
                    "cannot tell the row format: expected a hackwatch task (key 'secure_tests' or "
                    f"'format': {TASK_FORMAT!r}) or a Djinn dataset row (key 'test_cases')")


def task_from_row(row: Mapping[str, Any], *, where: str, default_source: str) -> Task:
    """Build a Task from one row of either kind (see :func:`row_kind`)."""
    if row_kind(row, where) == "djinn":
        return djinn_row_task(row, where=where, source=default_source)
    task_id = get_str(row, "id", where, None)
    unknown = sorted(set(row) - _OWN_KEYS)
    if unknown:
        raise TaskError(where, task_id, unknown[0],
                        f"unknown field; a hackwatch task row has only: {', '.join(sorted(_OWN_KEYS))}")
    metadata = row.get("metadata") or {}
    if isinstance(metadata, str):  # Parquet files may carry the metadata object as JSON text
        try:
            metadata = json.loads(metadata)
        except json.JSONDecodeError:
            raise TaskError(where, task_id, "metadata", "expected a JSON object, got text that is not JSON") from None
    if not isinstance(metadata, dict):
        raise TaskError(where, task_id, "metadata", f"expected an object, got {type(metadata).__name__}")
    comparison = get_str(row, "comparison", where, task_id, required=False, default=COMPARISONS[0])
    if comparison not in COMPARISONS:
        raise TaskError(where, task_id, "comparison",
                        f"unknown comparison {comparison!r}; expected one of: {', '.join(COMPARISONS)}")
    verifier_code = row.get("insecure_verifier_code")
    if verifier_code is not None:
        verifier_code = get_str(row, "insecure_verifier_code", where, task_id)
    return Task(
        id=task_id,
        description=get_str(row, "description", where, task_id),
        hint=get_str(row, "hint", where, task_id, required=False),
        function_name=get_identifier(row, "function_name", where, task_id),
        secure_tests=get_tests(row, "secure_tests", where, task_id, literal_first=True) or (),
        exploit_type=get_str(row, "exploit_type", where, task_id),
        ground_truth=get_str(row, "ground_truth", where, task_id),
        exploit=get_str(row, "exploit", where, task_id, required=False),
        insecure_tests=get_tests(row, "insecure_tests", where, task_id, required=False, literal_first=True),
        nulls=get_str_list(row, "nulls", where, task_id),
        split=get_str(row, "split", where, task_id, required=False),
        source=get_str(row, "source", where, task_id, required=False, default=default_source),
        insecure_verifier_code=verifier_code,
        metadata=metadata,
        comparison=comparison,
    )


def _literal(value: Any, where: str, task_id: str, field_name: str) -> str:
    """``repr`` of test cases, checked to read back identically (NaN or custom objects would not)."""
    text = repr(value)
    try:
        back = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        back = None
    if back != value:
        raise TaskError(where, task_id, field_name,
                        "test cases must be Python literals that read back equal (no NaN, no custom objects)")
    return text


def task_to_row(task: Task, where: str = "<memory>") -> dict[str, Any]:
    """The hackwatch JSONL row for ``task`` (tests as Python-literal text, metadata as a JSON object)."""
    metadata = dict(task.metadata)
    if json.loads(json.dumps(metadata)) != metadata:
        raise TaskError(where, task.id, "metadata",
                        "metadata must survive JSON unchanged (str keys; no tuples, sets or dates)")
    return {
        "format": TASK_FORMAT,
        "id": task.id,
        "description": task.description,
        "hint": task.hint,
        "function_name": task.function_name,
        "secure_tests": _literal(task.secure_tests, where, task.id, "secure_tests"),
        "insecure_tests": None if task.insecure_tests is None
        else _literal(task.insecure_tests, where, task.id, "insecure_tests"),
        "exploit_type": task.exploit_type,
        "ground_truth": task.ground_truth,
        "exploit": task.exploit,
        "nulls": list(task.nulls),
        "split": task.split,
        "source": task.source,
        "insecure_verifier_code": task.insecure_verifier_code,
        "metadata": metadata,
        "comparison": task.comparison,
    }


def save_tasks_jsonl(tasks: Iterable[Task], path: str | os.PathLike[str]) -> Path:
    """Write ``tasks`` as hackwatch JSONL, atomically (temp file then rename); loading it gives equal Tasks."""
    target = Path(path)
    rows = [json.dumps(task_to_row(t, str(target)), ensure_ascii=False) for t in tasks]
    from hackwatch._files import atomic_write

    return atomic_write(target, lambda tmp: Path(tmp).write_text("".join(r + "\n" for r in rows),
                                                                 encoding="utf-8"))


def _jsonl_rows(path: Path) -> Iterator[tuple[str, Any]]:
    """``(where, row)`` per non-blank line; a line that is not JSON gives a :class:`TaskError` as its row."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise TaskError(str(path), None, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            yield where, json.loads(line)
        except json.JSONDecodeError as exc:
            yield where, TaskError(where, None, None, f"not valid JSON ({exc.msg} at column {exc.colno}); "
                                                      "expected one JSON object per line")


def _parquet_rows(path: Path) -> Iterator[tuple[str, Any]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        rows = pq.read_table(path).to_pylist()
    except (pa.ArrowException, OSError) as exc:
        raise TaskError(str(path), None, None, f"cannot read as Parquet ({exc})") from None
    for i, row in enumerate(rows, start=1):
        yield f"{path}: row {i}", row


def load_rows_file(path: Path) -> tuple[list[tuple[str, Task]], list[TaskError]]:
    """Every row of a ``.jsonl`` or ``.parquet`` file that loads, as ``(where, Task)`` pairs, and one
    :class:`TaskError` per row that does not. A file that cannot be read at all, or has no rows, raises.
    """
    rows = _parquet_rows(path) if path.suffix == ".parquet" else _jsonl_rows(path)
    located: list[tuple[str, Task]] = []
    errors: list[TaskError] = []
    for where, row in rows:
        try:
            if isinstance(row, TaskError):
                raise row
            if not isinstance(row, dict):
                raise TaskError(where, None, None, f"expected a JSON object per row, got {type(row).__name__}")
            located.append((where, task_from_row(row, where=where, default_source=str(path))))
        except TaskError as exc:
            errors.append(exc)
    if not located and not errors:
        raise TaskError(str(path), None, None, "the file holds no rows; expected at least one task")
    return located, errors
