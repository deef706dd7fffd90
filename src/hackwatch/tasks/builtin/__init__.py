"""The builtin suite: original small exploitable tasks (the demo world trains on these).

Shipped as data, one Djinn ``problem.yaml`` per task in the folders beside this file, and read by the
same loader as any Djinn problem directory (see ``_suite``); Djinn's own tools can read the folders too.
"""

from typing import Any

from hackwatch.tasks.builtin._suite import (
    BUILTIN_DIR,
    BUILTIN_SPLITS,
    ORDER_FILE,
    builtin_tasks,
    split_by_type,
)

__all__ = ["BUILTIN_DIR", "BUILTIN_SPLITS", "ORDER_FILE", "SPLIT_BY_TYPE", "builtin_tasks", "split_by_type"]


def __getattr__(name: str) -> Any:
    """``SPLIT_BY_TYPE`` (exploit type -> split) is read from the data on first use (PEP 562)."""
    if name == "SPLIT_BY_TYPE":
        return split_by_type()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
