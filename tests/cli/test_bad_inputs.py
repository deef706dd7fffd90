"""Every file input of every command, fed every kind of bad file: exit 2, one line naming the file, no output.

The table lists (command line with ``{IN}`` for the file under test and ``{OUT}`` for its output, the
suffix the input takes). Each is run with a file that is not UTF-8, not the format, empty, truncated,
and a folder in place of the file.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from hackwatch.cli import app

runner = CliRunner()

INPUTS = [
    ("tasks list {IN}", ".jsonl"),
    ("tasks check {IN}", ".jsonl"),
    ("verify --tasks builtin --completions {IN} --out {OUT}.jsonl", ".jsonl"),
    ("verify --tasks builtin --completions {IN} --out {OUT}.jsonl", ".parquet"),
    ("verify --tasks {IN} --completions {IN} --out {OUT}.jsonl", ".jsonl"),
    ("sample --model no-model --tasks builtin --prefixes {IN} --out {OUT}.jsonl", ".jsonl"),
    ("sample --model no-model --tasks builtin --prefixes {IN} --out {OUT}.jsonl", ".parquet"),
    ("score --model no-model --tasks builtin --prefixes {IN} --out {OUT}.jsonl", ".jsonl"),
    ("estimate --verdicts {IN} --out {OUT}.jsonl", ".jsonl"),
    ("estimate --verdicts {IN} --out {OUT}.parquet", ".parquet"),
    ("forecast --estimates {IN} --out {OUT}.jsonl", ".jsonl"),
    ("donor show {IN}", ".jsonl"),
    ("monitor {IN} --out {OUT}.jsonl", ".jsonl"),
    ("monitor {IN} --out {OUT}.jsonl", ".parquet"),
    ("run {IN} --out {OUT}", ".toml"),
    ("report {IN} --out {OUT}.html", ".duckdb"),
    ("export {IN} --out {OUT}", ".duckdb"),
    ("probe train --acts {IN} --labels {IN} --out {OUT}", ".jsonl"),
]

BAD = {
    "not_utf8": b"\xff\xfe\x00garbage\x80\x81\n",
    "not_format": b"this is not a table\n{]\n",
    "empty": b"",
    "truncated": b'{"task_id": "count_vowels", "code": "def f(',
}


def _write(path: Path, kind: str, suffix: str) -> None:
    data = BAD[kind]
    if suffix == ".parquet" and kind == "truncated":
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.table({"task_id": ["count_vowels"] * 50}), path)
        path.write_bytes(path.read_bytes()[:-40])
        return
    if suffix == ".toml" and kind == "truncated":
        data = b'[run]\nout = "x"\n[tasks]\nsource = "bui'
    path.write_bytes(data)


@pytest.mark.parametrize("kind", [*BAD, "folder"])
@pytest.mark.parametrize(("command", "suffix"), INPUTS, ids=[f"{c.split(' {')[0].split(' -')[0]}{s}" for c, s in INPUTS])
def test_bad_input_is_one_line_exit_2_and_no_output(tmp_path, command, suffix, kind):
    src = tmp_path / f"input{suffix}"
    if kind == "folder":
        src.mkdir()
    else:
        _write(src, kind, suffix)
    out = tmp_path / "out"
    args = command.format(IN=src, OUT=out).split()
    result = runner.invoke(app, args)
    assert result.exit_code == 2, (args, result.exit_code, result.output, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and str(src) in lines[0], result.stderr
    assert not list(tmp_path.glob("out*")), list(tmp_path.iterdir())


@pytest.mark.parametrize("out", ["v.csv", "v.json", "v"])
def test_unknown_output_suffix_is_refused_before_any_work(tmp_path, out):
    src = tmp_path / "in.jsonl"
    src.write_text('{"task_id": "count_vowels", "code": "pass"}\n')
    result = runner.invoke(app, ["verify", "--tasks", "builtin", "--completions", str(src), "--out",
                                 str(tmp_path / out)])
    assert result.exit_code == 2 and "unknown output format" in result.stderr, result.stderr
    assert not (tmp_path / out).exists()


OUTPUTS = [
    "sample --model no-model --tasks builtin --out {OUT}",
    "score --model no-model --tasks builtin --prefixes {IN} --out {OUT}",
    "verify --tasks builtin --completions {IN} --out {OUT}",
    "estimate --verdicts {IN} --out {OUT}",
    "monitor {IN} --out {OUT}",
    "monitor {IN} --metrics-out {OUT}",
]


@pytest.mark.parametrize("command", OUTPUTS, ids=["sample", "score", "verify", "estimate", "monitor", "monitor-metrics"])
def test_every_table_output_refuses_a_bad_suffix_in_the_same_words(tmp_path, command):
    """One check (``hackwatch._files.check_out_suffix``) for every table output: same line, option named."""
    src = tmp_path / "in.jsonl"
    src.write_text('{"task_id": "count_vowels", "code": "pass"}\n')
    out = tmp_path / "t.csv"
    result = runner.invoke(app, command.format(IN=src, OUT=out).split())
    option = "--metrics-out" if "--metrics-out" in command else "--out"
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == (f"error: {option} {out}: unknown output format '.csv'; "
                                     "name the file with .jsonl or .parquet")
    assert not out.exists()


def test_an_upper_case_suffix_is_accepted_and_written_in_its_format(tmp_path):
    """``.PARQUET`` passes the shared check, so every writer behind it must write Parquet, not JSONL."""
    import pandas as pd

    from tests.report.synthetic_run import write_rollouts_file

    rollouts = write_rollouts_file(tmp_path / "rollouts.jsonl")
    result = runner.invoke(app, ["monitor", str(rollouts), "--out", str(tmp_path / "flags.PARQUET"),
                                 "--metrics-out", str(tmp_path / "metrics.Parquet")])
    assert result.exit_code == 0, result.output
    assert len(pd.read_parquet(tmp_path / "flags.PARQUET")) >= 1
    assert len(pd.read_parquet(tmp_path / "metrics.Parquet")) >= 1
