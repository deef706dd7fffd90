"""One stop rule for every backend: a sample ends at the first token in the model's EOS set.

The EOS set is the generation config's ``eos_token_id`` (one id or a list: Qwen3 lists ``<|im_end|>``
and ``<|endoftext|>``) ∪ the tokenizer's EOS. The transformers sampler stops on it; the ``openai:`` and
``vllm:`` backends send it to the engine (``stop_token_ids``) *and* cut the reply at its first member,
so a server that stops on fewer or other ids cannot leave a stop token in ``final``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any


def stop_token_ids(source: Any, tokenizer: Any) -> tuple[int, ...]:
    """The EOS set, in order: ``source``'s generation-config EOS ids, then the tokenizer's EOS.

    ``source`` is a model (its ``generation_config`` is read), a ``GenerationConfig``, or ``None``.
    """
    config = getattr(source, "generation_config", source)
    eos = getattr(config, "eos_token_id", None)
    ids: list[int] = []
    for t in ([eos] if isinstance(eos, int) else list(eos or [])) + [tokenizer.eos_token_id]:
        if t is not None and int(t) not in ids:
            ids.append(int(t))
    if not ids:
        raise ValueError("the model has no EOS token (generation_config.eos_token_id and tokenizer.eos_token "
                         "are both unset); set one so generation can stop")
    return tuple(ids)


def load_generation_config(source: str | Path | None) -> Any:
    """The ``GenerationConfig`` saved with a model (a local directory or a cached hub id), or ``None``
    where there is none (then only the tokenizer's EOS stops samples).
    """
    if not source:
        return None
    from transformers import GenerationConfig

    try:
        return GenerationConfig.from_pretrained(str(source))
    except (OSError, ValueError):
        return None


def cut_at_stop(ids: Sequence[int], values: Sequence[float], stop_ids: Sequence[int],
                ) -> tuple[list[int], list[float], bool]:
    """``ids`` (and their log-probs) up to and including the first stop id; whether one was met."""
    stops = set(stop_ids)
    for i, t in enumerate(ids):
        if t in stops:
            return list(ids[:i + 1]), list(values[:i + 1]), True
    return list(ids), list(values), False
