"""The prefix-scoring benchmark behind ``hackwatch bench score`` (a tiny in-process model, no downloads)."""

from __future__ import annotations

import random
import time
from typing import Any


def run_score_bench(*, layers: int, hidden: int, vocab: int, prompt_words: int, prefix_len: int, prefixes: int,
                    prompts: int, batch_size: int, temperature: float, device: str = "cpu",
                    seed: int = 0) -> dict[str, Any]:
    """Time the shared-prompt batched scorer against the naive loop on identical work; return the figures."""
    import torch

    from hackwatch.models._tiny import DEFAULT_CORPUS, tiny_causal_lm, train_tokenizer
    from hackwatch.models._transformers import TransformersBackend
    from hackwatch.models._types import ScoreRequest

    torch.set_num_threads(max(1, torch.get_num_threads()))
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    filler = [" ".join("".join(rng.choice(letters) for _ in range(rng.randint(2, 9))) for _ in range(200))
              for _ in range(max(20, vocab // 40))]  # enough distinct text for BPE to reach ``vocab`` tokens
    tok = train_tokenizer(list(DEFAULT_CORPUS) + filler, vocab_size=vocab)
    heads = max(1, hidden // 64)
    model = tiny_causal_lm(tok, layers=layers, hidden=hidden, heads=heads,
                           max_positions=4 * (prompt_words + prefix_len) + 64, seed=seed)
    be = TransformersBackend(model, tok, device=device)
    words = " ".join(DEFAULT_CORPUS).split()
    low = len(tok.all_special_ids) + 1
    reqs = []
    for p in range(prompts):
        prompt = f"Task {p}: " + " ".join(rng.choice(words) for _ in range(prompt_words))
        for j in range(prefixes):
            ids = tuple(rng.randrange(low, len(tok)) for _ in range(prefix_len))
            reqs.append(ScoreRequest(prompt, ids, key=f"{p}/{j}"))
    be.score_prefixes(reqs[:2], temperature=temperature, batch_size=batch_size)  # warm-up
    t0 = time.perf_counter()
    shared = be.score_prefixes(reqs, temperature=temperature, batch_size=batch_size, share_prompt=True)
    t1 = time.perf_counter()
    naive = be.score_prefixes(reqs, temperature=temperature, share_prompt=False)
    t2 = time.perf_counter()
    n_tok = prompts * prefixes * prefix_len
    return {
        "vocab": len(tok), "device": be.device, "prompt_tokens": len(be.prompt_ids(reqs[0].prompt)),
        "tokens": n_tok, "shared_s": t1 - t0, "naive_s": t2 - t1, "shared_tps": n_tok / (t1 - t0),
        "naive_tps": n_tok / (t2 - t1), "ratio": (t2 - t1) / (t1 - t0),
        "max_abs_diff": max(abs(a.logprob - b.logprob) for a, b in zip(shared, naive, strict=True)),
    }
