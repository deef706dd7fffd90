"""Tables that hold several IS proposals (column ``proposal``): each proposal is estimated on its own rows.

A run with ``[[proposals]]`` (and its ``hackwatch export``) stacks the donor bank's prefixes with
other proposals' (prompted, an unrelated donor, ...). Their IS terms must never share a cell: each
bank is its own estimator of the same π, with its own weights. The donor bank keeps the methods
``is`` and ``lower_bound`` (and every direct sample); proposal ``<name>`` gets ``is_<name>`` and
``lower_bound_<name>``. ``hackwatch run`` and ``hackwatch estimate`` (:func:`estimate_proposals`) both
split with :func:`split_proposals`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from hackwatch.estimate._cells import estimate_cells
from hackwatch.estimate._columns import DEFAULT_BY
from hackwatch.estimate._shared import EstimateResult, StatisticalWarning

DONOR_PROPOSAL = "donor"
"""Proposal of the donor bank (``[donor].bank``); a row without a ``proposal`` value belongs to it."""

PROPOSAL_COLUMN = "proposal"
"""Verdict and score column naming the bank a prefix came from (``hackwatch export`` writes it)."""


@dataclass(frozen=True)
class ProposalRows:
    """One proposal's share of the verdict and score tables."""

    name: str
    """``donor`` or a ``[[proposals]]`` name."""
    verdicts: pd.DataFrame
    """Its prefilled samples (and, for the donor bank, every direct sample)."""
    scores: pd.DataFrame | None
    """Its prefixes' scores (None when no scores were given)."""

    @property
    def estimable(self) -> bool:
        """Something to estimate: the donor bank needs verdicts and direct samples or scores; another
        proposal needs prefilled verdicts and scores (it has no direct rate of its own).
        """
        n_scores = 0 if self.scores is None else len(self.scores)
        if self.name == DONOR_PROPOSAL:
            direct = (pd.to_numeric(self.verdicts["prefix_tokens"], errors="coerce") == 0).any()
            return len(self.verdicts) > 0 and bool(direct or n_scores)
        return len(self.verdicts) > 0 and n_scores > 0


def _proposal_of(table: pd.DataFrame) -> pd.Series:
    if PROPOSAL_COLUMN not in table.columns:
        return pd.Series(DONOR_PROPOSAL, index=table.index, dtype=object)
    return table[PROPOSAL_COLUMN].astype(object).where(table[PROPOSAL_COLUMN].notna(), DONOR_PROPOSAL)


def proposal_names(verdicts: pd.DataFrame, scores: pd.DataFrame | None = None) -> list[str]:
    """Proposals other than the donor's found in the ``proposal`` column of either table, sorted."""
    found = set(_proposal_of(verdicts))
    if scores is not None:
        found |= set(_proposal_of(scores))
    return sorted(str(n) for n in found - {DONOR_PROPOSAL})


def split_proposals(verdicts: pd.DataFrame, scores: pd.DataFrame | None = None,
                    names: Sequence[str] | None = None) -> list[ProposalRows]:
    """The donor bank's rows, then each proposal's in ``names`` (default :func:`proposal_names`).

    Direct samples (``prefix_tokens`` 0) go with the donor bank; a table without a ``proposal``
    column, or a row whose value is null, is the donor bank's. Indices are reset.
    """
    direct = pd.to_numeric(verdicts["prefix_tokens"], errors="coerce") == 0
    v_prop = _proposal_of(verdicts)
    s_prop = _proposal_of(scores) if scores is not None else None
    out = []
    for name in [DONOR_PROPOSAL, *(proposal_names(verdicts, scores) if names is None else names)]:
        keep = (direct | (v_prop == name)) if name == DONOR_PROPOSAL else (~direct & (v_prop == name))
        v = verdicts[keep].reset_index(drop=True)
        s = None if scores is None or s_prop is None else scores[s_prop == name].reset_index(drop=True)
        out.append(ProposalRows(name, v, s))
    return out


def proposal_methods(summary: pd.DataFrame, name: str) -> pd.DataFrame:
    """``summary`` of one bank with its methods named after it: ``is_<name>``, ``lower_bound_<name>``
    (the donor bank's stay ``is``, ``lower_bound``).
    """
    if name == DONOR_PROPOSAL:
        return summary
    out = summary.copy()
    out["method"] = out["method"].replace({"is": f"is_{name}", "lower_bound": f"lower_bound_{name}"})
    return out


def estimate_proposals(verdicts: pd.DataFrame, scores: pd.DataFrame | None = None, *,
                       verdicts_source: str | None = None, scores_source: str | None = None,
                       **kwargs: Any) -> EstimateResult:
    """:func:`estimate_cells` on each proposal's rows (:func:`split_proposals`), stacked.

    A table with one proposal (or no ``proposal`` column) is estimated as given. With several, the
    donor bank gives ``direct``, ``is`` and ``lower_bound`` and proposal ``<name>`` gives ``is_<name>``
    and ``lower_bound_<name>``, as in ``hackwatch run``; pooling them into one IS cell would mix
    weights of different proposals. A proposal without prefilled verdicts or scores is left out
    with a :class:`StatisticalWarning` (none when ``scores`` is None: only direct rates were asked).
    Keyword arguments go to :func:`estimate_cells`.
    """
    banks = split_proposals(verdicts, scores)
    if len(banks) == 1:
        return estimate_cells(verdicts, scores, verdicts_source=verdicts_source, scores_source=scores_source,
                              **kwargs)
    parts, notes = [], []
    for bank in banks:
        if not bank.estimable:
            if scores is not None:
                warnings.warn(f"{verdicts_source or '<verdicts>'}: proposal {bank.name!r} has no prefilled verdicts "
                              f"or no scores; not estimated", StatisticalWarning, stacklevel=2)
            continue
        which = "" if bank.name == DONOR_PROPOSAL else f" (proposal {bank.name})"
        res = estimate_cells(bank.verdicts, bank.scores if bank.scores is not None and len(bank.scores) else None,
                             verdicts_source=f"{verdicts_source or '<verdicts>'}{which}" if which else verdicts_source,
                             scores_source=f"{scores_source or '<scores>'}{which}" if which else scores_source,
                             **kwargs)
        parts.append(proposal_methods(res.summary, bank.name))
        notes += [f"{bank.name}: {n}" for n in res.notes]
    if not parts:
        raise ValueError(f"{verdicts_source or '<verdicts>'}: no proposal has direct samples or prefilled "
                         f"verdicts with scores; nothing to estimate")
    return EstimateResult(summary=pd.concat(parts, ignore_index=True), by=tuple(kwargs.get("by", DEFAULT_BY)),
                          method="all", notes=notes)
