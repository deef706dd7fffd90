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

LOW_ESS = 5.0
"""Default ESS below which an IS row is flagged ``low_ess`` (and :class:`LowESSWarning` raised)."""


def is_method(method: object) -> bool:
    """True for importance-sampling rows: ``is`` and any proposal's ``is_<name>``."""
    return isinstance(method, str) and (method == "is" or method.startswith("is_"))


def bound_method(method: str) -> str:
    """The lower-bound method an IS method is checked against: ``is`` → ``lower_bound``, ``is_<name>`` →
    ``lower_bound_<name>`` (each proposal's IS with the bound from its own prefixes).
    """
    return "lower_bound" + method[len("is"):]


def _term_method(method: object) -> bool:
    """Rows built from IS terms: every IS method and every lower bound (``lower_bound``, ``lower_bound_point``,
    a proposal's ``lower_bound_<name>``).
    """
    return is_method(method) or (isinstance(method, str) and method.startswith("lower_bound"))


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


def row_flags(table: pd.DataFrame, *, low_ess: float = LOW_ESS) -> np.ndarray:
    """Flags each row earns on its own (everything but ``below_lcb``, which needs the cell's bound).

    IS rules apply to ``is`` and every ``is_<name>``; ``no_support`` to those and every lower bound.
    """
    method = table["method"].to_numpy(dtype=object)
    is_row = np.array([is_method(m) for m in method], dtype=bool)
    term_row = np.array([_term_method(m) for m in method], dtype=bool)
    successes = _num(table, "successes")
    with np.errstate(invalid="ignore"):
        conditions = {
            "above_one": is_row & (_num(table, "log10_value") > 0),
            "heavy_tail": is_row & (_num(table, "khat") > KHAT_UNRELIABLE),
            "low_ess": is_row & (successes > 0) & (_num(table, "ess") < low_ess),
            "no_support": term_row & (successes == 0),
        }
    return join_flags(conditions, len(table))


def add_below_lcb(table: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Add ``below_lcb`` to IS rows whose log10 value is below their cell's bound of the same proposal
    (``is`` against ``lower_bound``, ``is_<name>`` against ``lower_bound_<name>``: :func:`bound_method`).
    """
    by = list(by)
    out = table.copy()
    if "flags" not in out.columns:
        out["flags"] = ""
    out["flags"] = out["flags"].fillna("").astype(str)
    is_row = np.array([is_method(m) for m in out["method"]], dtype=bool)
    if not is_row.any():
        return out
    lb = out.loc[out["method"].isin({bound_method(m) for m in out.loc[is_row, "method"]}),
                 [*by, "method", "log10_value"]]
    if lb.empty:
        return out
    lb = lb.rename(columns={"method": "_bound", "log10_value": "_lcb"}).drop_duplicates([*by, "_bound"])
    want = out[by].assign(_bound=[bound_method(m) if i else "" for m, i in zip(out["method"], is_row, strict=True)])
    lcb = pd.to_numeric(want.merge(lb, on=[*by, "_bound"], how="left")["_lcb"], errors="coerce").to_numpy(float)
    with np.errstate(invalid="ignore"):
        below = is_row & np.isfinite(lcb) & (_num(out, "log10_value") < lcb)
    if below.any():
        parts = {name: np.array([name in f.split(";") for f in out["flags"]]) for name in FLAGS}
        parts["below_lcb"] = parts["below_lcb"] | below
        out["flags"] = join_flags(parts, len(out))
    return out


def compute_flags(table: pd.DataFrame, by: Sequence[str], *, low_ess: float = LOW_ESS) -> pd.Series:
    """The ``flags`` column :func:`hackwatch.estimate.estimate_cells` writes, for a stacked estimates table that
    lacks one (tables written before flags existed): :func:`row_flags`, then :func:`add_below_lcb` on ``by``.
    """
    out = table.assign(flags=row_flags(table, low_ess=low_ess))
    return add_below_lcb(out, by)["flags"]
