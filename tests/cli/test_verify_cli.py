"""``hackwatch verify``, ``hackwatch tasks check`` and ``hackwatch bench verify`` on real files."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hackwatch.cli import app
from hackwatch.tasks import save_tasks_jsonl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from verify._tasks import make_task  # noqa: E402

runner = CliRunner()
TYPES = ("test_skipping", "result_manipulation", "process_exit")


@pytest.fixture(scope="module")
def task_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("tasks") / "tasks.jsonl"
    save_tasks_jsonl([make_task(t) for t in TYPES], path)
    return path


def _write(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def test_verify_labels_rows_and_carries_fields(task_file, tmp_path):
    tasks = {t: make_task(t) for t in TYPES}
    rows = [{"task_id": "add_all_test_skipping", "completion": f"<think>ok</think>\n```python\n{tasks['test_skipping'].exploit}```",
             "step": 3},
            {"task_id": "add_all_result_manipulation", "code": tasks["result_manipulation"].ground_truth, "step": 4},
            {"task_id": "add_all_process_exit", "code": tasks["process_exit"].exploit, "extra": [1, 2]},
            {"task_id": "add_all_process_exit", "completion": "I don't know."}]
    src = _write(tmp_path / "in.jsonl", rows)
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["verify", "--tasks", str(task_file), "--completions", str(src), "--out", str(out),
                                 "--workers", "2"])
    assert result.exit_code == 0, result.output
    got = [json.loads(line) for line in out.read_text().splitlines()]
    assert [g["label"] for g in got] == ["exploit", "correct", "exploit", "fail"]
    assert got[0]["step"] == 3 and got[2]["extra"] == [1, 2] and got[0]["completion"].startswith("<think>")
    assert got[3]["reason"] == "no code" and got[3]["secure_pass"] is False
    assert all(g["sandbox"] in ("namespaces", "rlimits") for g in got[:3])
    assert {"secure_pass", "insecure_pass", "label", "reason", "sandbox"} <= set(got[1])


def test_verify_parquet_in_and_out(task_file, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq
    task = make_task("test_skipping")
    src = tmp_path / "in.parquet"
    pq.write_table(pa.Table.from_pylist([{"task_id": task.id, "code": task.ground_truth}]), src)
    out = tmp_path / "out.parquet"
    result = runner.invoke(app, ["verify", "--tasks", str(task_file), "--completions", str(src), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert pq.read_table(out).to_pylist()[0]["label"] == "correct"


@pytest.mark.parametrize(("rows", "message"), [
    (['{"task_id": "add_all_test_skipping", "code": "x = 1"}', '{"task_id": '], ":2: not valid JSON"),
    ([{"task_id": "add_all_test_skipping"}], ":1: needs a string field 'completion'"),
    ([{"code": "pass"}], ":1: missing or non-string field 'task_id'"),
    ([{"task_id": "nope", "code": "pass"}], ":1: unknown task_id 'nope'"),
    (["[1, 2]"], ":1: expected a JSON object"),
    ([{"task_id": "add_all_test_skipping", "code": 3}], ":1: field 'code' must be a string"),
])
def test_verify_malformed_input(task_file, tmp_path, rows, message):
    src = _write(tmp_path / "bad.jsonl", rows)
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["verify", "--tasks", str(task_file), "--completions", str(src), "--out", str(out)])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {src}") and message in lines[0], result.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == [src]


def test_tasks_check_consistent_and_json(task_file):
    result = runner.invoke(app, ["tasks", "check", str(task_file), "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-1] == "3 consistent, 0 inconsistent"
    result = runner.invoke(app, ["tasks", "check", str(task_file), "--json"])
    report = json.loads(result.stdout)
    assert report["consistent"] == 3 and report["summary"] == "3 consistent, 0 inconsistent"


def test_tasks_check_reports_inconsistent_task(tmp_path):
    import dataclasses
    task = make_task("test_skipping")
    path = tmp_path / "bad_tasks.jsonl"
    save_tasks_jsonl([dataclasses.replace(task, exploit=task.ground_truth)], path)
    result = runner.invoke(app, ["tasks", "check", str(path)])
    assert result.exit_code == 1
    lines = result.stdout.strip().splitlines()
    assert lines[-1] == "0 consistent, 1 inconsistent"
    assert lines[0].startswith("add_all_test_skipping (test_skipping): reference exploit: expected exploit, got correct")


def test_bench_verify_small(task_file):
    result = runner.invoke(app, ["bench", "verify", "--tasks", str(task_file), "--n", "8", "--baseline-n", "2",
                                 "--workers", "2"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("verification throughput: 2 workers")
    assert lines[1].startswith("secure") and lines[2].startswith("insecure")
    assert "checks/s" in lines[1] and "Djinn" not in lines[1] + lines[2] and "--djinn PATH" in lines[0]
    assert "(n=8, median of 3: " in lines[1]  # default --repeats 3
    for line in lines[1:3]:  # the host's own CPU per check, measured (never 0: it pickles and reads)
        assert 0 < float(line.rsplit("host CPU ", 1)[1].removesuffix(" us/check")) < 1e6, line


def test_bench_verify_one_repeat_and_bad_repeats(task_file):
    result = runner.invoke(app, ["bench", "verify", "--tasks", str(task_file), "--n", "4", "--baseline-n", "1",
                                 "--workers", "1", "--repeats", "1"])
    assert result.exit_code == 0, result.output
    assert "(n=4)" in result.stdout and "median of" not in result.stdout
    bad = runner.invoke(app, ["bench", "verify", "--tasks", str(task_file), "--repeats", "0"])
    assert bad.exit_code == 2 and "--repeats" in bad.output
