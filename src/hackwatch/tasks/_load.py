"""``load_tasks(SOURCE)``: pick the loader from the form of SOURCE.

SOURCE forms:

- ``builtin`` — the builtin suite; ``builtin:donor``, ``builtin:heldout`` or ``builtin:donor,heldout``
  select splits;
- a directory — every ``problem.yaml`` below it (Djinn, current or legacy schema);
- a ``problem.yaml`` file — that one Djinn problem;
- a ``.jsonl`` or ``.parquet`` file — one task per row, hackwatch's own rows or Djinn dataset rows,
  told apart per row by their keys.
"""

from __future__ import annotations

import os
from pathlib import Path

from hackwatch.tasks._djinn import find_problem_files, load_problem_yaml
from hackwatch.tasks._fields import check_unique
from hackwatch.tasks._rows import load_rows_file
from hackwatch.tasks._schema import Task, TaskError

BUILTIN = "builtin"
SOURCE_FORMS = ("'builtin[:SPLIT[,SPLIT]]', a directory of Djinn problem.yaml files, a problem.yaml, "
                "a .jsonl or a .parquet file")


def _builtin(spec: str) -> list[Task]:
    from hackwatch.tasks.builtin import builtin_tasks

    _, _, text = spec.partition(":")
    splits = [s.strip() for s in text.split(",") if s.strip()]
    return builtin_tasks(splits or None)


def _load_dir(root: Path) -> list[tuple[str, Task]]:
    files = find_problem_files(root)
    if not files:
        raise TaskError(str(root), None, None, "no problem.yaml found below this directory; "
                                               f"expected {SOURCE_FORMS}")
    return [(str(f), load_problem_yaml(f)) for f in files]


def load_tasks(source: str | os.PathLike[str]) -> list[Task]:
    """Load every task of SOURCE (see the module docstring); any problem raises a :class:`TaskError`.

    Task ids must be unique within one SOURCE; the order is the file order (directories: sorted paths).
    """
    text = os.fspath(source)
    path = Path(text)
    if (text == BUILTIN or text.startswith(BUILTIN + ":")) and not path.exists():
        return _builtin(text)
    if path.is_dir():
        located = _load_dir(path)
    elif path.is_file() and path.suffix in (".jsonl", ".parquet"):
        located = load_rows_file(path)
    elif path.is_file() and path.suffix in (".yaml", ".yml"):
        located = [(text, load_problem_yaml(path))]
    elif path.exists():
        raise TaskError(text, None, None, f"unsupported file type {path.suffix or '(none)'!r}; "
                                          f"expected {SOURCE_FORMS}")
    else:
        raise TaskError(text, None, None, f"no such file or directory; expected {SOURCE_FORMS}")
    return check_unique(located)
