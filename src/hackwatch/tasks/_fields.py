"""Field readers shared by every loader: each checks one field's type and names file, task and field on error.

Loaders read raw mappings (YAML documents, JSON rows, Parquet rows); these helpers turn them into the
typed values a :class:`~hackwatch.tasks.Task` holds, so every source fails the same, precise way.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from hackwatch.tasks._schema import Task, TaskError, TestCase, parse_test_cases


def get_str(row: Mapping[str, Any], key: str, where: str, task_id: str | None, *,
            required: bool = True, allow_empty: bool = False, default: str = "") -> str:
    """Read a string field; a missing required field, a non-string or an empty string is a :class:`TaskError`."""
    if key not in row or row[key] is None:
        if required:
            raise TaskError(where, task_id, key, "required field is missing; add it as a string")
        return default
    value = row[key]
    if not isinstance(value, str):
        raise TaskError(where, task_id, key, f"expected a string, got {type(value).__name__} ({value!r:.60})")
    if required and not allow_empty and not value.strip():
        raise TaskError(where, task_id, key, "expected a non-empty string, got an empty one")
    return value


def get_identifier(row: Mapping[str, Any], key: str, where: str, task_id: str | None) -> str:
    """Read a field that must be a Python identifier (the function name the submission defines)."""
    value = get_str(row, key, where, task_id)
    if not value.isidentifier():
        raise TaskError(where, task_id, key, f"expected a Python identifier such as 'solve', got {value!r}")
    return value


def get_str_list(row: Mapping[str, Any], key: str, where: str, task_id: str | None) -> tuple[str, ...]:
    """Read an optional list of strings (e.g. ``nulls``); JSON-encoded text is accepted, as Djinn rows store it."""
    value = row.get(key)
    if value is None:
        return ()
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise TaskError(where, task_id, key,
                            "expected a list of strings (or its JSON text), got text that is not JSON") from None
    if not isinstance(value, list | tuple):
        raise TaskError(where, task_id, key, f"expected a list of strings, got {type(value).__name__}")
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise TaskError(where, task_id, f"{key}[{i}]", f"expected a string, got {type(item).__name__}")
    return tuple(value)


def get_tests(row: Mapping[str, Any], key: str, where: str, task_id: str | None, *,
              required: bool = True, literal_first: bool = False) -> tuple[TestCase, ...] | None:
    """Read test cases: a list, or text parsed as JSON then as a Python literal (see ``parse_test_cases``).

    ``literal_first`` reads text as a Python literal before trying JSON: hackwatch's own JSONL stores the
    ``repr`` of the tests so that tuples survive, and reading it back must be exact.
    """
    value = row.get(key)
    if value is None:
        if required:
            raise TaskError(where, task_id, key,
                            "required field is missing; expected a list of [input, expected] pairs")
        return None
    if literal_first and isinstance(value, str):
        try:
            value = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            pass  # not a literal: let parse_test_cases try JSON and report precisely
    return parse_test_cases(value, where=where, task_id=task_id, field_name=key)


def read_asset(value: str, base_dir: Path | None) -> str:
    """Djinn lets code fields name a file next to ``problem.yaml``; inline code (any newline) is kept as is."""
    if base_dir is None or "\n" in value or not value.strip():
        return value
    candidate = (base_dir / value.strip()).resolve()
    if candidate.is_file() and base_dir.resolve() in candidate.parents:
        return candidate.read_text(encoding="utf-8")
    return value


def decode_json_text(value: Any) -> Any:
    """Djinn rows carry some dicts as JSON text (``gt_model_results``); decode those, leave anything else."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def check_unique(located: Iterable[tuple[str, Task]]) -> tuple[list[Task], list[TaskError]]:
    """The tasks in order, each id once; every later task with an id seen before is a :class:`TaskError`
    naming both places (and is left out).
    """
    first_seen: dict[str, str] = {}
    tasks: list[Task] = []
    errors: list[TaskError] = []
    for where, task in located:
        if task.id in first_seen:
            errors.append(TaskError(where, task.id, "id", f"duplicate task id (first defined at "
                                                          f"{first_seen[task.id]}); task ids must be unique"))
            continue
        first_seen[task.id] = where
        tasks.append(task)
    return tasks, errors
