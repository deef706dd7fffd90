import json
import warnings

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from hackwatch.cli import app
from hackwatch.estimate import SchemaError, estimate_cells, read_table, write_table
from hackwatch.estimate.synthetic import simulate, synthetic_world

runner = CliRunner()


def run_tables(tmp_path, fmt="jsonl"):
    parts = [simulate(synthetic_world(seed=i, log10_rate=lr), n_tasks=12, prefixes_per_task=3, rollouts_per_prefix=4,
                      direct_per_task=8, checkpoint=f"ck{st}", step=st, exploit_type=et, seed=10 * i + j)
             for i, (et, rates) in enumerate({"rise": [-3, -2, -1], "flat": [-3, -3, -3]}.items())
             for j, (st, lr) in enumerate(zip([1, 4, 16], rates, strict=True))]
    v = pd.concat([p.verdicts for p in parts], ignore_index=True)
    s = pd.concat([p.scores for p in parts], ignore_index=True)
    vp, sp = tmp_path / f"verdicts.{fmt}", tmp_path / f"scores.{fmt}"
    write_table(v, vp)
    write_table(s, sp)
    return v, s, vp, sp


def test_estimate_cells_stacks_methods_in_step_order(tmp_path):
    v, s, _, _ = run_tables(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = estimate_cells(v, s, n_boot=50).summary
    assert list(t.columns[:3]) == ["checkpoint", "exploit_type", "method"]
    assert list(pd.unique(t["method"])) == ["direct", "is", "lower_bound"]
    assert list(t.loc[t["method"] == "is", "step"]) == [1, 1, 4, 4, 16, 16]


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_table_roundtrip(tmp_path, fmt):
    df = pd.DataFrame({"a": ["x", "y"], "v": [0.5, float("-inf")], "n": [1, 2]})
    p = write_table(df, tmp_path / f"t.{fmt}")
    back = read_table(p)
    assert list(back["a"]) == ["x", "y"] and back["n"].tolist() == [1, 2]
    assert back["v"].iloc[0] == 0.5
    assert (np.isneginf(back["v"].iloc[1]) if fmt == "parquet" else pd.isna(back["v"].iloc[1]))


def test_malformed_jsonl_names_file_and_line(tmp_path):
    p = tmp_path / "v.jsonl"
    p.write_text('{"a": 1}\n{"a": \n')
    with pytest.raises(SchemaError, match=r"v.jsonl:2: not valid JSON"):
        read_table(p)
    with pytest.raises(SchemaError, match="unknown table format"):
        read_table(tmp_path / "v.csv")


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_estimate_then_forecast_commands(tmp_path, fmt):
    _, _, vp, sp = run_tables(tmp_path, fmt)
    est = tmp_path / f"est.{fmt}"
    r = runner.invoke(app, ["estimate", "--verdicts", str(vp), "--scores", str(sp), "--out", str(est),
                            "--interval", "jeffreys", "--n-boot", "50"])
    assert r.exit_code == 0, r.output
    assert "estimates (log10)" in r.output
    t = read_table(est)
    assert set(t["method"]) == {"direct", "is", "lower_bound"}
    assert set(t.loc[t["method"] == "direct", "interval"]) == {"jeffreys"}
    fc = tmp_path / f"fc.{fmt}"
    r = runner.invoke(app, ["forecast", "--estimates", str(est), "--cutoff", "2", "--target-step", "64",
                            "--out", str(fc), "--lead-time"])
    assert r.exit_code == 0, r.output
    f = read_table(fc).set_index("exploit_type")
    assert f.loc["rise", "slope"] > f.loc["flat", "slope"]
    assert "lead time" in r.output


def test_no_donor_correction_flag_is_recorded(tmp_path):
    _, _, vp, sp = run_tables(tmp_path)
    est = tmp_path / "est.jsonl"
    r = runner.invoke(app, ["estimate", "--verdicts", str(vp), "--scores", str(sp), "--out", str(est),
                            "--no-donor-correction", "--quiet"])
    assert r.exit_code == 0, r.output
    rows = [json.loads(line) for line in est.read_text().splitlines()]
    assert {row["donor_correction"] for row in rows if row["method"] == "is"} == {False}


def test_malformed_input_is_one_line_error_without_output(tmp_path):
    v, _, _, sp = run_tables(tmp_path)
    bad = tmp_path / "bad.jsonl"
    write_table(v.drop(columns="exploit"), bad)
    out = tmp_path / "est.jsonl"
    r = runner.invoke(app, ["estimate", "--verdicts", str(bad), "--scores", str(sp), "--out", str(out)])
    assert r.exit_code == 2
    assert "bad.jsonl" in r.output and "'exploit'" in r.output
    assert not out.exists()
    r = runner.invoke(app, ["forecast", "--estimates", str(bad), "--out", str(out)])
    assert r.exit_code == 2 and "method" in r.output and not out.exists()


def test_bench_coverage_prints_its_tables():
    res = runner.invoke(app, ["bench", "coverage", "--replicates", "8", "--series", "4", "--n-boot", "20"])
    assert res.exit_code == 0, res.output
    out = res.stdout
    for heading in ("bootstrap interval coverage by ESS band", "bootstrap interval coverage by k-hat band",
                    "crossing interval", "under its own model"):
        assert heading in out
    assert "| heavy tail k = 1.0, π = 1e-2 |" in out and "lcb_exceeds" in out
    res = runner.invoke(app, ["bench", "coverage", "--replicates", "0"])
    assert res.exit_code == 2 and "must be >= 1" in res.output
