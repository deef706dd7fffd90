"""Tiny in-process models shared by the model-backend tests (trained tokenizers, random Llama weights)."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

import hackwatch
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


_SRC = str(Path(hackwatch.__file__).parent)


def _hackwatch_on_stack() -> bool:
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code.co_filename.startswith(_SRC):
            return True
        frame = frame.f_back
    return False


@pytest.fixture(autouse=True)
def no_deprecated_calls() -> Iterator[list[str]]:
    """Fail a test in which hackwatch's own code triggered a DeprecationWarning or FutureWarning.

    A pytest ``filterwarnings`` entry cannot scope this: libraries warn with a ``stacklevel`` that names
    torch's ``module.py`` (``forward_call``), not our call site, so the whole stack is checked instead.
    """
    caught: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("always", DeprecationWarning)
        warnings.simplefilter("always", FutureWarning)
        shown = warnings.showwarning

        def check(message: Any, category: type[Warning], filename: str, lineno: int, *args: Any) -> None:
            if issubclass(category, DeprecationWarning | FutureWarning) and _hackwatch_on_stack():
                caught.append(f"{category.__name__}: {message} ({filename}:{lineno})")
            else:
                shown(message, category, filename, lineno, *args)

        warnings.showwarning = check
        yield caught
    assert not caught, "deprecated calls from hackwatch:\n" + "\n".join(caught)
