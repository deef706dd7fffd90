"""Unbiased pass@k (Chen et al. 2021) from groups of n rollouts with c passes.

    pass@k = 1 - C(n-c, k) / C(n, k)

computed as a running product to stay exact for large n. A locked policy shows pass@k ≈ pass@1 ≈ 0
on its locked context (no rollout ever succeeds), whereas an honest but weak policy has
pass@k well above pass@1 -- the headroom GRPO learns from.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k for one prompt with ``n`` samples of which ``c`` passed (requires 1 <= k <= n)."""
    if not 0 <= c <= n:
        raise ValueError(f"pass_at_k: need 0 <= c <= n, got n={n}, c={c}")
    if not 1 <= k <= n:
        raise ValueError(f"pass_at_k: need 1 <= k <= n, got k={k}, n={n}; lower k or sample more per prompt")
    if n - c < k:
        return 1.0
    return 1.0 - math.prod((n - c - i) / (n - i) for i in range(k))


def mean_pass_at_k(groups: pd.DataFrame, k: int) -> float:
    """Mean pass@k over groups (columns ``n``, ``n_pass``); groups smaller than k are skipped (NaN if none)."""
    ns, cs = groups["n"].to_numpy(), groups["n_pass"].to_numpy()
    usable = ns >= k
    if not usable.any():
        return float("nan")
    return float(np.mean([pass_at_k(int(n), int(c), k) for n, c in zip(ns[usable], cs[usable], strict=True)]))
