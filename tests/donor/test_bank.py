"""Bank schema: round trip through Parquet and JSONL, and one-line errors naming file, row and field."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from hackwatch.donor import BANK_COLUMNS, SCHEMA_VERSION, BankError, read_bank, validate_bank, write_bank


def row(task: str = "t1", trace: str = "t1/t0", n: int = 3, **kw) -> dict:
    trace_ids = [5, 6, 7, 8, 9, 2]
    r = {
        "schema_version": SCHEMA_VERSION, "task_id": task, "exploit_type": "process_exit", "trace_id": trace,
        "prefix_id": f"{trace}/{n}", "prefix_tokens": n, "prefix_ids": trace_ids[:n], "text": "abc"[:n],
        "trace_ids": trace_ids, "trace_text": "abcdef", "trace_reasoning_tokens": 4, "source": "donor",
        "model": "donor-dir", "logp_donor": -1.5 * n, "temperature": 0.7, "seed": 0, "donor_rate_task": 0.25,
        "donor_task_successes": 2, "donor_task_samples": 8, "donor_rate_prefix": 0.5, "donor_prefix_successes": 1,
        "donor_prefix_attempts": 2, "pivot": 1, "pivot_term": "verifier", "prefix_start": 0, "trace_label": "exploit",
    }
    r.update(kw)
    return r


ROWS = [row(n=2), row(n=3), row("t2", "t2/t1", 2, donor_rate_prefix=None, donor_prefix_successes=0)]


@pytest.mark.parametrize("name", ["b.parquet", "b.jsonl"])
def test_round_trip(tmp_path, name) -> None:
    path = write_bank(ROWS, tmp_path / name, {"missing": ["t3"]})
    back = read_bank(path)
    assert list(back.columns) == list(BANK_COLUMNS)
    assert back["prefix_ids"].tolist() == [[5, 6], [5, 6, 7], [5, 6]]
    assert back["donor_rate_prefix"].tolist()[:2] == [0.5, 0.5] and pd.isna(back["donor_rate_prefix"].iloc[2])
    assert back["prefix_tokens"].tolist() == [2, 3, 2]
    prov = json.loads((tmp_path / "b.provenance.json").read_text())
    assert prov["missing"] == ["t3"] and prov["schema_version"] == SCHEMA_VERSION
    if name.endswith(".parquet"):
        import pyarrow.parquet as pq
        meta = pq.read_schema(path).metadata[b"hackwatch.provenance"]
        assert json.loads(meta)["missing"] == ["t3"]


def test_parquet_keeps_text_columns_with_missing_values(tmp_path) -> None:
    # A trace without a pivot (None) before one with a pivot term: pandas 3 holds the missing string as NaN.
    rows = [row(pivot=None, pivot_term=None), row("t2", "t2/t1", 2, pivot_term="skip")]
    back = read_bank(write_bank(rows, tmp_path / "b.parquet"))
    assert pd.isna(back["pivot_term"].iloc[0]) and back["pivot_term"].iloc[1] == "skip"


@pytest.mark.parametrize(("bad", "message"), [
    (row(prefix_tokens=4), "row 0, field 'prefix_tokens': says 4 but prefix_ids holds 3"),
    (row(prefix_ids=[5, 6, 1]), "row 0, field 'prefix_ids': not the first 3 ids of trace_ids"),
    (row(prefix_ids=[5, -6, 7]), "row 0, field 'prefix_ids': expected non-negative integer"),
    (row(source="guess"), "row 0, field 'source': expected one of donor, other_model, prompted, file"),
    (row(logp_donor=0.5), "row 0, field 'logp_donor': expected a natural-log probability <= 0"),
    (row(donor_rate_task=1.5), "row 0, field 'donor_rate_task': expected a rate in [0, 1]"),
    (row(donor_rate_task=0.5), "row 0, field 'donor_rate_task': 0.5 disagrees with"),
    (row(schema_version=99), "row 0, field 'schema_version': this hackwatch reads bank schema 1"),
    (row(task_id=None), "row 0, field 'task_id': expected text"),
    (row(prefix_tokens="3"), "row 0, field 'prefix_tokens': expected an integer"),
])
def test_malformed_row(tmp_path, bad, message) -> None:
    with pytest.raises(BankError, match=message.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(")):
        write_bank([bad], tmp_path / "x.parquet")
    assert not (tmp_path / "x.parquet").exists() and not (tmp_path / "x.provenance.json").exists()


def test_cross_row_rules(tmp_path) -> None:
    with pytest.raises(BankError, match="row 1, field 'prefix_id': duplicate prefix id 't1/t0/2'"):
        validate_bank(pd.DataFrame([row(n=2), row(n=2)]), source="b.jsonl")
    leak = [row(n=2), row("t2", "t1/t0", 3)]
    with pytest.raises(BankError, match="row 1, field 'task_id': trace 't1/t0' belongs to task 't1'.*never leak"):
        write_bank(leak, tmp_path / "leak.jsonl")


def test_malformed_files(tmp_path) -> None:
    good = write_bank(ROWS, tmp_path / "g.jsonl")
    lines = good.read_text().splitlines()
    broken = tmp_path / "broken.jsonl"
    broken.write_text(lines[0] + "\n{not json\n")
    with pytest.raises(BankError, match=r"broken.jsonl:2: not valid JSON"):
        read_bank(broken)
    partial = tmp_path / "partial.jsonl"
    rec = json.loads(lines[0])
    del rec["logp_donor"], rec["trace_id"]
    partial.write_text(json.dumps(rec) + "\n")
    with pytest.raises(BankError, match=r"partial.jsonl: prefix bank lacks column\(s\) 'trace_id', 'logp_donor'"):
        read_bank(partial)
    with pytest.raises(BankError, match="no such file"):
        read_bank(tmp_path / "nope.parquet")
    with pytest.raises(BankError, match="must end in .parquet or .jsonl"):
        write_bank(ROWS, tmp_path / "b.csv")
