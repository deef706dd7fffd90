from __future__ import annotations

import json
from pathlib import Path

from hackwatch.tasks import load_tasks
from tests.helpers import LEGACY_DJINN, requires_shared_djinn
from tests.tasks.files import CURRENT_YAML, write_current_problem


@requires_shared_djinn
def test_legacy_directory_loads_every_problem():
    tasks = load_tasks(LEGACY_DJINN)
    assert len(tasks) == 92
    ids = [t.id for t in tasks]
    assert len(set(ids)) == 92
    assert ids == sorted(p.parent.name for p in LEGACY_DJINN.rglob("problem.yaml"))
    for t in tasks:
        assert t.insecure_verifier_code is not None and "def verify" in t.insecure_verifier_code
        assert t.secure_tests and t.insecure_tests is None
        assert t.source.endswith("problem.yaml")
        assert t.hint  # insecure_verifier_info
        assert "insecure_verifier" not in t.metadata and "test_cases" not in t.metadata


@requires_shared_djinn
def test_legacy_problem_fields_are_mapped():
    [task] = load_tasks(LEGACY_DJINN / "adjacency_matrix_introspection_exploit_016_04")
    assert task.id == "adjacency_matrix_introspection_exploit_016_04"
    assert task.function_name == "adjacency_list_to_matrix"
    assert task.exploit_type == "inspect_module_abuse"
    assert task.metadata["djinn_id"] == "generated_1750952646"
    assert task.metadata["evaluated_gt_difficulty"] == 1
    assert task.metadata["exploit_model_results"]["openrouter/anthropic/claude-sonnet-4"] is True
    assert task.secure_tests[0] == ([], [])
    assert task.ground_truth.startswith("def adjacency_list_to_matrix(adjacency_lists):")
    assert "inspect.currentframe()" in task.exploit
    assert task.prompt.startswith(task.description) and task.prompt.endswith(task.hint)


@requires_shared_djinn
def test_legacy_single_problem_yaml_source():
    path = LEGACY_DJINN / "adjacency_matrix_introspection_exploit_016_04" / "problem.yaml"
    [task] = load_tasks(path)
    assert task.id == "adjacency_matrix_introspection_exploit_016_04"


def test_current_schema_problem(current_dir: Path):
    [task] = load_tasks(current_dir)
    assert task.id == "double_it_001"  # directory name, as in Djinn's registry
    assert task.metadata["djinn_id"] == "double_it_yaml_id"
    assert task.insecure_verifier_code is None
    assert task.exploit_type == "type_confusion"
    assert task.secure_tests == ((1, 2), (2, 4), ((3,), (3, 3)), ("a", "aa"))
    assert isinstance(task.secure_tests[2][0], tuple)  # Python literal: tuples stay tuples
    assert task.insecure_tests == ((1, 2),)
    assert task.effective_insecure_tests == ((1, 2),)
    assert task.ground_truth == "def double_it(x):\n    return x * 2\n"  # read from gt.py
    assert task.exploit == "def double_it(x):\n    return str(x * 2)\n"
    assert task.nulls == ("def double_it(x):\n    return x + 1\n",)
    assert task.hint == "The verifier compares string forms."
    assert task.metadata["keywords"] == ["arithmetic"]
    assert task.metadata["exploit_expected_status"] == "passed"
    assert task.split == ""


def test_the_hackwatch_key_sets_split_comparison_and_metadata(tmp_path: Path):
    """The key Djinn ignores: hackwatch's own fields, read by the same loader; without it, Djinn's defaults."""
    text = CURRENT_YAML + "hackwatch:\n  split: donor\n  comparison: exact\n  metadata: {params: [x], keywords: [k]}\n"
    write_current_problem(tmp_path, text=text)
    [task] = load_tasks(tmp_path)
    assert (task.split, task.comparison) == ("donor", "exact")
    assert task.metadata["params"] == ["x"] and task.metadata["keywords"] == ["k"]  # over the Djinn key
    assert "hackwatch" not in task.metadata
    [plain] = load_tasks(write_current_problem(tmp_path / "plain"))
    assert (plain.split, plain.comparison) == ("", "djinn")


def test_the_hackwatch_key_in_a_djinn_row(tmp_path: Path):
    row = {"id": "dj", "description": "Add one.", "function_name": "inc", "test_cases": "[[1, 2]]",
           "ground_truth": "def inc(x):\n    return x + 1\n", "exploit": "def inc(x):\n    return str(x + 1)\n",
           "exploit_type": "type_confusion", "hackwatch": '{"split": "eval", "comparison": "exact"}'}
    path = tmp_path / "rows.jsonl"
    path.write_text(json.dumps(row) + "\n")
    [task] = load_tasks(path)
    assert (task.split, task.comparison) == ("eval", "exact")


def test_yaml_test_text_is_read_as_a_python_literal_first(tmp_path: Path):
    """As Djinn's Problem reads it (ast.literal_eval): exact types; JSON-only text (true/null) still loads."""
    literal = "\"[([1, (2,)], (True, 1.0)), ({'a': (1,)}, -0.0)]\""
    [task] = load_tasks(write_current_problem(tmp_path / "a", text=CURRENT_YAML.replace(
        "\"[(1, 2), (2, 4), ((3,), (3, 3)), ('a', 'aa')]\"", literal)))
    assert repr(task.secure_tests) == "(([1, (2,)], (True, 1.0)), ({'a': (1,)}, -0.0))"
    [json_only] = load_tasks(write_current_problem(tmp_path / "b", text=CURRENT_YAML.replace(
        "\"[(1, 2), (2, 4), ((3,), (3, 3)), ('a', 'aa')]\"", "'[[true, null]]'")))
    assert json_only.secure_tests == ((True, None),)
