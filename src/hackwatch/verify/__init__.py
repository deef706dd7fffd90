"""Verification: the secure verifier, one flawed verifier per exploit type, labels and task checks.

``Verifier`` owns a warm sandbox pool and labels (task, code) pairs as exploit / correct / fail /
secure_only / error; ``EXPLOIT_TYPES`` is the catalogue of flaws with their hints and reference
exploits (it lives in ``hackwatch.catalogue``, below tasks and verify, and is re-exported here);
``check_tasks`` checks that a task source is internally consistent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hackwatch._lazy import lazy_exports

if TYPE_CHECKING:
    from hackwatch.catalogue import EXPLOIT_TYPE_NAMES, EXPLOIT_TYPES, ExploitType
    from hackwatch.verify._check import TaskCheck, TaskResult, check_tasks
    from hackwatch.verify._djinn import VERIFIER_MODES, DjinnUnavailable
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

# Loaded lazily (PEP 562, see hackwatch._lazy): the sandbox workers import only ``_runner`` and what it needs.
_HOMES = {
    "hackwatch.catalogue._names": ("EXPLOIT_TYPE_NAMES",),  # the catalogue's own package, re-exported
    "hackwatch.catalogue._types": ("EXPLOIT_TYPES", "ExploitType"),
    "_check": ("TaskCheck", "TaskResult", "check_tasks"),
    "_djinn": ("VERIFIER_MODES", "DjinnUnavailable"),
    "_encode": ("FLOAT_ABS_TOL", "FLOAT_REL_TOL", "EncodeError", "decode", "encode", "outputs_equal"),
    "_labels": ("LABELS", "Label", "Verdict", "extract_code", "label_for"),
    "_verifier": ("Verifier", "verify"),
}

__all__ = [
    "EXPLOIT_TYPES",
    "EXPLOIT_TYPE_NAMES",
    "FLOAT_ABS_TOL",
    "FLOAT_REL_TOL",
    "LABELS",
    "VERIFIER_MODES",
    "DjinnUnavailable",
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


__getattr__, __dir__ = lazy_exports(__name__, _HOMES, globals())
