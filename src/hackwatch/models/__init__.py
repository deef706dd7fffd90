"""Model backends: sampling with reasoning prefill and exact prefix log-probabilities."""

from hackwatch.models._chat import CHANNEL, THINK, ChatFormat, detect_chat_format, render_prompt_ids
from hackwatch.models._load import load_backend
from hackwatch.models._openai import OpenAIBackend
from hackwatch.models._serve import make_server, serve_in_thread
from hackwatch.models._tiny import CHAT_TEMPLATE, HARMONY_CHAT_TEMPLATE, tiny_causal_lm, train_tokenizer
from hackwatch.models._topk import tempered_topk_logprob
from hackwatch.models._transformers import TransformersBackend
from hackwatch.models._types import (
    Backend,
    BackendError,
    Completion,
    InexactScoreError,
    PrefixScore,
    SampleRequest,
    ScoreRequest,
    require_exact,
    sample_seed,
)
from hackwatch.models._vllm import VLLMBackend

__all__ = [
    "CHANNEL", "CHAT_TEMPLATE", "HARMONY_CHAT_TEMPLATE", "THINK", "Backend", "BackendError", "ChatFormat", "Completion",
    "InexactScoreError", "OpenAIBackend", "PrefixScore", "SampleRequest", "ScoreRequest", "TransformersBackend",
    "VLLMBackend", "detect_chat_format", "load_backend", "make_server", "render_prompt_ids", "require_exact", "sample_seed",
    "serve_in_thread", "tempered_topk_logprob", "tiny_causal_lm", "train_tokenizer",
]
