"""Reliability flags of estimate rows: values that are impossible or that the diagnostics distrust.

The ``flags`` column holds the names below joined by ``;`` ('' when none). Values are never
clipped: a flagged value is shown as computed, with the flag beside it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from hackwatch.estimate._psis import KHAT_UNRELIABLE

FLAGS: dict[str, str] = {
    "above_one": "IS value > 1: impossible for a probability (wrong weights, or a few terms carry it)",
    "below_lcb": "IS value below the same cell's lower confidence bound (method lower_bound): the proposal "
                 "missed exploit mass the tested prefixes prove, or the weights are heavy-tailed",
    "heavy_tail": f"PSIS k-hat of the IS weights > {KHAT_UNRELIABLE:g}: the estimate and its interval are "
                  f"unreliable whatever the ESS",
    "low_ess": "IS effective sample size below low_ess (default 5), contributing terms > 0",
    "no_support": "no contributing term (IS or lower bound: no prefilled sample exploited)",
}
"""Flag name → meaning, in the order flags are written."""

_TERM_METHODS = ("is", "lower_bound", "lower_bound_point")


def _num(df: pd.DataFrame, col: str) -> np.ndarray:
    if col not in df.columns:
        return np.full(len(df), np.nan)
    return pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)


def join_flags(conditions: dict[str, np.ndarray], n: int) -> np.ndarray:
    """Per row, the names whose condition holds, in :data:`FLAGS` order, joined by ';'."""
    out = np.full(n, "", dtype=object)
    for name in FLAGS:
        cond = conditions.get(name)
        if cond is None:
            continue
        add = np.asarray(cond, dtype=bool)
        out = np.where(add, np.where(out == "", name, out + ";" + name), out)
    return out


def row_flags(table: pd.DataFrame, *, low_ess: float = 5.0) -> np.ndarray:
    """Flags each row earns on its own (everything but ``below_lcb``, which needs the cell's bound)."""
    method = table["method"].astype(str).to_numpy()
    is_row = method == "is"
    successes = _num(table, "successes")
    with np.errstate(invalid="ignore"):
        conditions = {
            "above_one": is_row & (_num(table, "log10_value") > 0),
            "heavy_tail": is_row & (_num(table, "khat") > KHAT_UNRELIABLE),
            "low_ess": is_row & (successes > 0) & (_num(table, "ess") < low_ess),
            "no_support": np.isin(method, _TERM_METHODS) & (successes == 0),
        }
    return join_flags(conditions, len(table))


def add_below_lcb(table: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Add ``below_lcb`` to IS rows whose log10 value is below their cell's ``lower_bound`` value."""
    by = list(by)
    out = table.copy()
    if "flags" not in out.columns:
        out["flags"] = ""
    out["flags"] = out["flags"].fillna("").astype(str)
    lb = out.loc[out["method"] == "lower_bound", [*by, "log10_value"]].rename(columns={"log10_value": "_lcb"})
    if lb.empty or not (out["method"] == "is").any():
        return out
    lcb = out[by].merge(lb, on=by, how="left")["_lcb"].to_numpy(float)
    with np.errstate(invalid="ignore"):
        below = (out["method"].to_numpy() == "is") & np.isfinite(lcb) & (_num(out, "log10_value") < lcb)
    if below.any():
        parts = {name: np.array([name in f.split(";") for f in out["flags"]]) for name in FLAGS}
        parts["below_lcb"] = parts["below_lcb"] | below
        out["flags"] = join_flags(parts, len(out))
    return out
