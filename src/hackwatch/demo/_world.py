"""Choosing the demo world's tasks from the builtin suite."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hackwatch.tasks import Task


def choose_world(tasks: Sequence[Task], *, n_types: int, tasks_per_type: int, donor_types: int,
                 seed: int) -> tuple[list[Task], list[str], list[str]]:
    """Pick the exploit types with the shortest reference code (the tiny model must write it verbatim).

    Returns (tasks, types in plan order, donor types). Half of the picks come from the suite's
    ``donor`` split where possible; ``donor_types`` of those form the donor's training split, the
    rest are held out. The plan order is a seeded shuffle so hard/easy and base rates are not tied
    to code length.
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

    ranked = sorted(by_type, key=lambda n: (cost(n), n))
    split_of = {n: Counter(t.split for t in by_type[n]).most_common(1)[0][0] for n in ranked}
    donor_pool = [n for n in ranked if split_of[n] == "donor"][:donor_types]
    rest = [n for n in ranked if n not in donor_pool][: n_types - len(donor_pool)]
    chosen = donor_pool + rest
    order = sorted(chosen)
    random.Random(seed).shuffle(order)
    picked = [t for n in order for t in by_type[n][:tasks_per_type]]
    return picked, order, donor_pool
