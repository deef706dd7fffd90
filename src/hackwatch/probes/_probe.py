"""A fitted linear probe (standardisation + logistic weights + Platt calibration) and a set of them on disk.

A probe is stored as numbers, not as a pickle: ``probes.npz`` holds each probe's standardisation
(mean, scale), weights and intercept, and ``probes.json`` its metadata, Platt parameters and the
cross-validation table. Loading a probe file therefore never runs code, and the same numbers rebuild the
scikit-learn pipeline (:meth:`LinearProbe.to_pipeline`).

Score of a pooled activation vector ``h``:

    logit = w · (h − μ) / σ + b          p = sigmoid(a · logit + c)

with ``(a, c)`` fitted by Platt scaling on group-blocked out-of-fold logits of the training data.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hackwatch._files import atomic_dir, read_format_doc

PROBE_FORMAT = "hackwatch.probe/1"


class ProbeError(ValueError):
    """A probe file is missing or malformed, or does not fit the activations it is applied to."""


@dataclass(frozen=True)
class LinearProbe:
    """Standardised logistic probe on one (layer, window, pooling), with Platt calibration."""

    layer: int
    window: int
    pooling: str
    mean: np.ndarray
    """Per-feature mean of the training activations (StandardScaler.mean_)."""
    scale: np.ndarray
    """Per-feature standard deviation (StandardScaler.scale_; 1 where constant)."""
    coef: np.ndarray
    """Logistic-regression weights on the standardised features."""
    intercept: float
    platt_a: float = 1.0
    """Platt slope on the logit (1 with ``platt_b`` 0 = uncalibrated)."""
    platt_b: float = 0.0
    calibrated: bool = True
    """False when calibration was impossible (out-of-fold logits of one class only)."""

    @property
    def key(self) -> str:
        return f"layer{self.layer}_window{self.window}_{self.pooling}"

    def logit(self, x: np.ndarray) -> np.ndarray:
        """Uncalibrated logit ``w·(x−μ)/σ + b`` of each row of ``x``."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.coef.shape[0]:
            raise ProbeError(f"probe {self.key}: expected activations of width {self.coef.shape[0]}, got shape "
                             f"{x.shape}; the probe was trained on another model or layer")
        return ((x - self.mean) / self.scale) @ self.coef + self.intercept

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Calibrated probability that each row's sample is positive (e.g. exploits)."""
        z = self.platt_a * self.logit(x) + self.platt_b
        return 1.0 / (1.0 + np.exp(-np.clip(z, -500, 500)))

    def to_pipeline(self) -> Any:
        """The scikit-learn ``StandardScaler → LogisticRegression`` pipeline these numbers define (uncalibrated)."""
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        scaler = StandardScaler()
        scaler.mean_, scaler.scale_, scaler.var_ = self.mean.copy(), self.scale.copy(), self.scale ** 2
        scaler.n_features_in_, scaler.n_samples_seen_ = self.mean.shape[0], 0
        lr = LogisticRegression()
        lr.coef_, lr.intercept_ = self.coef[None, :].copy(), np.array([self.intercept])
        lr.classes_, lr.n_features_in_ = np.array([False, True]), self.coef.shape[0]
        return make_pipeline(scaler, lr)


@dataclass
class ProbeSet:
    """Probes for several (layer, window, pooling) combinations with their cross-validation table."""

    probes: dict[str, LinearProbe]
    cv: pd.DataFrame
    """One row per combination: n, n_pos, n_tasks, n_folds, cv_auc (+ interval), cv_brier, null_cv_auc."""
    meta: dict[str, Any] = field(default_factory=dict)
    """Training settings: label, C, folds, seed, the activations' model and sizes."""

    def best_key(self) -> str:
        """The combination with the highest CV AUC (an optimistic choice: say so when reporting it)."""
        ok = self.cv.dropna(subset=["cv_auc"])
        if ok.empty:
            raise ProbeError("no probe has a cross-validated AUC; pass the combination to use explicitly")
        return str(ok.sort_values(["cv_auc", "key"], ascending=[False, True]).iloc[0]["key"])

    def print_summary(self, console: object | None = None, max_rows: int = 60) -> None:
        """Print the cross-validation table."""
        from hackwatch.estimate._display import print_table

        cols = ["layer", "window", "pooling", "n", "n_pos", "n_tasks", "cv_auc", "cv_auc_lower", "cv_auc_upper",
                "null_cv_auc"]
        notes = [f"label: {self.meta.get('label')}; CV blocked by task_id (GroupKFold, {self.meta.get('n_splits')} "
                 f"folds); Platt calibration inside each training fold; null = shuffled labels"]
        print_table(self.cv, title="probe cross-validation", console=console, max_rows=max_rows, notes=notes,
                    columns=[c for c in cols if c in self.cv.columns])


def save_probes(ps: ProbeSet, path: str | os.PathLike[str]) -> Path:
    """Write a PROBE directory (``probes.json`` + ``probes.npz``) atomically."""
    target = Path(path)
    if target.exists() and not (target / "probes.json").is_file():
        raise ProbeError(f"{target}: exists and is not a probe directory; choose another --out")

    def fill(tmp: Path) -> None:
        arrays, listing = {}, []
        for key, p in ps.probes.items():
            arrays.update({f"{key}.mean": p.mean, f"{key}.scale": p.scale, f"{key}.coef": p.coef})
            listing.append({"key": key, "layer": p.layer, "window": p.window, "pooling": p.pooling,
                            "intercept": p.intercept, "platt_a": p.platt_a, "platt_b": p.platt_b,
                            "calibrated": p.calibrated})
        np.savez(tmp / "probes.npz", **arrays)
        cv = json.loads(ps.cv.to_json(orient="records"))
        doc = {"format": PROBE_FORMAT, **ps.meta, "probes": listing, "cv": cv}
        (tmp / "probes.json").write_text(json.dumps(doc, indent=1) + "\n")

    return atomic_dir(target, fill)


def load_probes(path: str | os.PathLike[str]) -> ProbeSet:
    """Read a PROBE directory written by :func:`save_probes` (no pickle: only numbers and JSON)."""
    p = Path(path)
    doc = read_format_doc(p, "probes.json", PROBE_FORMAT, ProbeError, "a probe directory", "`hackwatch probe train`")
    try:
        with np.load(p / "probes.npz", allow_pickle=False) as npz:
            arrays = {k: np.asarray(npz[k], dtype=np.float64) for k in npz.files}
        probes, k = {}, "?"
        for e in doc["probes"]:
            k = e.get("key", "?")
            probes[k] = LinearProbe(int(e["layer"]), int(e["window"]), str(e["pooling"]), arrays[f"{k}.mean"],
                                    arrays[f"{k}.scale"], arrays[f"{k}.coef"], float(e["intercept"]),
                                    float(e["platt_a"]), float(e["platt_b"]), bool(e["calibrated"]))
    except KeyError as e:
        raise ProbeError(f"{p}: probe {k!r} lacks {e} in probes.json/probes.npz; "
                         "re-run `hackwatch probe train`") from e
    except (OSError, ValueError) as e:
        raise ProbeError(f"{p / 'probes.npz'}: cannot read ({type(e).__name__}: {e})") from e
    meta = {k: v for k, v in doc.items() if k not in ("probes", "cv", "format")}
    return ProbeSet(probes, pd.DataFrame(doc.get("cv", [])), meta)
