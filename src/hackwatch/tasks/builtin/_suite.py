"""The builtin suite, read from its data: one Djinn ``problem.yaml`` per task, beside this module.

The folders are loaded by the same loader as a user's Djinn problem directory
(:func:`hackwatch.tasks.load_source`); ``suite.txt`` gives the suite's order. Each file carries
the task's split and its ``exact`` comparison under the ``hackwatch`` key, which Djinn ignores.
Loaded once per process, on first use.

Splits separate exploit *types*, not tasks: every task of a type is in the same split, so the demo can
fine-tune a donor on ``donor`` types and check the IS estimates on ``heldout`` types it never saw.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from functools import lru_cache
from pathlib import Path

from hackwatch.tasks._load import load_source
from hackwatch.tasks._schema import Task, TaskError

SOURCE = "builtin"
"""``Task.source`` of every builtin task."""

BUILTIN_DIR = Path(__file__).parent
"""The folder holding the suite's ``<task_id>/problem.yaml`` files."""

ORDER_FILE = BUILTIN_DIR / "suite.txt"
"""The suite's task ids in order, one a line (``#`` starts a comment)."""

BUILTIN_SPLITS: tuple[str, ...] = ("donor", "heldout")


def _order() -> list[str]:
    where = str(ORDER_FILE)
    try:
        lines = ORDER_FILE.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise TaskError(where, None, None, f"cannot be read ({exc.strerror or exc}); the builtin suite "
                                           "lists its task ids here") from None
    ids = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    seen: set[str] = set()
    for i, task_id in enumerate(ids):
        if task_id in seen:
            raise TaskError(where, task_id, None, f"listed twice (entry {i + 1}); list each task id once")
        seen.add(task_id)
    return ids


def _check_splits(tasks: tuple[Task, ...]) -> None:
    split_of: dict[str, Task] = {}
    for task in tasks:
        if task.split not in BUILTIN_SPLITS:
            raise TaskError(str(BUILTIN_DIR / task.id / "problem.yaml"), task.id, "hackwatch.split",
                            f"expected one of: {', '.join(BUILTIN_SPLITS)}, got {task.split!r}")
        first = split_of.setdefault(task.exploit_type, task)
        if first.split != task.split:
            raise TaskError(str(BUILTIN_DIR / task.id / "problem.yaml"), task.id, "hackwatch.split",
                            f"{task.split!r}, but {first.id!r} puts exploit type {task.exploit_type!r} in "
                            f"{first.split!r}; all tasks of one type share a split")


@lru_cache(maxsize=1)
def _all_tasks() -> tuple[Task, ...]:
    """Every builtin task, in ``suite.txt`` order; the shipped data must load whole (any bad file raises)."""
    loaded = load_source(BUILTIN_DIR)
    if loaded.skipped:
        raise loaded.skipped[0]
    by_id = {t.id: t for t in loaded.tasks}
    order = _order()
    missing = [i for i in order if i not in by_id]
    if missing:
        raise TaskError(str(ORDER_FILE), missing[0], None, f"no folder {missing[0]}/problem.yaml beside it")
    unlisted = sorted(set(by_id) - set(order))
    if unlisted:
        raise TaskError(str(BUILTIN_DIR / unlisted[0] / "problem.yaml"), unlisted[0], None,
                        f"not listed in {ORDER_FILE.name}; add its id there")
    tasks = tuple(dataclasses.replace(by_id[i], source=SOURCE) for i in order)
    _check_splits(tasks)
    return tasks


def builtin_tasks(splits: Collection[str] | None = None) -> list[Task]:
    """The builtin suite in its order, optionally only the given splits (``donor``, ``heldout``)."""
    if splits is not None:
        unknown = sorted(set(splits) - set(BUILTIN_SPLITS))
        if unknown:
            raise TaskError(SOURCE, None, "split",
                            f"unknown split {unknown[0]!r}; expected one of: {', '.join(BUILTIN_SPLITS)}")
    return [t for t in _all_tasks() if splits is None or t.split in splits]


def split_by_type() -> dict[str, str]:
    """Exploit type -> split, as the suite's data sets it (14 donor types, 13 heldout)."""
    return {t.exploit_type: t.split for t in _all_tasks()}
