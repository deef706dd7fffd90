"""``load_backend``: one string names any backend (a model directory, a server URL, or vLLM)."""

from __future__ import annotations

from typing import Any

from hackwatch.models._chat import ChatFormat
from hackwatch.models._types import Backend, BackendError


def load_backend(spec: str, *, tokenizer: Any = None, device: str = "auto", dtype: Any = None,
                 chat_format: ChatFormat | str | None = None, **kwargs: Any) -> Backend:
    """Open a backend from a spec string.

    ``path/to/model`` — :class:`TransformersBackend` on a saved model directory;
    ``openai:http://host:port/v1#model-name`` — :class:`OpenAIBackend` (the tokenizer is ``tokenizer``,
    or loaded from ``model-name`` when that is a local directory or cached hub id, as is the generation
    config whose EOS ids stop samples);
    ``vllm:path/to/model`` — :class:`VLLMBackend` (needs ``pip install 'hackwatch[vllm]'``).
    Extra keyword arguments go to the backend's constructor.
    """
    if spec.startswith("openai:"):
        from hackwatch.models._openai import OpenAIBackend

        url, _, model = spec.removeprefix("openai:").partition("#")
        if not url.startswith(("http://", "https://")) or not model:
            raise BackendError(f"backend spec {spec!r}: expected 'openai:http://host:port/v1#model-name'")
        if tokenizer is None or isinstance(tokenizer, str):
            from transformers import AutoTokenizer

            source = tokenizer or model
            try:
                tokenizer = AutoTokenizer.from_pretrained(source)
            except (OSError, ValueError) as e:
                raise BackendError(f"backend spec {spec!r}: cannot load the tokenizer from {source!r} ({e}); "
                                   "pass the served model's directory as the tokenizer") from e
        if "generation_config" not in kwargs:  # its EOS ids join the stop set (``_stop``)
            from hackwatch.models._stop import load_generation_config

            kwargs["generation_config"] = load_generation_config(model)
        return OpenAIBackend(url, model, tokenizer, chat_format=chat_format, **kwargs)
    if spec.startswith("vllm:"):
        from hackwatch.models._vllm import VLLMBackend

        return VLLMBackend(spec.removeprefix("vllm:"), chat_format=chat_format, **kwargs)
    from hackwatch.models._transformers import TransformersBackend

    if isinstance(tokenizer, str):
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(tokenizer)
    return TransformersBackend(spec, tokenizer, device=device, dtype=dtype, chat_format=chat_format, **kwargs)
