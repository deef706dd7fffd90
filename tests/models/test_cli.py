import json

import pytest
from typer.testing import CliRunner

from hackwatch.cli import app

runner = CliRunner()


def _rows(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_sample_then_score_round_trip(tmp_path, saved_model_dir, think_tok):
    out = tmp_path / "s.jsonl"
    r = runner.invoke(app, ["sample", "--model", str(saved_model_dir), "--tasks", "builtin", "--limit", "2",
                            "--n", "2", "--temperature", "0.5", "--max-new-tokens", "8", "--out", str(out),
                            "--device", "cpu"])
    assert r.exit_code == 0, r.output
    rows = _rows(out)
    assert len(rows) == 4 and {row["sample_index"] for row in rows} == {0, 1}
    for row in rows:
        assert row["task_id"] and row["completion"] == think_tok.decode(row["prefix_ids"] + row["generated_ids"])
        assert row["temperature"] == 0.5 and row["prefix_len"] == 0 and len(row["token_logprobs"]) == 8
    scored = tmp_path / "scores.jsonl"
    r = runner.invoke(app, ["score", "--model", str(saved_model_dir), "--prefixes", str(out), "--tasks", "builtin",
                            "--temperature", "0.5", "--with-generated", "--out", str(scored), "--device", "cpu"])
    assert r.exit_code == 0, r.output
    for s, row in zip(_rows(scored), rows, strict=True):
        assert s["task_id"] == row["task_id"] and s["n_tokens"] == 8 and s["scored"] == "prefix+generated"
        assert s["logprob"] == pytest.approx(row["generated_logprob"], abs=1e-3)


def test_sample_with_prefix_bank_and_parquet(tmp_path, saved_model_dir, think_tok):
    from hackwatch.tasks import load_tasks

    tid = load_tasks("builtin")[0].id
    bank = tmp_path / "bank.jsonl"
    ids = think_tok.encode("Maybe I can just return", add_special_tokens=False)
    bank.write_text(json.dumps({"task_id": tid, "prefix_id": "p1", "prefix_ids": ids}) + "\n")
    out = tmp_path / "s.parquet"
    r = runner.invoke(app, ["sample", "--model", str(saved_model_dir), "--tasks", "builtin", "--prefixes", str(bank),
                            "--n", "1", "--max-new-tokens", "4", "--out", str(out), "--device", "cpu"])
    assert r.exit_code == 0, r.output
    import pyarrow.parquet as pq
    row = pq.read_table(out).to_pylist()[0]
    assert row["prefix_id"] == "p1" and list(row["prefix_ids"]) == ids and row["prefix_len"] == len(ids)
    assert row["completion"].startswith("Maybe I can just return")


@pytest.mark.parametrize("line, message", [
    ("{not json", "bank.jsonl:2: not valid JSON"),
    ('{"task_id": "nope", "prefix_ids": [1]}', "bank.jsonl:2: task_id 'nope'"),
    ('{"task_id": "TID", "prefix_ids": ["a"]}', "bank.jsonl:2: field 'prefix_ids'"),
])
def test_malformed_bank_fails_without_output(tmp_path, saved_model_dir, line, message):
    from hackwatch.tasks import load_tasks

    tid = load_tasks("builtin")[0].id
    bank = tmp_path / "bank.jsonl"
    bank.write_text(json.dumps({"task_id": tid, "prefix_ids": [40]}) + "\n" + line.replace("TID", tid) + "\n")
    out = tmp_path / "s.jsonl"
    r = runner.invoke(app, ["sample", "--model", str(saved_model_dir), "--tasks", "builtin", "--prefixes", str(bank),
                            "--out", str(out), "--device", "cpu"])
    assert r.exit_code == 2 and message in r.output and not out.exists()


def test_score_needs_a_prompt(tmp_path, saved_model_dir):
    rows = tmp_path / "p.jsonl"
    rows.write_text('{"prompt": "hi", "prefix_ids": [40, 41]}\n{"task_id": "t", "prefix_ids": [40]}\n')
    r = runner.invoke(app, ["score", "--model", str(saved_model_dir), "--prefixes", str(rows), "--out",
                            str(tmp_path / "o.jsonl"), "--device", "cpu"])
    assert r.exit_code == 2 and "p.jsonl:2: needs a 'prompt' field" in r.output


def test_bench_score_prints_both_paths():
    r = runner.invoke(app, ["bench", "score", "--layers", "1", "--hidden", "64", "--vocab", "300", "--prompt-len", "20",
                            "--prefix-len", "8", "--prefixes", "4", "--prompts", "1", "--batch-size", "4",
                            "--precision-prefixes", "0", "--peak-tflops", "0.001"])
    assert r.exit_code == 0, r.output
    assert "shared-prompt batched" in r.output and "naive one-forward-per-sample" in r.output
    assert "ratio shared/naive" in r.output and "bf16 vs fp32" not in r.output
    [compute] = [line for line in r.output.splitlines() if line.startswith("compute: 2 x ")]
    words = compute.split()
    gflops, percent = float(words[words.index("GFLOP/s,") - 1]), float(words[words.index("%") - 1])
    assert gflops > 0 and percent == pytest.approx(100 * gflops, abs=1.0)  # 0.001 TFLOP/s = 1 GFLOP/s


def test_bench_score_reports_the_bf16_error():
    r = runner.invoke(app, ["bench", "score", "--layers", "1", "--hidden", "64", "--vocab", "300", "--prompt-len", "20",
                            "--prefix-len", "8", "--prefixes", "2", "--prompts", "1", "--precision-prefixes", "2",
                            "--precision-len", "16", "--dtype", "bfloat16"])
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert any(line.startswith("bf16 vs fp32") and "16-token prefix" in line for line in lines)
    for name in ("sampled", "unlikely"):
        [row] = [line for line in lines if line.startswith(name)]
        mean_logp, *errors = map(float, row.split()[1:])
        assert mean_logp < 0 and len(errors) == 4 and all(0 <= e < 5 for e in errors)
    assert "batched vs unbatched" in r.output and "sampler vs scorer" in r.output
    assert "bfloat16" in lines[0]


def test_bench_sample_compares_with_generate():
    r = runner.invoke(app, ["bench", "sample", "--layers", "1", "--hidden", "64", "--vocab", "300", "--batch", "3",
                            "--new-tokens", "4", "--prompt-len", "6", "--rounds", "1"])
    assert r.exit_code == 0, r.output
    rows = {line.split("  ")[0]: line.split() for line in r.output.splitlines()}
    assert float(rows["hackwatch (_kernels.generate)"][-2]) > 0 and float(rows["transformers model.generate"][-2]) > 0
    assert "ratio hackwatch/generate" in r.output
