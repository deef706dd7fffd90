"""Djinn loaders: ``problem.yaml`` directories (current and legacy schema) and Djinn dataset rows.

Djinn field -> Task field: ``description`` -> description, ``function_name`` -> function_name,
``test_cases`` (or ``secure_test_cases``; for old-form problems the tests their ``secure_verifier``
embeds) -> secure_tests, ``insecure_test_cases`` -> insecure_tests,
``ground_truth``/``exploit`` -> same, ``nulls`` -> nulls, ``insecure_verifier_info`` -> hint,
``exploit_type`` -> exploit_type, ``insecure_verifier`` (legacy only) -> insecure_verifier_code,
``hackwatch`` (the key Djinn ignores, see ``_extra``) -> split, comparison and more metadata;
everything else goes to ``metadata``. A YAML problem's id is its directory name, as in Djinn's registry
(the YAML's own ``id`` key, if any, is kept as ``metadata["djinn_id"]``); a row's id is its ``id`` field.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hackwatch.catalogue import EXPLOIT_TYPE_NAMES
from hackwatch.tasks._embedded import embedded_tests
from hackwatch.tasks._extra import EXTRA_KEY, read_extra
from hackwatch.tasks._fields import (
    decode_json_text,
    get_identifier,
    get_str,
    get_str_list,
    get_tests,
    read_asset,
)
from hackwatch.tasks._schema import Task, TaskError, TestCase

#: Djinn keys mapped onto Task fields; every other key is kept in ``Task.metadata``.
MAPPED_KEYS = frozenset({
    "id", "description", "function_name", "test_cases", "secure_test_cases", "insecure_test_cases",
    "ground_truth", "exploit", "nulls", "insecure_verifier_info", "exploit_type", "insecure_verifier",
    EXTRA_KEY,
})


def djinn_task(raw: Mapping[str, Any], *, task_id: str, where: str, source: str,
               base_dir: Path | None = None, literal_first: bool = False) -> Task:
    """Build a Task from one Djinn problem mapping (a YAML document or a dataset row).

    ``literal_first``: test-case text is read as a Python literal before JSON, as Djinn's ``Problem``
    reads a ``problem.yaml`` (``ast.literal_eval``), so tuples stay tuples; rows are JSON first.
    """
    description = get_str(raw, "description", where, task_id)
    function_name = get_identifier(raw, "function_name", where, task_id)
    secure_tests = _secure_tests(raw, where, task_id, base_dir, literal_first)
    insecure_tests = get_tests(raw, "insecure_test_cases", where, task_id, required=False,
                               literal_first=literal_first)
    ground_truth = read_asset(get_str(raw, "ground_truth", where, task_id), base_dir)
    exploit = read_asset(get_str(raw, "exploit", where, task_id), base_dir)
    nulls = tuple(read_asset(n, base_dir) for n in get_str_list(raw, "nulls", where, task_id))
    hint = get_str(raw, "insecure_verifier_info", where, task_id, required=False)
    exploit_type = get_str(raw, "exploit_type", where, task_id)

    verifier_code: str | None = None
    if raw.get("insecure_verifier") is not None:  # legacy schema: the problem embeds its insecure verifier
        verifier_code = read_asset(get_str(raw, "insecure_verifier", where, task_id), base_dir)
        if "def verify" not in verifier_code:
            raise TaskError(where, task_id, "insecure_verifier",
                            "legacy verifier code must define verify(submission_code, ...); "
                            "no 'def verify' found")
    else:  # current schema: the exploit type selects one of hackwatch's insecure verifiers
        if exploit_type not in EXPLOIT_TYPE_NAMES:
            raise TaskError(where, task_id, "exploit_type",
                            f"unknown exploit type {exploit_type!r} and no embedded insecure_verifier; "
                            f"expected one of: {', '.join(EXPLOIT_TYPE_NAMES)}")

    extra = read_extra(raw, where, task_id)
    metadata = {k: decode_json_text(v) for k, v in raw.items() if k not in MAPPED_KEYS}
    if "id" in raw and raw["id"] != task_id:
        metadata["djinn_id"] = raw["id"]
    metadata.update(extra.metadata)
    return Task(
        id=task_id, description=description, hint=hint, function_name=function_name,
        secure_tests=secure_tests, exploit_type=exploit_type, ground_truth=ground_truth,
        exploit=exploit, insecure_tests=insecure_tests, nulls=nulls, split=extra.split, source=source,
        insecure_verifier_code=verifier_code, metadata=metadata, comparison=extra.comparison,
    )


def _secure_tests(raw: Mapping[str, Any], where: str, task_id: str, base_dir: Path | None,
                  literal_first: bool) -> tuple[TestCase, ...]:
    """``secure_test_cases``, else ``test_cases``; an old-form problem without either (or with an empty
    ``test_cases``) but with a ``secure_verifier`` gets the tests that verifier embeds (:func:`embedded_tests`).
    """
    if raw.get("secure_test_cases") is not None:
        return get_tests(raw, "secure_test_cases", where, task_id, literal_first=literal_first) or ()
    verifier = raw.get("secure_verifier")
    listed = raw.get("test_cases")
    if isinstance(verifier, str) and verifier.strip() and (listed is None or _empty_list(listed)):
        return embedded_tests(read_asset(verifier, base_dir), where, task_id)
    return get_tests(raw, "test_cases", where, task_id, literal_first=literal_first) or ()


def _empty_list(value: Any) -> bool:
    return value == [] or (isinstance(value, str) and value.strip() in ("[]", "()", ""))


def load_problem_yaml(path: Path) -> Task:
    """Load one Djinn ``problem.yaml``; its id is the name of the directory holding it."""
    import yaml

    where = str(path)
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        place = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise TaskError(where, None, None, f"not valid YAML{place}: {problem}; fix the YAML syntax") from None
    except UnicodeDecodeError as exc:
        raise TaskError(where, None, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise TaskError(where, None, None, f"cannot be read ({exc.strerror or exc})") from None
    if not isinstance(raw, dict):
        raise TaskError(where, None, None,
                        f"expected a YAML mapping of problem fields, got {type(raw).__name__}")
    return djinn_task(raw, task_id=path.parent.name, where=where, source=where, base_dir=path.parent,
                      literal_first=True)


def djinn_row_task(row: Mapping[str, Any], *, where: str, source: str) -> Task:
    """Build a Task from one Djinn dataset row (``test_cases`` JSON text, ``insecure_test_cases`` null or text)."""
    task_id = get_str(row, "id", where, None)
    return djinn_task(row, task_id=task_id, where=where, source=source)
