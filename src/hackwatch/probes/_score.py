"""Using probes: per-sample scores, labels joined from verdicts, and per-cell scores the forecaster reads.

A probe's calibrated probability is an estimate of ``Pr[this sample exploits | its first W reasoning
tokens' activations]``; its mean over a cell's samples estimates the cell's exploit rate. ``probe_cells``
writes that mean in the estimates-table shape (``method = "probe"``) so ``hackwatch.forecast`` computes
trends, AUC and lead time for it exactly as for the direct and IS estimates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from hackwatch.probes._acts import Activations
from hackwatch.probes._probe import ProbeError, ProbeSet

PROBE_METHOD = "probe"


def sample_id(row: Mapping[str, Any]) -> str:
    """A sample's id: its ``sample_id`` field, else ``model/task_id/prefix_id/sample_index`` (model optional).

    ``hackwatch verify`` keeps the sample row's fields, so verdict rows of a sample file derive the same id.
    """
    sid = row.get("sample_id")
    if sid is not None and not (isinstance(sid, float) and np.isnan(sid)) and str(sid) != "":
        return str(sid)
    parts = [row.get("model"), row.get("task_id"), row.get("prefix_id") or "", row.get("sample_index")]
    if parts[3] is None:
        parts[3] = row.get("attempt")
    if parts[1] is None or parts[3] is None:
        raise ProbeError("row has neither 'sample_id' nor 'task_id' + 'sample_index' (or 'attempt')")
    return "/".join(str(p) for p in parts if p is not None)


def join_labels(acts: Activations, verdicts: pd.DataFrame, *, label: str = "exploit",
                source: str = "<verdicts>") -> np.ndarray:
    """Labels aligned with ``acts.index``: 1.0/0.0 from the verdict row of the same sample, NaN without one.

    ``label = "exploit"`` reads column ``exploit`` or else ``label == "exploit"``; any other name reads a
    boolean/0-1 column. Rows labelled ``error`` (the sandbox broke; no observation) are left out.
    """
    df = verdicts.reset_index(drop=True)
    if "label" in df.columns:
        df = df[df["label"].astype(str) != "error"]
    if label == "exploit" and "exploit" not in df.columns:
        if "label" not in df.columns:
            raise ProbeError(f"{source}: needs column 'exploit' or 'label' (from `hackwatch verify`)")
        values = (df["label"].astype(str) == "exploit").astype(float)
    elif label not in df.columns:
        raise ProbeError(f"{source}: no label column {label!r}; columns are {list(df.columns)}")
    else:
        raw = df[label]
        values = raw.map(lambda v: float(v) if isinstance(v, bool | int | float | np.bool_ | np.integer
                                                          | np.floating) else np.nan)
        bad = raw.notna() & (values.isna() | ~values.isin([0.0, 1.0]))
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise ProbeError(f"{source}: row {df.index[i]}, column {label!r}: expected true/false or 0/1, "
                             f"got {raw.iloc[i]!r}")
    ids = []
    for i, row in enumerate(df.to_dict("records")):
        try:
            ids.append(sample_id(row))
        except ProbeError as e:
            raise ProbeError(f"{source}: row {df.index[i]}: {e}") from e
    by_id = pd.Series(values.to_numpy(float), index=ids)
    if by_id.index.duplicated().any():
        raise ProbeError(f"{source}: sample id {by_id.index[by_id.index.duplicated()][0]!r} appears twice")
    return acts.index["sample_id"].astype(str).map(by_id).to_numpy(float)


def score_activations(probes: ProbeSet, acts: Activations, keys: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per sample × probe: the index columns, ``probe, layer, window, pooling, logit, score``."""
    rows = []
    for key in keys or list(probes.probes):
        if key not in probes.probes:
            raise ProbeError(f"no probe {key!r}; trained: {sorted(probes.probes)}")
        p = probes.probes[key]
        x = acts.array(p.layer, p.window, p.pooling)
        part = acts.index.copy()
        part["probe"], part["layer"], part["window"], part["pooling"] = key, p.layer, p.window, p.pooling
        part["logit"] = p.logit(x)
        part["score"] = p.predict_proba(x)
        rows.append(part)
    return pd.concat(rows, ignore_index=True)


def probe_cells(scores: pd.DataFrame, *, by: Sequence[str] = ("checkpoint", "exploit_type"),
                probe: str | None = None, pooling: str = "sample", n_boot: int = 1000, alpha: float = 0.05,
                seed: int = 0) -> pd.DataFrame:
    """Mean probe score per cell in the estimates-table shape (``method = "probe"``).

    ``value`` = mean calibrated score (``pooling="task"``: mean of per-task means), ``lower/upper`` = a
    percentile bootstrap over the cell's tasks, ``n`` = samples, ``n_tasks``; ``successes``, ``ess`` and
    ``max_weight_share`` are null. ``probe`` selects one probe when ``scores`` holds several.
    """
    from hackwatch.estimate import order_columns

    if pooling not in ("sample", "task"):
        raise ValueError(f"pooling must be 'sample' or 'task', got {pooling!r}")
    df = scores
    if "probe" in df.columns and df["probe"].nunique() > 1:
        if probe is None:
            raise ProbeError(f"scores hold several probes {sorted(df['probe'].unique())}; choose one (probe=...)")
        df = df[df["probe"] == probe]
    by = list(by)
    missing = [c for c in [*by, "task_id", "score"] if c not in df.columns]
    if missing:
        raise ProbeError(f"scores table lacks column(s) {missing}")
    rng = np.random.default_rng(seed)
    rows = []
    for key, g in df.groupby(by, sort=True):
        per_task = g.groupby("task_id")["score"].agg(["sum", "count"])
        sums, counts = per_task["sum"].to_numpy(float), per_task["count"].to_numpy(float)

        def stat(s: np.ndarray, c: np.ndarray) -> np.ndarray:
            return (s / c).mean(axis=-1) if pooling == "task" else s.sum(axis=-1) / c.sum(axis=-1)

        value = float(stat(sums, counts))
        idx = rng.integers(0, len(sums), size=(n_boot, len(sums))) if n_boot > 0 else None
        lo, hi = (np.quantile(stat(sums[idx], counts[idx]), [alpha / 2, 1 - alpha / 2]) if idx is not None
                  else (np.nan, np.nan))
        row = dict(zip(by, key if isinstance(key, tuple) else (key,), strict=True))
        row.update(method=PROBE_METHOD, value=value, log10_value=float(np.log10(value)) if value > 0 else -np.inf,
                   lower=float(lo), upper=float(hi),
                   log10_lower=float(np.log10(lo)) if lo > 0 else np.nan,
                   log10_upper=float(np.log10(hi)) if hi > 0 else np.nan,
                   n=int(counts.sum()), n_tasks=int(len(sums)), successes=np.nan, ess=np.nan,
                   max_weight_share=np.nan, interval="bootstrap" if n_boot > 0 else "none", pooling=pooling,
                   donor_correction=np.nan)
        if "step" in g.columns and "step" not in by:
            row["step"] = int(pd.to_numeric(g["step"]).iloc[0])
        if "temperature" in g.columns and "temperature" not in by:
            row["temperature"] = float(pd.to_numeric(g["temperature"]).iloc[0])
        if "probe" in g.columns:
            row["probe"] = str(g["probe"].iloc[0])
        rows.append(row)
    return order_columns(pd.DataFrame(rows), by)
