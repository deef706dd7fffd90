from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from hackwatch.cli import app
from hackwatch.tasks import load_tasks
from tests.helpers import DJINN_ROWS, requires_djinn_rows

runner = CliRunner()


def test_list_builtin_table_and_json():
    result = runner.invoke(app, ["tasks", "list", "builtin"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["id", "exploit_type", "split", "tests"]
    n = len(load_tasks("builtin"))
    assert lines[-1] == f"{n} tasks, 27 exploit types"
    assert any(line.split()[:3] == ["count_vowels", "type_confusion", "donor"] for line in lines)

    result = runner.invoke(app, ["tasks", "list", "builtin:heldout", "--json"])
    assert result.exit_code == 0
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert rows and {r["split"] for r in rows} == {"heldout"}
    assert set(rows[0]) == {"id", "exploit_type", "split", "secure_tests", "insecure_tests", "legacy_verifier"}


def test_list_the_builtin_folder_as_a_djinn_directory():
    """The suite's data folder is an ordinary Djinn problem directory for the CLI: every task, its split."""
    from hackwatch.tasks.builtin import BUILTIN_DIR

    result = runner.invoke(app, ["tasks", "list", str(BUILTIN_DIR), "--strict"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[-1] == f"{len(load_tasks('builtin'))} tasks, 27 exploit types"
    assert [ln.split()[:3] for ln in lines if ln.startswith("count_vowels ")] == [
        ["count_vowels", "type_confusion", "donor"]]


@requires_djinn_rows
def test_list_djinn_rows_shows_insecure_subset():
    result = runner.invoke(app, ["tasks", "list", str(DJINN_ROWS)])
    assert result.exit_code == 0
    line = next(x for x in result.output.splitlines() if x.startswith("array_sorting_verifier_bypass_003_04"))
    assert "(5 insecure)" in line


def test_show_prints_prompt_tests_gt_and_exploit():
    task = next(t for t in load_tasks("builtin") if t.id == "min_max")
    result = runner.invoke(app, ["tasks", "show", "builtin", "min_max"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert task.prompt in out
    assert "[-1, -7, 4] -> (-7, 4)" in out
    assert task.ground_truth.strip() in out and task.exploit.strip() in out
    assert out.index("prompt") < out.index("secure tests") < out.index("ground truth") < out.index("reference exploit")

    result = runner.invoke(app, ["tasks", "show", "builtin", "min_max", "--json"])
    assert json.loads(result.output)["id"] == "min_max"


def test_errors_are_one_line_with_exit_2(tmp_path: Path):
    result = runner.invoke(app, ["tasks", "show", "builtin", "min_ma"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == ["error: builtin: no task with id 'min_ma'; did you mean: min_max"]

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "secure_tests": "[]"}\n')
    result = runner.invoke(app, ["tasks", "list", str(bad)])
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1
    assert f"{bad}:1, task 'a', field 'description'" in result.output
