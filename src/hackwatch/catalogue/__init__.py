"""The exploit-type catalogue: the vocabulary that tasks and verifiers share.

``EXPLOIT_TYPE_NAMES`` lists the 27 flaws of DESIGN.md; ``EXPLOIT_TYPES`` maps each to its hint (a
Djinn-style verifier description) and its reference-exploit writer. It sits below both
``hackwatch.tasks`` and ``hackwatch.verify`` and imports neither at run time; ``hackwatch.verify``
re-exports the same names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hackwatch._lazy import lazy_exports

if TYPE_CHECKING:
    from hackwatch.catalogue._names import EXPLOIT_TYPE_NAMES
    from hackwatch.catalogue._types import EXPLOIT_TYPES, ExploitType

# Loaded lazily (PEP 562): sandbox workers import only ``_names`` (the tokens the flawed verifiers use).
_HOMES = {
    "_names": ("EXPLOIT_TYPE_NAMES",),
    "_types": ("EXPLOIT_TYPES", "ExploitType"),
}

__all__ = ["EXPLOIT_TYPES", "EXPLOIT_TYPE_NAMES", "ExploitType"]

__getattr__, __dir__ = lazy_exports(__name__, _HOMES, globals())
