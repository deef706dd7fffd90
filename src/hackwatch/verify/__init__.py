"""Verification: the secure verifier, one flawed verifier per exploit type, labels and task checks.

``Verifier`` owns a warm sandbox pool and labels (task, code) pairs as exploit / correct / fail /
secure_only / error; ``EXPLOIT_TYPES`` is the catalogue of flaws with their hints and reference
exploits; ``check_tasks`` checks that a task source is internally consistent.
"""

from hackwatch.verify._catalogue import EXPLOIT_TYPE_NAMES, EXPLOIT_TYPES, ExploitType
from hackwatch.verify._check import TaskCheck, TaskResult, check_tasks
from hackwatch.verify._encode import FLOAT_ABS_TOL, FLOAT_REL_TOL, EncodeError, decode, encode, outputs_equal
from hackwatch.verify._labels import LABELS, Label, Verdict, extract_code, label_for
from hackwatch.verify._verifier import Verifier, verify

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
