"""GRPO group statistics: zero-variance groups (all-fail / all-pass) and within-group reward spread.

A GRPO advantage is ``(r - mean(group)) / std(group)``; a group whose rewards are all equal has
zero advantage everywhere and contributes no gradient. The share of such groups, and whether
they are all-fail or all-pass, is the primary exploration-hacking signal.

Spreads are *population* standard deviations (``ddof=0``), while TRL scales advantages by the
*sample* std (``ddof=1``): for groups of n rollouts TRL's value is ``sqrt(n / (n - 1))`` times ours
(1.15 for n = 4). Zero-variance groups are the same under both. A group needs at least two rollouts:
one alone has no spread and would read as all-fail or all-pass, so ``group_table`` refuses it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

#: Rewards whose group standard deviation is at or below this count as identical.
ZERO_STD_ATOL = 1e-6


def group_table(df: pd.DataFrame, *, pass_threshold: float = 1.0, components: Sequence[str] = ()) -> pd.DataFrame:
    """One row per GRPO group: ``step, subset, group_id, n, n_pass, reward_mean, reward_std, binary_std,
    zero_std, all_fail, all_pass`` and ``<component>_std`` for each reward component.

    A rollout *passes* when ``reward >= pass_threshold``. A zero-variance group is *all-pass* when its
    common reward passes and *all-fail* otherwise. Raises ``ValueError`` naming the step and group when
    a group has fewer than two rollouts.
    """
    work = df.assign(_pass=(df["reward"] >= pass_threshold).astype(float))
    agg: dict[str, tuple[str, str]] = {
        "n": ("reward", "size"),
        "n_pass": ("_pass", "sum"),
        "reward_mean": ("reward", "mean"),
        "reward_std": ("reward", lambda x: float(np.std(x))),
        "binary_std": ("_pass", lambda x: float(np.std(x))),
    }
    for comp in components:
        agg[f"{comp}_std"] = (comp, lambda x: float(np.std(x)))
    groups = work.groupby(["step", "subset", "group_id"], sort=True).agg(**agg).reset_index()
    small = groups[groups["n"] < 2]
    if not small.empty:
        row = small.iloc[0]
        raise ValueError(f"step {row['step']}, group '{row['group_id']}': {row['n']} rollout(s); a GRPO group needs "
                         f">= 2 rollouts of one prompt (one alone has no spread); log each prompt's rollouts under "
                         f"one group_id, or drop the group ({len(small)} such group(s))")
    groups["n_pass"] = groups["n_pass"].astype(int)
    groups["zero_std"] = groups["reward_std"] <= ZERO_STD_ATOL
    groups["all_pass"] = groups["zero_std"] & (groups["n_pass"] == groups["n"])
    groups["all_fail"] = groups["zero_std"] & ~groups["all_pass"]
    return groups


def group_summary(groups: pd.DataFrame, components: Sequence[str] = ()) -> dict[str, float]:
    """Shares and spreads over a set of groups (keys: frac_zero_std, frac_all_fail, frac_all_pass,
    reward_spread, binary_spread, ``<component>_spread``, n_groups).
    """
    if groups.empty:
        return {}
    out = {
        "n_groups": float(len(groups)),
        "frac_zero_std": float(groups["zero_std"].mean()),
        "frac_all_fail": float(groups["all_fail"].mean()),
        "frac_all_pass": float(groups["all_pass"].mean()),
        "reward_spread": float(groups["reward_std"].mean()),
        "binary_spread": float(groups["binary_std"].mean()),
    }
    for comp in components:
        out[f"{comp}_spread"] = float(groups[f"{comp}_std"].mean())
    return out


def plausible_wrong_rate(df: pd.DataFrame, *, pass_threshold: float = 1.0) -> float:
    """Share of rollouts that ran/compiled (``ran`` true) yet failed; NaN when ``ran`` is not logged."""
    if "ran" not in df.columns:
        return float("nan")
    known = df[df["ran"].notna()]
    if known.empty:
        return float("nan")
    ran = known["ran"].astype(bool)
    return float((ran & (known["reward"] < pass_threshold)).mean())
