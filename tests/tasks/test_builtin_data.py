"""The builtin suite's data form: Djinn ``problem.yaml`` folders read by the one Djinn loader, in ``suite.txt`` order."""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from hackwatch.tasks import Task, TaskError, load_source, load_tasks
from hackwatch.tasks.builtin import BUILTIN_DIR, ORDER_FILE, _suite, builtin_tasks

TASKS = builtin_tasks()

#: The keys Djinn's ``Problem.from_dir`` reads (djinn/core/problem.py at 8455a6a), plus ``id``, a Problem field.
DJINN_KEYS = {
    "id", "description", "function_name", "test_cases", "ground_truth", "exploit", "insecure_verifier_info",
    "exploit_explanation", "exploit_expected_status", "labels", "exploit_type", "info_leak_method",
    "insecure_test_cases", "evaluated_gt_difficulty", "evaluated_exploit_difficulty", "gt_model_results",
    "exploit_model_results", "vuln_cheatiness", "exploit_fairness", "problem_quality", "problem_appears_as",
    "exploit_finding_appearance",
}


TOOL_PATH = Path(__file__).resolve().parents[2] / "tools" / "builtin_suite.py"


def _load_tool() -> ModuleType:
    """``tools/builtin_suite.py`` (a development tool, not a package module) imported from its path."""
    spec = importlib.util.spec_from_file_location("builtin_suite_tool", TOOL_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TOOL = _load_tool()
typed = TOOL.typed  # one definition of typed equality: the tool's, which checks what it writes the same way


def test_typed_tells_apart_what_equality_does_not():
    assert typed((1, [2])) != typed((1, (2,))) and typed(1) != typed(1.0) != typed(True)
    assert typed(-0.0) != typed(0.0) and typed({"a": (1,)}) == typed({"a": (1,)})


#: Task fields the data holds as such; ``hint``, ``exploit`` and ``insecure_tests`` are checked live against
#: the catalogue instead (test_builtin.py::test_hint_and_exploit_come_from_the_catalogue).
STORED_FIELDS = [f.name for f in dataclasses.fields(Task) if f.name not in ("hint", "exploit", "insecure_tests")]

#: SHA-256 of every stored field of every task, typed, in suite order. First taken from the old Python list
#: (the ~2,700-line ``builtin/_bank.py`` the data replaced) when the two were proven equal field by field,
#: type by type: d8206bb3...8ef54b (all fields, including hint/exploit/insecure_tests: bd4ae507...a2ce01).
#: Since then: 3 nulls made wrong in value, not only in type (issue 18 item 1, d65e47c).
FINGERPRINT = "26b1d68d34e0a6fc685fef35091bdb899ecbc3422ab344b3237e1c90608ec114"


def fingerprint(tasks: list[Task], names: list[str]) -> str:
    return hashlib.sha256(repr([[(n, typed(getattr(t, n))) for n in names] for t in tasks]).encode()).hexdigest()


def test_the_data_is_the_old_python_list():
    """Frozen: the suite as the old list built it. Changed a task on purpose? Put the new value here."""
    assert fingerprint(TASKS, STORED_FIELDS) == FINGERPRINT, fingerprint(TASKS, STORED_FIELDS)
    assert sum(1 for t in TASKS for _, e in t.secure_tests if type(e) is tuple) >= 10  # tuples did travel


def test_the_fingerprint_sees_types():
    [task] = [t for t in TASKS if t.id == "min_max"]
    listed = dataclasses.replace(task, secure_tests=tuple((i, list(e)) for i, e in task.secure_tests))
    assert fingerprint([task], STORED_FIELDS) != fingerprint([listed], STORED_FIELDS)
    floats = dataclasses.replace(task, metadata={"params": ["xs"], "n": 1.0})
    ints = dataclasses.replace(task, metadata={"params": ["xs"], "n": 1})
    assert floats == ints and fingerprint([floats], STORED_FIELDS) != fingerprint([ints], STORED_FIELDS)


def test_one_folder_per_task_in_suite_order():
    folders = sorted(p.parent.name for p in BUILTIN_DIR.glob("*/problem.yaml"))
    assert folders == sorted(t.id for t in TASKS) and len(folders) == 81
    listed = [ln for ln in ORDER_FILE.read_text().splitlines() if ln and not ln.startswith("#")]
    assert listed == [t.id for t in TASKS]
    assert all(t.source == "builtin" and t.comparison == "exact" for t in TASKS)


@pytest.mark.parametrize("task", TASKS, ids=[t.id for t in TASKS])
def test_each_file_is_what_djinn_reads(task: Task):
    """Only Djinn's keys plus ``nulls`` and ``hackwatch`` (both ignored by Djinn); tests are Python-literal
    text that ``ast.literal_eval`` (Djinn's reading) turns into exactly the task's tests."""
    raw = yaml.safe_load((BUILTIN_DIR / task.id / "problem.yaml").read_text(encoding="utf-8"))
    assert set(raw) - DJINN_KEYS == {"nulls", "hackwatch"}
    assert raw["id"] == task.id and raw["exploit_type"] == task.exploit_type
    assert isinstance(raw["test_cases"], str)
    assert typed([tuple(c) for c in ast.literal_eval(raw["test_cases"])]) == typed(list(task.secure_tests))
    if task.insecure_tests is None:
        assert "insecure_test_cases" not in raw
    else:
        got = [tuple(c) for c in ast.literal_eval(raw["insecure_test_cases"])]
        assert typed(got) == typed(list(task.insecure_tests))
    assert raw["hackwatch"] == {"split": task.split, "comparison": "exact", "metadata": dict(task.metadata)}


def test_djinn_itself_parses_every_file(monkeypatch: pytest.MonkeyPatch):
    """Djinn's own ``Problem.from_dir`` on every folder (runs where Djinn is importable, or where
    ``HACKWATCH_DJINN`` names a checkout of EleutherAI/djinn, as in tests/verify/test_djinn_mode.py)."""
    checkout = os.environ.get("HACKWATCH_DJINN")
    if checkout and checkout not in sys.path:
        monkeypatch.syspath_prepend(checkout)  # for this test only, not every test after it
    problem = pytest.importorskip("djinn.core.problem", reason="Djinn is not importable; set HACKWATCH_DJINN="
                                  "/path/to/a/djinn/checkout to run this test")
    for task in TASKS:
        p = problem.Problem.from_dir(BUILTIN_DIR / task.id)
        assert (p.id, p.description, p.function_name, p.exploit_type) == (
            task.id, task.description, task.function_name, task.exploit_type)
        assert (p.ground_truth, p.exploit, p.insecure_verifier_info) == (task.ground_truth, task.exploit, task.hint)
        assert typed([tuple(c) for c in p._normalize_test_cases("secure")]) == typed(list(task.secure_tests))
        insecure = [tuple(c) for c in p._normalize_test_cases("insecure")]
        assert typed(insecure) == typed(list(task.insecure_tests or []))


def test_the_folder_loads_as_an_ordinary_djinn_directory():
    """The same loader, pointed at the folder: the same tasks, in path order, with the file as source."""
    loaded = load_source(BUILTIN_DIR)
    assert loaded.skipped == ()
    by_id = {t.id: t for t in loaded.tasks}
    assert [t.id for t in loaded.tasks] == sorted(by_id)
    for task in TASKS:
        assert by_id[task.id] == dataclasses.replace(task, source=str(BUILTIN_DIR / task.id / "problem.yaml"))
    assert load_tasks("builtin:donor") == [t for t in TASKS if t.split == "donor"]


def test_the_suite_is_loaded_once():
    assert builtin_tasks() == TASKS and _suite._all_tasks() is _suite._all_tasks()


def _copy_suite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ids: list[str]) -> Path:
    """A suite of ``ids`` in tmp_path, made the builtin one for this test (cache cleared before and after)."""
    for task_id in ids:
        shutil.copytree(BUILTIN_DIR / task_id, tmp_path / task_id)
    (tmp_path / "suite.txt").write_text("# ids\n" + "".join(f"{i}\n" for i in ids))
    monkeypatch.setattr(_suite, "BUILTIN_DIR", tmp_path)
    monkeypatch.setattr(_suite, "ORDER_FILE", tmp_path / "suite.txt")
    _suite._all_tasks.cache_clear()
    return tmp_path


@pytest.fixture
def suite_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    yield _copy_suite(tmp_path, monkeypatch, ["min_max", "count_vowels", "staircase_ways"])
    _suite._all_tasks.cache_clear()


def test_a_copied_suite_loads_in_its_listed_order(suite_dir: Path):
    assert [t.id for t in builtin_tasks()] == ["min_max", "count_vowels", "staircase_ways"]


@pytest.mark.parametrize(("edit", "message"), [
    (lambda d: (d / "suite.txt").write_text("min_max\ncount_vowels\n"),
     r"staircase_ways/problem.yaml, task 'staircase_ways': not listed in suite.txt; add its id there"),
    (lambda d: (d / "suite.txt").write_text("min_max\ncount_vowels\nstaircase_ways\nnope\n"),
     r"suite.txt, task 'nope': no folder nope/problem.yaml beside it"),
    (lambda d: (d / "suite.txt").write_text("min_max\nmin_max\ncount_vowels\nstaircase_ways\n"),
     r"suite.txt, task 'min_max': listed twice \(entry 2\)"),
    (lambda d: (d / "suite.txt").unlink(), r"suite.txt: cannot be read"),
    (lambda d: _edit(d / "count_vowels" / "problem.yaml", "split: donor", "split: eval"),
     r"count_vowels/problem.yaml, task 'count_vowels', field 'hackwatch.split': expected one of: donor, heldout"),
    (lambda d: _edit(d / "staircase_ways" / "problem.yaml", "split: donor", "split: heldout"),
     r"staircase_ways/problem.yaml, task 'staircase_ways', field 'hackwatch.split': 'heldout', but 'count_vowels' puts exploit type 'type_confusion' in 'donor'"),
    (lambda d: _edit(d / "min_max" / "problem.yaml", "function_name: min_max", "function_name: 3x"),
     r"min_max/problem.yaml, task 'min_max', field 'function_name': expected a Python identifier"),
])
def test_bad_suite_data_names_the_file_and_field(suite_dir: Path, edit: Any, message: str):
    edit(suite_dir)
    with pytest.raises(TaskError, match=message):
        builtin_tasks()


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_the_exact_comparison_holds_for_builtin_tasks():
    """The real secure verifier (sandboxed) on a builtin task whose answers are tuples: a list is wrong."""
    from hackwatch.verify import Verifier

    task = next(t for t in TASKS if t.id == "min_max")
    assert type(task.secure_tests[0][1]) is tuple
    as_list = task.ground_truth.replace("return (", "return [").replace(")\n", "]\n")
    assert as_list != task.ground_truth
    with Verifier(workers=1) as verifier:
        right, wrong = verifier.verify_many([(task, task.ground_truth), (task, as_list)])
    assert right.secure_pass and not wrong.secure_pass, (right, wrong)


def test_the_writer_tool_would_write_the_same_files():
    """``tools/builtin_suite.py --check``: the files are exactly what the tool writes from the catalogue (so the
    tool still works, and a hand edit that the tool would undo shows up here)."""
    res = subprocess.run([sys.executable, str(TOOL_PATH), "--check"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, (res.stdout[-2000:] + res.stderr[-2000:]
                                 + "\nrun `python tools/builtin_suite.py` to rewrite the data from the catalogue")


def test_the_writer_tool_writes_files_every_user_can_read(tmp_path: Path):
    """Package data written 0600 (``mkstemp``'s mode) could not be read by another user of a shared install,
    and a copied or packed tree keeps the mode; the tool writes what the umask gives (0644 under 022) and
    ``--check`` names files that lack a read permission the umask grants."""
    old = os.umask(0o022)
    try:
        path = tmp_path / "t" / "problem.yaml"
        TOOL._write(path, "id: t\n")
        assert path.stat().st_mode & 0o777 == 0o644 and path.read_text() == "id: t\n"
        assert not TOOL._unreadable(path)
        path.chmod(0o600)
        assert TOOL._unreadable(path)
        os.umask(0o077)  # a user who keeps files private: a 0600 checkout is what git gives them
        assert not TOOL._unreadable(path)
    finally:
        os.umask(old)
