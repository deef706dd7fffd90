"""Training linear probes with task-blocked cross-validation and calibration inside the training folds.

Protocol per (layer, window, pooling):

1. Outer ``GroupKFold`` on ``task_id``: a task is never in both the training and the test fold, so a
   probe cannot score well by recognising tasks whose samples tend to exploit.
2. In each training fold, the base model is ``StandardScaler → LogisticRegression(C)`` (L2). Its Platt
   calibration ``sigmoid(a·logit + c)`` is fitted on out-of-fold logits from an inner ``GroupKFold``
   on the training fold's tasks (never on the test fold, never on in-sample logits).
3. The test fold gets calibrated probabilities; the pooled out-of-fold probabilities give the CV AUC
   (with a bootstrap interval) and Brier score. The same CV on shuffled labels gives ``null_cv_auc``,
   the AUC a probe reaches with no signal (≈ 0.5).
4. The saved probe is refitted on all labelled samples, calibrated the same way (step 2).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from hackwatch.probes._acts import Activations
from hackwatch.probes._probe import LinearProbe, ProbeError, ProbeSet


def _folds(groups: np.ndarray, n_splits: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    from sklearn.model_selection import GroupKFold

    k = min(n_splits, len(np.unique(groups)))
    if k < 2:
        return []
    return list(GroupKFold(n_splits=k, shuffle=True, random_state=seed).split(groups, groups=groups))


def _fit_base(x: np.ndarray, y: np.ndarray, c: float) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lbfgs convergence notes on separable toy data
        return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000)).fit(x, y)


def _platt(logits: np.ndarray, y: np.ndarray) -> tuple[float, float, bool]:
    """Platt scaling ``sigmoid(a·z + c)`` fitted by (almost unpenalised) logistic regression on 1-D logits."""
    from sklearn.linear_model import LogisticRegression

    ok = np.isfinite(logits)
    if ok.sum() < 2 or len(np.unique(y[ok])) < 2:
        return 1.0, 0.0, False
    lr = LogisticRegression(C=1e4, max_iter=1000).fit(logits[ok, None], y[ok])
    return float(lr.coef_[0, 0]), float(lr.intercept_[0]), True


def fit_probe(x: np.ndarray, y: np.ndarray, groups: np.ndarray, *, key: tuple[int, int, str], c: float = 0.1,
              inner_splits: int = 3, seed: int = 0) -> LinearProbe:
    """Fit one calibrated probe on ``x`` (rows = samples), binary ``y``, CV groups ``groups`` (task ids)."""
    if len(np.unique(y)) < 2:
        raise ProbeError(f"probe {key}: labels have a single class ({int(y.sum())} positive of {len(y)}); "
                         "a probe needs positive and negative samples")
    base = _fit_base(x, y, c)
    oof = np.full(len(y), np.nan)
    for tr, te in _folds(groups, inner_splits, seed):
        if len(np.unique(y[tr])) == 2:
            oof[te] = _fit_base(x[tr], y[tr], c).decision_function(x[te])
    a, b, calibrated = _platt(oof, y)
    scaler, lr = base.steps[0][1], base.steps[1][1]
    return LinearProbe(int(key[0]), int(key[1]), str(key[2]), scaler.mean_.astype(np.float64),
                       scaler.scale_.astype(np.float64), lr.coef_[0].astype(np.float64), float(lr.intercept_[0]),
                       a, b, calibrated)


def cross_validate(x: np.ndarray, y: np.ndarray, groups: np.ndarray, *, key: tuple[int, int, str], c: float = 0.1,
                   n_splits: int = 5, inner_splits: int = 3, seed: int = 0) -> tuple[np.ndarray, int]:
    """Out-of-fold calibrated probabilities under task-blocked CV, and the number of folds used.

    A test fold whose training fold holds a single class gets NaN (it ranks lowest in the AUC).
    """
    oof = np.full(len(y), np.nan)
    folds = _folds(groups, n_splits, seed)
    for tr, te in folds:
        if len(np.unique(y[tr])) == 2:
            probe = fit_probe(x[tr], y[tr], groups[tr], key=key, c=c, inner_splits=inner_splits, seed=seed)
            oof[te] = probe.predict_proba(x[te])
    return oof, len(folds)


def train_probes(acts: Activations, labels: Sequence[bool] | np.ndarray, *, keys: Sequence[tuple[int, int, str]]
                 | None = None, c: float = 0.1, n_splits: int = 5, inner_splits: int = 3, seed: int = 0,
                 null_control: bool = True, label_name: str = "exploit", n_boot: int = 1000,
                 progress: bool = False) -> ProbeSet:
    """Train one probe per (layer, window, pooling) on the samples whose label is not NaN.

    ``labels`` is aligned with ``acts.index`` (True/1 = positive, False/0 = negative, NaN = unlabelled).
    CV groups are ``acts.index['task_id']``. Returns the probes (fitted on all labelled samples) and the
    CV table.
    """
    from hackwatch.forecast import auc_interval
    from hackwatch.progress import progress as track

    lab = pd.to_numeric(pd.Series(np.asarray(labels, dtype=object)), errors="coerce").to_numpy(float)
    if lab.shape[0] != len(acts):
        raise ProbeError(f"labels: {lab.shape[0]} values for {len(acts)} samples; align them with acts.index")
    use = np.isfinite(lab)
    y = lab[use] > 0.5
    groups = acts.index["task_id"].astype(str).to_numpy()[use]
    n_tasks = len(np.unique(groups))
    if y.sum() == 0 or y.all():
        raise ProbeError(f"labels: {int(y.sum())} positive of {len(y)} labelled samples; a probe needs both classes")
    if n_tasks < 2:
        raise ProbeError(f"labels: all {len(y)} labelled samples come from one task; task-blocked CV needs >= 2")
    rng = np.random.default_rng(seed)
    y_null = rng.permutation(y)
    rows, probes = [], {}
    for layer, window, pooling in track(list(keys or acts.keys()), "probe train", unit="probe", enabled=progress):
        key = (int(layer), int(window), str(pooling))
        x = acts.array(*key)[use]
        oof, n_folds = cross_validate(x, y, groups, key=key, c=c, n_splits=n_splits, inner_splits=inner_splits,
                                      seed=seed)
        ok = np.isfinite(oof)
        row: dict[str, Any] = {"key": f"layer{key[0]}_window{key[1]}_{key[2]}", "layer": key[0], "window": key[1],
                               "pooling": key[2], "n": int(len(y)), "n_pos": int(y.sum()), "n_tasks": n_tasks,
                               "n_folds": n_folds, "n_scored": int(ok.sum())}
        if y[ok].any() and not y[ok].all():
            res = auc_interval(oof, y, n_boot=n_boot, seed=seed)
            row.update(cv_auc=res.auc, cv_auc_lower=res.lower, cv_auc_upper=res.upper,
                       cv_brier=float(np.mean((oof[ok] - y[ok]) ** 2)))
        else:
            row.update(cv_auc=np.nan, cv_auc_lower=np.nan, cv_auc_upper=np.nan, cv_brier=np.nan)
        if null_control:
            null, _ = cross_validate(x, y_null, groups, key=key, c=c, n_splits=n_splits, inner_splits=inner_splits,
                                     seed=seed)
            from hackwatch.forecast import roc_auc
            row["null_cv_auc"] = roc_auc(null, y_null) if np.isfinite(null).any() else np.nan
        row["base_rate"] = float(y.mean())
        rows.append(row)
        probes[row["key"]] = fit_probe(x, y, groups, key=key, c=c, inner_splits=inner_splits, seed=seed)
    meta = {"label": label_name, "C": c, "n_splits": n_splits, "inner_splits": inner_splits, "seed": seed,
            "model": acts.meta.get("model"), "hidden_size": acts.meta.get("hidden_size"),
            "n_hidden_states": acts.meta.get("n_hidden_states"), "n_labelled": int(len(y))}
    return ProbeSet(probes, pd.DataFrame(rows), meta)
