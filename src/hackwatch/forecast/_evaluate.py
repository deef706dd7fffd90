"""Evaluating an emergence score against emergence labels: ROC AUC, bootstrap interval, leave-one-out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata


def _clean(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(scores, dtype=float).copy()
    y = np.asarray(labels).astype(bool)
    if s.shape != y.shape:
        raise ValueError(f"scores ({s.shape}) and labels ({y.shape}) must have the same length")
    s[np.isnan(s)] = -np.inf  # a series without a score ranks lowest (no evidence of a rise)
    return s, y


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """ROC AUC = P(score of a positive > score of a negative) + ½ P(tie) (Mann–Whitney).

    Agrees with ``sklearn.metrics.roc_auc_score``. NaN scores rank lowest. Raises ``ValueError``
    when only one class is present.
    """
    s, y = _clean(scores, labels)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError(f"AUC needs both classes; got {n_pos} emerging and {n_neg} non-emerging series")
    ranks = rankdata(s)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


@dataclass(frozen=True)
class AUCResult:
    """An AUC with its stratified-bootstrap percentile interval."""

    auc: float
    lower: float
    upper: float
    n_pos: int
    n_neg: int


def _auc_matrix(s: np.ndarray, y: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """AUC of each row of resampled indices ``idx`` (vectorised pairwise comparison)."""
    ss = s[idx]
    yy = y[idx]
    pos = np.where(yy, ss, np.nan)
    neg = np.where(~yy, ss, np.nan)
    gt = (pos[:, :, None] > neg[:, None, :]).sum(axis=(1, 2))
    eq = (pos[:, :, None] == neg[:, None, :]).sum(axis=(1, 2))
    n_pos = yy.sum(axis=1)
    return (gt + 0.5 * eq) / (n_pos * (yy.shape[1] - n_pos))


def auc_interval(scores: np.ndarray, labels: np.ndarray, *, n_boot: int = 2000, alpha: float = 0.05,
                 seed: int = 0) -> AUCResult:
    """AUC with a percentile bootstrap interval; resampling is stratified (positives and negatives
    are each resampled with replacement), so every resample has both classes.
    """
    s, y = _clean(scores, labels)
    auc = roc_auc(s, y)
    rng = np.random.default_rng(seed)
    pos_i, neg_i = np.flatnonzero(y), np.flatnonzero(~y)
    idx = np.concatenate([rng.choice(pos_i, size=(n_boot, pos_i.size)),
                          rng.choice(neg_i, size=(n_boot, neg_i.size))], axis=1)
    boots = np.concatenate([_auc_matrix(s, y, chunk) for chunk in np.array_split(idx, max(1, n_boot // 200))])
    lo, hi = np.quantile(boots, [alpha / 2, 1 - alpha / 2])
    return AUCResult(auc, float(lo), float(hi), int(pos_i.size), int(neg_i.size))


def _logistic(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, l2: float = 1.0) -> np.ndarray:
    """L2-penalised logistic regression by Newton's method (intercept unpenalised); returns logits."""
    x = np.column_stack([np.ones(len(train_x)), train_x])
    y = train_y.astype(float)
    w = np.zeros(x.shape[1])
    pen = np.full(x.shape[1], l2)
    pen[0] = 0.0
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ w, -30, 30)))
        grad = x.T @ (p - y) + pen * w
        hess = (x * (p * (1 - p))[:, None]).T @ x + np.diag(pen + 1e-9)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.max(np.abs(step)) < 1e-10:
            break
    return np.column_stack([np.ones(len(test_x)), test_x]) @ w


def leave_one_out_scores(features: np.ndarray, labels: np.ndarray,
                         fit_predict: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray] | None = None,
                         ) -> np.ndarray:
    """Out-of-sample scores of a fitted combination of features, one series left out at a time.

    ``fit_predict(train_x, train_y, test_x)`` returns scores for ``test_x`` (default: standardised
    L2 logistic regression's logit, C = 1 as in scikit-learn). Evaluate the result with :func:`roc_auc` — an AUC of
    in-sample fitted scores would be optimistic. Where the training fold has a single class the
    held-out score is NaN (ranks lowest). NaN features are set to the column's training minimum.
    """
    x = np.asarray(features, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    y = np.asarray(labels).astype(bool)
    fit_predict = fit_predict or _logistic
    out = np.full(len(y), np.nan)
    for i in range(len(y)):
        train = np.arange(len(y)) != i
        tx, ty = x[train].copy(), y[train]
        if ty.all() or not ty.any():
            continue
        fill = np.where(np.isfinite(tx), tx, np.nan)
        col_min = np.nan_to_num(np.nanmin(np.where(np.isfinite(fill), fill, np.nan), axis=0), nan=0.0)
        tx = np.where(np.isfinite(tx), tx, col_min)
        test = np.where(np.isfinite(x[i : i + 1]), x[i : i + 1], col_min)
        mu, sd = tx.mean(axis=0), tx.std(axis=0)
        sd = np.where(sd > 0, sd, 1.0)
        out[i] = float(fit_predict((tx - mu) / sd, ty, (test - mu) / sd)[0])
    return out
