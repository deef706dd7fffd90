"""Upper bound of an IS cell in which no prefilled sample exploited (every r̂ = 0).

Such a cell's IS value is exactly 0, but its terms' true exploit rates r_j need not be: term j was
seen 0 times in ``n_j`` rollouts. The cell value at the true rates would be ``V(r) = Σ_j c_j r_j``
(``c_j`` the term's coefficient in the estimate: its weight ``P/q`` over n, or over ``T·n_t`` under
task pooling). The set ``{r : Π_j (1 − r_j)^{n_j} ≥ β}`` is a ``1 − β`` confidence set for r after
all zeros (a rate vector outside it makes "all zeros" an event of probability below β), so its
maximum of V bounds V(r) with probability ≥ 1 − β. With ``s_j = −log(1 − r_j)`` the maximum is a
water-filling problem with the closed form used below; for one term it is ``c·(1 − β^{1/n})``,
the direct rate's Clopper–Pearson upper limit after 0 of n. It bounds the rollout uncertainty of
the tested prefixes only: like every IS number it assumes the proposal covers the subject's
exploit paths.
"""

from __future__ import annotations

import numpy as np


def zero_support_log_upper(log_coef: np.ndarray, n: np.ndarray, beta: float) -> float:
    """Natural log of ``max Σ c_j r_j`` over ``{r : Σ_j n_j·(−log(1 − r_j)) ≤ −log β}``.

    Solution: with ``a_j = log c_j − log n_j`` sorted decreasing, the active set is the largest j's
    for which ``t = (Σ n_j a_j − L)/Σ n_j`` (L = −log β) stays below their ``a_j``; then
    ``r_j = 1 − e^{t − a_j}`` on it, 0 elsewhere, and the maximum is ``Σ_active c_j·(1 − e^{t − a_j})``.
    NaN when there is no term with a finite coefficient.
    """
    if not 0 < beta < 1:
        raise ValueError(f"beta {beta}: expected a level in (0, 1)")
    lc = np.asarray(log_coef, dtype=float)
    nn = np.asarray(n, dtype=float)
    ok = np.isfinite(lc) & (nn > 0)
    if not ok.any():
        return float("nan")
    lc, nn = lc[ok], nn[ok]
    shift = float(lc.max())
    a = lc - shift - np.log(nn)
    order = np.argsort(-a)
    a, nn, lc = a[order], nn[order], lc[order] - shift
    big_l = -np.log(beta)
    cum_n = np.cumsum(nn)
    t = (np.cumsum(nn * a) - big_l) / cum_n
    nxt = np.append(a[1:], -np.inf)
    j = int(np.flatnonzero(t >= nxt)[0])  # the first active set whose level stays above the next a
    act = slice(0, j + 1)
    total = float(np.sum(np.exp(lc[act]) * -np.expm1(t[j] - a[act])))
    return shift + float(np.log(total)) if total > 0 else float("nan")
