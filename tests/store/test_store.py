from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from hackwatch.store import SCHEMA_VERSION, TABLES, RunStore, StoreError, columns, schema_markdown


def sample_rows(unit: str, n: int) -> pd.DataFrame:
    return pd.DataFrame([{
        "sample_id": f"{unit}/{i}", "unit_key": unit, "task_id": "t1", "checkpoint": "c1", "step": 1,
        "prefix_id": None, "prefix_tokens": 0, "temperature": 0.7, "seed": 0, "attempt": i, "reasoning": "r",
        "final": "f", "completion": "r f", "generated_ids": [1, 2, i], "n_generated_tokens": 3,
        "finish_reason": "eos"} for i in range(n)])


def test_commit_unit_is_insert_if_absent(tmp_path: Path) -> None:
    with RunStore.open(tmp_path) as store:
        assert store.commit_unit("direct/c1/t1/0", "direct", {"samples": sample_rows("direct/c1/t1/0", 3)})
        assert not store.commit_unit("direct/c1/t1/0", "direct", {"samples": sample_rows("direct/c1/t1/0", 3)})
        assert store.done_units("direct") == {"direct/c1/t1/0"}
        assert store.done_units("score") == set()
        samples = store.table("samples")
        assert len(samples) == 3
        assert list(samples.sort_values("attempt")["generated_ids"].iloc[2]) == [1, 2, 2]
        units = store.table("units")
        assert units["n_rows"].tolist() == [3]


def test_failed_unit_leaves_nothing(tmp_path: Path) -> None:
    with RunStore.open(tmp_path) as store:
        bad = sample_rows("u", 2).drop(columns=["seed"])
        good_scores = pd.DataFrame([{"model": "c1", "prefix_id": "p", "task_id": "t1", "logprob": -1.0,
                                     "n_tokens": 2, "temperature": 0.7, "approx_error_bound": None}])
        with pytest.raises(ValueError, match=r"rows for table 'samples' lack columns \['seed'\]"):
            store.commit_unit("u", "direct", {"scores": good_scores, "samples": bad})
        assert store.done_units() == set()
        assert store.table("scores").empty and store.table("samples").empty


def test_reopen_keeps_committed_units(tmp_path: Path) -> None:
    with RunStore.open(tmp_path / "run") as store:
        store.commit_unit("a", "direct", {"samples": sample_rows("a", 2)})
        store.set_provenance({"seed": 3, "model_ids": {"c1": "/x"}})
    with RunStore.open(tmp_path / "run" / "run.duckdb", read_only=True) as store:
        assert store.done_units() == {"a"}
        prov = store.provenance()
        assert prov["schema_version"] == str(SCHEMA_VERSION)
        assert prov["seed"] == "3" and prov["model_ids"] == '{"c1": "/x"}'


def test_primary_keys_dedupe_rows(tmp_path: Path) -> None:
    with RunStore.open(tmp_path) as store:
        rows = sample_rows("u", 2)
        store.insert_rows("samples", rows)
        store.insert_rows("samples", pd.concat([rows, sample_rows("v", 1)]))
        assert sorted(store.table("samples")["sample_id"]) == ["u/0", "u/1", "v/0"]


def test_replace_derived_table(tmp_path: Path) -> None:
    with RunStore.open(tmp_path) as store:
        store.replace_table("estimates", pd.DataFrame({"method": ["direct"], "value": [0.5]}))
        store.replace_table("estimates", pd.DataFrame({"method": ["is", "direct"], "value": [0.1, 0.2]}))
        assert store.table("estimates")["method"].tolist() == ["is", "direct"]
        store.replace_table("flags", pd.DataFrame())
        flags = store.table("flags")
        assert flags.empty and list(flags.columns) == []
        with pytest.raises(ValueError, match="work table"):
            store.replace_table("samples", pd.DataFrame({"a": [1]}))


def test_open_errors(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"no run database here"):
        RunStore.open(tmp_path / "nothing", read_only=True)
    foreign = tmp_path / "foreign.duckdb"
    con = duckdb.connect(str(foreign))
    con.execute("CREATE TABLE x (a INT)")
    con.close()
    with pytest.raises(StoreError, match=r"foreign.duckdb: not a hackwatch run database"):
        RunStore.open(foreign, read_only=True)
    with RunStore.open(tmp_path / "old") as store:
        store.set_provenance({"schema_version": "0"})
    with pytest.raises(StoreError, match=r"has schema_version 0, this hackwatch reads 1"):
        RunStore.open(tmp_path / "old", read_only=True)


def test_schema_is_documented() -> None:
    text = schema_markdown()
    for table, cols in TABLES.items():
        assert f"### `{table}`" in text
        for name in columns(table):
            assert cols[name].doc, f"{table}.{name} has no doc"
            assert f"`{name}`" in text
    assert "Derived tables" in text


def test_docs_carry_the_current_schema() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "runs.md").read_text()
    assert schema_markdown() in docs, "docs/runs.md is out of date: paste hackwatch.store.schema_markdown() into it"
