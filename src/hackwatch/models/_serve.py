"""A small OpenAI-compatible completions server over a transformers model (loopback tests, demos).

It implements the subset of ``POST /v1/completions`` the :class:`OpenAIBackend` uses, in vLLM's
dialect: a prompt given as text or token ids, ``n``, ``seed`` (one sample's generator seed, so a
client can reproduce :class:`TransformersBackend` samples exactly), ``logprobs`` (top-K per generated
token), ``echo``, vLLM's ``prompt_logprobs`` (``-1`` = full vocabulary) and
``return_tokens_as_token_ids``, vLLM's ``stop_token_ids`` (joined to the model's EOS set), and the
sampling knobs ``top_p``/``top_k``/``min_p``/penalties only switched off (anything else is HTTP 400).
Responses have the OpenAI completions shape: ``id``, ``object``, ``created``, ``model``, ``choices``
(``text`` — with the prompt when ``echo`` —, ``index``, ``logprobs`` or ``null``, ``finish_reason``, plus
vLLM's ``token_ids`` and ``prompt_logprobs``), ``usage`` with ``total_tokens``. Like vLLM, prompt log-probs are computed from raw logits (τ = 1);
generated-token log-probs are raw too unless the server runs with ``logprobs_mode="processed"``
(then they are ``log_softmax(logits/τ)``, the values the sampler drew from).
"""

from __future__ import annotations

import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from hackwatch.models import _kernels
from hackwatch.models._transformers import TransformersBackend


class _BadRequest(ValueError):
    pass


_PLAIN: dict[str, tuple[float, ...]] = {"top_p": (1.0,), "top_k": (-1.0, 0.0), "min_p": (0.0,),
                                        "repetition_penalty": (1.0,), "presence_penalty": (0.0,),
                                        "frequency_penalty": (0.0,)}
"""Sampling knobs this server accepts only switched off (first value = what a client should send)."""


class CompletionService:
    """Turns completion request bodies into responses; one model call at a time (a lock)."""

    def __init__(self, backend: TransformersBackend, *, logprobs_mode: str = "raw", fail_first: int = 0) -> None:
        if logprobs_mode not in ("raw", "processed"):
            raise ValueError(f"logprobs_mode must be 'raw' or 'processed', got {logprobs_mode!r}")
        self.backend = backend
        self.logprobs_mode = logprobs_mode
        self.fail_first = fail_first
        """Answer the first ``fail_first`` requests with HTTP 503 (to exercise client retries)."""
        self.lock = threading.Lock()
        self.requests_seen = 0

    def _tok(self, t: int, as_ids: bool) -> str:
        return f"token_id:{t}" if as_ids else self.backend.decode([t])

    def _top(self, row: Any, k: int, as_ids: bool) -> dict[str, float]:
        import torch
        k = row.shape[-1] if k < 0 else min(k, row.shape[-1])
        vals, idx = torch.topk(row, k)
        return {self._tok(int(i), as_ids): float(v) for v, i in zip(vals.tolist(), idx.tolist(), strict=True)}

    def complete(self, body: dict[str, Any]) -> dict[str, Any]:
        """Answer one ``/v1/completions`` body."""
        be = self.backend
        prompt = body.get("prompt")
        if isinstance(prompt, str):
            ids = list(be.encode(prompt))
        elif isinstance(prompt, list) and prompt and all(isinstance(t, int) for t in prompt):
            ids = [int(t) for t in prompt]
        else:
            raise _BadRequest("prompt must be a non-empty string or a list of token ids (one prompt per request)")
        temperature = float(body.get("temperature", 1.0))
        if temperature <= 0:
            raise _BadRequest("temperature must be > 0 on this server")
        for name, off in _PLAIN.items():
            if body.get(name) is not None and float(body[name]) not in off:
                raise _BadRequest(f"{name}={body[name]!r}: this server samples plain temperature only "
                                  f"(send {name}={off[0]!r} or leave it out)")
        extra_stops = body.get("stop_token_ids") or []
        if not isinstance(extra_stops, list) or not all(isinstance(t, int) for t in extra_stops):
            raise _BadRequest("stop_token_ids must be a list of token ids")
        stops = tuple(dict.fromkeys([*be.stop_ids, *extra_stops]))
        max_tokens, n = int(body.get("max_tokens", 16)), int(body.get("n", 1))
        seed = body.get("seed")
        seed = int(seed) if seed is not None else int.from_bytes(os.urandom(7), "little")
        top_n = body.get("logprobs")
        if top_n is not None and int(top_n) < 0:
            # vLLM's completions endpoint refuses a negative `logprobs` (only `prompt_logprobs` takes -1);
            # refusing it here too keeps a client that works against this server working against vLLM.
            raise _BadRequest(f"logprobs={top_n}: must be >= 0 (ask for the vocabulary size for all tokens)")
        as_ids = bool(body.get("return_tokens_as_token_ids", False))
        echo, plp = bool(body.get("echo", False)), body.get("prompt_logprobs")
        model, dev = be.model, be.device
        with self.lock:
            rows = _kernels.generate(model, [ids] * n, [seed + i for i in range(n)], temperature=temperature,
                                     max_new_tokens=max_tokens, stop_ids=stops, pad_id=be.pad_id, device=dev,
                                     fp32_logits=be.fp32_logits) if max_tokens > 0 else [([], [], "length")] * n
            choices = []
            for i, (gen, lps, finish) in enumerate(rows):
                full = ids + gen
                need_pos = top_n is not None or plp is not None
                raw = (_kernels.position_logprobs(model, full, temperature=1.0, device=dev,
                                                  fp32_logits=be.fp32_logits)
                       if need_pos and len(full) > 1 else None)
                choice: dict[str, Any] = {"index": i, "text": be.decode(ids) + be.decode(gen) if echo
                                          else be.decode(gen), "logprobs": None,
                                          "finish_reason": "stop" if finish == "eos" else "length",
                                          "token_ids": gen}
                if top_n is not None:
                    proc = (_kernels.position_logprobs(model, full, temperature=temperature, device=dev,
                                                       fp32_logits=be.fp32_logits)
                            if self.logprobs_mode == "processed" else raw)
                    start = 0 if echo else len(ids)
                    toks, tlps, tops = [], [], []
                    for j in range(start, len(full)):
                        toks.append(self._tok(full[j], as_ids))
                        if j == 0:
                            tlps.append(None)
                            tops.append(None)
                            continue
                        src = raw if j < len(ids) else proc
                        row = src[j - 1]
                        lp = lps[j - len(ids)] if (j >= len(ids) and self.logprobs_mode == "processed") \
                            else float(row[full[j]])
                        tlps.append(lp)
                        top = self._top(row, int(top_n), as_ids)
                        top.setdefault(self._tok(full[j], as_ids), float(row[full[j]]))
                        tops.append(top)
                    choice["logprobs"] = {"tokens": toks, "token_logprobs": tlps, "top_logprobs": tops}
                if plp is not None:
                    out: list[Any] = [None]
                    for j in range(1, len(ids)):
                        row = raw[j - 1]
                        entry = {}
                        for tok_s, lp in self._top(row, int(plp), True).items():
                            entry[tok_s.removeprefix("token_id:")] = lp
                        entry.setdefault(str(ids[j]), float(row[ids[j]]))
                        out.append({t: {"logprob": lp, "rank": int((row > lp).sum()) + 1,
                                        "decoded_token": be.decode([int(t)])} for t, lp in entry.items()})
                    choice["prompt_logprobs"] = out
                choices.append(choice)
        completion_tokens = sum(len(r[0]) for r in rows)
        return {"id": f"cmpl-{seed}", "object": "text_completion", "created": int(time.time()),
                "model": be.model_id, "choices": choices,
                "usage": {"prompt_tokens": len(ids), "completion_tokens": completion_tokens,
                          "total_tokens": len(ids) + completion_tokens}}


def _handler(service: CompletionService) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet by default
            return

        def _send(self, code: int, obj: Any) -> None:
            data = json.dumps(obj).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path.rstrip("/") == "/v1/models":
                self._send(200, {"object": "list", "data": [{"id": service.backend.model_id, "object": "model"}]})
            else:
                self._send(404, {"error": {"message": f"no route {self.path}"}})

        def do_POST(self) -> None:
            service.requests_seen += 1
            if service.requests_seen <= service.fail_first:
                self._send(503, {"error": {"message": "injected failure (fail_first)"}})
                return
            if self.path.rstrip("/") != "/v1/completions":
                self._send(404, {"error": {"message": f"no route {self.path}; only /v1/completions"}})
                return
            try:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                self._send(200, service.complete(body))
            except (_BadRequest, json.JSONDecodeError, TypeError, ValueError) as e:
                self._send(400, {"error": {"message": str(e)}})

    return Handler


def make_server(backend: TransformersBackend, host: str = "127.0.0.1", port: int = 0, *,
                logprobs_mode: str = "raw", fail_first: int = 0) -> ThreadingHTTPServer:
    """Bind an OpenAI-compatible completions server (``port=0`` picks a free port; see ``server_address``)."""
    service = CompletionService(backend, logprobs_mode=logprobs_mode, fail_first=fail_first)
    server = ThreadingHTTPServer((host, port), _handler(service))
    server.daemon_threads = True
    return server


def serve_in_thread(backend: TransformersBackend, host: str = "127.0.0.1", port: int = 0,
                    **kwargs: Any) -> tuple[ThreadingHTTPServer, str]:
    """Start :func:`make_server` in a daemon thread; return the server and its ``http://host:port/v1`` URL."""
    server = make_server(backend, host, port, **kwargs)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    h, p = server.server_address[:2]
    return server, f"http://{h}:{p}/v1"
