"""Reliability flags of estimate rows, read from the table or computed where the table has none.

Newer estimate tables carry a ``flags`` column (``;``-joined: ``above_one``, ``below_lcb``,
``heavy_tail``, ``low_ess``, ``no_support``) and ``khat`` (Pareto k̂); older ones do not. The report
must flag impossible IS values either way, so where ``flags`` is absent this module derives
``above_one`` (IS > 1), ``below_lcb`` (IS below the same cell's lower bound), ``low_ess``
(ESS < 5 with more than two contributing terms, the estimate stage's rule) and, when ``khat`` is
there, ``heavy_tail`` (k̂ > 0.7). Pure functions, no I/O.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

IMPOSSIBLE = ("above_one", "below_lcb")
"""Flags that mark a value no probability estimate may take (drawn as flagged, never as a result)."""
UNRELIABLE = ("heavy_tail", "low_ess")
"""Flags that mark a value whose interval cannot be trusted."""
FLAG_TEXT = {"above_one": "above 1", "below_lcb": "below the lower bound", "heavy_tail": "heavy tail (k̂ > 0.7)",
             "low_ess": "low ESS", "no_support": "no contributing prefix"}
LOW_ESS = 5.0
"""ESS below which an IS cell is flagged (the estimate stage's ``LowESSWarning`` default)."""
KHAT_UNRELIABLE = 0.7
"""Pareto k̂ above which importance weights are too heavy-tailed to trust (Vehtari et al.)."""
LOWER_BOUND = "lower_bound"


def is_family(method: object) -> bool:
    """True for importance-sampling methods: ``is`` and any ``is_<proposal>``."""
    return isinstance(method, str) and (method == "is" or method.startswith("is_"))


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
    out = [set() for _ in range(len(estimates))]
    family = estimates["method"].map(is_family).to_numpy(dtype=bool)
    log10 = numeric(estimates, "log10_value")
    value = numeric(estimates, "value")
    above = family & ((log10 > 0) | (value > 1))
    below = family & (log10 < _lower_bound_of_cell(estimates) - 1e-9)
    ess, succ, khat = numeric(estimates, "ess"), numeric(estimates, "successes"), numeric(estimates, "khat")
    low = family & (ess < LOW_ESS) & (succ > 2)
    heavy = family & (khat > KHAT_UNRELIABLE)
    for name, mask in (("above_one", above), ("below_lcb", below), ("low_ess", low), ("heavy_tail", heavy)):
        for i in np.flatnonzero(mask):
            out[i].add(name)
    return pd.Series(out, index=estimates.index, dtype=object)


def _parse_flags(value: object) -> set[str]:
    if not isinstance(value, str):
        return set()
    return {f.strip() for f in value.split(";") if f.strip()}


def _lower_bound_of_cell(estimates: pd.DataFrame) -> np.ndarray:
    """The log10 lower bound of each row's cell (NaN where the cell has none or it is not finite)."""
    by = [c for c in cell_columns(estimates) if c in estimates.columns]
    lb = estimates[estimates["method"] == LOWER_BOUND]
    if lb.empty or not by:
        return np.full(len(estimates), np.nan)
    lb = lb[by].assign(_lb=numeric(lb, "log10_value")).drop_duplicates(by)
    merged = estimates[by].merge(lb, on=by, how="left")
    vals = pd.to_numeric(merged["_lb"], errors="coerce").to_numpy(dtype=float)
    return np.where(np.isfinite(vals), vals, np.nan)
