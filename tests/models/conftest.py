"""Tiny in-process models shared by the model-backend tests (trained tokenizers, random Llama weights)."""

from __future__ import annotations

import pytest
import torch

from hackwatch.models import TransformersBackend, tiny_causal_lm, train_tokenizer

CORPUS = [
    "def add(a, b):\n    return a + b\n",
    "The function should return the sum of the list. Let me think about edge cases.",
    "```python\ndef solve(x):\n    return sorted(x)\n```",
    "I will check the tests and the verifier before writing the code.",
    "Maybe I can just return what the verifier expects instead of solving it.",
]


def peaked(model: torch.nn.Module, scale: float) -> torch.nn.Module:
    """Sharpen the output distribution (scale the final norm) so samples end and top-K matters."""
    with torch.no_grad():
        model.model.norm.weight.mul_(scale)
    return model


@pytest.fixture(scope="session")
def think_tok():
    return train_tokenizer(CORPUS, vocab_size=400)


@pytest.fixture(scope="session")
def channel_tok():
    return train_tokenizer(CORPUS, vocab_size=400, chat_format="channel")


@pytest.fixture(scope="session")
def think_backend(think_tok):
    return TransformersBackend(tiny_causal_lm(think_tok, layers=2, hidden=64, seed=1), think_tok, device="cpu")


@pytest.fixture(scope="session")
def channel_backend(channel_tok):
    return TransformersBackend(tiny_causal_lm(channel_tok, layers=2, hidden=64, seed=2), channel_tok, device="cpu")


@pytest.fixture(scope="session")
def peaked_backend(think_tok):
    model = peaked(tiny_causal_lm(think_tok, layers=2, hidden=64, seed=3), 6.0)
    return TransformersBackend(model, think_tok, device="cpu")


@pytest.fixture(scope="session")
def saved_model_dir(tmp_path_factory, think_tok):
    d = tmp_path_factory.mktemp("tiny-model")
    model = peaked(tiny_causal_lm(think_tok, layers=2, hidden=64, seed=4), 4.0)
    model.save_pretrained(d)
    think_tok.save_pretrained(d)
    return d
