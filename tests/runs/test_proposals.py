"""Extra IS proposals ([[proposals]]) and activation probes ([probes]) inside one run of the tiny world.

One run holds the donor bank plus two proposals: ``other`` (the donor bank's rows again — same prefix
ids — with logp_donor shifted and other donor rates, no model) and ``modelled`` (two of those prefixes,
log-probs scored under a proposal model). A probe is then trained on that run's samples and the run is
resumed with ``[probes]``: only the probe units run. Every estimate is checked against
``hackwatch.estimate`` / ``hackwatch.probes`` called by hand on frames built here from the raw tables.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from hackwatch._api import open_run
from hackwatch.cli import app
from hackwatch.estimate import estimate_cells
from hackwatch.runs import RunSummary, load_config, run_pipeline
from hackwatch.runs._analysis import _forecasts
from tests.runs.world import STEPS

SHIFT = -1.5
PROBE_KEY = "layer1_window4_mean"  # the tiny world's models have one block: hidden state 1 = final norm


def _proposal_config(world: Path, *, probes: bool) -> Path:
    """The world's config with two [[proposals]] (and [probes] when asked), written beside it."""
    root = world.parent
    rows = [json.loads(line) for line in (root / "bank.jsonl").read_text().splitlines()]
    other = [{**r, "logp_donor": r["logp_donor"] + SHIFT, "donor_rate_prefix": 0.6} for r in rows]
    (root / "bank_other.jsonl").write_text("".join(json.dumps(r) + "\n" for r in other))
    modelled = [{k: v for k, v in r.items() if k != "logp_donor"} for r in rows
                if "-exploit-" in r["prefix_id"] and r["prefix_tokens"] > 4]
    (root / "bank_modelled.jsonl").write_text("".join(json.dumps(r) + "\n" for r in modelled))
    text = world.read_text().replace('out = "run"', 'out = "run_proposals"')
    text += ('\n[[proposals]]\nname = "other"\nbank = "bank_other.jsonl"\n'
             '\n[[proposals]]\nname = "modelled"\nbank = "bank_modelled.jsonl"\nmodel = "donor"\n')
    if probes:
        text += f'\n[probes]\ndir = "probe"\nuse = "{PROBE_KEY}"\n'
    path = root / ("run_probes.toml" if probes else "run_proposals.toml")
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def proposal_run(world: Path) -> RunSummary:
    return run_pipeline(load_config(_proposal_config(world, probes=False)), report=False, bars=False)


def _verdict_rows(r) -> pd.DataFrame:
    """Samples ⋈ verdicts ⋈ tasks ⋈ prefixes in the estimate contract, built in pandas (not the run's SQL)."""
    v = r.samples.merge(r.verdicts, on="sample_id").merge(r.tasks[["task_id", "exploit_type"]], on="task_id")
    v = v.merge(r.prefixes[["prefix_id", "trace_id", "proposal"]], on="prefix_id", how="left")
    cols = ["task_id", "exploit_type", "checkpoint", "step", "prefix_id", "prefix_tokens", "temperature", "seed",
            "attempt", "label", "exploit", "trace_id", "sample_id", "proposal"]
    return v.sort_values(["step", "task_id", "prefix_id", "attempt"], na_position="first")[cols]


def _score_rows(r, proposal: str) -> pd.DataFrame:
    """Subject log-probs of one bank's prefixes with that bank's log D: its model's score, else the bank's."""
    sc, p = r.scores, r.prefixes[r.prefixes["proposal"] == proposal]
    subj = r.checkpoints[r.checkpoints["role"] == "subject"][["checkpoint", "step"]]
    s = sc.merge(subj, left_on="model", right_on="checkpoint").merge(p, on=["prefix_id", "task_id"])
    s = s.merge(r.tasks[["task_id", "exploit_type"]], on="task_id")
    model = {"donor": "donor", "modelled": "donor:modelled"}.get(proposal)
    if model is None:
        s["logp_donor"] = s["logp_donor_bank"]
    else:
        own = sc[sc["model"] == model][["prefix_id", "logprob"]].rename(columns={"logprob": "logp_donor"})
        s = s.merge(own, on="prefix_id")
    s = s.rename(columns={"logprob": "logp_subject"})
    cols = ["task_id", "exploit_type", "checkpoint", "step", "prefix_id", "prefix_tokens", "temperature",
            "logp_subject", "logp_donor", "donor_rate_task", "donor_rate_prefix", "trace_id", "proposal"]
    return s.sort_values(["step", "task_id", "prefix_id"])[cols].reset_index(drop=True)


def _by_hand(r, proposal: str) -> pd.DataFrame:
    v = _verdict_rows(r)
    own = v[v["proposal"] == proposal] if proposal != "donor" else v[v["proposal"].isna() | (v["proposal"] == "donor")]
    res = estimate_cells(own.reset_index(drop=True), _score_rows(r, proposal), donor_correction=True,
                         missing_donor_rate="uncorrected", seed=3)
    out = res.summary
    if proposal != "donor":
        out["method"] = out["method"].replace({"is": f"is_{proposal}", "lower_bound": f"lower_bound_{proposal}"})
    return out


def _stored(r, methods: set[str]) -> pd.DataFrame:
    est = r.estimates
    return est[est["method"].isin(methods)].dropna(axis=1, how="all")


@pytest.mark.slow
def test_each_bank_is_estimated_on_its_own_rows(proposal_run: RunSummary) -> None:
    r = open_run(proposal_run.run_dir)
    methods = set(r.estimates["method"])
    assert methods == {"direct", "is", "lower_bound", "is_other", "lower_bound_other", "is_modelled",
                       "lower_bound_modelled"}
    for proposal, names in [("donor", {"direct", "is", "lower_bound"}),
                            ("other", {"is_other", "lower_bound_other"}),
                            ("modelled", {"is_modelled", "lower_bound_modelled"})]:
        want = _by_hand(r, proposal).dropna(axis=1, how="all")
        got = _stored(r, names)
        assert len(got) == len(want) > 0
        key = ["method", "checkpoint", "exploit_type"]
        pd.testing.assert_frame_equal(got.sort_values(key).reset_index(drop=True)[list(want.columns)],
                                      want.sort_values(key).reset_index(drop=True), check_dtype=False,
                                      check_exact=True)
    # the banks differ (shifted log D, other donor rates, own samples): so do their estimates
    is_ = _stored(r, {"is"}).set_index(["checkpoint", "exploit_type"])["log10_value"]
    other = _stored(r, {"is_other"}).set_index(["checkpoint", "exploit_type"])["log10_value"]
    assert np.isfinite(is_).all() and np.isfinite(other).all()
    assert (is_ - other.reindex(is_.index)).abs().min() > 0.1


@pytest.mark.slow
def test_colliding_prefix_ids_are_kept_apart(proposal_run: RunSummary, world: Path) -> None:
    r = open_run(proposal_run.run_dir)
    bank = [json.loads(line) for line in (world.parent / "bank.jsonl").read_text().splitlines()]
    p = r.prefixes.set_index("prefix_id")
    assert p["proposal"].value_counts().to_dict() == {"donor": 8, "other": 8, "modelled": 2}
    for row in bank:  # the same bank id, twice: the donor's as is, the proposal's qualified
        assert p.loc[row["prefix_id"], "proposal"] == "donor"
        q = p.loc[f"other:{row['prefix_id']}"]
        assert q["trace_id"] == f"other:{row['trace_id']}" and list(q["prefix_ids"]) == row["prefix_ids"]
        assert q["logp_donor_bank"] == row["logp_donor"] + SHIFT and q["donor_rate_prefix"] == 0.6
    # subjects score every prefix; each proposal model only its own bank's
    sc = r.scores
    n_ck = len(STEPS)
    assert len(sc) == n_ck * 18 + 8 + 2 and not sc[["model", "prefix_id"]].duplicated().any()
    assert set(sc.loc[sc["model"] == "donor", "prefix_id"]) == set(p.index[p["proposal"] == "donor"])
    assert set(sc.loc[sc["model"] == "donor:modelled", "prefix_id"]) == set(p.index[p["proposal"] == "modelled"])
    assert r.checkpoints.set_index("checkpoint").loc["donor:modelled", "role"] == "donor"
    # every proposal prefix was sampled under every checkpoint with its own unit keys
    pref = r.samples[r.samples["prefix_id"].notna()]
    assert pref.groupby("prefix_id").size().to_dict() == {pid: n_ck * 2 for pid in p.index}
    assert pref["unit_key"].str.contains("/other:").sum() == n_ck * 8 * 2


def _train_probe(run_dir: Path, out: Path):
    """A probe trained on every sample of the run (prefilled exploit prefixes give the positives)."""
    from hackwatch.models import TransformersBackend
    from hackwatch.probes import (
        CaptureSpec,
        capture_rows,
        concat_activations,
        join_labels,
        save_probes,
        train_probes,
    )

    r = open_run(run_dir)
    rows = r.samples.merge(r.prefixes[["prefix_id", "prefix_ids"]], on="prefix_id", how="left")
    tasks = r.tasks.set_index("task_id")
    parts = []
    for ck in r.checkpoints[r.checkpoints["role"] == "subject"].itertuples():
        recs = [{**x, "prefix_ids": [] if not isinstance(x["prefix_id"], str) else list(x["prefix_ids"]),
                 "generated_ids": list(x["generated_ids"]), "prompt": tasks.loc[x["task_id"], "prompt"]}
                for x in rows[rows["checkpoint"] == ck.checkpoint].to_dict("records")]
        parts.append(capture_rows(TransformersBackend(ck.path, device="cpu"), recs,
                                  CaptureSpec((-1,), (4,), ("mean",))))
    acts = concat_activations(parts)
    ps = train_probes(acts, join_labels(acts, r.verdicts), null_control=False, n_boot=50)
    save_probes(ps, out)
    return ps


def _probe_by_hand(run_dir: Path, ps) -> pd.DataFrame:
    """``hackwatch.probes`` scoring of each checkpoint's direct samples, as `hackwatch probe score --cells`."""
    from hackwatch.models import TransformersBackend
    from hackwatch.probes import CaptureSpec, capture_rows, probe_cells, score_activations

    r = open_run(run_dir)
    tasks = r.tasks.set_index("task_id")
    parts = []
    for ck in r.checkpoints[r.checkpoints["role"] == "subject"].itertuples():
        direct = r.samples[(r.samples["checkpoint"] == ck.checkpoint) & r.samples["prefix_id"].isna()]
        recs = [{**x, "prefix_id": None, "generated_ids": list(x["generated_ids"]),
                 "prompt": tasks.loc[x["task_id"], "prompt"], "exploit_type": tasks.loc[x["task_id"], "exploit_type"]}
                for x in direct.sort_values("sample_id").to_dict("records")]
        acts = capture_rows(TransformersBackend(ck.path, device="cpu"), recs, CaptureSpec((-1,), (4,), ("mean",)))
        parts.append(score_activations(ps, acts, [PROBE_KEY]))
    scores = pd.concat(parts, ignore_index=True).sort_values("sample_id").reset_index(drop=True)
    return scores, probe_cells(scores, seed=3)


@pytest.mark.slow
def test_probe_stage_on_resume_then_every_unit_skipped(proposal_run: RunSummary, world: Path) -> None:
    run_dir = proposal_run.run_dir
    units_before = open_run(run_dir).units
    ps = _train_probe(run_dir, world.parent / "probe")
    assert PROBE_KEY in ps.probes
    path = _proposal_config(world, probes=True)
    assert load_config(path).work_hash() == load_config(world.parent / "run_proposals.toml").work_hash()
    res = CliRunner().invoke(app, ["run", str(path), "--no-report"])  # the CLI writes run.log
    assert res.exit_code == 0, res.output
    log = (run_dir / "run.log").read_text()
    n_prefilled = len(STEPS) * 18 * 2
    assert f"prefilled: 0 units to do ({n_prefilled} already done)" in log
    assert "probe: 2 checkpoints to do (0 already done)" in log
    r = open_run(run_dir)
    new = r.units[~r.units["unit_key"].isin(units_before["unit_key"])]
    assert sorted(new["stage"]) == ["probe", "probe"]  # nothing but the probe ran again
    # per-sample scores and per-cell rows equal hackwatch.probes on the same samples
    want_scores, want_cells = _probe_by_hand(run_dir, ps)
    got = r.probe_scores.sort_values("sample_id").reset_index(drop=True)
    assert list(got["sample_id"]) == list(want_scores["sample_id"])
    assert (got["probe"] == PROBE_KEY).all()
    np.testing.assert_allclose(got["score"], want_scores["score"], rtol=1e-12)
    cells = r.estimates[r.estimates["method"] == "probe"].dropna(axis=1, how="all")
    key = ["checkpoint", "exploit_type"]
    want_cells = want_cells.dropna(axis=1, how="all")
    pd.testing.assert_frame_equal(cells.sort_values(key).reset_index(drop=True)[list(want_cells.columns)],
                                  want_cells.sort_values(key).reset_index(drop=True), check_dtype=False)
    # a rerun skips every unit: samples, proposal prefixes, scores and probe
    res = CliRunner().invoke(app, ["run", str(path), "--no-report"])
    assert res.exit_code == 0, res.output
    log = (run_dir / "run.log").read_text()
    assert "probe: 0 checkpoints to do (2 already done)" in log
    assert f"score: 0 scores to do ({len(STEPS) * 18 + 10} already done)" in log
    assert len(open_run(run_dir).units) == len(r.units)


@pytest.mark.slow
def test_forecasts_evaluate_every_proposal_and_the_probe(proposal_run: RunSummary, world: Path) -> None:
    cfg = load_config(_proposal_config(world, probes=False))
    cfg.thresholds.cutoff = 2
    est = open_run(proposal_run.run_dir).estimates
    est = est[est["method"] != "probe"].copy()  # the run's own probe rows, if the probe test ran first
    # a probe whose cell mean rises for test_skipping only
    probe = est[est["method"] == "direct"].assign(method="probe", value=0.2, log10_value=np.log10(0.2))
    rising = (probe["exploit_type"] == "test_skipping") & (probe["step"] == max(STEPS))
    probe.loc[rising, ["value", "log10_value"]] = [0.4, np.log10(0.4)]
    est = pd.concat([est, probe], ignore_index=True)
    # one type emerges at the last checkpoint (a direct rate of 0.5), the other does not
    late = (est["method"] == "direct") & (est["step"] == max(STEPS)) & (est["exploit_type"] == "test_skipping")
    est.loc[late, ["value", "log10_value", "successes"]] = [0.5, np.log10(0.5), 1]
    forecasts, evaluation = _forecasts(cfg, est)
    assert set(evaluation["method"]) >= {"is", "lower_bound", "is_other", "lower_bound_other", "is_modelled",
                                         "lower_bound_modelled", "probe"}
    ev = evaluation.set_index("method")
    assert (ev["n_emerged"] == 1).all() and (ev["n_not_emerged"] == 1).all()
    assert ev.loc["probe", "auc"] == 1.0  # its slope rises only for the emerging type
    assert set(forecasts["method"]) >= set(evaluation["method"])


@pytest.mark.slow
def test_probe_of_another_model_is_a_one_line_error(proposal_run: RunSummary, world: Path, tmp_path: Path) -> None:
    from hackwatch.probes import save_probes, train_probes
    from tests.probes.conftest import synthetic_acts

    acts, y = synthetic_acts(n_tasks=6, per_task=10)  # width 24; the world's models have hidden size 32
    save_probes(train_probes(acts, y, null_control=False, n_boot=20), tmp_path / "probe24")
    units = len(open_run(proposal_run.run_dir).units)
    path = world.parent / "run_probe24.toml"
    path.write_text(_proposal_config(world, probes=False).read_text()
                    + f'\n[probes]\ndir = "{tmp_path / "probe24"}"\nuse = "{PROBE_KEY}"\n')
    res = CliRunner().invoke(app, ["run", str(path), "--no-report"])
    assert res.exit_code == 2
    last = res.output.strip().splitlines()[-1]  # after the concise progress log: the error, on one line
    assert last.startswith(f"error: {path.name}: [probes].dir: probe {PROBE_KEY}: expected activations of width 24, "
                           "got shape (4, 32); the probe was trained on another model or layer")
    assert len(open_run(proposal_run.run_dir).units) == units  # nothing half-written


@pytest.mark.slow
def test_database_from_before_proposals_resumes(world: Path, reference_run: RunSummary, tmp_path: Path) -> None:
    """A run database without ``prefixes.proposal`` gets the column (``donor``) and resumes unchanged."""
    import shutil

    import duckdb

    run_dir = tmp_path / "old"
    shutil.copytree(reference_run.run_dir, run_dir)
    con = duckdb.connect(str(run_dir / "run.duckdb"))
    con.execute("ALTER TABLE prefixes DROP COLUMN proposal")
    con.execute("DROP TABLE probe_scores")
    con.close()
    before = open_run(run_dir).units
    cfg = load_config(world)
    cfg.run.out = str(run_dir)
    run_pipeline(cfg, report=False, bars=False)
    r = open_run(run_dir)
    assert (r.prefixes["proposal"] == "donor").all() and len(r.prefixes) == 8
    assert len(r.units) == len(before) and r.probe_scores.empty
    ref = open_run(reference_run.run_dir).estimates
    pd.testing.assert_frame_equal(r.estimates, ref)


def test_prefix_rows_without_proposal_are_donor_rows(tmp_path: Path) -> None:
    """Writers from before ``proposal`` existed (rows without the column) still insert; a required column may not
    be left out."""
    from hackwatch.store import RunStore

    row = {"prefix_id": "p", "task_id": "t", "trace_id": "t", "prefix_tokens": 1, "prefix_ids": [1], "text": "",
           "source": "donor", "donor_rate_task": None, "donor_rate_prefix": None, "logp_donor_bank": -1.0}
    with RunStore.open(tmp_path) as store:
        store.insert_rows("prefixes", pd.DataFrame([row]))
        store.insert_rows("prefixes", pd.DataFrame([{**row, "prefix_id": "x:p", "proposal": "x"}]))
        assert store.query("SELECT prefix_id, proposal FROM prefixes ORDER BY prefix_id").values.tolist() == [
            ["p", "donor"], ["x:p", "x"]]
        with pytest.raises(ValueError, match=r"rows for table 'prefixes' lack columns \['logp_donor_bank'\]"):
            store.insert_rows("prefixes", pd.DataFrame([{k: v for k, v in row.items() if k != "logp_donor_bank"}]))


@pytest.mark.slow
def test_exported_tables_estimate_per_proposal_as_the_run(proposal_run: RunSummary, tmp_path: Path) -> None:
    """`hackwatch export` → `hackwatch estimate` gives the run's own estimates, proposal by proposal (not one
    IS cell pooling the donor bank with ``other`` and ``modelled``)."""
    runner = CliRunner()
    res = runner.invoke(app, ["export", str(proposal_run.run_dir), "--out", str(tmp_path / "x")])
    assert res.exit_code == 0, res.output
    verdicts, scores = tmp_path / "x" / "verdicts.parquet", tmp_path / "x" / "scores.parquet"
    assert set(pd.read_parquet(scores)["proposal"]) == {"donor", "other", "modelled"}
    assert set(pd.read_parquet(verdicts)["proposal"].dropna()) == {"donor", "other", "modelled"}
    res = runner.invoke(app, ["estimate", "--verdicts", str(verdicts), "--scores", str(scores),
                              "--out", str(tmp_path / "est.parquet"), "--seed", "3", "--quiet"])
    assert res.exit_code == 0, res.output
    got = pd.read_parquet(tmp_path / "est.parquet").dropna(axis=1, how="all")
    run = open_run(proposal_run.run_dir).estimates
    want = run[run["method"] != "probe"].dropna(axis=1, how="all")
    assert set(got["method"]) == set(want["method"]) == {
        "direct", "is", "lower_bound", "is_other", "lower_bound_other", "is_modelled", "lower_bound_modelled"}
    key = ["method", "checkpoint", "exploit_type"]
    pd.testing.assert_frame_equal(got.sort_values(key).reset_index(drop=True)[list(want.columns)],
                                  want.sort_values(key).reset_index(drop=True), check_dtype=False)
