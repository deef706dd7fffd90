"""Malformed inputs: every one is a TaskError whose message names the file, the task and the field."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from hackwatch.tasks import TaskError, load_tasks
from tests.tasks.files import CURRENT_YAML, write_current_problem

GOOD_ROW = {"id": "inc", "description": "Add one.", "function_name": "inc", "secure_tests": "[(1, 2)]",
            "exploit_type": "type_confusion", "ground_truth": "def inc(x):\n    return x + 1\n"}
DJINN_ROW = {"id": "dj", "description": "Add one.", "function_name": "inc", "test_cases": "[[1, 2]]",
             "insecure_test_cases": None, "ground_truth": "def inc(x):\n    return x + 1\n",
             "exploit": "def inc(x):\n    return str(x + 1)\n", "exploit_type": "type_confusion",
             "insecure_verifier_info": "hint"}


def _yaml(replace: str, by: str) -> Callable[[Path], Path]:
    def build(tmp: Path) -> Path:
        assert replace in CURRENT_YAML
        return write_current_problem(tmp, text=CURRENT_YAML.replace(replace, by))
    return build


def _jsonl(*rows: object) -> Callable[[Path], Path]:
    def build(tmp: Path) -> Path:
        path = tmp / "tasks.jsonl"
        path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
        return path
    return build


def _raw(name: str, data: bytes) -> Callable[[Path], Path]:
    def build(tmp: Path) -> Path:
        path = tmp / name
        path.write_bytes(data)
        return path
    return build


CASES: dict[str, tuple[Callable[[Path], Path], list[str]]] = {
    "bad yaml": (_yaml("function_name: double_it", "function_name: [double_it"),
                 ["problem.yaml", "not valid YAML", "line"]),
    "yaml not a mapping": (_raw("problem.yaml", b"- just\n- a list\n"), ["problem.yaml", "expected a YAML mapping"]),
    "missing field": (_yaml("function_name: double_it\n", ""),
                      ["problem.yaml", "task 'double_it_001'", "field 'function_name'", "missing"]),
    "empty tests": (_yaml("\"[(1, 2), (2, 4), ((3,), (3, 3)), ('a', 'aa')]\"", '"[]"'),
                    ["problem.yaml", "task 'double_it_001'", "field 'test_cases'", "empty"]),
    "unparsable tests": (_yaml("\"[(1, 2), (2, 4), ((3,), (3, 3)), ('a', 'aa')]\"", '"[(1, 2), (2,"'),
                         ["problem.yaml", "field 'test_cases'", "neither JSON nor a Python literal"]),
    "test not a pair": (_yaml("\"[(1, 2), (2, 4), ((3,), (3, 3)), ('a', 'aa')]\"", '"[(1, 2, 3)]"'),
                        ["field 'test_cases[0]'", "[input, expected] pair"]),
    "tests wrong type": (_yaml("\"[(1, 2), (2, 4), ((3,), (3, 3)), ('a', 'aa')]\"", "7"),
                         ["field 'test_cases'", "got int"]),
    "empty insecure tests": (_yaml("insecure_test_cases: \"[(1, 2)]\"", "insecure_test_cases: \"[]\""),
                             ["field 'insecure_test_cases'", "empty"]),
    "function name wrong type": (_yaml("function_name: double_it", "function_name: 3"),
                                 ["field 'function_name'", "expected a string, got int"]),
    "function name not identifier": (_yaml("function_name: double_it", "function_name: double it"),
                                     ["field 'function_name'", "Python identifier"]),
    "nulls wrong type": (_yaml("nulls:\n  - |", "nulls:\n  - 5\n  - |"), ["field 'nulls[0]'", "expected a string"]),
    "unknown exploit type": (_yaml("exploit_type: type_confusion", "exploit_type: telepathy"),
                             ["field 'exploit_type'", "unknown exploit type 'telepathy'", "type_confusion"]),
    "legacy verifier without verify": (_yaml("exploit_type: type_confusion",
                                             "exploit_type: type_confusion\ninsecure_verifier: \"x = 1\\n\""),
                                       ["field 'insecure_verifier'", "def verify"]),
    "hackwatch key not a mapping": (_yaml("exploit_type: type_confusion", "exploit_type: type_confusion\nhackwatch: 3"),
                                    ["field 'hackwatch'", "expected a mapping with the keys split, comparison, "
                                     "metadata, got int"]),
    "hackwatch key unknown key": (_yaml("exploit_type: type_confusion",
                                        "exploit_type: type_confusion\nhackwatch: {spilt: donor}"),
                                  ["task 'double_it_001'", "field 'hackwatch.spilt'", "unknown key"]),
    "hackwatch split wrong type": (_yaml("exploit_type: type_confusion",
                                         "exploit_type: type_confusion\nhackwatch: {split: [a]}"),
                                   ["field 'hackwatch.split'", "expected a string, got list"]),
    "hackwatch unknown comparison": (_yaml("exploit_type: type_confusion",
                                           "exploit_type: type_confusion\nhackwatch: {comparison: loose}"),
                                     ["field 'hackwatch.comparison'", "unknown comparison 'loose'", "exact, djinn"]),
    "hackwatch metadata wrong type": (_yaml("exploit_type: type_confusion",
                                            "exploit_type: type_confusion\nhackwatch: {metadata: [1]}"),
                                      ["field 'hackwatch.metadata'", "expected a mapping, got list"]),
    "djinn row hackwatch text not json": (_jsonl({**DJINN_ROW, "hackwatch": "{split"}),
                                          ["tasks.jsonl:1", "field 'hackwatch'", "got str"]),
    "bad json line": (_jsonl(GOOD_ROW, "{not json"), ["tasks.jsonl:2", "not valid JSON"]),
    "row not an object": (_jsonl("[1, 2]"), ["tasks.jsonl:1", "expected a JSON object"]),
    "row of unknown kind": (_jsonl({"id": "x", "tests": []}), ["tasks.jsonl:1", "cannot tell the row format"]),
    "own row missing field": (_jsonl({k: v for k, v in GOOD_ROW.items() if k != "ground_truth"}),
                              ["tasks.jsonl:1", "task 'inc'", "field 'ground_truth'"]),
    "own row unknown field": (_jsonl({**GOOD_ROW, "grund_truth": "x"}), ["tasks.jsonl:1", "field 'grund_truth'"]),
    "own row empty tests": (_jsonl({**GOOD_ROW, "secure_tests": []}), ["tasks.jsonl:1", "field 'secure_tests'", "empty"]),
    "own row metadata wrong type": (_jsonl({**GOOD_ROW, "metadata": [1]}), ["field 'metadata'", "expected an object"]),
    "djinn row unparsable tests": (_jsonl({**DJINN_ROW, "test_cases": "[[1, 2]"}),
                                   ["tasks.jsonl:1", "task 'dj'", "field 'test_cases'"]),
    "djinn row wrong id type": (_jsonl({**DJINN_ROW, "id": 12}), ["tasks.jsonl:1", "field 'id'", "expected a string"]),
    "duplicate ids": (_jsonl(GOOD_ROW, DJINN_ROW, {**DJINN_ROW, "id": "inc"}),
                      ["tasks.jsonl:3", "task 'inc'", "duplicate task id", "tasks.jsonl:1"]),
    "empty jsonl": (_jsonl(), ["tasks.jsonl", "no rows"]),
    "not utf8": (_raw("tasks.jsonl", b"\xff\xfe\x00"), ["tasks.jsonl", "not UTF-8"]),
    "broken parquet": (_raw("rows.parquet", b"PAR1 not really"), ["rows.parquet", "cannot read as Parquet"]),
    "unsupported suffix": (_raw("tasks.csv", b"id\n"), ["tasks.csv", "unsupported file type '.csv'"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_malformed_input_names_the_place(case: str, tmp_path: Path):
    build, expected = CASES[case]
    source = build(tmp_path)
    with pytest.raises(TaskError) as err:
        load_tasks(source)
    message = str(err.value)
    assert str(source) in message or str(source.parent) in message
    for part in expected:
        assert part in message, f"{part!r} not in {message!r}"


def test_duplicate_ids_across_directories(tmp_path: Path):
    write_current_problem(tmp_path / "a", name="same")
    write_current_problem(tmp_path / "b", name="same")
    with pytest.raises(TaskError, match="duplicate task id") as err:
        load_tasks(tmp_path)
    assert str(tmp_path / "a" / "same" / "problem.yaml") in str(err.value)


def test_missing_source_and_empty_directory(tmp_path: Path):
    with pytest.raises(TaskError, match="no such file or directory"):
        load_tasks(tmp_path / "absent")
    with pytest.raises(TaskError, match="no problem.yaml found"):
        load_tasks(tmp_path)


def test_unknown_builtin_split():
    with pytest.raises(TaskError, match="unknown split 'train'"):
        load_tasks("builtin:train")
