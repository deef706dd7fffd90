"""Reliability flags of estimate rows, read from the table or computed where the table has none.

Newer estimate tables carry a ``flags`` column (``;``-joined: ``above_one``, ``below_lcb``,
``heavy_tail``, ``low_ess``, ``no_support``); older ones do not. The report must flag impossible IS
values either way, so where ``flags`` is absent it asks the estimate stage for them
(:func:`hackwatch.estimate.compute_flags`: the same thresholds and rules, each ``is_<name>`` checked
against ``lower_bound_<name>``). Pure functions, no I/O.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hackwatch.estimate import KHAT_UNRELIABLE, compute_flags, is_method

IMPOSSIBLE = ("above_one", "below_lcb")
"""Flags that mark a value no probability estimate may take (drawn as flagged, never as a result)."""
UNRELIABLE = ("heavy_tail", "low_ess")
"""Flags that mark a value whose interval cannot be trusted."""
FLAG_TEXT = {"above_one": "above 1", "below_lcb": "below the lower bound", "heavy_tail": f"heavy tail (k̂ > {KHAT_UNRELIABLE:g})",
             "low_ess": "low ESS", "no_support": "no contributing prefix"}


def is_family(method: object) -> bool:
    """True for importance-sampling methods: ``is`` and any ``is_<proposal>``."""
    return is_method(method)


def numeric(frame: pd.DataFrame, col: str) -> np.ndarray:
    """A column as floats (NaN where absent or not a number)."""
    if col not in frame.columns:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=float)


def cell_columns(estimates: pd.DataFrame) -> list[str]:
    """Columns naming a cell: those before ``method`` (the estimate table's convention), plus ``step``."""
    cols = list(estimates.columns)
    by = cols[: cols.index("method")] if "method" in cols else ["exploit_type"]
    return by + (["step"] if "step" in cols and "step" not in by else [])


def row_flags(estimates: pd.DataFrame) -> pd.Series:
    """Per row, the set of reliability flags (from ``flags`` when the table has it, else computed)."""
    if estimates.empty:
        return pd.Series([], dtype=object)
    if "flags" in estimates.columns:
        return estimates["flags"].map(_parse_flags)
    by = [c for c in cell_columns(estimates) if c in estimates.columns]
    flags = compute_flags(estimates.reset_index(drop=True), by)
    return pd.Series([_parse_flags(f) for f in flags], index=estimates.index, dtype=object)


def _parse_flags(value: object) -> set[str]:
    if not isinstance(value, str):
        return set()
    return {f.strip() for f in value.split(";") if f.strip()}
