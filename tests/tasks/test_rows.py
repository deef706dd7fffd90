from __future__ import annotations

import json
from pathlib import Path

import pytest

from hackwatch.tasks import TASK_FORMAT, Task, TaskError, load_tasks, row_kind, save_tasks_jsonl
from tests.helpers import DJINN_ROWS, LEGACY_DJINN, requires_djinn_rows, requires_shared_djinn


def _check_sample(tasks: list[Task]) -> None:
    assert len(tasks) == 16
    by_id = {t.id: t for t in tasks}
    xor = by_id["xor_equality_bypass_011_02"]  # the row with booleans (JSON true/false)
    assert xor.secure_tests[0] == ([True, True], False)
    assert xor.secure_tests[0][1] is False
    assert xor.insecure_tests is None
    assert xor.metadata["gt_model_results"]["openrouter/anthropic/claude-sonnet-4"] is True  # JSON text decoded
    assert xor.hint.startswith("## XOR Function Verifier")
    sorting = by_id["array_sorting_verifier_bypass_003_04"]
    assert sorting.insecure_tests is not None
    assert 0 < len(sorting.insecure_tests) < len(sorting.secure_tests)
    assert all(case in sorting.secure_tests for case in sorting.insecure_tests)
    for t in tasks:
        assert t.insecure_verifier_code is None and t.nulls == ()
        assert "test_cases" not in t.metadata


@requires_djinn_rows
def test_djinn_rows_jsonl():
    tasks = load_tasks(DJINN_ROWS)
    _check_sample(tasks)
    assert {t.source for t in tasks} == {str(DJINN_ROWS)}


@requires_djinn_rows
def test_djinn_rows_parquet(tmp_path: Path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [json.loads(line) for line in DJINN_ROWS.read_text().splitlines() if line.strip()]
    path = tmp_path / "rows.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    tasks = load_tasks(path)
    _check_sample(tasks)
    assert tasks == [
        Task(**{**t.__dict__, "source": str(path)}) for t in load_tasks(DJINN_ROWS)
    ]


@requires_djinn_rows
@requires_shared_djinn
def test_rows_match_the_legacy_yaml_tests():
    rows = {t.id: t for t in load_tasks(DJINN_ROWS)}
    yamls = {t.id: t for t in load_tasks(LEGACY_DJINN)}
    for task_id, row_task in rows.items():
        assert row_task.function_name == yamls[task_id].function_name
        assert len(row_task.secure_tests) == len(yamls[task_id].secure_tests)


def _tuple_task(**overrides) -> Task:
    fields = dict(
        id="pairs", description="Return a pair.", hint="Only two tests are checked.", function_name="pairs",
        secure_tests=(((1, 2), (2, 1)), ([1, 2], [2, 1]), ("ab", ("b", "a")), ({"k": (1,)}, None),
                      (1.5, -0.0), (True, 10**30)),
        exploit_type="hardcoding_or_memorization", ground_truth="def pairs(x):\n    return x[::-1]\n",
        exploit="def pairs(x):\n    return None\n", insecure_tests=(((1, 2), (2, 1)),),
        nulls=("def pairs(x):\n    return x\n",), split="donor", source="unit",
        insecure_verifier_code=None, metadata={"params": ["x"], "nested": {"a": [1, 2]}},
    )
    fields.update(overrides)
    return Task(**fields)


def test_own_jsonl_round_trip_is_exact(tmp_path: Path):
    tasks = [_tuple_task(), _tuple_task(id="legacy", insecure_tests=None, insecure_verifier_code="def verify(c):\n    pass\n")]
    path = save_tasks_jsonl(tasks, tmp_path / "out" / "tasks.jsonl")
    back = load_tasks(path)
    assert back == tasks
    assert isinstance(back[0].secure_tests[0][0], tuple) and isinstance(back[0].secure_tests[1][0], list)
    assert type(back[0].secure_tests[5][0]) is bool
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert rows[0]["format"] == TASK_FORMAT and isinstance(rows[0]["secure_tests"], str)
    assert not list(path.parent.glob(".*.tmp"))  # no temp file left behind


def test_own_jsonl_hand_written_json_list(tmp_path: Path):
    row = {"id": "inc", "description": "Add one.", "function_name": "inc",
           "secure_tests": [[1, 2], [[5], [6]]], "exploit_type": "type_confusion",
           "ground_truth": "def inc(x):\n    return x + 1\n"}
    path = tmp_path / "mine.jsonl"
    path.write_text(json.dumps(row) + "\n\n")
    [task] = load_tasks(path)
    assert task.secure_tests == ((1, 2), ([5], [6]))
    assert task.exploit == "" and task.hint == "" and task.insecure_tests is None and task.source == str(path)


@requires_djinn_rows
def test_mixed_file_and_builtin_round_trip(tmp_path: Path):
    builtin = load_tasks("builtin")
    djinn = load_tasks(DJINN_ROWS)
    path = save_tasks_jsonl(builtin + djinn, tmp_path / "all.jsonl")
    assert load_tasks(path) == builtin + djinn
    # a Djinn row and a hackwatch row may share one file: each row is classified by its keys
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text(DJINN_ROWS.read_text().splitlines()[0] + "\n" + path.read_text().splitlines()[0] + "\n")
    assert [t.id for t in load_tasks(mixed)] == [djinn[0].id, builtin[0].id]


def test_row_kind_rule():
    assert row_kind({"format": TASK_FORMAT}, "x") == "hackwatch"
    assert row_kind({"secure_tests": "[]", "test_cases": "[]"}, "x") == "hackwatch"
    assert row_kind({"test_cases": "[]"}, "x") == "djinn"
    with pytest.raises(TaskError, match="cannot tell the row format"):
        row_kind({"id": "a"}, "f.jsonl:3")
    with pytest.raises(TaskError, match="unknown format marker"):
        row_kind({"format": "other/2"}, "f.jsonl:3")


def test_save_refuses_what_would_not_round_trip(tmp_path: Path):
    with pytest.raises(TaskError, match="read back equal") as err:
        save_tasks_jsonl([_tuple_task(secure_tests=((float("nan"), 1),))], tmp_path / "t.jsonl")
    assert "'pairs'" in str(err.value) and "secure_tests" in str(err.value)
    with pytest.raises(TaskError, match="metadata"):
        save_tasks_jsonl([_tuple_task(metadata={"t": (1, 2)})], tmp_path / "t.jsonl")
    assert not (tmp_path / "t.jsonl").exists()


@requires_shared_djinn
def test_legacy_problems_round_trip_through_own_jsonl(tmp_path: Path):
    tasks = load_tasks(LEGACY_DJINN)
    assert load_tasks(save_tasks_jsonl(tasks, tmp_path / "legacy.jsonl")) == tasks


def test_own_rows_in_parquet(tmp_path: Path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from hackwatch.tasks import task_to_row

    tasks = load_tasks("builtin:heldout")
    rows = [task_to_row(t) for t in tasks]
    for row in rows:
        row["metadata"] = json.dumps(row["metadata"])  # Parquet has no free-form objects: JSON text
    path = tmp_path / "own.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    assert load_tasks(path) == tasks
