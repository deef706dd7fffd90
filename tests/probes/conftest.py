"""Tiny in-process models and synthetic activations shared by the probe tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hackwatch.models import TransformersBackend, tiny_causal_lm, train_tokenizer
from hackwatch.probes import Activations, make_activations

CORPUS = [
    "def add(a, b):\n    return a + b\n",
    "The function should return the sum of the list. Let me think about edge cases.",
    "I will check the tests and the verifier before writing the code.",
    "Maybe I can just return what the verifier expects instead of solving it.",
]


@pytest.fixture(scope="session")
def tok():
    return train_tokenizer(CORPUS, vocab_size=400)


@pytest.fixture(scope="session")
def backend(tok):
    return TransformersBackend(tiny_causal_lm(tok, layers=3, hidden=32, seed=5), tok, device="cpu")


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory, tok):
    d = tmp_path_factory.mktemp("probe-model")
    tiny_causal_lm(tok, layers=2, hidden=32, seed=6).save_pretrained(d)
    tok.save_pretrained(d)
    return d


def synthetic_acts(*, n_tasks: int = 30, per_task: int = 10, dim: int = 24, signal: float = 4.0,
                   task_spread: float = 0.0, task_labels: bool = False, seed: int = 0) -> tuple[Activations, np.ndarray]:
    """Random activations with a label planted along one direction (strength ``signal``).

    ``task_spread`` adds a per-task offset (activations identify the task); ``task_labels`` makes every
    sample of a task share one label, so only task identity — not a label direction — predicts it.
    """
    rng = np.random.default_rng(seed)
    n = n_tasks * per_task
    tasks = np.repeat([f"t{i}" for i in range(n_tasks)], per_task)
    if task_labels:
        y = np.repeat(rng.random(n_tasks) < 0.5, per_task)
    else:
        y = rng.random(n) < 0.3
    direction = rng.normal(size=dim)
    direction /= np.linalg.norm(direction)
    offsets = rng.normal(size=(n_tasks, dim)) * task_spread
    x = rng.normal(size=(n, dim)) + np.repeat(offsets, per_task, axis=0) + signal * y[:, None] * direction
    index = pd.DataFrame({"sample_id": [f"s{i}" for i in range(n)], "task_id": tasks, "exploit_type": "x",
                          "checkpoint": "c", "step": 1, "prefix_id": "", "prefix_tokens": 0,
                          "sample_index": np.arange(n), "temperature": 1.0, "n_reasoning_tokens": 8,
                          "capture": "forward"})
    acts = make_activations(index, {"layer1_window4_mean": x.astype(np.float32)}, model="synthetic", layers=[1],
                            windows=[4], poolings=["mean"], n_states=3)
    return acts, y
