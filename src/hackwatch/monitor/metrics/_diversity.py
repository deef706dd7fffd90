"""Text diversity of completions: distinct-n and cross-rollout n-gram overlap, plus mean entropy.

Never an alarm on their own: locked policies in the published study wrote *more* varied text, so
diversity is context for a reward-homogeneity flag, not evidence by itself; a sharp drop raises only a
warn-level ``diversity_drop`` flag (``hackwatch.monitor._change_flags``).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

import pandas as pd


def _ngrams(text: str, n: int) -> list[tuple[str, ...]]:
    words = text.split()
    return [tuple(words[i: i + n]) for i in range(len(words) - n + 1)]


def distinct_n(texts: Sequence[str], n: int) -> float:
    """Unique n-grams / total n-grams over all texts (whitespace words); NaN when there are none."""
    grams = [g for t in texts for g in _ngrams(t, n)]
    return len(set(grams)) / len(grams) if grams else float("nan")


def ngram_overlap(texts: Sequence[str], n: int) -> float:
    """Mean pairwise Jaccard similarity of the texts' n-gram sets (1 = identical rollouts); NaN if < 2 texts."""
    sets = [set(_ngrams(t, n)) for t in texts]
    pairs = [(a, b) for a, b in combinations(sets, 2)]
    if not pairs:
        return float("nan")
    return sum(len(a & b) / len(a | b) if a | b else 1.0 for a, b in pairs) / len(pairs)


def diversity_summary(df: pd.DataFrame, n: int = 2) -> dict[str, float]:
    """distinct_1, distinct_<n>, within-group ngram_overlap_<n> (mean over groups), mean_length, entropy."""
    texts = df["completion"].tolist()
    by_group: dict[object, list[str]] = {}
    for gid, text in zip(df["group_id"].tolist(), texts, strict=True):
        by_group.setdefault(gid, []).append(text)
    overlaps = [ngram_overlap(g, n) for g in by_group.values()]
    overlaps = [o for o in overlaps if o == o]
    out = {
        "distinct_1": distinct_n(texts, 1),
        f"distinct_{n}": distinct_n(texts, n),
        f"ngram_overlap_{n}": sum(overlaps) / len(overlaps) if overlaps else float("nan"),
        "mean_length": float(df["length"].mean()),
    }
    if "entropy" in df.columns:
        out["entropy"] = float(df["entropy"].mean())
    return out
