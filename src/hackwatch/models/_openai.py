"""OpenAI-compatible backend (vLLM's ``/v1/completions``): prefilled sampling and prefix scoring over HTTP.

Prompts are sent as token ids (``prompt_ids + prefix_ids``), which vLLM accepts, so the server never
re-tokenises a stored prefix. ``token_ids_prompt=False`` sends decoded text instead for servers that
only take strings — the server then re-tokenises, and ids may differ from the stored ones (documented
risk). Scoring uses vLLM's ``prompt_logprobs`` (or ``echo`` + ``logprobs``). Servers return those at
τ = 1 and only the top K; at τ ≠ 1 the τ-log-prob is renormalised over the top K and the result carries
``approx_error_bound`` (:func:`tempered_topk_logprob`). Ask for the full vocabulary (``score_top_k=-1``)
to make the bound 0.

Start-up probes the server once (:meth:`OpenAIBackend.probe`) and refuses, in one line, a server that
lacks what this needs (llama.cpp's server, for one); every request sends the EOS set as
``stop_token_ids`` and every sampling knob explicitly off (:data:`PLAIN_SAMPLING`).
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from hackwatch.models._chat import (
    ChatFormat,
    TokenizerMixin,
    resolve_chat_format,
    split_reasoning,
)
from hackwatch.models._stop import cut_at_stop, stop_token_ids
from hackwatch.models._topk import tempered_topk_logprob
from hackwatch.models._types import (
    BackendError,
    Completion,
    PrefixScore,
    SampleRequest,
    ScoreRequest,
    check_temperature,
    sample_seed,
)

_RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}
_INVALID_MARKERS = ("Input should be", "validation error")
"""A 5xx reply carrying one of these is a request the server rejected as invalid (pydantic): never retried."""
_MODE_TOL = 0.05
"""nat: a sampled token's log-prob and its prompt log-prob may differ by bf16 rounding (decode vs prefill)."""
_CAPPED_MARKER = "greater than max allowed"
"""vLLM's refusal of more (prompt) log-probs than its ``--max-logprobs`` (default 20; -1 = the vocabulary)."""
PLAIN_SAMPLING = {"top_p": 1.0, "top_k": -1, "min_p": 0.0, "repetition_penalty": 1.0, "presence_penalty": 0.0,
                  "frequency_penalty": 0.0}
"""Sent with every request so no server default (llama.cpp: top-k 40, top-p 0.95, min-p 0.05, a repeat
penalty) bends the sampling distribution away from ``P_τ``; ``top_k=-1`` is vLLM's "off"."""
KNOWN_SERVERS = ("known to work: vLLM ('vllm serve', run here with 0.32; --max-logprobs -1 for score_top_k=-1) "
                 "and 'hackwatch serve'; llama.cpp's server does not (docs/models.md, server matrix)")


def _tok_id(tok: str, where: str) -> int:
    if not tok.startswith("token_id:"):
        raise BackendError(f"{where}: server returned token {tok!r} as text; it must honour "
                           "return_tokens_as_token_ids=true (vLLM >= 0.6) so ids are never re-tokenised")
    return int(tok.removeprefix("token_id:"))


class OpenAIBackend(TokenizerMixin):
    """Talks to an OpenAI-compatible completions server; the tokenizer must be the served model's."""

    name = "openai"

    def __init__(self, base_url: str, model: str, tokenizer: Any, *, chat_format: ChatFormat | str | None = None,
                 api_key: str | None = None, concurrency: int = 8, max_retries: int = 5, backoff_s: float = 0.5,
                 timeout_s: float = 120.0, score_top_k: int = 20, score_api: str = "prompt_logprobs",
                 logprobs_mode: str | None = None, token_ids_prompt: bool = True, vocab_size: int | None = None,
                 generation_config: Any = None, probe: bool = True) -> None:
        import httpx

        if score_api not in ("prompt_logprobs", "echo"):
            raise ValueError(f"score_api must be 'prompt_logprobs' or 'echo', got {score_api!r}")
        if logprobs_mode not in (None, "raw", "processed"):
            raise ValueError(f"logprobs_mode must be None (the probe finds it), 'raw' (vLLM's default) or "
                             f"'processed', got {logprobs_mode!r}")
        self.base_url = base_url.rstrip("/")
        self.model_id = model
        self.tokenizer = tokenizer
        self.chat_format = resolve_chat_format(tokenizer, chat_format)
        self.concurrency, self.max_retries, self.backoff_s = max(1, concurrency), max_retries, backoff_s
        self.score_top_k, self.score_api = score_top_k, score_api
        self.logprobs_mode, self.token_ids_prompt = logprobs_mode or "raw", token_ids_prompt
        """What the server reports for sampled tokens: τ=1 (``raw``) or τ (``processed``) log-probs; given, or
        found by :meth:`probe` (``raw`` without a probe)."""
        self._mode_given = logprobs_mode is not None
        self.vocab_size = vocab_size or len(tokenizer)
        """Vocabulary size used by the τ > 1 bound; pass the model's ``config.vocab_size`` when larger."""
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(timeout=timeout_s, headers=headers)
        self.stop_ids = stop_token_ids(generation_config, tokenizer)
        """The served model's EOS set (generation config ∪ tokenizer), as in every backend (``_stop``)."""
        self._close_ids = self.encode(self.chat_format.reasoning_close)
        self._final_open_ids = self.encode(self.chat_format.final_open)
        if probe:
            self.probe()

    def probe(self) -> None:
        """Check what hackwatch needs from the server; ``BackendError`` in one line naming what is missing:
        token-id prompts, token ids in replies, prompt (or echo) log-probs, the top-K (or full-vocabulary)
        log-probs asked for by ``score_top_k``. Then find whether sampled-token log-probs are raw or at τ
        (:meth:`_find_logprobs_mode`): it sets ``logprobs_mode`` when none was given and refuses a given one
        the server contradicts (read as raw, processed log-probs would be tempered twice, silently).
        """
        ids = list(self.prompt_ids("Say hi."))[-3:]
        k = self.score_top_k
        body: dict[str, Any] = {"model": self.model_id, "prompt": self._prompt_field(ids), "max_tokens": 1,
                                "temperature": 1.0, "seed": 0, "logprobs": 1, "return_tokens_as_token_ids": True,
                                "skip_special_tokens": False, **PLAIN_SAMPLING, **self._score_fields(k)}
        try:
            reply = self._post(body)
        except BackendError as e:
            invalid = any(m in str(e) for m in _INVALID_MARKERS) and self.token_ids_prompt
            what = "token-id prompts" if invalid else "a valid reply to the capability probe"
            if _CAPPED_MARKER in str(e):  # vLLM's HTTP 400 for more log-probs than --max-logprobs allows
                what = (f"{'full-vocabulary' if k < 0 else f'top-{k}'} log-probs: the server caps them "
                        f"(start vLLM with --max-logprobs {-1 if k < 0 else k})")
            raise BackendError(f"{self.base_url}: server unusable for hackwatch: missing {what} ({e}); "
                               f"{KNOWN_SERVERS}") from e
        missing = self._probe_missing(reply, ids, k)
        if missing:
            raise BackendError(f"{self.base_url}: server unusable for hackwatch: missing {', '.join(missing)}; "
                               f"{KNOWN_SERVERS}")
        found = self._find_logprobs_mode(ids)
        if not self._mode_given:
            self.logprobs_mode = found or "raw"
        elif found is not None and found != self.logprobs_mode:
            raise BackendError(f"{self.base_url}: the server reports {found} log-probs for sampled tokens, but "
                               f"logprobs_mode={self.logprobs_mode!r}; pass logprobs_mode={found!r} or leave it unset "
                               "(the probe then uses what it finds)")

    def _find_logprobs_mode(self, ids: list[int]) -> str | None:
        """``"raw"`` (τ = 1, vLLM's default) or ``"processed"`` (at the sampling τ): what the server reports
        for a sampled token, from one token sampled at τ = 0.5 and the same token's prompt log-prob (processed
        is checked within the top-K bound); ``None`` when the two modes give nearly the same value there.
        """
        tau, where, k = 0.5, "capability probe", self.score_top_k or 1
        body = {"model": self.model_id, "prompt": self._prompt_field(ids), "max_tokens": 1, "temperature": tau,
                "seed": 0, "logprobs": 1, "return_tokens_as_token_ids": True, **PLAIN_SAMPLING}
        try:
            lp = self._post(body)["choices"][0]["logprobs"]
            token, reported = _tok_id(lp["tokens"][0], where), float(lp["token_logprobs"][0])
        except (KeyError, IndexError, TypeError, ValueError) as e:
            raise BackendError(f"{self.base_url}: malformed reply to the capability probe's sampling request "
                               f"({e!r}); expected logprobs.tokens and logprobs.token_logprobs") from e
        body = {"model": self.model_id, "prompt": self._prompt_field([*ids, token]), "max_tokens": 1,
                "temperature": 1.0, "return_tokens_as_token_ids": True, **PLAIN_SAMPLING, **self._score_fields(k)}
        raw, top = self._position(self._post(body)["choices"][0], len(ids), token, where)
        approx, bound = self._tempered(token, raw, top, k, tau)  # processed lies in [approx - bound, approx]
        if approx - bound - _MODE_TOL <= raw <= approx + _MODE_TOL:
            return None  # the two modes give (nearly) the same value here: cannot tell
        d_raw, d_processed = abs(reported - raw), max(0.0, reported - approx, approx - bound - reported)
        if min(d_raw, d_processed) <= _MODE_TOL:
            return "raw" if d_raw < d_processed else "processed"
        raise BackendError(f"{self.base_url}: server unusable for hackwatch: a sampled token's log-prob "
                           f"({reported:.4f}) is neither raw ({raw:.4f}) nor at the sampling τ (~{approx:.4f}); "
                           "vLLM: run it with --logprobs-mode raw_logprobs or processed_logprobs")

    def _score_fields(self, k: int) -> dict[str, Any]:
        """The request fields asking for τ=1 log-probs of every prompt token and its top ``k`` (-1: all)."""
        if self.score_api == "prompt_logprobs":
            return {"prompt_logprobs": k}
        return {"echo": True, "logprobs": self._wire_logprobs(k) if k != 0 else 1}

    def _probe_missing(self, reply: dict[str, Any], ids: list[int], k: int) -> list[str]:
        try:
            choice = reply["choices"][0]
        except (KeyError, IndexError, TypeError):
            return ["a completions reply with 'choices'"]
        lp = choice.get("logprobs") or {}
        tokens = lp.get("tokens") or []
        missing = []
        if not tokens or not all(isinstance(t, str) and t.startswith("token_id:") for t in tokens):
            missing.append("token ids in replies (return_tokens_as_token_ids)")
        if self.score_api == "prompt_logprobs":
            entries = choice.get("prompt_logprobs")
            if not isinstance(entries, list) or len(entries) < len(ids) or not isinstance(entries[-1], dict):
                return [*missing, "prompt log-probs (prompt_logprobs)"]
            entry = entries[-1]
        else:
            tops = lp.get("top_logprobs") or []
            if len(tokens) < len(ids) + 1 or [t.removeprefix("token_id:") for t in tokens[:len(ids)]] != \
                    [str(t) for t in ids] or len(tops) < len(ids) or not isinstance(tops[len(ids) - 1], dict):
                return [*missing, "echoed prompt tokens with log-probs (echo + logprobs)"]
            entry = tops[len(ids) - 1]
        want = self.vocab_size if k < 0 else k  # what _wire_logprobs asks for
        if len(entry) < want:
            missing.append(f"{'full-vocabulary' if k < 0 else f'top-{k}'} log-probs (got {len(entry)} per "
                           f"position; score_top_k={k})")
        return missing


    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST to ``/completions`` with exponential back-off on 429/5xx/timeouts/connection errors;
        a request the server rejected as invalid (4xx, or a 5xx naming a validation error) fails at once.
        """
        import httpx

        url = f"{self.base_url}/completions"
        problem = ""
        for attempt in range(self.max_retries + 1):
            try:
                resp = self._client.post(url, json=body)
                if resp.status_code < 400:
                    return resp.json()
                problem = f"HTTP {resp.status_code}: {resp.text[:200]}"
                if resp.status_code not in _RETRY_STATUS or any(m in resp.text for m in _INVALID_MARKERS):
                    raise BackendError(f"{url}: {problem}")  # the request itself is wrong: no retry
            except (httpx.TimeoutException, httpx.TransportError) as e:
                problem = f"{type(e).__name__}: {e}"
            if attempt < self.max_retries:
                time.sleep(self.backoff_s * (2 ** attempt) * (1.0 + 0.25 * random.random()))
        raise BackendError(f"{url}: gave up after {self.max_retries + 1} attempts; last error {problem}")

    def _map(self, fn: Any, items: list[Any], progress: bool, desc: str) -> list[Any]:
        from hackwatch.progress import progress as track

        with ThreadPoolExecutor(self.concurrency) as pool:
            return list(track(pool.map(fn, items), desc, total=len(items), unit="request", enabled=progress))

    def _wire_logprobs(self, k: int) -> int:
        """The ``logprobs`` field for top-``k`` (``-1``: all). vLLM's completions endpoint refuses a negative
        ``logprobs`` (only ``prompt_logprobs`` accepts ``-1``), so "all" is sent as the vocabulary size, which
        a server run with ``--max-logprobs -1`` allows.
        """
        return self.vocab_size if k < 0 else k

    def _prompt_field(self, ids: Sequence[int]) -> Any:
        return list(ids) if self.token_ids_prompt else self.decode(ids)

    def sample(self, requests: Sequence[SampleRequest], *, temperature: float, max_new_tokens: int, seed: int,
               batch_size: int = 16, progress: bool = False) -> list[Completion]:
        """One HTTP request per sample (``n=1``, seed :func:`sample_seed`), ``concurrency`` in flight."""
        tau = check_temperature(temperature)
        approx = self.logprobs_mode == "raw" and tau != 1.0
        k = (self.score_top_k or 1) if approx else 0
        jobs = [(r, i, self.prompt_ids(r.prompt)) for r in requests for i in range(r.n)]

        def one(job: tuple[SampleRequest, int, tuple[int, ...]]) -> Completion:
            req, i, p = job
            body = {"model": self.model_id, "prompt": self._prompt_field(p + tuple(req.prefix_ids)),
                    "max_tokens": max_new_tokens, "temperature": tau, "seed": sample_seed(seed, req.key, i),
                    "n": 1, "logprobs": self._wire_logprobs(k), "return_tokens_as_token_ids": True, "skip_special_tokens": False,
                    "stop_token_ids": list(self.stop_ids), **PLAIN_SAMPLING}
            choice = self._post(body)["choices"][0]
            lp = choice.get("logprobs") or {}
            where = f"sample {req.key!r}#{i}"
            gen = [_tok_id(t, where) for t in lp.get("tokens") or []]
            if not gen and choice.get("token_ids"):
                gen = [int(t) for t in choice["token_ids"]]
            values, bounds = [], []
            for t, v, top in zip(gen, lp.get("token_logprobs") or [], lp.get("top_logprobs") or [], strict=False):
                if not approx:
                    values.append(float(v))
                    continue
                a, b = self._tempered(t, float(v), {_tok_id(s, where): x for s, x in (top or {}).items()}, k, tau)
                values.append(a)
                bounds.append(b)
            gen, values, stopped = cut_at_stop(gen, values, self.stop_ids)
            finish = "eos" if stopped or choice.get("finish_reason") == "stop" else "length"
            bound = sum(bounds[:len(gen)]) if approx else None
            return self._completion(req, i, p, gen, values, finish, tau, seed, approx, bound)

        return self._map(one, jobs, progress, "sample")

    def _tempered(self, token: int, lp: float, top: dict[int, float], k: int, tau: float) -> tuple[float, float]:
        ranked = sorted(top.items(), key=lambda kv: -kv[1])
        topk = ranked if k < 0 else ranked[:k]
        in_top = any(t == token for t, _ in topk)
        return tempered_topk_logprob(lp, [x for _, x in topk], tau, self.vocab_size, in_top)

    def _completion(self, req: SampleRequest, i: int, p: tuple[int, ...], gen: list[int], values: list[float],
                    finish: str, tau: float, seed: int, approx: bool, bound: float | None) -> Completion:
        full = tuple(req.prefix_ids) + tuple(gen)
        parts = split_reasoning(full, self._close_ids, self._final_open_ids, self.stop_ids)
        return Completion(key=req.key, index=i, prompt_ids=p, prefix_ids=tuple(req.prefix_ids),
                          generated_ids=tuple(gen), token_logprobs=tuple(values),
                          reasoning=self.decode(parts.reasoning), final=self.decode(parts.final).strip(),
                          text=self.decode(full), finish_reason=finish, temperature=tau, seed=seed,
                          exact=not approx, logprob_error_bound=bound)

    def score_prefixes(self, requests: Sequence[ScoreRequest], *, temperature: float, batch_size: int = 16,
                       progress: bool = False) -> list[PrefixScore]:
        """``log P_τ(prefix|prompt)`` from server prompt log-probs; top-K renormalised with a bound at τ ≠ 1."""
        tau = check_temperature(temperature)
        k = self.score_top_k if tau != 1.0 else 0
        prompts = {r.prompt: self.prompt_ids(r.prompt) for r in requests}

        def one(req: ScoreRequest) -> PrefixScore:
            p, z = prompts[req.prompt], tuple(req.prefix_ids)
            if not z:
                return PrefixScore(req.key, 0.0, (), 0, tau, None if tau == 1.0 else 0.0)
            body: dict[str, Any] = {"model": self.model_id, "prompt": self._prompt_field(p + z), "max_tokens": 1,
                                    "temperature": 1.0, "return_tokens_as_token_ids": True, **PLAIN_SAMPLING,
                                    **self._score_fields(k)}
            choice = self._post(body)["choices"][0]
            where = f"score {req.key!r}"
            values, bound = [], 0.0
            for t, pos in zip(z, range(len(p), len(p) + len(z)), strict=True):
                tok_lp, top = self._position(choice, pos, t, where)
                if tau == 1.0:
                    values.append(tok_lp)
                    continue
                a, b = self._tempered(t, tok_lp, top, k, tau)
                values.append(a)
                bound += b
            return PrefixScore(req.key, float(sum(values)), tuple(values), len(z), tau,
                               None if tau == 1.0 else bound)

        return self._map(one, list(requests), progress, "score")

    def _position(self, choice: dict[str, Any], pos: int, token: int, where: str) -> tuple[float, dict[int, float]]:
        """τ=1 log-prob of ``token`` at prompt position ``pos`` and the returned top entries."""
        try:
            if self.score_api == "prompt_logprobs":
                entry = choice["prompt_logprobs"][pos]
                top = {int(t): float(v["logprob"] if isinstance(v, dict) else v) for t, v in entry.items()}
            else:
                lp = choice["logprobs"]
                if _tok_id(lp["tokens"][pos], where) != token:
                    raise BackendError(f"{where}: server echoed a different token at position {pos}")
                top = {_tok_id(s, where): float(v) for s, v in (lp["top_logprobs"][pos] or {}).items()}
            return top[token], top
        except (KeyError, IndexError, TypeError) as e:
            raise BackendError(f"{where}: malformed server reply at prompt position {pos} ({e!r}); expected "
                               f"{self.score_api} entries for every prompt token") from e
