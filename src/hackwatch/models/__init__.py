"""Model backends: sampling with reasoning prefill and exact prefix log-probabilities."""

from hackwatch.models._tiny import CHAT_TEMPLATE, train_tokenizer, tiny_causal_lm

__all__ = ["CHAT_TEMPLATE", "tiny_causal_lm", "train_tokenizer"]
