"""The transformers backend: own sampling loop with KV cache, and shared-prompt batched prefix scoring.

The sampler is plain temperature sampling (optionally top-k/top-p, then marked inexact); each sample
draws from its own generator seeded by :func:`sample_seed` so results do not depend on batch
composition. Recorded log-probs are exactly the ``log_softmax(logits/τ)`` the sampler drew from; for a
bf16/fp16 model the logits come from a float32 output projection (``fp32_logits``, ``_precision``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hackwatch.models import _kernels
from hackwatch.models._chat import (
    ChatFormat,
    TokenizerMixin,
    resolve_chat_format,
    split_reasoning,
)
from hackwatch.models._stop import stop_token_ids
from hackwatch.models._types import (
    BackendError,
    Completion,
    PrefixScore,
    SampleRequest,
    ScoreRequest,
    check_temperature,
    sample_seed,
)
from hackwatch.progress import Heartbeat


def _progress(total: int, enabled: bool, desc: str) -> Heartbeat:
    """A bar on a terminal, heartbeat lines when stderr is piped, nothing when not ``enabled``."""
    return Heartbeat(desc, total, unit="seq", enabled=enabled)


class TransformersBackend(TokenizerMixin):
    """A Hugging Face causal LM (in memory or a local path) on CPU or GPU."""

    name = "transformers"

    def __init__(self, model_or_path: Any, tokenizer: Any = None, *, device: str = "auto", dtype: Any = None,
                 chat_format: ChatFormat | str | None = None, model_id: str | None = None,
                 fp32_logits: bool = True) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        if isinstance(model_or_path, str | Path):
            path = Path(model_or_path)
            if not (path / "config.json").is_file():
                raise BackendError(f"{path}: no config.json; expected a saved transformers model directory "
                                   "(model.save_pretrained + tokenizer.save_pretrained)")
            if dtype is None:
                dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
            tokenizer = tokenizer or AutoTokenizer.from_pretrained(path)
            model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype)
            model_id = model_id or str(path)
        else:
            model = model_or_path
            if tokenizer is None:
                raise BackendError("TransformersBackend(model): pass tokenizer= with an in-memory model")
            if dtype is not None:
                model = model.to(dtype)
            model_id = model_id or getattr(model.config, "name_or_path", "") or type(model).__name__
        self.model = model.to(device).eval()
        self.tokenizer = tokenizer
        self.device = device
        self.model_id = model_id
        self.chat_format = resolve_chat_format(tokenizer, chat_format)
        self.stop_ids = stop_token_ids(model, tokenizer)
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.stop_ids[0]
        self._close_ids = self.encode(self.chat_format.reasoning_close)
        self._final_open_ids = self.encode(self.chat_format.final_open)
        self.last_score_stats: dict[str, float] = {}
        self.fp32_logits = fp32_logits
        """Output projection and ``log_softmax`` in float32 for a bf16/fp16 model (weights stay as they are)."""

    # -- sampling -------------------------------------------------------------------------------
    def sample(self, requests: Sequence[SampleRequest], *, temperature: float, max_new_tokens: int, seed: int,
               batch_size: int = 16, progress: bool = False, top_k: int | None = None,
               top_p: float | None = None) -> list[Completion]:
        """Sample every request ``n`` times, continuing after ``prompt_ids + prefix_ids``.

        ``top_k``/``top_p`` truncate the sampling distribution; completions are then marked
        ``exact=False`` because their prefixes no longer follow ``P_τ``.
        """
        tau = check_temperature(temperature)
        jobs = []
        prompts: dict[str, tuple[int, ...]] = {}
        for req in requests:
            if req.prompt not in prompts:
                prompts[req.prompt] = self.prompt_ids(req.prompt)
            for i in range(req.n):
                jobs.append((req, i, prompts[req.prompt]))
        out: list[Completion] = []
        with _progress(len(jobs), progress, "sample") as bar:
            for start in range(0, len(jobs), max(1, batch_size)):
                chunk = jobs[start:start + batch_size]
                rows = _kernels.generate(
                    self.model, [p + tuple(r.prefix_ids) for r, _, p in chunk],
                    [sample_seed(seed, r.key, i) for r, i, _ in chunk], temperature=tau,
                    max_new_tokens=max_new_tokens, stop_ids=self.stop_ids, pad_id=self.pad_id, device=self.device,
                    top_k=top_k, top_p=top_p, fp32_logits=self.fp32_logits)
                for (req, i, p), (gen, lps, finish) in zip(chunk, rows, strict=True):
                    out.append(self.make_completion(req, i, p, gen, lps, finish, tau, seed,
                                                    exact=top_k is None and top_p is None))
                bar.update(len(chunk))
        return out

    def make_completion(self, req: SampleRequest, index: int, prompt_ids: tuple[int, ...],
                        generated: Sequence[int], logprobs: Sequence[float], finish: str, temperature: float,
                        seed: int, *, exact: bool = True, error_bound: float | None = None) -> Completion:
        """Assemble a :class:`Completion`, splitting reasoning and answer on token ids."""
        full = tuple(req.prefix_ids) + tuple(generated)
        parts = split_reasoning(full, self._close_ids, self._final_open_ids, self.stop_ids)
        return Completion(
            key=req.key, index=index, prompt_ids=tuple(prompt_ids), prefix_ids=tuple(req.prefix_ids),
            generated_ids=tuple(int(t) for t in generated), token_logprobs=tuple(float(x) for x in logprobs),
            reasoning=self.decode(parts.reasoning), final=self.decode(parts.final).strip(),
            text=self.decode(full), finish_reason=finish, temperature=temperature, seed=seed, exact=exact,
            logprob_error_bound=error_bound)

    # -- scoring --------------------------------------------------------------------------------
    def score_prefixes(self, requests: Sequence[ScoreRequest], *, temperature: float, batch_size: int = 16,
                       progress: bool = False, share_prompt: bool = True) -> list[PrefixScore]:
        """τ-exact ``log P_τ(prefix | prompt)`` for every request.

        Requests are grouped by prompt; each prompt runs once and its KV cache is expanded over a batch
        of prefixes (one forward per batch). ``share_prompt=False`` runs one full forward per request
        (the naive reference path).
        """
        tau = check_temperature(temperature)
        t0 = time.perf_counter()
        groups: dict[str, list[int]] = {}
        for j, req in enumerate(requests):
            groups.setdefault(req.prompt, []).append(j)
        results: list[list[float] | None] = [None] * len(requests)
        with _progress(len(requests), progress, "score") as bar:
            for prompt, idx in groups.items():
                p_ids = self.prompt_ids(prompt)
                prefixes = [tuple(requests[j].prefix_ids) for j in idx]
                if share_prompt:
                    lps = _kernels.score_shared_prompt(self.model, p_ids, prefixes, temperature=tau,
                                                       batch_size=batch_size, pad_id=self.pad_id,
                                                       device=self.device, on_batch=bar.update,
                                                       fp32_logits=self.fp32_logits)
                else:
                    lps = []
                    for z in prefixes:
                        lps.append(_kernels.score_full(self.model, p_ids, z, temperature=tau, device=self.device,
                                                       fp32_logits=self.fp32_logits))
                        bar.update(1)
                for j, lp in zip(idx, lps, strict=True):
                    results[j] = lp
        n_tok = sum(len(r.prefix_ids) for r in requests)
        secs = time.perf_counter() - t0
        self.last_score_stats = {"tokens": float(n_tok), "seconds": secs,
                                 "tokens_per_s": n_tok / secs if secs > 0 else float("nan")}
        return [PrefixScore(key=r.key, logprob=float(sum(lp or ())), token_logprobs=tuple(lp or ()),
                            n_tokens=len(r.prefix_ids), temperature=tau)
                for r, lp in zip(requests, results, strict=True)]
