from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from hackwatch._api import open_run
from hackwatch.cli import app
from hackwatch.runs import RunError, RunSummary, load_config, run_pipeline
from hackwatch.store import RunStore
from tests.runs.world import expected_counts, world_tasks

N_TASKS, N_PREFIXES, DIRECT, ATTEMPTS = 2, 8, 2, 2
UNITS = {"direct": 2 * N_TASKS * DIRECT, "prefilled": 2 * N_PREFIXES * ATTEMPTS, "score": 2 * N_PREFIXES + N_PREFIXES}


def _key_columns(run_dir: Path) -> pd.DataFrame:
    r = open_run(run_dir)
    return r.samples.merge(r.verdicts, on="sample_id").sort_values("sample_id").reset_index(drop=True)


def _assert_complete(run_dir: Path) -> None:
    r = open_run(run_dir)
    want = expected_counts(N_TASKS, N_PREFIXES, direct=DIRECT, attempts=ATTEMPTS)
    assert len(r.samples) == want["samples"]
    assert len(r.verdicts) == want["verdicts"]
    assert len(r.scores) == want["scores"]
    assert r.samples["sample_id"].is_unique
    # no duplicate work under any key: (checkpoint, task, prefix, attempt) is unique too
    key = r.samples[["checkpoint", "task_id", "prefix_id", "attempt"]].astype(str)
    assert not key.duplicated().any()
    assert set(r.verdicts["sample_id"]) == set(r.samples["sample_id"])
    assert r.units["stage"].value_counts().to_dict() == UNITS
    assert not r.scores[["model", "prefix_id"]].duplicated().any()


@pytest.mark.slow
def test_end_to_end(reference_run: RunSummary) -> None:
    run_dir = reference_run.run_dir
    _assert_complete(run_dir)
    r = open_run(run_dir)
    assert sorted(r.tasks["task_id"]) == sorted(t.id for t in world_tasks())
    assert sorted(r.checkpoints["checkpoint"]) == ["checkpoint-2", "checkpoint-8", "donor"]
    # the exploit prefixes end in the reference exploit, so their prefilled samples really exploit
    v = r.verdict_table()
    exploit_prefixes = v[v["prefix_id"].str.contains("-exploit-", na=False) & (v["prefix_tokens"] > 4)]
    assert exploit_prefixes["exploit"].mean() >= 0.75  # a sampled `</think>` or fence after it could spoil one
    assert not v["label"].isin(["error"]).any()
    assert not v[v["prefix_tokens"] == 0]["exploit"].any()  # a random tiny model does not exploit by itself
    assert set(r.estimates["method"]) == {"direct", "is", "lower_bound"}
    is_rows = r.estimates[r.estimates["method"] == "is"]
    assert (is_rows["successes"] >= 1).all() and is_rows["log10_value"].notna().all()
    assert {"exploit_type", "method", "slope", "crossing_step"} <= set(r.forecasts.columns)
    prov = r.provenance
    assert prov["schema_version"] == 1 and prov["seed"] == 3
    assert set(prov["model_ids"]) == {"checkpoint-2", "checkpoint-8"}
    assert {"torch_version", "transformers_version", "hackwatch_version", "config_hash"} <= set(prov)
    scores = r.score_table()
    assert (scores["logp_subject"] < 0).all() and (scores["logp_donor"] < 0).all()
    assert (scores["temperature"] == 0.7).all()
    html = (run_dir / "report.html").read_text()
    assert "toy world: tiny model, not a result about real LLMs" in html
    assert (run_dir / "report_figures" / "trajectories.png").is_file()
    progress = json.loads((run_dir / "progress.json").read_text())
    assert progress["finished"] is True


@pytest.mark.slow
def test_rerun_skips_finished_units_and_refuses_other_config(world: Path, reference_run: RunSummary) -> None:
    before = _key_columns(reference_run.run_dir)
    # a sandbox outage recorded as label "error" is not a result: the rerun verifies that sample again
    with RunStore.open(reference_run.run_dir) as store:
        store.con.execute("UPDATE verdicts SET label = 'error', exploit = NULL, reason = 'sandbox unavailable' "
                          "WHERE sample_id = (SELECT min(sample_id) FROM verdicts)")
    res = CliRunner().invoke(app, ["run", str(world), "--out", str(reference_run.run_dir), "--no-report"])
    assert res.exit_code == 0, res.output
    assert "verdict per exploit type" in res.output and "result_manipulation" in res.output  # the closing verdict
    log = (reference_run.run_dir / "run.log").read_text()
    assert "prefilled: 0 units to do (32 already done)" in log
    assert "verify: 1 samples had infrastructure errors earlier; verifying them again" in log
    pd.testing.assert_frame_equal(before, _key_columns(reference_run.run_dir))
    cfg = load_config(world)
    cfg.run.out = str(reference_run.run_dir)
    cfg.sampling.seed = 4
    with pytest.raises(RunError, match="holds a run of a different config"):
        run_pipeline(cfg, bars=False, report=False)


def _progress(run_dir: Path) -> dict:
    try:
        return json.loads((run_dir / "progress.json").read_text())
    except (OSError, json.JSONDecodeError):
        return {}


@pytest.mark.slow
def test_sigkill_mid_run_then_rerun_loses_and_duplicates_nothing(world: Path, reference_run: RunSummary) -> None:
    run_dir = world.parent / "run_killed"
    cmd = [sys.executable, "-c", "from hackwatch.cli import main; main()", "run", str(world), "--out", str(run_dir)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 300
    killed_at = None
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            st = _progress(run_dir).get("stages", {}).get("prefilled")
            if st and st["done"] >= 5:  # mid-way through prefilled sampling
                os.killpg(proc.pid, signal.SIGKILL)
                killed_at = st["done"]
                break
            time.sleep(0.05)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert killed_at is not None, "the run finished or stalled before it could be killed mid-way"
    assert proc.returncode == -signal.SIGKILL
    partial = open_run(run_dir)
    n_done = len(partial.units)
    assert UNITS["direct"] + 5 <= n_done < sum(UNITS.values())
    assert len(partial.samples) == UNITS["direct"] + (n_done - UNITS["direct"])  # one sample per unit here
    res = CliRunner().invoke(app, ["run", str(world), "--out", str(run_dir)])
    assert res.exit_code == 0, res.output
    _assert_complete(run_dir)
    # identical to the uninterrupted run: same ids, same tokens, same verdicts (per-request seeds)
    a, b = _key_columns(reference_run.run_dir), _key_columns(run_dir)
    cols = ["sample_id", "attempt", "seed", "prefix_tokens", "completion", "label"]
    pd.testing.assert_frame_equal(a[cols], b[cols])
