"""Verification: the secure verifier, one flawed verifier per exploit type, labels and task checks.

``Verifier`` owns a warm sandbox pool and labels (task, code) pairs as exploit / correct / fail /
secure_only / error; ``EXPLOIT_TYPES`` is the catalogue of flaws with their hints and reference
exploits; ``check_tasks`` checks that a task source is internally consistent.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hackwatch.verify._catalogue import EXPLOIT_TYPE_NAMES, EXPLOIT_TYPES, ExploitType
    from hackwatch.verify._check import TaskCheck, TaskResult, check_tasks
    from hackwatch.verify._encode import (
        FLOAT_ABS_TOL,
        FLOAT_REL_TOL,
        EncodeError,
        decode,
        encode,
        outputs_equal,
    )
    from hackwatch.verify._labels import LABELS, Label, Verdict, extract_code, label_for
    from hackwatch.verify._verifier import Verifier, verify

# Loaded lazily (PEP 562): the sandbox workers import only ``_runner`` and what it needs, and every
# module a worker holds is copied into each job's page tables on fork.
_HOMES = {
    "_catalogue": ("EXPLOIT_TYPE_NAMES", "EXPLOIT_TYPES", "ExploitType"),
    "_check": ("TaskCheck", "TaskResult", "check_tasks"),
    "_encode": ("FLOAT_ABS_TOL", "FLOAT_REL_TOL", "EncodeError", "decode", "encode", "outputs_equal"),
    "_labels": ("LABELS", "Label", "Verdict", "extract_code", "label_for"),
    "_verifier": ("Verifier", "verify"),
}
_WHERE = {name: module for module, names in _HOMES.items() for name in names}

__all__ = [
    "EXPLOIT_TYPES",
    "EXPLOIT_TYPE_NAMES",
    "FLOAT_ABS_TOL",
    "FLOAT_REL_TOL",
    "LABELS",
    "EncodeError",
    "ExploitType",
    "Label",
    "TaskCheck",
    "TaskResult",
    "Verdict",
    "Verifier",
    "check_tasks",
    "decode",
    "encode",
    "extract_code",
    "label_for",
    "outputs_equal",
    "verify",
]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
