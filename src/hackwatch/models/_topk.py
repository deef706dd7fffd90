"""τ-rescaling of top-K log-probabilities returned at τ = 1, with a bound on the error (pure math).

Servers (vLLM, OpenAI-compatible) return prompt log-probs from raw logits (τ = 1) and only the top K.
With ``l_j = log p_j`` (τ = 1) the tempered log-prob of token ``z`` is

    log P_τ(z) = l_z/τ − log Σ_j exp(l_j/τ)

and the sum runs over the whole vocabulary. Renormalising over the known set S (top-K ∪ {z}) gives
``approx = l_z/τ − log Z_S``. The unknown remainder ``M = Σ_{j∉S} p_j^{1/τ}`` is ≥ 0 and bounded
using the missing mass ``m = 1 − Σ_S p_j`` and the smallest top-K probability ``p_K`` (every missing
token has ``p_j ≤ p_K``); with ``a = 1/τ``:

    a ≥ 1 (τ ≤ 1):  M ≤ min(m · p_K^(a−1), m^a)
    a < 1 (τ > 1):  M ≤ n · (m/n)^a     (Jensen; n = vocabulary size − |S|)

Hence ``0 ≤ approx − exact ≤ log(1 + M_max / Z_S)``: the approximation never underestimates and the
returned bound is a real bound (up to the server's own rounding of the log-probs).
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def _logsumexp(xs: Sequence[float]) -> float:
    hi = max(xs)
    return hi + math.log(sum(math.exp(x - hi) for x in xs))


def tempered_topk_logprob(token_logprob: float, topk_logprobs: Sequence[float], temperature: float,
                          vocab_size: int, token_in_topk: bool) -> tuple[float, float]:
    """Approximate ``log P_τ(z)`` from τ=1 top-K log-probs; return ``(approx, error_bound)``.

    ``topk_logprobs`` are the K largest τ=1 log-probs of the position; ``token_in_topk`` says whether
    the scored token is among them (otherwise its own log-prob is added to the known set). At τ = 1 the
    token's log-prob is exact and the bound is 0.
    """
    if temperature == 1.0:
        return float(token_logprob), 0.0
    if not topk_logprobs:
        raise ValueError("tempered_topk_logprob needs at least one top-K log-prob")
    a = 1.0 / temperature
    known = list(topk_logprobs) if token_in_topk else [*topk_logprobs, token_logprob]
    log_zs = _logsumexp([a * lp for lp in known])
    approx = a * token_logprob - log_zs
    mass = 1.0 - sum(math.exp(lp) for lp in known)
    n_missing = vocab_size - len(known)
    if mass <= 0.0 or n_missing <= 0:
        return approx, 0.0
    if a >= 1.0:
        p_k = math.exp(min(topk_logprobs))
        log_m_max = min(math.log(mass) + (a - 1.0) * math.log(p_k), a * math.log(mass))
    else:
        log_m_max = math.log(n_missing) + a * (math.log(mass) - math.log(n_missing))
    return approx, math.log1p(math.exp(log_m_max - log_zs))
