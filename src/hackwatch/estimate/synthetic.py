"""A synthetic generative model with closed-form truth, for testing the estimators.

Each task type x has finitely many reasoning prefixes z_1..z_K with known subject probabilities
P(z|x), donor probabilities D(z|x), subject exploit rates r(x,z) and donor exploit rates a_D(x,z).
Hence π(x) = Σ_z P(z|x) r(x,z), π_D(x) = Σ_z D(z|x) a_D(x,z) and the exploit-conditioned donor
proposal q(z|x) = D(z|x) a_D(x,z) / π_D(x) are exact. :func:`simulate` draws verdict and score
tables in the pipeline's contracts, with a ``replicate`` column so many independent runs can be
estimated in one grouped call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class SyntheticWorld:
    """A finite population of task types with known probabilities (arrays of shape (types, K))."""

    p_subject: np.ndarray
    """P(z|x): subject's probability of each prefix; rows sum to 1."""
    p_donor: np.ndarray
    """D(z|x): donor's probability of each prefix; rows sum to 1."""
    r: np.ndarray
    """r(x,z): subject's exploit probability after prefix z."""
    a_donor: np.ndarray
    """a_D(x,z): donor's exploit probability after prefix z."""

    @property
    def pi(self) -> np.ndarray:
        """True exploit probability π(x) of each task type."""
        return (self.p_subject * self.r).sum(axis=1)

    @property
    def pi_donor(self) -> np.ndarray:
        """Donor exploit probability π_D(x) of each task type."""
        return (self.p_donor * self.a_donor).sum(axis=1)

    @property
    def proposal(self) -> np.ndarray:
        """q(z|x) = D(z|x) a_D(x,z) / π_D(x): the distribution of kept (exploiting) donor prefixes."""
        return self.p_donor * self.a_donor / self.pi_donor[:, None]

    @property
    def truth(self) -> float:
        """Population mean of π(x) over task types (what a cell estimate targets)."""
        return float(self.pi.mean())


def _softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def synthetic_world(n_types: int = 40, n_prefixes: int = 8, *, proposal: Literal["donor", "bad"] = "donor",
                    log10_rate: float | None = None, seed: int = 0) -> SyntheticWorld:
    """Build a world whose exploit probability is small (about 1e-2; ``10**log10_rate`` if given).

    Exploit-prone prefixes are unlikely under the subject. ``proposal="donor"`` gives a donor that
    favours them (a good proposal, as the fine-tuned donor is meant to be); ``"bad"`` gives one
    that favours the benign prefixes, so a few rare draws carry the estimate (low ESS).
    """
    rng = np.random.default_rng(seed)
    hackiness = rng.uniform(0, 1, size=(n_types, n_prefixes))
    log_r = np.log(0.6) + 6.0 * (hackiness - 1.0)
    r = np.exp(log_r)
    p_subject = _softmax(-4.0 * hackiness + 0.3 * rng.normal(size=hackiness.shape))
    # a_D ∝ exp(3h). The ideal proposal is q ∝ P·r ∝ exp(2h): the donor gets D ∝ exp(-h) (so that
    # q ∝ D·a_D ∝ exp(2h) up to noise) or, when bad, D ∝ exp(-7h) (q ∝ exp(-4h), the benign prefixes).
    tilt = -1.0 if proposal == "donor" else -7.0
    p_donor = _softmax(tilt * hackiness + 0.3 * rng.normal(size=hackiness.shape))
    a_donor = np.clip(np.exp(0.5 * log_r + 0.5 * np.log(0.6)), 1e-3, 0.95)
    if log10_rate is not None:  # rescale r so the population rate sits near the requested level
        scale = 10.0 ** log10_rate / float((p_subject * r).sum(axis=1).mean())
        r = np.clip(r * scale, 0.0, 0.99)
    return SyntheticWorld(p_subject=p_subject, p_donor=p_donor, r=r, a_donor=a_donor)


def heavy_tailed_world(shape: float = 1.0, *, n_types: int = 40, n_prefixes: int = 400, rate: float = 1e-2,
                       seed: int = 0) -> SyntheticWorld:
    """A world whose IS weights ``P/q`` have a generalized-Pareto tail of the given ``shape`` (= k).

    Per task type the proposal is uniform over ``n_prefixes`` prefixes and the subject's
    probabilities are ``P ∝ w·q`` with ``w`` the GPD(``shape``) quantiles at the midpoints (times
    log-normal noise, s.d. 0.3); every prefix exploits with probability ``rate`` (so π(x) = ``rate``
    exactly) and the donor exploits at 0.5 after every prefix. Shape > 0.5: infinite variance;
    > 0.7: the regime where PSIS calls an estimate unreliable. A sample of a few hundred terms then
    often misses the few heavy weights, and its estimate and interval fall short.
    """
    from scipy import stats

    rng = np.random.default_rng(seed)
    u = (np.arange(1, n_prefixes + 1) - 0.5) / n_prefixes
    w = np.tile(stats.genpareto.ppf(u, c=shape), (n_types, 1)) * np.exp(0.3 * rng.normal(size=(n_types, n_prefixes)))
    q = np.full((n_types, n_prefixes), 1.0 / n_prefixes)
    return SyntheticWorld(p_subject=w * q / (w * q).sum(axis=1, keepdims=True), p_donor=q,
                          r=np.full((n_types, n_prefixes), rate), a_donor=np.full((n_types, n_prefixes), 0.5))


@dataclass(frozen=True)
class SyntheticData:
    """Tables drawn from a :class:`SyntheticWorld` plus the truth they estimate."""

    verdicts: pd.DataFrame
    scores: pd.DataFrame
    truth: float
    """Population mean π (the target of every replicate's cell estimate)."""
    task_truth: pd.DataFrame
    """One row per drawn task: replicate, task_id, type, pi."""


def simulate(world: SyntheticWorld, *, replicates: int = 1, n_tasks: int = 20, prefixes_per_task: int = 5,
             rollouts_per_prefix: int = 4, direct_per_task: int = 0, temperature: float = 1.0,
             checkpoint: str = "synthetic", step: int = 1, exploit_type: str = "synthetic",
             donor_prefix_attempts: int = 0, seed: int = 0) -> SyntheticData:
    """Draw verdicts and prefix scores for ``replicates`` independent runs of one cell.

    Per replicate: ``n_tasks`` task types drawn uniformly with replacement; per task
    ``prefixes_per_task`` prefixes drawn from the proposal q; per prefix ``rollouts_per_prefix``
    prefilled samples that exploit with probability r(x,z); per task ``direct_per_task`` direct
    samples that exploit with probability π(x). Donor rates are the exact π_D and a_D; with
    ``donor_prefix_attempts = B > 0``, ``donor_rate_prefix`` is instead ``â_D = K/B`` from B simulated
    donor continuations (K ~ Binomial(B, a_D)) and **null when K = 0**, as a real bank writes it, with
    the column ``donor_prefix_attempts`` = B and the exact rate kept in ``true_rate_prefix``. Those
    draws come last, so the other columns do not depend on B.
    """
    rng = np.random.default_rng(seed)
    n_types, k_pref = world.p_subject.shape
    types = rng.integers(0, n_types, size=(replicates, n_tasks)).ravel()
    rep = np.repeat(np.arange(replicates), n_tasks)
    task_ids = np.char.add(np.char.add(f"{exploit_type}-r", rep.astype(str)), np.char.add("-t", np.tile(
        np.arange(n_tasks), replicates).astype(str)))
    cdf = np.cumsum(world.proposal[types], axis=1)
    u = rng.uniform(size=(types.size, prefixes_per_task, 1))
    z = np.minimum((u > cdf[:, None, :]).sum(axis=2), k_pref - 1)
    t_idx = np.repeat(np.arange(types.size), prefixes_per_task)
    z = z.ravel()
    ty = types[t_idx]
    prefix_ids = np.char.add(np.char.add(task_ids[t_idx], "-z"), z.astype(str))
    prefix_ids = np.char.add(np.char.add(prefix_ids, "-"), np.tile(np.arange(prefixes_per_task), types.size)
                             .astype(str))
    base = {"exploit_type": exploit_type, "checkpoint": checkpoint, "step": step, "temperature": temperature}
    scores = pd.DataFrame({
        "replicate": rep[t_idx], "task_id": task_ids[t_idx], **base, "prefix_id": prefix_ids,
        "prefix_tokens": z + 1, "logp_subject": np.log(world.p_subject[ty, z]),
        "logp_donor": np.log(world.p_donor[ty, z]), "donor_rate_task": world.pi_donor[ty],
        "donor_rate_prefix": world.a_donor[ty, z], "trace_id": prefix_ids})
    n_r = rollouts_per_prefix
    hits = rng.uniform(size=(z.size, n_r)) < world.r[ty, z][:, None]
    pre = pd.DataFrame({
        "replicate": np.repeat(rep[t_idx], n_r), "task_id": np.repeat(task_ids[t_idx], n_r), **base,
        "prefix_id": np.repeat(prefix_ids, n_r), "prefix_tokens": np.repeat(z + 1, n_r),
        "seed": np.arange(z.size * n_r), "attempt": np.tile(np.arange(n_r), z.size),
        "exploit": hits.ravel()})
    parts = [pre]
    if direct_per_task:
        d_hits = rng.uniform(size=(types.size, direct_per_task)) < world.pi[types][:, None]
        parts.append(pd.DataFrame({
            "replicate": np.repeat(rep, direct_per_task), "task_id": np.repeat(task_ids, direct_per_task),
            **base, "prefix_id": None, "prefix_tokens": 0, "seed": np.arange(d_hits.size),
            "attempt": np.tile(np.arange(direct_per_task), types.size), "exploit": d_hits.ravel()}))
    verdicts = pd.concat(parts, ignore_index=True)
    verdicts["label"] = np.where(verdicts["exploit"], "exploit", "correct")
    if donor_prefix_attempts > 0:
        b = donor_prefix_attempts
        k_d = rng.binomial(b, world.a_donor[ty, z])
        scores["true_rate_prefix"] = world.a_donor[ty, z]
        scores["donor_rate_prefix"] = np.where(k_d > 0, k_d / b, np.nan)
        scores["donor_prefix_attempts"] = b
    task_truth = pd.DataFrame({"replicate": rep, "task_id": task_ids, "type": types, "pi": world.pi[types]})
    return SyntheticData(verdicts=verdicts, scores=scores, truth=world.truth, task_truth=task_truth)
