"""Measured coverage of the crossing-step interval, by the ESS and k̂ of the series' IS points.

Each series is one synthetic exploit type whose true rate rises on a straight line in
``log10 π = a + b·ln(step)``; at every checkpoint a fresh synthetic run is drawn and estimated by
IS (with its bootstrap interval), the trend and crossing interval are fitted on those points, and
the interval is checked against the true crossing step. Also the interval under its own model
(straight line plus Gaussian noise of known σ). Used by ``hackwatch bench coverage``; no I/O.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from hackwatch.estimate import is_estimates
from hackwatch.estimate._coverage import make_world
from hackwatch.estimate.synthetic import heavy_tailed_world, simulate
from hackwatch.forecast._forecast import emergence_scores
from hackwatch.forecast._trend import crossing_interval

STEPS: tuple[int, ...] = (1, 2, 4, 8, 16)

SERIES_WORLDS: tuple[tuple[str, str, float], ...] = (
    ("good donor", "donor", 0.0), ("bad proposal", "bad", 0.0),
    ("heavy tail k = 0.3", "heavy", 0.3), ("heavy tail k = 1.0", "heavy", 1.0))
"""(label, proposal, tail shape) of the series measured by default (shape used by ``heavy`` only)."""


@dataclass(frozen=True)
class CrossingSetup:
    """The true trend, the threshold and the size of each checkpoint's synthetic run."""

    series: int = 100
    start_log10: float = -3.5
    decades_per_doubling: float = 0.5
    threshold: float = 0.1
    n_tasks: int = 40
    prefixes_per_task: int = 4
    rollouts_per_prefix: int = 8
    n_boot: int = 300
    alpha: float = 0.1
    seed: int = 0

    @property
    def slope(self) -> float:
        """True slope in decades per e-fold of step."""
        return self.decades_per_doubling / float(np.log(2.0))

    @property
    def true_crossing(self) -> float:
        """Step at which the true line reaches the threshold."""
        return float(np.exp((np.log10(self.threshold) - self.start_log10) / self.slope))


def series_crossings(setup: CrossingSetup, worlds: tuple[tuple[str, str, float], ...] = SERIES_WORLDS
                     ) -> pd.DataFrame:
    """One row per (world, series): crossing step, whether its interval covers the true crossing, and the
    median ESS and median k̂ of the series' IS points (a series that already crossed, ``observed``, has no
    interval and counts as not covered).
    """
    out = []
    for w, (label, proposal, shape) in enumerate(worlds):
        parts_s, parts_v = [], []
        for i, step in enumerate(STEPS):
            log10_rate = setup.start_log10 + setup.slope * float(np.log(step))
            world = (heavy_tailed_world(shape, rate=10.0**log10_rate, seed=setup.seed) if proposal == "heavy"
                     else make_world(proposal, log10_rate, setup.seed))
            d = simulate(world, replicates=setup.series, n_tasks=setup.n_tasks,
                         prefixes_per_task=setup.prefixes_per_task, rollouts_per_prefix=setup.rollouts_per_prefix,
                         checkpoint=f"c{step}", step=step, seed=setup.seed + 100 * w + i + 1)
            parts_s.append(d.scores)
            parts_v.append(d.verdicts)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est = is_estimates(pd.concat(parts_s), pd.concat(parts_v), by=["replicate", "checkpoint"],
                               n_boot=setup.n_boot, seed=setup.seed).summary
            sc = emergence_scores(est, method="is", threshold=setup.threshold, series_by=["replicate"],
                                  alpha=setup.alpha, seed=setup.seed, n_boot=1000)
        diag = est.groupby("replicate").agg(med_ess=("ess", "median"), med_khat=("khat", "median"))
        sc = sc.set_index("replicate").join(diag)
        truth = setup.true_crossing
        covered = (sc["crossing_lower"] <= truth) & (truth <= sc["crossing_upper"])
        out.append(pd.DataFrame({"world": label, "series": sc.index, "crossing_step": sc["crossing_step"].to_numpy(),
                                 "crossing_kind": sc["crossing_kind"].to_numpy(), "covered": covered.to_numpy(),
                                 "ess": sc["med_ess"].to_numpy(), "khat": sc["med_khat"].to_numpy(),
                                 "n_floored": sc["n_floored"].to_numpy()}))
    return pd.concat(out, ignore_index=True)


def own_model_coverage(n: int = 400, sigma: float = 0.2, alpha: float = 0.1, seed: int = 5) -> float:
    """Coverage of the crossing interval when its model holds: the true line plus N(0, σ²), σ known."""
    rng = np.random.default_rng(seed)
    x = np.log(np.array(STEPS, float))
    a, b, log_thr = -4.0, 0.5, -1.0
    truth = float(np.exp((log_thr - a) / b))
    hits = 0
    for _ in range(n):
        y = a + b * x + rng.normal(scale=sigma, size=x.size)
        lo, hi = crossing_interval(x, y, np.full(x.size, sigma), log_thr, n_boot=1000, alpha=alpha, rng=rng)
        hits += int(lo <= truth <= hi)
    return hits / n
