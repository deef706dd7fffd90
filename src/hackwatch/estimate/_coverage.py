"""Measured coverage of the IS bootstrap interval and the lower confidence bound, by ESS and k̂ band.

Synthetic worlds with closed-form truth (:mod:`hackwatch.estimate.synthetic`), many replicate runs
of one cell each; every replicate's interval is checked against the truth and the replicates are
pooled into bands of their own diagnostics, so the table says how far a reader can trust an
interval *given what its ESS and k̂ show*. Used by ``hackwatch bench coverage``; no I/O.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from hackwatch.estimate._bound import lower_bounds
from hackwatch.estimate._importance import is_estimates
from hackwatch.estimate._terms import importance_terms
from hackwatch.estimate.synthetic import SyntheticWorld, heavy_tailed_world, simulate, synthetic_world

ESS_BANDS: tuple[tuple[float, float, str], ...] = ((0, 5, "ESS < 5"), (5, 20, "5 ≤ ESS < 20"),
                                                   (20, np.inf, "ESS ≥ 20"))
KHAT_BANDS: tuple[tuple[float, float, str], ...] = ((-np.inf, 0.5, "k̂ ≤ 0.5"), (0.5, 0.7, "0.5 < k̂ ≤ 0.7"),
                                                    (0.7, np.inf, "k̂ > 0.7"))

WORLDS: tuple[tuple[str, str, float], ...] = (
    ("good donor, π ≈ 1e-2", "donor", -2.0), ("good donor, π ≈ 1e-3", "donor", -3.0),
    ("bad proposal, π ≈ 1e-2", "bad", -2.0), ("bad proposal, π ≈ 1e-3", "bad", -3.0),
    ("heavy tail k = 0.3, π = 1e-2", "heavy", 0.3), ("heavy tail k = 1.0, π = 1e-2", "heavy", 1.0))
"""(label, proposal, parameter) of the worlds measured by default: ``donor``/``bad`` worlds of
:func:`synthetic_world` at log10 rate ``parameter``, ``heavy`` worlds of :func:`heavy_tailed_world`
of tail shape ``parameter``."""


def make_world(proposal: str, parameter: float, seed: int) -> SyntheticWorld:
    """The world a :data:`WORLDS` entry names."""
    if proposal == "heavy":
        return heavy_tailed_world(parameter, seed=seed)
    return synthetic_world(proposal=proposal, log10_rate=parameter, seed=seed)  # type: ignore[arg-type]


@dataclass(frozen=True)
class CoverageSetup:
    """One replicate cell: tasks × prefixes per task × rollouts per prefix, and the interval level."""

    replicates: int = 300
    n_tasks: int = 40
    prefixes_per_task: int = 4
    rollouts_per_prefix: int = 8
    n_boot: int = 300
    alpha: float = 0.05
    seed: int = 0


def replicate_cells(setup: CoverageSetup, worlds: tuple[tuple[str, str, float], ...] = WORLDS) -> pd.DataFrame:
    """One row per (world, replicate): IS value, interval, ESS, k̂, lower bound and the truths.

    ``truth`` is the world's population mean π (what the bootstrap over tasks targets);
    ``cell_pi`` the mean π of the replicate's drawn tasks (what the lower bound bounds).
    """
    out = []
    for i, (label, proposal, parameter) in enumerate(worlds):
        world = make_world(proposal, parameter, setup.seed)
        d = simulate(world, replicates=setup.replicates, n_tasks=setup.n_tasks,
                     prefixes_per_task=setup.prefixes_per_task, rollouts_per_prefix=setup.rollouts_per_prefix,
                     seed=setup.seed + 1 + i)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            terms = importance_terms(d.scores, d.verdicts, by=["replicate"])
            est = is_estimates(d.scores, d.verdicts, by=["replicate"], n_boot=setup.n_boot, alpha=setup.alpha,
                               seed=setup.seed, terms=terms).summary
            lb = lower_bounds(d.scores, d.verdicts, by=["replicate"], alpha=setup.alpha, terms=terms).summary
            lbp = lower_bounds(d.scores, d.verdicts, by=["replicate"], point=True, terms=terms).summary
        cell_pi = d.task_truth.groupby("replicate")["pi"].mean()
        est = est.set_index("replicate")
        out.append(pd.DataFrame({
            "world": label, "replicate": est.index, "truth": d.truth, "cell_pi": cell_pi.loc[est.index].to_numpy(),
            "value": est["value"].to_numpy(), "lower": est["lower"].to_numpy(), "upper": est["upper"].to_numpy(),
            "ess": est["ess"].to_numpy(), "khat": est["khat"].to_numpy(),
            "lcb": lb.set_index("replicate").loc[est.index, "value"].to_numpy(),
            "lcb_point": lbp.set_index("replicate").loc[est.index, "value"].to_numpy()}))
    cells = pd.concat(out, ignore_index=True)
    lo = cells["lower"].fillna(0.0)  # no interval: counts as a miss unless the truth is 0
    cells["covered"] = (lo <= cells["truth"]) & (cells["truth"] <= cells["upper"].fillna(-np.inf))
    cells["lcb_exceeds"] = cells["lcb"] > cells["cell_pi"]
    cells["point_exceeds"] = cells["lcb_point"] > cells["cell_pi"]
    return cells


def band_of(values: pd.Series, bands: tuple[tuple[float, float, str], ...], missing: str) -> pd.Series:
    """Label of the half-open band ``(lo, hi]`` (ESS: ``[lo, hi)``) each value falls in; ``missing`` for NaN."""
    out = pd.Series(missing, index=values.index, dtype=object)
    for lo, hi, name in bands:
        inside = (values >= lo) & (values < hi) if bands is ESS_BANDS else (values > lo) & (values <= hi)
        out[inside.fillna(False).to_numpy(bool)] = name
    return out


def coverage_table(cells: pd.DataFrame, band: pd.Series, flag: str = "covered") -> pd.DataFrame:
    """Per world × band: cells, and the share of them where ``flag`` holds (with its binomial s.e.)."""
    g = cells.assign(band=band.to_numpy()).groupby(["world", "band"], sort=False)[flag]
    out = g.agg(cells="size", rate="mean").reset_index()
    out["se"] = np.sqrt(out["rate"] * (1 - out["rate"]) / out["cells"])
    return out
