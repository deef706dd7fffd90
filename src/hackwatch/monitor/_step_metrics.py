"""Per-step, per-subset metric table and its TRL-style keys (``hackwatch/<group>/<metric>``).

``step_metrics`` returns one row per (step, subset) -- subset ``"*"`` is the whole step -- with one
column per short metric name. ``metric_keys`` turns a row into the keys logged to TRL:
``hackwatch/<group>/<metric>`` for the whole step, ``hackwatch/subset=<tag>/<metric>`` per subset.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from hackwatch.monitor.metrics import (
    diversity_summary,
    group_summary,
    group_table,
    mean_pass_at_k,
    plausible_wrong_rate,
)

ALL = "*"

#: short metric name -> key group, for the whole-step keys ``hackwatch/<group>/<metric>``.
METRIC_GROUPS = {
    "n_groups": "groups", "frac_zero_std": "groups", "frac_all_fail": "groups", "frac_all_pass": "groups",
    "reward_spread": "groups", "binary_spread": "groups",
    "reward_mean": "reward",
    "distinct_1": "diversity", "distinct_2": "diversity", "ngram_overlap_2": "diversity",
    "mean_length": "diversity", "entropy": "diversity",
    "plausible_wrong_rate": "plausible",
}


def _group_of(name: str) -> str:
    if name in METRIC_GROUPS:
        return METRIC_GROUPS[name]
    if name.startswith(("pass@", "ref_pass@", "pass_gap@")):
        return "pass"
    if name.endswith("_spread"):
        return "groups"
    return "other"


def _slice(df: pd.DataFrame, groups: pd.DataFrame, *, pass_threshold: float, ks: Sequence[int],
           components: Sequence[str], ref: dict[int, float] | None) -> dict[str, float]:
    out = group_summary(groups, components)
    out["reward_mean"] = float(df["reward"].mean())
    for k in ks:
        out[f"pass@{k}"] = mean_pass_at_k(groups, k)
        if ref is not None and k in ref:
            out[f"ref_pass@{k}"] = ref[k]
            out[f"pass_gap@{k}"] = ref[k] - out[f"pass@{k}"]
    out.update(diversity_summary(df))
    pw = plausible_wrong_rate(df, pass_threshold=pass_threshold)
    if pw == pw:
        out["plausible_wrong_rate"] = pw
    return out


def reference_pass_at_k(reference: pd.DataFrame, *, ks: Sequence[int] = (1, 4),
                        pass_threshold: float = 1.0) -> dict[str, dict[int, float]]:
    """A reference model's pass@k per subset (and ``"*"``), pooled over its whole rollout table."""
    groups = group_table(reference, pass_threshold=pass_threshold)
    out = {ALL: {k: mean_pass_at_k(groups, k) for k in ks}}
    for subset, g in groups.groupby("subset"):
        out[str(subset)] = {k: mean_pass_at_k(g, k) for k in ks}
    return out


def step_metrics(df: pd.DataFrame, *, pass_threshold: float = 1.0, ks: Sequence[int] = (1, 4),
                 components: Sequence[str] = (), reference: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per (step, subset) with every metric; subset ``"*"`` pools all subsets of the step."""
    groups = group_table(df, pass_threshold=pass_threshold, components=components)
    ref = reference_pass_at_k(reference, ks=ks, pass_threshold=pass_threshold) if reference is not None else None
    records = []
    groups_by_step = dict(tuple(groups.groupby("step", sort=True)))
    for step, d_step in df.groupby("step", sort=True):
        g_step = groups_by_step[step]
        rec = {"step": int(step), "subset": ALL}
        rec.update(_slice(d_step, g_step, pass_threshold=pass_threshold, ks=ks, components=components,
                          ref=ref.get(ALL) if ref else None))
        records.append(rec)
        g_subsets = dict(tuple(g_step.groupby("subset", sort=True)))
        for subset, d_sub in d_step.groupby("subset", sort=True):
            rec = {"step": int(step), "subset": str(subset)}
            rec.update(_slice(d_sub, g_subsets[subset], pass_threshold=pass_threshold, ks=ks,
                              components=components, ref=ref.get(str(subset)) if ref else None))
            records.append(rec)
    return pd.DataFrame.from_records(records)


def metric_keys(row: dict[str, float], subset: str) -> dict[str, float]:
    """TRL-style keys for one row of ``step_metrics`` (NaN values are dropped)."""
    out = {}
    for name, value in row.items():
        if name in ("step", "subset") or value != value:
            continue
        prefix = f"hackwatch/{_group_of(name)}" if subset == ALL else f"hackwatch/subset={subset}"
        out[f"{prefix}/{name}"] = float(value)
    return out


def metrics_as_keys(table: pd.DataFrame) -> dict[int, dict[str, float]]:
    """``step_metrics`` output as ``{step: {key: value}}``, ready to merge into a TRL log."""
    out: dict[int, dict[str, float]] = {}
    for rec in table.to_dict("records"):
        out.setdefault(int(rec["step"]), {}).update(metric_keys(rec, str(rec["subset"])))
    return out
