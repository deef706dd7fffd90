"""The model benchmarks behind ``hackwatch bench score`` and ``bench sample`` (tiny in-process models, no downloads)."""

from __future__ import annotations

import random
import time
from typing import Any


def _tiny_world(*, layers: int, hidden: int, vocab: int, positions: int, seed: int) -> tuple[Any, Any]:
    """A tokenizer trained to about ``vocab`` tokens and a random tiny Llama on it (no downloads)."""
    from hackwatch.models._tiny import DEFAULT_CORPUS, tiny_causal_lm, train_tokenizer

    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    filler = [" ".join("".join(rng.choice(letters) for _ in range(rng.randint(2, 9))) for _ in range(200))
              for _ in range(max(20, vocab // 40))]  # enough distinct text for BPE to reach ``vocab`` tokens
    tok = train_tokenizer(list(DEFAULT_CORPUS) + filler, vocab_size=vocab)
    model = tiny_causal_lm(tok, layers=layers, hidden=hidden, heads=max(1, hidden // 64), max_positions=positions,
                           seed=seed)
    return tok, model


def run_score_bench(*, layers: int, hidden: int, vocab: int, prompt_words: int, prefix_len: int, prefixes: int,
                    prompts: int, batch_size: int, temperature: float, device: str = "cpu",
                    seed: int = 0, dtype: str = "float32") -> dict[str, Any]:
    """Time the shared-prompt batched scorer against the naive loop on identical work; return the figures.

    ``dtype``: the model's weights (``"bfloat16"`` as on a GPU; the output projection stays float32).
    """
    import torch

    from hackwatch.models._tiny import DEFAULT_CORPUS
    from hackwatch.models._transformers import TransformersBackend
    from hackwatch.models._types import ScoreRequest

    tok, model = _tiny_world(layers=layers, hidden=hidden, vocab=vocab, positions=4 * (prompt_words + prefix_len) + 64,
                             seed=seed)
    if dtype not in ("float32", "bfloat16", "float16"):
        raise ValueError(f"dtype must be float32, bfloat16 or float16, got {dtype!r}")
    be = TransformersBackend(model.to(getattr(torch, dtype)), tok, device=device)
    rng = random.Random(seed + 1)
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
        "params": sum(p.numel() for p in model.parameters()),  # tied embeddings counted once
        "dtype": dtype,
    }


def run_precision_bench(*, layers: int, hidden: int, vocab: int, prefix_len: int = 128, prefixes: int = 16,
                        peak: float = 4.0, temperature: float = 1.0, device: str = "cpu",
                        seed: int = 0) -> dict[str, Any]:
    """bf16 vs float32 ``log P(prefix)`` of the same weights, on sampled and on unlikely prefixes.

    The model's weights are rounded to bf16 once (a bf16 checkpoint), so the float32 reference computes
    the very function the bf16 model approximates. ``peak`` scales the final norm (sharper logits, as a
    trained model has). Reported: median and max ``|Δ log P|`` per prefix for bf16 with the float32
    output projection (hackwatch's default) and with bf16 logits; in bf16, the largest per-token gap of
    batched vs unbatched scoring and of sampler vs scorer.
    """
    import copy
    import statistics

    import torch

    from hackwatch.models import _kernels
    from hackwatch.models._transformers import TransformersBackend
    from hackwatch.models._types import SampleRequest, ScoreRequest

    tok, model = _tiny_world(layers=layers, hidden=hidden, vocab=vocab, positions=2 * prefix_len + 128, seed=seed)
    with torch.no_grad():
        model.model.norm.weight.mul_(peak)
    model = model.to(torch.bfloat16).float()
    ref = TransformersBackend(model, tok, device=device)
    low = TransformersBackend(copy.deepcopy(model).to(torch.bfloat16), tok, device=device)
    low_raw = TransformersBackend(low.model, tok, device=device, fp32_logits=False)
    rng = random.Random(seed)
    n_prompts = max(1, prefixes // 4)
    sampled: list[ScoreRequest] = []
    unlikely: list[ScoreRequest] = []
    for p in range(n_prompts):
        prompt = f"Task {p}: write the function and explain the tests."
        per = prefixes // n_prompts + (p < prefixes % n_prompts)
        rows = _kernels.generate(ref.model, [ref.prompt_ids(prompt)] * per, [seed * 1000 + p * 100 + i for i in range(per)],
                                 temperature=temperature, max_new_tokens=prefix_len, stop_ids=(), pad_id=ref.pad_id,
                                 device=device)
        sampled += [ScoreRequest(prompt, tuple(gen), key=f"s{p}/{i}") for i, (gen, _, _) in enumerate(rows)]
        unlikely += [ScoreRequest(prompt, tuple(rng.randrange(len(tok.all_special_ids), len(tok))
                                                for _ in range(prefix_len)), key=f"u{p}/{i}") for i in range(per)]
    out: dict[str, Any] = {"vocab": len(tok), "device": ref.device, "prefix_len": prefix_len, "prefixes": prefixes,
                           "peak": peak, "temperature": temperature}
    for name, reqs in (("sampled", sampled), ("unlikely", unlikely)):
        exact = [s.logprob for s in ref.score_prefixes(reqs, temperature=temperature)]
        out[f"{name}_mean_logp"] = statistics.fmean(exact)
        for label, be in (("fp32_head", low), ("bf16_logits", low_raw)):
            diffs = [abs(s.logprob - e) for s, e in zip(be.score_prefixes(reqs, temperature=temperature), exact,
                                                        strict=True)]
            out[f"{name}_{label}_median"], out[f"{name}_{label}_max"] = statistics.median(diffs), max(diffs)
    batched = low.score_prefixes(sampled, temperature=temperature, batch_size=len(sampled))
    single = low.score_prefixes(sampled, temperature=temperature, share_prompt=False)
    out["bf16_batched_vs_unbatched_max_per_token"] = max(
        abs(a - b) for x, y in zip(batched, single, strict=True) for a, b in zip(x.token_logprobs, y.token_logprobs,
                                                                                   strict=True))
    asked = sampled[:4]
    comps = low.sample([SampleRequest(r.prompt, (), n=1, key=r.key) for r in asked], temperature=temperature,
                       max_new_tokens=prefix_len, seed=seed)
    rescored = low.score_prefixes([ScoreRequest(r.prompt, c.generated_ids) for r, c in zip(asked, comps, strict=True)],
                                  temperature=temperature)
    out["bf16_sampler_vs_scorer_max_per_token"] = max(
        abs(a - b) for c, s in zip(comps, rescored, strict=True) for a, b in zip(c.token_logprobs, s.token_logprobs,
                                                                                 strict=True))
    return out


def run_sample_bench(*, layers: int, hidden: int, vocab: int, batch: int, new_tokens: int, prompt_words: int = 40,
                     temperature: float = 1.0, device: str = "cpu", seed: int = 0, rounds: int = 2) -> dict[str, Any]:
    """Tokens/s of hackwatch's sampler (``_kernels.generate``) vs ``model.generate`` on the same batch.

    Both sample plain temperature (``top_k=0``, ``top_p=1``) exactly ``new_tokens`` per row (no stop
    ids) from the same left-padded prompts, alternating, best of ``rounds`` each after a warm-up.
    """
    import time

    import torch

    from hackwatch.models import _kernels
    from hackwatch.models._tiny import DEFAULT_CORPUS
    from hackwatch.models._transformers import TransformersBackend

    tok, model = _tiny_world(layers=layers, hidden=hidden, vocab=vocab, positions=4 * prompt_words + new_tokens + 64,
                             seed=seed)
    be = TransformersBackend(model, tok, device=device)
    rng = random.Random(seed)
    words = " ".join(DEFAULT_CORPUS).split()
    contexts = [be.prompt_ids(" ".join(rng.choice(words) for _ in range(rng.randint(prompt_words // 2, prompt_words))))
                for _ in range(batch)]
    width = max(map(len, contexts))
    ids = torch.tensor([[be.pad_id] * (width - len(c)) + list(c) for c in contexts], device=be.device)
    mask = torch.tensor([[0] * (width - len(c)) + [1] * len(c) for c in contexts], device=be.device)

    def ours() -> None:
        _kernels.generate(be.model, contexts, list(range(batch)), temperature=temperature, max_new_tokens=new_tokens,
                          stop_ids=(), pad_id=be.pad_id, device=be.device)

    def theirs() -> None:
        with torch.no_grad():
            be.model.generate(input_ids=ids, attention_mask=mask, do_sample=True, temperature=temperature, top_k=0,
                              top_p=1.0, max_new_tokens=new_tokens, min_new_tokens=new_tokens,
                              pad_token_id=be.pad_id, eos_token_id=None)

    def timed(fn: Any) -> float:
        if be.device.startswith("cuda"):
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        if be.device.startswith("cuda"):
            torch.cuda.synchronize()
        return time.perf_counter() - t0

    ours(), theirs()  # warm-up
    best = {"hackwatch": float("inf"), "generate": float("inf")}
    for _ in range(max(1, rounds)):
        best["hackwatch"] = min(best["hackwatch"], timed(ours))
        best["generate"] = min(best["generate"], timed(theirs))
    n_tok = batch * new_tokens
    return {"vocab": len(tok), "device": be.device, "batch": batch, "new_tokens": new_tokens, "tokens": n_tok,
            "prompt_tokens_max": width, "hackwatch_s": best["hackwatch"], "generate_s": best["generate"],
            "hackwatch_tps": n_tok / best["hackwatch"], "generate_tps": n_tok / best["generate"],
            "ratio": best["generate"] / best["hackwatch"]}
