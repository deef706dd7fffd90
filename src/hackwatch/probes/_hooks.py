"""Read a causal LM's residual stream with forward hooks, with the indices of ``output_hidden_states``.

Hooks let the probes see the hidden states of the very forward passes the sampler runs (no second
generation pass) and, in a separate capture pass, keep only the positions needed instead of every
layer at every position. Index 0 is the input of the first block, ``i`` the output of block ``i``, and
the last index the final norm's output — the convention transformers uses for ``hidden_states``
(checked against it in the tests).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

_LAYER_PATHS = ("layers", "h", "decoder.layers", "block")
_NORM_PATHS = ("norm", "ln_f", "final_layernorm", "decoder.final_layer_norm", "final_layer_norm")


def _get(obj: Any, path: str) -> Any:
    for part in path.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def residual_sites(model: Any) -> tuple[Sequence[Any], Any]:
    """The model's list of transformer blocks and its final norm module.

    Works for the Llama/Qwen/Mistral/Gemma family (``model.model.layers`` + ``norm``) and GPT-2 style
    models (``transformer.h`` + ``ln_f``); anything else raises with the attributes it looked for.
    """
    seen: list[Any] = []
    todo = [model]
    while todo and len(seen) < 8:  # model, base_model, .model chains (PEFT wraps two levels deep)
        obj = todo.pop(0)
        if obj is None or any(obj is s for s in seen):
            continue
        seen.append(obj)
        todo += [getattr(obj, "base_model", None), getattr(obj, "model", None)]
    for candidate in seen:
        layers = next((x for x in (_get(candidate, p) for p in _LAYER_PATHS) if x is not None), None)
        norm = next((x for x in (_get(candidate, p) for p in _NORM_PATHS) if x is not None), None)
        if layers is not None and norm is not None and len(layers) > 0:
            return layers, norm
    raise ValueError(f"{type(model).__name__}: cannot find its transformer blocks and final norm (looked for "
                     f"{', '.join(_LAYER_PATHS)} and {', '.join(_NORM_PATHS)} under base_model); probes support "
                     "Llama/Qwen/Mistral/Gemma/GPT-2-style causal LMs")


def n_hidden_states(model: Any) -> int:
    """Number of hidden states (blocks + 1), the length of ``output_hidden_states``."""
    return len(residual_sites(model)[0]) + 1


def _first(out: Any) -> Any:
    return out[0] if isinstance(out, tuple) else out


@contextmanager
def record_residual(model: Any, layers: Sequence[int], on_state: Callable[[int, Any], None],
                    on_call: Callable[[dict[str, Any]], None] | None = None) -> Iterator[None]:
    """Call ``on_state(index, hidden [batch, seq, d])`` for each requested hidden-state index on every
    forward of ``model``, and ``on_call(kwargs)`` before each top-level forward. Hooks are removed on exit.

    Callbacks see the live tensors; they must copy what they keep (never modify them).
    """
    blocks, norm = residual_sites(model)
    n = len(blocks) + 1
    handles = []
    try:
        if on_call is not None:
            handles.append(model.register_forward_pre_hook(lambda _m, _a, kw: on_call(kw), with_kwargs=True))
        for idx in sorted(set(int(x) for x in layers)):
            if not 0 <= idx < n:
                raise ValueError(f"hidden-state index {idx} out of range 0..{n - 1}")
            if idx == 0:
                def pre(_m: Any, args: Any, kwargs: Any, _i: int = idx) -> None:
                    on_state(_i, args[0] if args else kwargs["hidden_states"])
                handles.append(blocks[0].register_forward_pre_hook(pre, with_kwargs=True))
            else:
                def post(_m: Any, _args: Any, out: Any, _i: int = idx) -> None:
                    on_state(_i, _first(out))
                handles.append((norm if idx == n - 1 else blocks[idx - 1]).register_forward_hook(post))
        yield
    finally:
        for h in handles:
            h.remove()
