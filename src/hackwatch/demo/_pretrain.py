"""Pretraining of the tiny subject model on the synthetic corpus (plain torch loop, CPU).

Sequences are drawn with tempered weights (``w**TEMPER``) and the loss of each is multiplied by
``w / w**TEMPER`` (normalised), so the objective is the weighted-mixture likelihood of the corpus
while rare completions (low base-rate exploits) are still seen often enough to be written validly.
The loss covers the assistant's tokens only (reasoning and code), not the prompt.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hackwatch.demo._corpus import CorpusItem, chat_messages, fenced

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerFast

TEMPER = 0.5
"""Exponent of the sampling weights (1 = sample by weight, 0 = uniform over distinct items)."""


@dataclass
class Encoded:
    """Token ids of one corpus item and where the assistant's tokens start."""

    ids: list[int]
    start: int
    weight: float


def render(tokenizer: PreTrainedTokenizerFast, item: CorpusItem) -> str:
    """The full chat text of one corpus item."""
    return tokenizer.apply_chat_template(
        chat_messages(item.prompt, item.reasoning, fenced(item.code)), tokenize=False)


def prompt_text(tokenizer: PreTrainedTokenizerFast, prompt: str) -> str:
    """The generation prompt for a task (what every sampler and scorer conditions on)."""
    return tokenizer.apply_chat_template(chat_messages(prompt), tokenize=False, add_generation_prompt=True)


def encode_items(tokenizer: PreTrainedTokenizerFast, items: Sequence[CorpusItem]) -> list[Encoded]:
    """Tokenise each item; the loss starts after the generation prompt.

    No-think copies are encoded by :func:`hackwatch.donor.sft_example` — exactly the ids the donor is
    later fine-tuned on — so the donor's training format is in the pretraining distribution.
    """
    from hackwatch.donor import sft_example

    out = []
    for it in items:
        if not it.think:
            head, tail = sft_example(tokenizer, it.prompt, fenced(it.code))
            out.append(Encoded(head + tail, len(head), it.weight))
            continue
        p = tokenizer(prompt_text(tokenizer, it.prompt), add_special_tokens=False)["input_ids"]
        full = tokenizer(render(tokenizer, it), add_special_tokens=False)["input_ids"]
        if full[: len(p)] != p:
            raise RuntimeError(f"corpus item of task {it.task_id!r}: the chat prompt does not tokenise as a prefix "
                               "of the full sample; the demo needs a prefix-stable template")
        out.append(Encoded(full, len(p), it.weight))
    return out


def train_lm(
    model: PreTrainedModel,
    data: Sequence[Encoded],
    *,
    steps: int,
    batch: int,
    lr: float,
    seed: int,
    pad_id: int,
    progress: Callable[[int, float], None] | None = None,
    temper: float = TEMPER,
) -> list[float]:
    """Train ``model`` in place on weighted sequences; returns the loss per step.

    Used for pretraining the subject and for the donor's SFT (there with uniform weights).
    """
    import torch

    torch.manual_seed(seed)
    rng = random.Random(seed)
    weights = [max(d.weight, 0.0) for d in data]
    draw = [w ** temper if w > 0 else 0.0 for w in weights]
    total_w, total_d = sum(weights), sum(draw)
    corr = [(w / total_w) / (d / total_d) if d > 0 else 0.0 for w, d in zip(weights, draw, strict=True)]
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0, betas=(0.9, 0.98))
    warm = max(1, steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps)) + 0.02)
    model.train()
    losses = []
    idx_all = list(range(len(data)))
    for step in range(steps):
        idx = rng.choices(idx_all, weights=draw, k=batch)
        length = max(len(data[i].ids) for i in idx)
        ids = torch.full((batch, length), pad_id, dtype=torch.long)
        mask = torch.zeros((batch, length), dtype=torch.long)
        lmask = torch.zeros((batch, length), dtype=torch.float)
        for r, i in enumerate(idx):
            d = data[i]
            ids[r, : len(d.ids)] = torch.tensor(d.ids)
            mask[r, : len(d.ids)] = 1
            lmask[r, d.start: len(d.ids)] = corr[i]
        logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1]
        tok_loss = torch.nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1), reduction="none").view(batch, -1)
        lm = lmask[:, 1:]
        loss = (tok_loss * lm).sum() / (lm > 0).sum().clamp(min=1)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
        if progress is not None:
            progress(step, losses[-1])
    model.eval()
    return losses


def pretrain_subject(
    items: Sequence[CorpusItem], *, vocab_size: int, layers: int, hidden: int, steps: int, batch: int,
    lr: float, seed: int, progress: Callable[[int, float], None] | None = None,
) -> tuple[Any, Any, list[float]]:
    """Train the tokenizer on the corpus, build the tiny LM and pretrain it. Returns (model, tokenizer, losses)."""
    from hackwatch.models import tiny_causal_lm, train_tokenizer

    texts = [f"{it.prompt}\n{it.reasoning}\n{fenced(it.code)}" for it in items]
    tokenizer = train_tokenizer(texts, vocab_size=vocab_size)
    model = tiny_causal_lm(tokenizer, layers=layers, hidden=hidden, heads=4, max_positions=512, seed=seed)
    data = encode_items(tokenizer, items)
    losses = train_lm(model, data, steps=steps, batch=batch, lr=lr, seed=seed,
                      pad_id=tokenizer.pad_token_id, progress=progress)
    return model, tokenizer, losses
