"""Write the builtin suite as data: one Djinn ``problem.yaml`` per task, and the suite's order.

    python tools/builtin_suite.py           # (re)write src/hackwatch/tasks/builtin/<id>/problem.yaml + suite.txt
    python tools/builtin_suite.py --check   # exit 1 and name every file that would change

A development tool, not part of the package. It reads the suite as hackwatch loads it now
(``builtin_tasks()``), takes each task's hint, reference exploit and insecure tests from the
exploit-type catalogue (``hackwatch.catalogue``) and writes them out. Run it after changing a
catalogue hint or exploit writer (``tests/tasks/test_builtin.py`` says when). Test cases are written
as Python-literal text, the way Djinn stores them, so tuples stay tuples; every file is read back
through the loader and compared, field by field and type by type, before it replaces the old one.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from hackwatch.catalogue import EXPLOIT_TYPES
from hackwatch.tasks import Task, TestCase
from hackwatch.tasks._djinn import load_problem_yaml
from hackwatch.tasks.builtin import BUILTIN_DIR, ORDER_FILE, builtin_tasks

ORDER_HEADER = ("# The builtin suite in its order: one task id per line, each a folder beside this file\n"
                "# holding a Djinn problem.yaml. Written by tools/builtin_suite.py.\n")


def typed(value: Any) -> Any:
    """``value`` as nested (type name, content) pairs: equal only when types match too (1 != 1.0 != True)."""
    t = type(value)
    if t in (list, tuple):
        return (t.__name__, tuple(typed(v) for v in value))
    if t is dict:
        return ("dict", tuple((typed(k), typed(v)) for k, v in value.items()))
    if t in (set, frozenset):
        return (t.__name__, tuple(sorted(repr(typed(v)) for v in value)))
    if t is float:
        return ("float", repr(value))
    return (t.__name__, value)


def task_fields(task: Task) -> dict[str, Any]:
    """Every Task field, typed (see :func:`typed`)."""
    return {f.name: typed(getattr(task, f.name)) for f in dataclasses.fields(task)}


def from_catalogue(task: Task) -> Task:
    """``task`` with its insecure tests, hint and reference exploit as the catalogue writes them."""
    kind = EXPLOIT_TYPES[task.exploit_type]
    insecure = None if kind.insecure_subset is None else task.secure_tests[: kind.insecure_subset]
    task = dataclasses.replace(task, insecure_tests=insecure)
    return dataclasses.replace(task, hint=kind.hint(task), exploit=kind.make_exploit(task))


def tests_text(tests: tuple[TestCase, ...]) -> str:
    """Python-literal text of a test list, one ``(input, expected)`` per line (Djinn reads it with literal_eval)."""
    return "[\n" + "".join(f"    {(inp, exp)!r},\n" for inp, exp in tests) + "]"


def problem_document(task: Task) -> dict[str, Any]:
    """The ``problem.yaml`` mapping of one builtin task: Djinn's keys, then hackwatch's own under ``hackwatch``."""
    doc: dict[str, Any] = {
        "id": task.id,
        "description": task.description,
        "function_name": task.function_name,
        "exploit_type": task.exploit_type,
        "insecure_verifier_info": task.hint,
        "ground_truth": task.ground_truth,
        "exploit": task.exploit,
        "nulls": list(task.nulls),
        "test_cases": tests_text(task.secure_tests),
    }
    if task.insecure_tests is not None:
        doc["insecure_test_cases"] = tests_text(task.insecure_tests)
    doc["hackwatch"] = {"split": task.split, "comparison": task.comparison, "metadata": dict(task.metadata)}
    return doc


class _Dumper(yaml.SafeDumper):
    """Multi-line strings as ``|`` blocks (code and test lists stay readable); PyYAML quotes them when it must."""


def _str(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|" if "\n" in text else None)


_Dumper.add_representer(str, _str)


def dump(doc: dict[str, Any]) -> str:
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120)


def file_mode() -> int:
    """The mode an ordinary write (or a git checkout) gives a new file here: 0666 less the umask (0644 under
    the usual 022). ``mkstemp`` alone makes 0600, which hid the package data from other users.
    """
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(tmp, file_mode())
    os.replace(tmp, path)


def _unreadable(path: Path) -> bool:
    """Whether ``path`` lacks a read permission that :func:`file_mode` grants (a copied or packed tree keeps it)."""
    return bool(file_mode() & 0o444 & ~path.stat().st_mode)


def _check_round_trip(task: Task, text: str) -> None:
    """Load ``text`` through the loader, as the suite will, and demand every field back exactly."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / task.id / "problem.yaml"
        path.parent.mkdir()
        path.write_text(text, encoding="utf-8")
        back = dataclasses.replace(load_problem_yaml(path), source=task.source)
    want, got = task_fields(task), task_fields(back)
    bad = [k for k in want if want[k] != got[k]]
    if bad:
        sys.exit(f"{task.id}: field(s) {', '.join(bad)} do not survive problem.yaml; not written")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if any file would change")
    args = parser.parse_args()
    tasks = [from_catalogue(t) for t in builtin_tasks()]
    files = {BUILTIN_DIR / t.id / "problem.yaml": dump(problem_document(t)) for t in tasks}
    files[ORDER_FILE] = ORDER_HEADER + "".join(f"{t.id}\n" for t in tasks)
    for task in tasks:
        _check_round_trip(task, files[BUILTIN_DIR / task.id / "problem.yaml"])
    changed = [p for p, text in files.items()
               if not p.is_file() or p.read_text(encoding="utf-8") != text or _unreadable(p)]
    if args.check:
        for path in changed:
            unreadable = path.is_file() and _unreadable(path)
            mode = f" (mode {path.stat().st_mode & 0o777:o}, expected {file_mode():o})" if unreadable else ""
            print(f"would change: {path}{mode}")
        return 1 if changed else 0
    for path in changed:
        _write(path, files[path])
    print(f"{len(tasks)} tasks; {len(changed)} file(s) written under {BUILTIN_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
