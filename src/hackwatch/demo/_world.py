"""Choosing the demo world's tasks and donor splits from the builtin suite."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hackwatch.tasks import Task


@dataclass(frozen=True)
class World:
    """The tasks of one demo world and how its exploit types are split between the proposals."""

    tasks: list[Task]
    order: list[str]
    """Exploit types in plan order (base-rate ladder; a seeded shuffle)."""
    donor_types: list[str]
    """Types whose exploits the donor is fine-tuned on; every other type is held out from the donor."""
    unrelated_types: list[str]
    """Types whose exploits the *unrelated* donor (a baseline) is fine-tuned on: disjoint from ``donor_types``."""

    @property
    def heldout_types(self) -> list[str]:
        """Types neither donor saw (where the two donors are compared on equal terms)."""
        return [t for t in self.order if t not in self.donor_types and t not in self.unrelated_types]


def _spread(n: int, k: int, offset: int = 0) -> list[int]:
    """``k`` positions spread evenly over ``range(n)`` (shifted by ``offset``, modulo ``n``)."""
    if k <= 0:
        return []
    if k == 1:
        return [offset % n]
    return [(round(i * (n - 1) / (k - 1)) + offset) % n for i in range(k)]


def choose_world(tasks: Sequence[Task], *, n_types: int, tasks_per_type: int, donor_types: int,
                 seed: int, unrelated_types: int | None = None) -> World:
    """Pick the exploit types with the shortest reference code (the tiny model must write it verbatim).

    The plan order (which sets each type's base rate and hard/easy) is a seeded shuffle, so rates are
    not tied to code length. The donor's types are spread evenly along that ladder (low and high base
    rates, hard and easy); the unrelated donor's as many types (default ``donor_types``), spread the
    same way two places further on, never overlapping the donor's.
    """
    by_type: dict[str, list[Task]] = defaultdict(list)
    for t in tasks:
        if t.nulls:
            by_type[t.exploit_type].append(t)
    if len(by_type) < n_types:
        raise ValueError(f"builtin tasks: the demo needs {n_types} exploit types with nulls, found {len(by_type)}; "
                         "lower n_types")

    def task_cost(t: Task) -> int:
        return max(len(t.exploit), len(t.ground_truth), *(len(n) for n in t.nulls))

    for name in by_type:
        by_type[name].sort(key=lambda t: (task_cost(t), t.id))

    def cost(name: str) -> int:
        return max(task_cost(t) for t in by_type[name][:tasks_per_type])

    chosen = sorted(by_type, key=lambda n: (cost(n), n))[:n_types]
    order = sorted(chosen)
    random.Random(seed).shuffle(order)
    k_unrelated = donor_types if unrelated_types is None else unrelated_types
    if donor_types + k_unrelated >= n_types:
        raise ValueError(f"donor_types={donor_types} + unrelated_types={k_unrelated} must be below n_types={n_types} "
                         "so that some types are held out from both donors")
    donor_idx = _spread(n_types, donor_types)
    donor = [order[i] for i in donor_idx]
    unrelated: list[str] = []
    for i in _spread(n_types, k_unrelated, offset=2):
        while order[i] in donor or order[i] in unrelated:
            i = (i + 1) % n_types
        unrelated.append(order[i])
    picked = [t for n in order for t in by_type[n][:tasks_per_type]]
    return World(picked, order, donor, unrelated)
