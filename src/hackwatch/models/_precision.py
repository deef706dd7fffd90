"""Exact log-probs from a bf16/fp16 model: the weights stay low-precision, the output projection is float32.

Log-probs read off bf16 logits carry the logits' rounding (bf16 keeps 8 significant bits: a logit near
30 moves in steps of 0.125), and importance weights are exponentials of sums of such log-probs: the
training/inference log-prob mismatch RL stacks know. :func:`fp32_head` makes the model's output
embedding (``lm_head``) compute ``float32(hidden) @ float32(W)ᵀ`` while a call runs, so logits and
``log_softmax`` are float32 and only the transformer body runs in the model's own dtype. The float32
copy of ``W`` (``vocab × hidden × 4`` bytes) is kept per weight version: refreshed when the weights move
(a training step, ``.to(device)``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_CACHE = "_hackwatch_fp32_head"
_ACTIVE = "_hackwatch_fp32_active"


def _float32_weights(head: Any) -> tuple[Any, Any]:
    """``head``'s weight and bias in float32, cached on the module per (storage, version, device)."""
    w, b = head.weight, head.bias
    key = (w.data_ptr(), w._version, str(w.device), None if b is None else (b.data_ptr(), b._version))
    cached = head.__dict__.get(_CACHE)
    if cached is None or cached[0] != key:
        cached = (key, w.detach().float(), None if b is None else b.detach().float())
        head.__dict__[_CACHE] = cached
    return cached[1], cached[2]


@contextmanager
def fp32_head(model: Any, enabled: bool = True) -> Iterator[None]:
    """While inside, ``model``'s output projection runs in float32 (a no-op for float32 models,
    ``enabled=False``, an output embedding that is not a plain ``nn.Linear``, or when already inside).
    """
    import torch

    head = model.get_output_embeddings() if enabled and hasattr(model, "get_output_embeddings") else None
    if (not isinstance(head, torch.nn.Linear) or head.weight.dtype == torch.float32
            or head.__dict__.get(_ACTIVE)):
        yield
        return
    w32, b32 = _float32_weights(head)

    def forward32(x: Any) -> Any:
        return torch.nn.functional.linear(x.float(), w32, b32)

    own = "forward" not in head.__dict__  # else a wrapper is installed (accelerate): recompute in a hook
    handle = None
    if own:
        head.forward = forward32
    else:
        handle = head.register_forward_hook(lambda _module, args, _out: forward32(args[0]))
    head.__dict__[_ACTIVE] = True
    try:
        yield
    finally:
        head.__dict__.pop(_ACTIVE, None)
        if handle is not None:
            handle.remove()
        else:
            del head.forward
