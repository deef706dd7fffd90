"""``load_tasks(SOURCE)``: pick the loader from the form of SOURCE; load like Djinn's registry.

SOURCE forms:

- ``builtin`` — the builtin suite (``problem.yaml`` data read by this same loader, see
  ``hackwatch.tasks.builtin``); ``builtin:donor``, ``builtin:heldout`` or ``builtin:donor,heldout`` select splits;
- a directory — every ``problem.yaml`` below it (Djinn, current or legacy schema; symlinked folders
  followed, loops refused, see ``_walk``);
- a ``problem.yaml`` file — that one Djinn problem;
- a ``.jsonl`` or ``.parquet`` file — one task per row, hackwatch's own rows or Djinn dataset rows,
  told apart per row by their keys.

A bad problem (a ``problem.yaml`` or a row) does not stop the others from loading: :func:`load_source`
returns every task that loaded and one :class:`TaskError` per problem that did not, the way Djinn's
registry skips a broken problem and goes on. :func:`load_tasks` is strict by default (the first bad
problem raises); ``strict=False`` skips them with a :class:`TaskLoadWarning` each.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

from hackwatch.tasks._djinn import load_problem_yaml
from hackwatch.tasks._fields import check_unique
from hackwatch.tasks._rows import load_rows_file
from hackwatch.tasks._schema import Task, TaskError
from hackwatch.tasks._walk import find_problem_files

BUILTIN = "builtin"
SOURCE_FORMS = ("'builtin[:SPLIT[,SPLIT]]', a directory of Djinn problem.yaml files, a problem.yaml, "
                "a .jsonl or a .parquet file")


class TaskLoadWarning(UserWarning):
    """A problem of the SOURCE was skipped (``load_tasks(..., strict=False)``); the message says why."""


@dataclass(frozen=True)
class TaskLoad:
    """What one SOURCE gave: the tasks that loaded, in file order, and every problem that did not."""

    tasks: tuple[Task, ...]
    """Tasks in file order (directories: sorted paths), ids unique."""
    skipped: tuple[TaskError, ...] = ()
    """One error per problem left out: its file (and line or row), task, field and what was expected."""


def _builtin(spec: str) -> list[Task]:
    from hackwatch.tasks.builtin import builtin_tasks

    _, _, text = spec.partition(":")
    splits = [s.strip() for s in text.split(",") if s.strip()]
    return builtin_tasks(splits or None)


def _load_dir(root: Path) -> tuple[list[tuple[str, Task]], list[TaskError]]:
    files, errors = find_problem_files(root)
    if not files and not errors:
        raise TaskError(str(root), None, None, "no problem.yaml found below this directory; "
                                               f"expected {SOURCE_FORMS}")
    located = []
    for f in files:
        try:
            located.append((str(f), load_problem_yaml(f)))
        except TaskError as exc:
            errors.append(exc)
    return located, errors


def load_source(source: str | os.PathLike[str]) -> TaskLoad:
    """Load every good task of SOURCE and report each bad problem (see the module docstring).

    Raises :class:`TaskError` only when SOURCE as a whole is unusable: no such path, an unsupported
    file type, an unreadable file, an empty file or folder, or not one problem that loads.
    """
    text = os.fspath(source)
    path = Path(text)
    if (text == BUILTIN or text.startswith(BUILTIN + ":")) and not path.exists():
        return TaskLoad(tuple(_builtin(text)))
    if path.is_dir():
        located, errors = _load_dir(path)
    elif path.is_file() and path.suffix in (".jsonl", ".parquet"):
        located, errors = load_rows_file(path)
    elif path.is_file() and path.suffix in (".yaml", ".yml"):
        located, errors = [(text, load_problem_yaml(path))], []
    elif path.exists():
        raise TaskError(text, None, None, f"unsupported file type {path.suffix or '(none)'!r}; "
                                          f"expected {SOURCE_FORMS}")
    else:
        raise TaskError(text, None, None, f"no such file or directory; expected {SOURCE_FORMS}")
    tasks, duplicates = check_unique(located)
    errors += duplicates
    if not tasks:
        raise errors[0]
    return TaskLoad(tuple(tasks), tuple(errors))


def load_tasks(source: str | os.PathLike[str], *, strict: bool = True) -> list[Task]:
    """Load every task of SOURCE (see the module docstring).

    ``strict`` (the default): any bad problem raises its :class:`TaskError`. Otherwise bad problems are
    left out with a :class:`TaskLoadWarning` each (use :func:`load_source` to get them as values).
    Task ids must be unique within one SOURCE; the order is the file order (directories: sorted paths).
    """
    loaded = load_source(source)
    if loaded.skipped and strict:
        raise loaded.skipped[0]
    for error in loaded.skipped:
        warnings.warn(f"skipped {error}", TaskLoadWarning, stacklevel=2)
    return list(loaded.tasks)
