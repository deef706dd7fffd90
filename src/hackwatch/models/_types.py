"""The request/result records every backend speaks, and the :class:`Backend` protocol.

Token ids are the source of truth: a prefix is stored and replayed as ids, never re-tokenised text,
and every log-probability is ``log softmax(logits / τ)`` over the full vocabulary at the sampling
temperature τ (DESIGN.md, "Known defects").
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase


class BackendError(RuntimeError):
    """A backend could not do its job (bad model path, unreachable server, malformed server reply)."""


class InexactScoreError(ValueError):
    """A caller asked for τ-exact log-probabilities that this configuration cannot give."""


@dataclass(frozen=True)
class SampleRequest:
    """Sample ``n`` completions of ``prompt`` with the reasoning section forced to start with ``prefix_ids``."""

    prompt: str
    """The user message (``task.prompt``); rendered with the model's own chat template."""
    prefix_ids: tuple[int, ...] = ()
    """Forced reasoning prefix in model tokens, placed right after the opening of the reasoning section."""
    n: int = 1
    """Number of samples for this request."""
    key: str = ""
    """Caller's id, echoed back on every :class:`Completion`; also part of each sample's seed."""

    def __post_init__(self) -> None:
        if self.n < 1:
            raise ValueError(f"SampleRequest {self.key!r}: n must be >= 1, got {self.n}")


@dataclass(frozen=True)
class Completion:
    """One sampled continuation, with the exact ids it was conditioned on and the sampler's log-probs."""

    key: str
    """The request's key."""
    index: int
    """Which of the request's ``n`` samples this is (0-based)."""
    prompt_ids: tuple[int, ...]
    """Exact tokens the model was conditioned on: chat template plus the opening of the reasoning section."""
    prefix_ids: tuple[int, ...]
    """The forced reasoning prefix."""
    generated_ids: tuple[int, ...]
    """Tokens generated after the prefix (including the stop token when one was hit)."""
    token_logprobs: tuple[float, ...]
    """``log softmax(logits/τ)[token]`` of each generated token, as the sampler drew it."""
    reasoning: str
    """Full reasoning text (prefix + generated part up to the closing marker), decoded from ids."""
    final: str
    """Text after the reasoning section: the answer the verifier extracts code from."""
    text: str
    """Everything after the prompt (prefix + generated), decoded."""
    finish_reason: str
    """``"eos"`` (a stop token was generated) or ``"length"`` (``max_new_tokens`` reached)."""
    temperature: float
    """Sampling temperature τ."""
    seed: int
    """The run seed passed to ``sample`` (the per-sample generator seed is :func:`sample_seed`)."""
    exact: bool = True
    """True when ``token_logprobs`` are τ-exact full-vocabulary values of plain temperature sampling."""
    logprob_error_bound: float | None = None
    """Bound on ``|Σ token_logprobs − exact|`` when they were approximated from top-K server log-probs."""

    @property
    def logprob(self) -> float:
        """Sum of the generated tokens' log-probabilities (natural log)."""
        return float(sum(self.token_logprobs))


@dataclass(frozen=True)
class ScoreRequest:
    """Score ``log P_τ(prefix_ids | prompt)`` under the backend's model."""

    prompt: str
    """The user message, rendered exactly as for sampling."""
    prefix_ids: tuple[int, ...]
    """The reasoning prefix to score, in model tokens."""
    key: str = ""
    """Caller's id, echoed back."""


@dataclass(frozen=True)
class PrefixScore:
    """``log P_τ(z|x) = Σ_t log softmax(logits_t/τ)[z_t]``, conditioned on exactly ``prompt_ids(prompt)``."""

    key: str
    """The request's key."""
    logprob: float
    """Sum of ``token_logprobs`` (natural log); 0.0 for an empty prefix."""
    token_logprobs: tuple[float, ...]
    """Per-token log-probabilities at temperature τ."""
    n_tokens: int
    """Prefix length in model tokens."""
    temperature: float
    """The temperature τ the log-probabilities are taken at."""
    approx_error_bound: float | None = None
    """Only for top-K approximations: a bound on ``|logprob − exact|``; ``None`` when exact."""


@runtime_checkable
class Backend(Protocol):
    """What the pipeline needs from a model: prefilled sampling and exact prefix log-probs."""

    name: str
    model_id: str
    tokenizer: PreTrainedTokenizerBase

    def prompt_ids(self, prompt: str) -> tuple[int, ...]: ...

    def sample(self, requests: Sequence[SampleRequest], *, temperature: float, max_new_tokens: int, seed: int,
               batch_size: int = 16, progress: bool = False) -> list[Completion]: ...

    def score_prefixes(self, requests: Sequence[ScoreRequest], *, temperature: float, batch_size: int = 16,
                       progress: bool = False) -> list[PrefixScore]: ...

    def encode(self, text: str) -> tuple[int, ...]: ...

    def decode(self, ids: Sequence[int]) -> str: ...


def sample_seed(seed: int, key: str, index: int) -> int:
    """The generator seed of sample ``index`` of request ``key``: independent of batch composition."""
    digest = hashlib.sha256(f"{seed}\x00{key}\x00{index}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def check_temperature(temperature: float) -> float:
    """Validate τ > 0 (τ = 0 is greedy decoding, under which prefix probabilities are not defined)."""
    t = float(temperature)
    if not t > 0.0 or t != t or t == float("inf"):
        raise ValueError(f"temperature must be a finite number > 0, got {temperature!r}; "
                         "use a small value such as 0.05 instead of greedy decoding")
    return t


def require_exact(items: Sequence[Completion | PrefixScore], *, tolerance: float = 0.0) -> None:
    """Raise :class:`InexactScoreError` unless every item is τ-exact (bound ≤ ``tolerance`` for top-K scores).

    Importance weights need exact ``log P_τ``; call this before estimating from samples or scores that
    may come from a truncated sampler or a top-K server approximation.
    """
    for item in items:
        if isinstance(item, Completion):
            bad = not item.exact and (item.logprob_error_bound is None or item.logprob_error_bound > tolerance)
            bound = item.logprob_error_bound
        else:
            bound = item.approx_error_bound
            bad = bound is not None and bound > tolerance
        if bad:
            raise InexactScoreError(
                f"{type(item).__name__} {item.key!r}: log-probs are not τ-exact (error bound {bound}); "
                "sample without top_k/top_p, use a server with processed log-probs, or score with "
                "score_top_k=-1 (full vocabulary)")
