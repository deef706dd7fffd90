"""Capture pooled hidden states of the first reasoning tokens: during sampling, or in one extra forward pass.

``sample_with_activations`` runs the transformers backend's own sampler unchanged, with read-only hooks
that keep the hidden states of the first ``W`` reasoning tokens as the sampler computes them — no second
generation pass. ``capture_forward`` is the path for samples generated elsewhere (``hackwatch sample``,
a server): one forward pass over exactly the stored ``prompt_ids + prefix_ids + generated_ids`` (cut to
the tokens the windows need). Both pool the same way (``_pool``) and agree to float tolerance (tested).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hackwatch.probes._hooks import n_hidden_states, record_residual
from hackwatch.probes._pool import CaptureSpec, array_key, pool_windows, tokens_needed


@dataclass
class Captured:
    """Pooled hidden states of a list of samples, one array per (layer, window, pooling)."""

    spec: CaptureSpec
    """The resolved spec (non-negative layer indices)."""
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    """``array_key(layer, window, pooling)`` → float32 ``[n_samples, hidden]``."""
    n_reasoning: list[int] = field(default_factory=list)
    """Reasoning tokens of each sample (prefix + generated, up to the closing marker)."""
    capture: list[str] = field(default_factory=list)
    """Per sample: ``sampling`` (read during generation) or ``forward`` (one extra forward pass)."""
    n_states: int = 0
    """The model's number of hidden states (blocks + 1)."""

    def put(self, row: int, states: dict[int, np.ndarray], n_reasoning: int) -> None:
        """Pool one sample's per-layer token states ``[T, d]`` into row ``row`` of every array."""
        for layer in self.spec.layers:
            pooled = pool_windows(states[layer], n_reasoning, self.spec.windows, self.spec.poolings)
            for (w, p), vec in pooled.items():
                key = array_key(layer, w, p)
                if key not in self.arrays:
                    self.arrays[key] = np.full((len(self.n_reasoning), vec.shape[0]), np.nan, dtype=np.float32)
                self.arrays[key][row] = vec


def reasoning_length(backend: Any, prefix_ids: Sequence[int], generated_ids: Sequence[int]) -> int:
    """Reasoning tokens of a sample: prefix + generated ids before the closing marker, split on ids."""
    from hackwatch.models._chat import split_reasoning

    close = backend.encode(backend.chat_format.reasoning_close)
    final_open = backend.encode(backend.chat_format.final_open)
    parts = split_reasoning(tuple(prefix_ids) + tuple(generated_ids), close, final_open, backend.stop_ids)
    return len(parts.reasoning)


def capture_forward(model: Any, prompts: Sequence[Sequence[int]], continuations: Sequence[Sequence[int]],
                    n_reasoning: Sequence[int], spec: CaptureSpec, *, device: str = "cpu", batch_size: int = 8,
                    progress: bool = False) -> Captured:
    """Pooled states from one forward pass per batch over ``prompt + continuation[:needed]``.

    ``continuations`` are the exact ids after the prompt (prefix + generated). Batches are right-padded
    (causal attention never lets a real token see padding), sorted by length to waste little.
    """
    import torch

    from hackwatch.progress import Heartbeat

    n_states = n_hidden_states(model)
    spec = spec.resolve(n_states)
    n = len(prompts)
    if not (len(continuations) == len(n_reasoning) == n):
        raise ValueError("capture_forward: prompts, continuations and n_reasoning must have the same length")
    out = Captured(spec, n_reasoning=[int(x) for x in n_reasoning], capture=["forward"] * n, n_states=n_states)
    need = [tokens_needed(r, spec.max_window) for r in n_reasoning]
    for i in range(n):
        if len(continuations[i]) < need[i] or not prompts[i]:
            raise ValueError(f"sample {i}: needs a non-empty prompt and at least one token after it "
                             f"(got {len(prompts[i])} prompt and {len(continuations[i])} continuation tokens)")
    seqs = [list(prompts[i]) + list(continuations[i][:need[i]]) for i in range(n)]
    order = sorted(range(n), key=lambda i: -len(seqs[i]))
    with Heartbeat("capture", n, unit="seq", enabled=progress) as bar:
        for s in range(0, n, max(1, batch_size)):
            rows = order[s:s + batch_size]
            width = max(len(seqs[i]) for i in rows)
            ids = torch.zeros((len(rows), width), dtype=torch.long)
            mask = torch.zeros((len(rows), width), dtype=torch.long)
            for r, i in enumerate(rows):
                ids[r, :len(seqs[i])] = torch.tensor(seqs[i], dtype=torch.long)
                mask[r, :len(seqs[i])] = 1
            kept: dict[int, list[np.ndarray]] = {}

            def on_state(layer: int, h: Any, rows: list[int] = rows, kept: dict[int, list[np.ndarray]] = kept) -> None:
                kept[layer] = [h[r, len(prompts[i]):len(prompts[i]) + need[i]].detach().float().cpu().numpy()
                               for r, i in enumerate(rows)]

            with torch.no_grad(), record_residual(model, spec.layers, on_state):
                model(input_ids=ids.to(device), attention_mask=mask.to(device), use_cache=False, logits_to_keep=1)
            for r, i in enumerate(rows):
                out.put(i, {layer: kept[layer][r] for layer in spec.layers}, out.n_reasoning[i])
            bar.update(len(rows))
    return out


def _groups(requests: Sequence[Any], batch_size: int) -> list[list[int]]:
    """Consecutive request indices with about ``batch_size`` samples per group (bounds capture memory)."""
    groups: list[list[int]] = []
    total = 0
    for j, req in enumerate(requests):
        if not groups or total + req.n > batch_size:
            groups.append([])
            total = 0
        groups[-1].append(j)
        total += req.n
    return groups


class _SamplerRecorder:
    """Hook callbacks for one ``backend.sample`` call: maps each forward of the sampler to its rows.

    ``backend.sample`` expands requests into jobs ``(request, i)`` in order and runs them in chunks of
    ``batch_size``; each chunk starts with a forward without a KV cache (left-padded
    prompt + prefix), then one forward per decoding step feeding the previous step's tokens.
    """

    def __init__(self, jobs: list[tuple[Any, int]], prompt_lens: dict[str, int], batch_size: int,
                 max_window: int) -> None:
        self.chunks = [jobs[s:s + batch_size] for s in range(0, len(jobs), max(1, batch_size))]
        self.n_jobs, self.prompt_lens, self.batch_size, self.big_w = len(jobs), prompt_lens, batch_size, max_window
        self.buf: dict[int, np.ndarray] = {}
        self.fed = np.zeros((len(jobs), max_window), dtype=bool)
        self.chunk, self.call = -1, 0

    def on_call(self, kwargs: dict[str, Any]) -> None:
        # The sampler passes its KV cache as ``cache`` (transformers >= 5.25) or ``past_key_values`` (older):
        # a forward with neither is the first of a chunk.
        if kwargs.get("cache") is None and kwargs.get("past_key_values") is None:
            self.chunk, self.call = self.chunk + 1, 0
        else:
            self.call += 1

    def on_state(self, layer: int, h: Any) -> None:
        k, call, big_w = self.chunk, self.call, self.big_w
        if k >= len(self.chunks) or call > big_w:
            return
        chunk, j0 = self.chunks[k], k * self.batch_size
        if layer not in self.buf:
            self.buf[layer] = np.full((self.n_jobs, big_w, h.shape[-1]), np.nan, dtype=np.float32)
        buf = self.buf[layer]
        if call == 0:
            width = max(self.prompt_lens[r.prompt] + len(r.prefix_ids) for r, _ in chunk)
            if h.shape[0] != len(chunk) or h.shape[1] != width:
                raise RuntimeError(f"activation capture: the sampler's batch has shape {tuple(h.shape[:2])}, "
                                   f"expected ({len(chunk)}, {width}); its batching changed — use "
                                   "capture_forward on the completions instead")
            for r, (req, _) in enumerate(chunk):
                p = len(req.prefix_ids)
                kk = min(p, big_w)
                if kk:
                    buf[j0 + r, :kk] = h[r, width - p:width - p + kk].detach().float().cpu().numpy()
                    self.fed[j0 + r, :kk] = True
            return
        vals = None
        for r, (req, _) in enumerate(chunk):
            j = len(req.prefix_ids) + call - 1
            if j < big_w:
                vals = h[:, 0].detach().float().cpu().numpy() if vals is None else vals
                buf[j0 + r, j] = vals[r]
                self.fed[j0 + r, j] = True


def sample_with_activations(backend: Any, requests: Sequence[Any], spec: CaptureSpec, *, temperature: float,
                            max_new_tokens: int, seed: int, batch_size: int = 16,
                            progress: bool = False) -> tuple[list[Any], Captured]:
    """Sample with ``backend.sample`` (a :class:`~hackwatch.models.TransformersBackend`) and keep the
    hidden states of the first reasoning tokens from the sampler's own forward passes.

    The completions are exactly those ``backend.sample`` returns without capture (the hooks only read).
    Prefix tokens are read from the first (prompt + prefix) forward, generated token ``g`` from the
    decoding step that feeds it. The last token of a batch is never fed back; a sample whose needed
    tokens include it is completed with :func:`capture_forward` (marked ``forward``).
    """
    import torch

    from hackwatch.progress import Heartbeat

    n_states = n_hidden_states(backend.model)
    spec = spec.resolve(n_states)
    big_w = spec.max_window
    completions: list[Any] = []
    rows_n = sum(r.n for r in requests)
    out = Captured(spec, n_reasoning=[0] * rows_n, capture=["sampling"] * rows_n, n_states=n_states)
    prompt_lens = {r.prompt: len(backend.prompt_ids(r.prompt)) for r in requests}
    with Heartbeat("capture", rows_n, unit="seq", enabled=progress) as beat:  # one stage, not one per group
        for group in _groups(requests, batch_size):
            reqs = [requests[j] for j in group]
            rec = _SamplerRecorder([(r, i) for r in reqs for i in range(r.n)], prompt_lens, batch_size, big_w)
            with torch.no_grad(), record_residual(backend.model, spec.layers, rec.on_state, rec.on_call):
                comps = backend.sample(reqs, temperature=temperature, max_new_tokens=max_new_tokens, seed=seed,
                                       batch_size=batch_size, progress=False)
            beat.update(len(comps))
            if rec.chunk + 1 != len(rec.chunks):
                raise RuntimeError(f"activation capture: saw {rec.chunk + 1} sampler batches, expected "
                                   f"{len(rec.chunks)}; use capture_forward on the completions instead")
            base = len(completions)
            redo = []
            for j, c in enumerate(comps):
                n_r = reasoning_length(backend, c.prefix_ids, c.generated_ids)
                out.n_reasoning[base + j] = n_r
                need = tokens_needed(n_r, big_w)
                if len(c.prefix_ids) + len(c.generated_ids) < need:
                    raise ValueError(f"sample {c.key!r}/{c.index}: no token after the prompt to read states from; "
                                     "use max_new_tokens >= 1")
                if rec.fed[j, :need].all():
                    out.put(base + j, {layer: rec.buf[layer][j] for layer in spec.layers}, n_r)
                else:
                    redo.append(j)
            if redo:
                extra = capture_forward(backend.model, [comps[j].prompt_ids for j in redo],
                                        [comps[j].prefix_ids + comps[j].generated_ids for j in redo],
                                        [out.n_reasoning[base + j] for j in redo], spec, device=backend.device,
                                        batch_size=batch_size)
                for e, j in enumerate(redo):
                    for key, arr in extra.arrays.items():
                        if key not in out.arrays:
                            out.arrays[key] = np.full((rows_n, arr.shape[1]), np.nan, dtype=np.float32)
                        out.arrays[key][base + j] = arr[e]
                    out.capture[base + j] = "forward"
            completions.extend(comps)
    return completions, out
