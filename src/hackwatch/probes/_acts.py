"""The activations store: pooled hidden states of many samples, with an index saying which sample is which.

On disk an ACTS directory holds ``meta.json`` (format, model, layers, windows, poolings, the arrays),
``index.parquet`` (one row per sample, row ``i`` ↔ row ``i`` of every array) and ``activations.npz``
(one float16 array ``[n_samples, hidden]`` per (layer, window, pooling)). It is written to a temporary
directory and renamed, so a failed capture never leaves a partial store.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hackwatch._files import atomic_dir, read_format_doc
from hackwatch.probes._pool import array_key

ACTS_FORMAT = "hackwatch.acts/1"
FLOAT16_MAX = 65504.0

INDEX_COLUMNS: dict[str, str] = {
    "sample_id": "unique sample id (the sample row's sample_id, else model/task_id/prefix_id/sample_index)",
    "task_id": "task identifier (the cross-validation group)",
    "exploit_type": "exploit type of the task ('' when unknown)",
    "checkpoint": "checkpoint name",
    "step": "training step of the checkpoint (-1 when unknown)",
    "prefix_id": "forced prefix id ('' = none)",
    "prefix_tokens": "forced prefix length in tokens",
    "sample_index": "which sample of its (task, prefix)",
    "temperature": "sampling temperature",
    "n_reasoning_tokens": "reasoning tokens of the sample (prefix + generated, before the closing marker)",
    "capture": "sampling (read during generation) or forward (one extra forward pass over the stored ids)",
}
"""Columns of ``index.parquet``, one row per sample."""


class ActivationsError(ValueError):
    """An activations store is missing or malformed; the message names the file and the fix."""


@dataclass
class Activations:
    """Pooled hidden states of a set of samples (``arrays[key][i]`` belongs to ``index.iloc[i]``)."""

    index: pd.DataFrame
    """One row per sample (:data:`INDEX_COLUMNS`)."""
    arrays: dict[str, np.ndarray]
    """``layer{L}_window{W}_{pooling}`` → ``[n_samples, hidden]``."""
    meta: dict[str, Any]
    """``format``, ``model``, ``layers``, ``windows``, ``poolings``, ``hidden_size``, ``n_hidden_states``."""

    def array(self, layer: int, window: int, pooling: str) -> np.ndarray:
        """The float32 array of one (layer, window, pooling), or a KeyError listing the stored ones."""
        key = array_key(layer, window, pooling)
        if key not in self.arrays:
            raise KeyError(f"no activations for {key}; stored: {sorted(self.arrays)}")
        return np.asarray(self.arrays[key], dtype=np.float32)

    def keys(self) -> list[tuple[int, int, str]]:
        """The stored (layer, window, pooling) combinations."""
        return [(int(a["layer"]), int(a["window"]), str(a["pooling"])) for a in self.meta["arrays"]]

    def __len__(self) -> int:
        return len(self.index)


def make_activations(index: pd.DataFrame, arrays: dict[str, np.ndarray], *, model: str, layers: list[int],
                     windows: list[int], poolings: list[str], n_states: int) -> Activations:
    """Assemble an :class:`Activations` and check that every array has one row per index row."""
    index = index.reset_index(drop=True)
    for key, arr in arrays.items():
        if arr.shape[0] != len(index):
            raise ActivationsError(f"array {key} has {arr.shape[0]} rows for {len(index)} index rows")
    if index["sample_id"].duplicated().any():
        dup = index.loc[index["sample_id"].duplicated(), "sample_id"].iloc[0]
        raise ActivationsError(f"duplicate sample_id {dup!r}; every sample needs a unique id")
    listing = [{"key": array_key(la, w, p), "layer": la, "window": w, "pooling": p}
               for la in layers for w in windows for p in poolings]
    hidden = int(next(iter(arrays.values())).shape[1]) if arrays else 0
    meta = {"format": ACTS_FORMAT, "model": model, "layers": list(layers), "windows": list(windows),
            "poolings": list(poolings), "hidden_size": hidden, "n_hidden_states": int(n_states),
            "n_samples": len(index), "arrays": listing}
    return Activations(index, arrays, meta)


def concat_activations(parts: list[Activations]) -> Activations:
    """Stack stores of the same layout (e.g. one per checkpoint) into one; sample ids must stay unique."""
    if not parts:
        raise ActivationsError("no activations to combine")
    first = parts[0]
    for other in parts[1:]:
        if sorted(other.arrays) != sorted(first.arrays) or other.meta.get("hidden_size") != first.meta.get("hidden_size"):
            raise ActivationsError(f"cannot combine activations of {first.meta.get('model')!r} and "
                                   f"{other.meta.get('model')!r}: different arrays or hidden size; capture them "
                                   "with the same --layers/--windows/--pooling")
    if len(parts) == 1:
        return first
    index = pd.concat([p.index for p in parts], ignore_index=True)
    arrays = {k: np.concatenate([p.arrays[k] for p in parts]) for k in first.arrays}
    models = list(dict.fromkeys(str(p.meta.get("model")) for p in parts))
    return make_activations(index, arrays, model=models[0] if len(models) == 1 else ",".join(models),
                            layers=list(first.meta["layers"]), windows=list(first.meta["windows"]),
                            poolings=list(first.meta["poolings"]), n_states=int(first.meta.get("n_hidden_states", -1)))


def save_activations(acts: Activations, path: str | os.PathLike[str], *, dtype: str = "float16") -> Path:
    """Write an ACTS directory atomically; float16 unless a value overflows it (then that array is float32)."""
    target = Path(path)
    if target.exists() and not (target / "meta.json").is_file():
        raise ActivationsError(f"{target}: exists and is not an activations store; choose another --out")

    def fill(tmp: Path) -> None:
        stored = {}
        for key, arr in acts.arrays.items():
            if dtype == "float16" and np.nanmax(np.abs(arr), initial=0.0) > FLOAT16_MAX:
                warnings.warn(f"{key}: values above the float16 range; stored as float32", stacklevel=4)
                stored[key] = arr.astype(np.float32)
            else:
                stored[key] = arr.astype(dtype)
        np.savez(tmp / "activations.npz", **stored)
        acts.index.to_parquet(tmp / "index.parquet", index=False)
        (tmp / "meta.json").write_text(json.dumps({**acts.meta, "dtype": dtype}, indent=1) + "\n")

    return atomic_dir(target, fill)


def load_activations(path: str | os.PathLike[str]) -> Activations:
    """Read an ACTS directory written by :func:`save_activations` (arrays come back as float32)."""
    p = Path(path)
    meta_path = p / "meta.json"
    meta = read_format_doc(p, "meta.json", ACTS_FORMAT, ActivationsError, "an activations store",
                           "`hackwatch probe capture`")
    for field in ("model", "arrays", "layers", "windows", "poolings"):
        if field not in meta:
            raise ActivationsError(f"{meta_path}: field {field!r} is missing; re-run `hackwatch probe capture`")
    try:
        index = pd.read_parquet(p / "index.parquet")
        with np.load(p / "activations.npz", allow_pickle=False) as npz:
            arrays = {k: np.asarray(npz[k], dtype=np.float32) for k in npz.files}
    except Exception as e:  # pyarrow / numpy raise several types for missing or corrupt files
        raise ActivationsError(f"{p}: cannot read index.parquet / activations.npz ({type(e).__name__}: {e})") from e
    missing = [c for c in INDEX_COLUMNS if c not in index.columns]
    if missing:
        raise ActivationsError(f"{p / 'index.parquet'}: lacks column(s) {missing}")
    for a in meta["arrays"]:
        if a.get("key") not in arrays:
            raise ActivationsError(f"{p / 'activations.npz'}: array {a.get('key')!r} listed in meta.json is missing")
        if arrays[a["key"]].shape[0] != len(index):
            raise ActivationsError(f"{p / 'activations.npz'}: array {a['key']} has {arrays[a['key']].shape[0]} "
                                   f"rows, index.parquet has {len(index)}")
    return Activations(index, arrays, meta)
