"""Tensor kernels of the transformers backend: the sampling loop and the two prefix scorers.

Kept separate from the backend class so the loopback server and the benchmarks call the very same
code. Everything runs under ``torch.no_grad``; logits come from a float32 output projection even for a
bf16/fp16 model (``_precision.fp32_head``, ``fp32_logits=False`` turns it off) and log-probs are
float32.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable, Sequence
from typing import Any

from hackwatch.models._precision import fp32_head


def cache_kwarg(model: Any) -> str:
    """The forward argument that takes a KV cache: ``cache`` where the model's ``forward`` declares it
    (transformers 5.24 and later do, and warn that ``past_key_values`` is removed in 5.40), else
    ``past_key_values`` (5.19-5.23, the releases vLLM 0.32 installs).
    """
    params = inspect.signature(type(model).forward).parameters
    return "cache" if "cache" in params else "past_key_values"


def output_cache(out: Any) -> Any:
    """The KV cache a forward returned, under either name (``out.past_key_values`` warns in 5.2x)."""
    cache = getattr(out, "cache", None)
    return cache if cache is not None else out.past_key_values


def tempered_logprobs(logits: Any, temperature: float, top_k: int | None = None,
                      top_p: float | None = None) -> Any:
    """``log_softmax(logits/τ)`` in float32 over the last axis, optionally truncated and renormalised."""
    import torch

    logp = torch.log_softmax(logits.float() / temperature, dim=-1)
    if top_k is not None and top_k > 0 and top_k < logp.shape[-1]:
        kth = torch.topk(logp, top_k, dim=-1).values[..., -1:]
        logp = torch.log_softmax(logp.masked_fill(logp < kth, float("-inf")), dim=-1)
    if top_p is not None and top_p < 1.0:
        sorted_lp, order = torch.sort(logp, dim=-1, descending=True)
        cum = sorted_lp.exp().cumsum(-1)
        drop_sorted = (cum - sorted_lp.exp()) >= top_p
        drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
        logp = torch.log_softmax(logp.masked_fill(drop, float("-inf")), dim=-1)
    return logp


def generate(model: Any, contexts: Sequence[Sequence[int]], seeds: Sequence[int], *, temperature: float,
             max_new_tokens: int, stop_ids: Sequence[int], pad_id: int, device: str,
             top_k: int | None = None, top_p: float | None = None, fp32_logits: bool = True,
             ) -> list[tuple[list[int], list[float], str]]:
    """Continue each context (left-padded into one batch, KV cache) with its own seeded generator.

    Returns ``(generated ids, per-token log-probs, finish reason)`` per row; a row stops at the first
    stop id (kept) or after ``max_new_tokens``. Every row draws on the device from its own generator
    (a finished row draws no more); the step's tokens come to the host in one transfer and the
    log-probs stay on the device until the end, so the loop has one host sync per step, not per row.
    ``fp32_logits``: the output projection in float32 for a bf16/fp16 model (:func:`fp32_head`).
    """
    import torch

    with torch.no_grad(), fp32_head(model, fp32_logits):
        b, width = len(contexts), max(len(c) for c in contexts)
        if min(len(c) for c in contexts) == 0:
            raise ValueError("generate: empty context; the rendered prompt must have at least one token")
        ids = torch.full((b, width), pad_id, dtype=torch.long)
        mask = torch.zeros((b, width), dtype=torch.long)
        for r, ctx in enumerate(contexts):
            ids[r, width - len(ctx):] = torch.tensor(list(ctx), dtype=torch.long)
            mask[r, width - len(ctx):] = 1
        ids, mask = ids.to(device), mask.to(device)
        pos = (mask.cumsum(-1) - 1).clamp(min=0)
        gens = [torch.Generator(device=device).manual_seed(int(s)) for s in seeds]
        stops = set(int(t) for t in stop_ids)
        out_ids: list[list[int]] = [[] for _ in range(b)]
        finish: list[str | None] = [None] * b
        if max_new_tokens <= 0:
            return [([], [], "length") for _ in range(b)]
        cache_arg = cache_kwarg(model)
        out = model(input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=True, logits_to_keep=1)
        next_pos = pos[:, -1:] + 1
        pad = torch.full((1,), pad_id, dtype=torch.long, device=device)
        step_logprobs = []
        for step in range(max_new_tokens):
            logp = tempered_logprobs(out.logits[:, -1, :], temperature, top_k, top_p)
            probs = logp.exp()
            toks = torch.stack([pad if finish[r] is not None else torch.multinomial(probs[r], 1, generator=gens[r])
                                for r in range(b)])
            step_logprobs.append(logp.gather(1, toks)[:, 0])
            for r, t in enumerate(toks[:, 0].tolist()):  # the step's one device -> host transfer
                if finish[r] is None:
                    out_ids[r].append(t)
                    if t in stops:
                        finish[r] = "eos"
            if all(f is not None for f in finish) or step == max_new_tokens - 1:
                break
            mask = torch.cat([mask, torch.ones((b, 1), dtype=mask.dtype, device=device)], dim=-1)
            out = model(input_ids=toks, attention_mask=mask, position_ids=next_pos,
                        **{cache_arg: output_cache(out)}, use_cache=True)
            next_pos = next_pos + 1
        lps = torch.stack(step_logprobs, dim=1).tolist()
        return [(out_ids[r], lps[r][:len(out_ids[r])], finish[r] or "length") for r in range(b)]


def score_full(model: Any, prompt_ids: Sequence[int], prefix: Sequence[int], *, temperature: float,
               device: str, fp32_logits: bool = True) -> list[float]:
    """Naive scorer: one full forward over ``prompt + prefix``; τ-log-probs of the prefix tokens."""
    if not prefix:
        return []
    lp = position_logprobs(model, [*prompt_ids, *prefix], temperature=temperature, device=device,
                           fp32_logits=fp32_logits)
    p, n = len(prompt_ids), len(prefix)
    import torch
    target = torch.tensor(list(prefix), dtype=torch.long, device=lp.device)[:, None]
    return lp[p - 1:p - 1 + n].gather(1, target)[:, 0].tolist()


def position_logprobs(model: Any, ids: Sequence[int], *, temperature: float, device: str,
                      fp32_logits: bool = True) -> Any:
    """Float32 ``log_softmax(logits/τ)`` at every position, row ``i`` predicting ``ids[i+1]``: [len-1, V]."""
    import torch

    with torch.no_grad(), fp32_head(model, fp32_logits):
        x = torch.tensor([list(ids)], dtype=torch.long, device=device)
        logits = model(input_ids=x).logits[0, :-1]
        return tempered_logprobs(logits, temperature)


def score_shared_prompt(model: Any, prompt_ids: Sequence[int], prefixes: Sequence[Sequence[int]], *,
                        temperature: float, batch_size: int, pad_id: int, device: str,
                        on_batch: Callable[[int], Any] | None = None, fp32_logits: bool = True,
                        ) -> list[list[float]]:
    """Batched scorer: run the prompt once, expand its KV cache over each batch of right-padded prefixes.

    One forward per batch of ``batch_size`` prefixes; the first prefix token is scored with the
    prompt's last logits. Padding sits after each prefix, so causal attention never sees it.
    """
    import torch

    res: list[list[float]] = [[] for _ in prefixes]
    todo = [i for i, z in enumerate(prefixes) if len(z) > 0]
    if on_batch is not None and len(todo) < len(prefixes):
        on_batch(len(prefixes) - len(todo))
    if not todo:
        return res
    p = len(prompt_ids)
    with torch.no_grad(), fp32_head(model, fp32_logits):
        out = model(input_ids=torch.tensor([list(prompt_ids)], dtype=torch.long, device=device), use_cache=True,
                    logits_to_keep=1)
        base, cache_arg = output_cache(out), cache_kwarg(model)
        last = out.logits[0, -1]
        for s in range(0, len(todo), max(1, batch_size)):
            chunk = todo[s:s + batch_size]
            b, width = len(chunk), max(len(prefixes[i]) for i in chunk)
            ids = torch.full((b, width), pad_id, dtype=torch.long)
            for r, i in enumerate(chunk):
                ids[r, :len(prefixes[i])] = torch.tensor(list(prefixes[i]), dtype=torch.long)
            ids = ids.to(device)
            cache = copy.deepcopy(base)  # keeps the model's own cache layout (e.g. sliding-window layers)
            cache.batch_repeat_interleave(b)
            mask = torch.ones((b, p + width), dtype=torch.long, device=device)
            pos = torch.arange(p, p + width, device=device)[None].expand(b, -1)
            logits = model(input_ids=ids, attention_mask=mask, position_ids=pos, **{cache_arg: cache},
                           use_cache=True).logits
            for r, i in enumerate(chunk):
                n = len(prefixes[i])
                lg = torch.cat([last[None], logits[r, :n - 1]], dim=0)
                lp = tempered_logprobs(lg, temperature)
                res[i] = lp.gather(1, ids[r, :n, None])[:, 0].tolist()
            if on_batch is not None:
                on_batch(b)
    return res
