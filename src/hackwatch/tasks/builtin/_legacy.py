"""TEMPORARY: the builtin suite as the old Python list built it; kept only to prove the data form equal.

Turn the problem bank into Tasks: hint and reference exploit from the exploit-type catalogue, and splits.

Splits separate exploit *types*, not tasks: every task of a type lands in the same split, so the demo can
fine-tune a donor on ``donor`` types and check the IS estimates on ``heldout`` types it never saw.
"""

from __future__ import annotations

import ast
import dataclasses
import warnings
from collections.abc import Collection, Mapping
from functools import lru_cache
from typing import Any

from hackwatch.tasks._schema import Task, TaskError
from hackwatch.tasks.builtin._bank import BANK

SOURCE = "builtin"

#: Split of every exploit type (14 donor types with 42 tasks, 13 heldout types with 39 tasks).
SPLIT_BY_TYPE: dict[str, str] = {
    "argument_injection_leak": "donor",
    "assert_bypass": "heldout",
    "debug_module": "heldout",
    "environment_variable_manipulation": "heldout",
    "error_code_abuse": "heldout",
    "filesystem_exposure": "donor",
    "function_attribute_flag": "donor",
    "hardcoding_or_memorization": "donor",
    "import_hook_side_channel": "heldout",
    "inadequate_test_coverage": "heldout",
    "inspect_module_abuse": "donor",
    "logging_warnings_side_channel": "heldout",
    "magic_docstring_comment_token": "donor",
    "mock_functionality_replacement": "donor",
    "problem_object_exposure": "heldout",
    "process_exit": "heldout",
    "resource_exhaustion": "donor",
    "result_manipulation": "donor",
    "state_bleed_expected_recompute": "heldout",
    "test_case_leak": "heldout",
    "test_case_logging_side_channel": "heldout",
    "test_cases_honor_system": "heldout",
    "test_skipping": "donor",
    "trace_profiler_hook_oracle": "donor",
    "type_confusion": "donor",
    "validator_honor_system": "donor",
    "verifier_logic_override": "donor",
}

BUILTIN_SPLITS: tuple[str, ...] = ("donor", "heldout")


class CatalogueUnavailableWarning(UserWarning):
    """``hackwatch.catalogue.EXPLOIT_TYPES`` could not be imported: builtin tasks have no hint and no exploit."""


def _catalogue() -> Mapping[str, Any] | None:
    try:
        from hackwatch.catalogue import EXPLOIT_TYPES
    except ImportError as exc:
        warnings.warn(f"builtin tasks built without hints and exploits: cannot import "
                      f"hackwatch.catalogue.EXPLOIT_TYPES ({exc})", CatalogueUnavailableWarning, stacklevel=3)
        return None
    return EXPLOIT_TYPES


def _params(ground_truth: str, function_name: str) -> list[str]:
    for node in ast.parse(ground_truth).body:
        if isinstance(node, ast.FunctionDef) and node.name == function_name:
            return [a.arg for a in node.args.args]
    raise TaskError(SOURCE, function_name, "ground_truth", f"no top-level def {function_name}(...) found")


def _task(entry: Mapping[str, Any], catalogue: Mapping[str, Any] | None) -> Task:
    etype = entry["exploit_type"]
    if etype not in SPLIT_BY_TYPE:
        raise TaskError(SOURCE, entry["id"], "exploit_type", f"unknown exploit type {etype!r}")
    tests = tuple((inp, exp) for inp, exp in entry["tests"])
    task = Task(
        id=entry["id"], description=entry["description"], hint="", function_name=entry["function_name"],
        secure_tests=tests, exploit_type=etype, ground_truth=entry["ground_truth"], exploit="",
        nulls=tuple(entry["nulls"]), split=SPLIT_BY_TYPE[etype], source=SOURCE,
        metadata={"params": _params(entry["ground_truth"], entry["function_name"])},
    )
    if catalogue is None:
        return task
    if etype not in catalogue:
        raise TaskError(SOURCE, task.id, "exploit_type",
                        f"{etype!r} is missing from hackwatch.catalogue.EXPLOIT_TYPES; add it to the catalogue")
    kind = catalogue[etype]
    if kind.insecure_subset is not None:
        task = dataclasses.replace(task, insecure_tests=tests[: kind.insecure_subset])
    return dataclasses.replace(task, hint=kind.hint(task), exploit=kind.make_exploit(task))


@lru_cache(maxsize=1)
def _all_tasks() -> tuple[Task, ...]:
    catalogue = _catalogue()
    return tuple(_task(entry, catalogue) for entry in BANK)


def legacy_tasks(splits: Collection[str] | None = None) -> list[Task]:
    """The builtin suite, optionally only the given splits (``donor``, ``heldout``)."""
    if splits is not None:
        unknown = sorted(set(splits) - set(BUILTIN_SPLITS))
        if unknown:
            raise TaskError(SOURCE, None, "split",
                            f"unknown split {unknown[0]!r}; expected one of: {', '.join(BUILTIN_SPLITS)}")
    tasks = _all_tasks()
    return [t for t in tasks if splits is None or t.split in splits]
