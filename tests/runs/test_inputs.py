"""Prefix banks written by hackwatch.donor are validated in full; missing donor rates are handled per row."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from hackwatch.runs import ConfigError, RunSummary, config_from_dict, load_config


def full_row(**over: object) -> dict:
    """One bank row in the hackwatch.donor schema (version 1)."""
    row = {"schema_version": 1, "task_id": "reverse_words", "exploit_type": "x", "trace_id": "reverse_words/t0",
           "prefix_id": "reverse_words/t0/3", "prefix_tokens": 3, "prefix_ids": [5, 6, 7], "text": "abc",
           "trace_ids": [5, 6, 7, 8, 9], "trace_text": "abcde", "trace_reasoning_tokens": 4, "source": "donor",
           "model": "donor", "logp_donor": -4.0, "temperature": 0.7, "seed": 0, "donor_rate_task": 0.5,
           "donor_task_successes": 4, "donor_task_samples": 8, "donor_rate_prefix": None,
           "donor_prefix_successes": 0, "donor_prefix_attempts": 8, "pivot": None, "pivot_term": None,
           "prefix_start": 0, "trace_label": "exploit"}
    row.update(over)
    return row


def bank_config(tmp_path: Path, name: str):
    from hackwatch.runs._inputs import select_tasks

    data = {"tasks": {"source": "builtin", "ids": ["reverse_words"]},
            "subject": {"checkpoints": [{"path": "a", "step": 1}]}, "donor": {"bank": name}}
    cfg = config_from_dict(data, origin="c.toml", base_dir=tmp_path)
    return cfg, select_tasks(cfg)


@pytest.mark.parametrize("suffix", ["parquet", "jsonl"])
def test_donor_bank_is_read_through_its_validator(tmp_path: Path, suffix: str) -> None:
    from hackwatch.donor import write_bank
    from hackwatch.runs._inputs import load_bank

    rows = [full_row(), full_row(prefix_id="reverse_words/t0/4", prefix_tokens=4, prefix_ids=[5, 6, 7, 8],
                                 donor_rate_prefix=0.25, donor_prefix_successes=2)]
    write_bank(rows, tmp_path / f"bank.{suffix}")
    cfg, tasks = bank_config(tmp_path, f"bank.{suffix}")
    bank = load_bank(cfg, tasks)
    assert bank["prefix_id"].tolist() == ["reverse_words/t0/3", "reverse_words/t0/4"]
    assert [list(x) for x in bank["prefix_ids"]] == [[5, 6, 7], [5, 6, 7, 8]]
    assert bank["trace_id"].tolist() == ["reverse_words/t0"] * 2
    assert bank["donor_rate_task"].tolist() == [0.5, 0.5] and bank["logp_donor_bank"].tolist() == [-4.0, -4.0]
    assert np.isnan(bank["donor_rate_prefix"].iloc[0]) and bank["donor_rate_prefix"].iloc[1] == 0.25


@pytest.mark.parametrize(("over", "message"), [
    ({"donor_rate_task": 0.4}, r"bank.jsonl: row 1, field 'donor_rate_task': 0.4 disagrees with "
                               r"donor_task_successes/donor_task_samples = 4/8"),
    ({"trace_ids": [1, 2, 3, 4]}, r"bank.jsonl: row 1, field 'prefix_ids': not the first 3 ids of trace_ids"),
    ({"source": "oracle"}, r"bank.jsonl: row 1, field 'source': expected one of donor"),
    ({"schema_version": 2}, r"bank.jsonl: row 1, field 'schema_version': this hackwatch reads bank schema 1"),
])
def test_malformed_donor_bank_names_file_row_and_field(tmp_path: Path, over: dict, message: str) -> None:
    from hackwatch.runs._inputs import load_bank

    rows = [full_row(prefix_id="reverse_words/t0/2", prefix_tokens=2, prefix_ids=[5, 6]), full_row(**over)]
    (tmp_path / "bank.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg, tasks = bank_config(tmp_path, "bank.jsonl")
    with pytest.raises(ConfigError, match=message):
        load_bank(cfg, tasks)


def test_versioned_bank_missing_a_column_and_corrupt_parquet(tmp_path: Path) -> None:
    from hackwatch.runs._inputs import load_bank

    row = {k: v for k, v in full_row().items() if k != "trace_text"}
    (tmp_path / "bank.jsonl").write_text(json.dumps(row) + "\n")
    cfg, tasks = bank_config(tmp_path, "bank.jsonl")
    with pytest.raises(ConfigError, match=r"bank.jsonl: prefix bank lacks column\(s\) 'trace_text'"):
        load_bank(cfg, tasks)
    (tmp_path / "bank.parquet").write_bytes(b"not parquet")
    cfg, tasks = bank_config(tmp_path, "bank.parquet")
    with pytest.raises(ConfigError, match=r"bank.parquet: cannot read the prefix bank as Parquet"):
        load_bank(cfg, tasks)


def test_estimate_section_defaults_to_uncorrected() -> None:
    cfg = config_from_dict({"tasks": {"source": "builtin"}, "subject": {"checkpoints": [{"path": "a", "step": 1}]}})
    assert cfg.estimate.missing_donor_rate == "uncorrected"
    assert "estimate" in cfg.to_dict() and cfg.to_dict()["estimate"]["missing_donor_rate"] == "uncorrected"


@pytest.mark.slow
def test_missing_donor_rates_are_handled_per_row_in_the_run(world: Path, reference_run: RunSummary,
                                                          tmp_path: Path) -> None:
    """Nulling a_D of some prefixes no longer switches the correction off for the whole run."""
    from hackwatch.estimate import SchemaError
    from hackwatch.runs._analysis import _estimates
    from hackwatch.store import RunStore

    run_dir = tmp_path / "run"
    shutil.copytree(reference_run.run_dir, run_dir)
    cfg = load_config(world)
    with RunStore.open(run_dir) as store:
        before = _estimates(cfg, store)
        store.con.execute("UPDATE prefixes SET donor_rate_prefix = NULL WHERE prefix_id LIKE '%-benign-%'")
        n_null = store.con.execute("SELECT count(*) FROM prefixes WHERE donor_rate_prefix IS NULL").fetchone()[0]
        assert n_null == 4  # 2 tasks x 2 benign prefix lengths
        after = _estimates(cfg, store)
        cfg.estimate.missing_donor_rate = "drop"
        dropped = _estimates(cfg, store)
        cfg.estimate.missing_donor_rate = "error"
        with pytest.raises(SchemaError, match=r"column 'donor_rate_prefix'.*\[estimate\].missing_donor_rate"):
            _estimates(cfg, store)
    is_b, is_a, is_d = (t[t["method"] == "is"].reset_index(drop=True) for t in (before, after, dropped))
    assert is_a["donor_correction"].all() and (is_a["missing_donor_rate"] == "uncorrected").all()
    assert is_b["n_terms_uncorrected"].tolist() == [0] * len(is_b)
    # each cell (checkpoint x exploit type = one task) has its 2 benign prefixes uncorrected / dropped
    assert is_a["n_terms_uncorrected"].tolist() == [2] * len(is_a) and (is_a["n"] == 4).all()
    assert is_d["n_terms_dropped"].tolist() == [2] * len(is_d) and (is_d["n"] == 2).all()
    # the benign prefixes (a_D = 0.2 < pi_D = 0.5) lose their factor 2.5: values can only go down
    assert (is_a["log10_value"] <= is_b["log10_value"] + 1e-12).all()
    direct_b, direct_a = (t[t["method"] == "direct"].reset_index(drop=True) for t in (before, after))
    assert direct_a["log10_value"].equals(direct_b["log10_value"])
