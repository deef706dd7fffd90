"""``hackwatch donor`` commands on real files: train, traces, from-file, show, and their errors."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from hackwatch.cli import app
from tests.donor.world import HONEST_ONLY

runner = CliRunner()


@pytest.fixture(scope="module")
def task_file(world, tmp_path_factory):
    from hackwatch.tasks import save_tasks_jsonl

    path = tmp_path_factory.mktemp("donor-cli") / "tasks.jsonl"
    save_tasks_jsonl(world.tasks, path)
    return path


@pytest.mark.slow
def test_train_traces_show(world, task_file, tmp_path) -> None:
    donor = tmp_path / "donor"
    res = runner.invoke(app, ["donor", "train", "--model", str(world.subject_dir), "--tasks", str(task_file),
                              "--split", "heldout", "--out", str(donor), "--full", "--epochs", "1", "--lr", "3e-4",
                              "--batch-size", "3", "--seed", "7"])
    assert res.exit_code == 0, res.output
    info = json.loads((donor / "donor.json").read_text())
    assert info["split"] == "heldout" and info["method"] == "full" and info["seed"] == 7
    assert HONEST_ONLY not in info["task_ids"]  # min_max is in the builtin 'donor' split
    assert info["base_model"] == str(world.subject_dir)
    bank = tmp_path / "bank.parquet"
    res = runner.invoke(app, ["donor", "traces", "--donor", str(world.donor_dir), "--tasks", str(task_file),
                              "--split", "all", "--n", "6", "--temperature", "1.0", "--max-new-tokens", "60",
                              "--lengths", "2,5,10", "--prefix-attempts", "1", "--start-at-pivot", "--out", str(bank),
                              "--device", "cpu", "--workers", "2"])
    assert res.exit_code == 0, res.output
    assert "exploit-successful traces of 24 donor samples" in res.output
    assert "without a prefix (listed as 'missing' in the provenance): " in res.output and HONEST_ONLY in res.output
    from hackwatch.donor import read_bank, read_provenance

    frame = read_bank(bank)
    prov = read_provenance(bank)
    assert HONEST_ONLY in prov["missing"] and prov["start_at_pivot"] and prov["tasks_source"] == str(task_file)
    assert (frame["prefix_start"] == frame["pivot"].fillna(0)).all()
    assert ((frame["prefix_tokens"] - frame["prefix_start"]).isin([2, 5, 10])).all()
    res = runner.invoke(app, ["donor", "show", str(bank)])
    assert res.exit_code == 0 and f"{len(frame)} prefixes" in res.output and "missing: " in res.output


@pytest.mark.slow
def test_from_file_and_errors(world, task_file, tmp_path) -> None:
    src = tmp_path / "texts.jsonl"
    src.write_text(json.dumps({"task_id": "count_words", "text": "The verifier only checks the exit status."}) + "\n")
    out = tmp_path / "file_bank.jsonl"
    res = runner.invoke(app, ["donor", "from-file", "--file", str(src), "--subject", str(world.subject_dir),
                              "--tasks", str(task_file), "--out", str(out), "--lengths", "2,4", "--device", "cpu"])
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["prefix_tokens"] for r in rows] == [2, 4] and {r["source"] for r in rows} == {"file"}
    # malformed bank → one-line error naming file, row and field; exit 2
    rows[1]["prefix_tokens"] = 3
    bad = tmp_path / "bad.jsonl"
    bad.write_text("".join(json.dumps(r) + "\n" for r in rows))
    res = runner.invoke(app, ["donor", "show", str(bad)])
    assert res.exit_code == 2 and "bad.jsonl: row 1, field 'prefix_tokens'" in res.output
    # malformed input file → nothing written
    src.write_text('{"task_id": "nope", "text": "x"}\n')
    out2 = tmp_path / "never.jsonl"
    res = runner.invoke(app, ["donor", "from-file", "--file", str(src), "--subject", str(world.subject_dir),
                              "--tasks", str(task_file), "--out", str(out2), "--device", "cpu"])
    assert res.exit_code == 2 and "texts.jsonl:1, field 'task_id'" in res.output and not out2.exists()
    res = runner.invoke(app, ["donor", "traces", "--donor", str(world.donor_dir), "--tasks", str(task_file),
                              "--split", "nosuch", "--out", str(out2)])
    assert res.exit_code == 2 and "no task in split 'nosuch'" in res.output
    res = runner.invoke(app, ["donor", "traces", "--donor", str(world.donor_dir), "--tasks", str(task_file),
                              "--lengths", "2,x", "--out", str(out2)])
    assert res.exit_code == 2 and "--lengths" in res.output
