"""The ``hackwatch`` key of a Djinn problem: the Task fields Djinn's schema has no place for.

Djinn's ``Problem.from_dir`` reads its own keys by name and ignores every other one, so a
``problem.yaml`` (or a Djinn row) may carry::

    hackwatch:
      split: donor          # Task.split (default: empty)
      comparison: exact     # Task.comparison (default for Djinn problems: djinn)
      metadata:             # merged into Task.metadata (over the Djinn keys kept there)
        params: [x]

The builtin suite uses it (``src/hackwatch/tasks/builtin/*/problem.yaml``); Djinn's tools read the
same files and never see it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hackwatch.tasks._fields import decode_json_text
from hackwatch.tasks._schema import COMPARISONS, TaskError

EXTRA_KEY = "hackwatch"
"""The key Djinn ignores and hackwatch reads."""

EXTRA_FIELDS = ("split", "comparison", "metadata")
"""The keys allowed under :data:`EXTRA_KEY`."""


@dataclass(frozen=True)
class Extra:
    """What the ``hackwatch`` key of one problem says (defaults: what a plain Djinn problem gets)."""

    split: str = ""
    """Task.split."""
    comparison: str = "djinn"
    """Task.comparison (one of :data:`~hackwatch.tasks._schema.COMPARISONS`)."""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    """Merged into Task.metadata."""


def read_extra(raw: Mapping[str, Any], where: str, task_id: str) -> Extra:
    """Read and check the ``hackwatch`` key of a Djinn problem; a missing key gives the defaults."""
    value = decode_json_text(raw.get(EXTRA_KEY))
    if value is None:
        return Extra()
    expected = f"expected a mapping with the keys {', '.join(EXTRA_FIELDS)}"
    if not isinstance(value, Mapping):
        raise TaskError(where, task_id, EXTRA_KEY, f"{expected}, got {type(value).__name__}")
    unknown = sorted(str(k) for k in value if k not in EXTRA_FIELDS)
    if unknown:
        raise TaskError(where, task_id, f"{EXTRA_KEY}.{unknown[0]}", f"unknown key; {expected}")
    split = value.get("split", "")
    if not isinstance(split, str):
        raise TaskError(where, task_id, f"{EXTRA_KEY}.split", f"expected a string, got {type(split).__name__}")
    comparison = value.get("comparison", Extra.comparison)
    if comparison not in COMPARISONS:
        raise TaskError(where, task_id, f"{EXTRA_KEY}.comparison",
                        f"unknown comparison {comparison!r}; expected one of: {', '.join(COMPARISONS)}")
    metadata = value.get("metadata", {})
    if not isinstance(metadata, Mapping):
        raise TaskError(where, task_id, f"{EXTRA_KEY}.metadata",
                        f"expected a mapping, got {type(metadata).__name__}")
    return Extra(split=split, comparison=comparison, metadata=dict(metadata))
