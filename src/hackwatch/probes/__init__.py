"""probes stage: linear probes on the hidden states of the first reasoning tokens, a white-box warning signal.

Capture pooled hidden states of the first W reasoning tokens (during sampling, or in one forward pass
over stored ids), train a calibrated logistic probe per (layer, window, pooling) with cross-validation
blocked by task, score new samples, and turn the scores into per-cell rows the forecaster evaluates
(``method = "probe"``) beside the direct and IS estimates. See docs/probes.md.
"""

from hackwatch.probes._acts import (
    ACTS_FORMAT,
    INDEX_COLUMNS,
    Activations,
    ActivationsError,
    concat_activations,
    load_activations,
    make_activations,
    save_activations,
)
from hackwatch.probes._capture import Captured, capture_forward, reasoning_length, sample_with_activations
from hackwatch.probes._hooks import n_hidden_states, record_residual, residual_sites
from hackwatch.probes._pool import CaptureSpec, array_key, pool_windows, tokens_needed, window_tokens
from hackwatch.probes._probe import PROBE_FORMAT, LinearProbe, ProbeError, ProbeSet, load_probes, save_probes
from hackwatch.probes._rows import capture_rows, to_activations
from hackwatch.probes._score import PROBE_METHOD, join_labels, probe_cells, sample_id, score_activations
from hackwatch.probes._train import cross_validate, fit_probe, train_probes

__all__ = [
    "ACTS_FORMAT", "INDEX_COLUMNS", "PROBE_FORMAT", "PROBE_METHOD", "Activations", "ActivationsError", "CaptureSpec",
    "Captured", "LinearProbe", "ProbeError", "ProbeSet", "array_key", "capture_forward", "capture_rows",
    "concat_activations", "cross_validate", "fit_probe", "join_labels", "load_activations", "load_probes", "make_activations",
    "n_hidden_states", "pool_windows", "probe_cells", "reasoning_length", "record_residual", "residual_sites",
    "sample_id", "sample_with_activations", "save_activations", "save_probes", "score_activations",
    "to_activations", "tokens_needed", "train_probes", "window_tokens",
]
