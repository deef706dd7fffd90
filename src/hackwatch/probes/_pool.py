"""Which reasoning tokens a window covers, and how their hidden states are pooled (pure functions).

A sample's *reasoning tokens* are the tokens after the prompt (forced prefix, then generated) up to the
closing reasoning marker (or the end). Window ``W`` covers the first ``k = max(1, min(W, n_reasoning))`` of
them: a sample whose reasoning is shorter than ``W`` is pooled over all of it, and one that closed its
reasoning at once is represented by the first token after the prompt (the closing marker itself), so
every sample gets a vector for every window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

Pooling = Literal["mean", "last"]
POOLINGS: tuple[str, ...] = ("mean", "last")


@dataclass(frozen=True)
class CaptureSpec:
    """What to capture: hidden-state indices, windows (in reasoning tokens) and poolings.

    ``layers`` index the model's ``hidden_states`` as transformers returns them with
    ``output_hidden_states=True``: 0 = the embeddings entering the first block, ``i`` = the output of
    block ``i``, the last index = the final norm's output; negative values count from the end.
    """

    layers: tuple[int, ...]
    """Hidden-state indices (negative = from the end; resolved against the model with :meth:`resolve`)."""
    windows: tuple[int, ...] = (1, 2, 4, 8, 16)
    """Window sizes W in reasoning tokens."""
    poolings: tuple[str, ...] = ("mean",)
    """``mean`` (average over the window) and/or ``last`` (the window's last token)."""

    def __post_init__(self) -> None:
        if not self.layers:
            raise ValueError("CaptureSpec: give at least one layer (e.g. layers=(-1,) for the last hidden state)")
        if not self.windows or any(int(w) < 1 for w in self.windows):
            raise ValueError(f"CaptureSpec: windows must be integers >= 1, got {list(self.windows)}")
        bad = [p for p in self.poolings if p not in POOLINGS]
        if not self.poolings or bad:
            raise ValueError(f"CaptureSpec: poolings must be among {list(POOLINGS)}, got {list(self.poolings)}")
        object.__setattr__(self, "windows", tuple(sorted({int(w) for w in self.windows})))
        object.__setattr__(self, "poolings", tuple(dict.fromkeys(self.poolings)))

    @property
    def max_window(self) -> int:
        """The largest window: how many reasoning tokens must be captured per sample."""
        return max(self.windows)

    def resolve(self, n_states: int) -> CaptureSpec:
        """The spec with layers as non-negative indices into ``n_states`` hidden states (sorted, unique)."""
        out = []
        for layer in self.layers:
            idx = int(layer) + n_states if int(layer) < 0 else int(layer)
            if not 0 <= idx < n_states:
                raise ValueError(f"layer {layer} is out of range: the model has {n_states} hidden states "
                                 f"(0 = embeddings … {n_states - 1} = final norm; negative counts from the end)")
            out.append(idx)
        return CaptureSpec(tuple(sorted(set(out))), self.windows, self.poolings)

    def keys(self) -> list[tuple[int, int, str]]:
        """Every (layer, window, pooling) combination, in a fixed order."""
        return [(layer, w, p) for layer in self.layers for w in self.windows for p in self.poolings]


def array_key(layer: int, window: int, pooling: str) -> str:
    """Name of the array of one (layer, window, pooling) combination, e.g. ``layer2_window8_mean``."""
    return f"layer{int(layer)}_window{int(window)}_{pooling}"


def tokens_needed(n_reasoning: int, max_window: int) -> int:
    """How many tokens after the prompt a sample's windows read: ``max(1, min(max_window, n_reasoning))``."""
    return max(1, min(int(max_window), int(n_reasoning)))


def window_tokens(n_reasoning: int, window: int) -> int:
    """Tokens pooled by window ``window`` for a sample with ``n_reasoning`` reasoning tokens."""
    return max(1, min(int(window), int(n_reasoning)))


def pool_windows(states: np.ndarray, n_reasoning: int, windows: Sequence[int],
                 poolings: Sequence[str]) -> dict[tuple[int, str], np.ndarray]:
    """Pool one sample's per-token states ``[T, d]`` (T ≥ tokens needed) for every (window, pooling).

    ``mean`` averages the window's tokens (in float64, returned as float32); ``last`` takes the window's
    last token. Raises when a needed state is missing (NaN) so a capture bug can never pass silently.
    """
    out: dict[tuple[int, str], np.ndarray] = {}
    for w in windows:
        k = window_tokens(n_reasoning, w)
        if k > states.shape[0] or not np.isfinite(states[:k]).all():
            raise ValueError(f"pool_windows: window {w} needs {k} token states, got {states.shape[0]} "
                             "(or some are missing); the capture did not record every needed token")
        for p in poolings:
            vec = states[:k].astype(np.float64).mean(axis=0) if p == "mean" else states[k - 1]
            out[(int(w), p)] = np.asarray(vec, dtype=np.float32)
    return out
