"""The builtin suite: original small exploitable tasks (the demo world trains on these)."""

from hackwatch.tasks.builtin._bank import BANK
from hackwatch.tasks.builtin._suite import (
    BUILTIN_SPLITS,
    SPLIT_BY_TYPE,
    CatalogueUnavailableWarning,
    builtin_tasks,
)

__all__ = ["BANK", "BUILTIN_SPLITS", "SPLIT_BY_TYPE", "CatalogueUnavailableWarning", "builtin_tasks"]
