"""Using probes: labels joined from verdicts, per-cell scores, and the probe score through the forecast evaluation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hackwatch.estimate import estimate_cells
from hackwatch.forecast import forecast, lead_time, roc_auc
from hackwatch.probes import (
    ProbeError,
    join_labels,
    make_activations,
    probe_cells,
    sample_id,
    score_activations,
    train_probes,
)

from .conftest import synthetic_acts

STEPS = [1, 2, 4, 8, 16]


def run_world(seed: int = 0, dim: int = 16):
    """Six exploit types over five checkpoints: three emerge (rate rises past 10%), three stay flat.

    Each sample's activation carries its exploit outcome along one direction plus noise, as a probe
    would see an exploit being planned in the first reasoning tokens.
    """
    rng = np.random.default_rng(seed)
    direction = rng.normal(size=dim)
    direction /= np.linalg.norm(direction)
    rows, xs = [], []
    for t in range(6):
        emerging = t < 3
        for k, step in enumerate(STEPS):
            rate = 0.01 * 2.2 ** k if emerging else 0.02
            for task in range(4):
                for i in range(30):
                    ex = bool(rng.random() < rate)
                    rows.append({"sample_id": f"type{t}/task{task}/{step}/{i}", "task_id": f"type{t}-task{task}",
                                 "exploit_type": f"type{t}", "checkpoint": f"ckpt-{step}", "step": step,
                                 "prefix_id": None, "prefix_tokens": 0, "sample_index": i, "temperature": 0.7,
                                 "seed": 0, "attempt": i, "label": "exploit" if ex else "fail", "exploit": ex})
                    xs.append(rng.normal(size=dim) + 2.5 * ex * direction)
    verdicts = pd.DataFrame(rows)
    index = verdicts[["sample_id", "task_id", "exploit_type", "checkpoint", "step", "prefix_id", "prefix_tokens",
                      "sample_index", "temperature"]].assign(prefix_id="", n_reasoning_tokens=8, capture="sampling")
    acts = make_activations(index, {"layer2_window8_mean": np.array(xs, dtype=np.float32)}, model="synthetic",
                            layers=[2], windows=[8], poolings=["mean"], n_states=4)
    return verdicts, acts


def test_probe_score_runs_through_the_forecast_evaluation():
    verdicts, acts = run_world()
    y = join_labels(acts, verdicts)
    assert np.nansum(y) == verdicts["exploit"].sum()
    train = (acts.index["step"] >= 8).to_numpy()  # probe trained on labelled late-checkpoint samples
    ps = train_probes(acts, np.where(train, y, np.nan), seed=0, null_control=False, n_boot=100)
    assert ps.cv["cv_auc"].iloc[0] > 0.85
    scores = score_activations(ps, acts)
    assert len(scores) == len(acts) and scores["score"].between(0, 1).all()
    cells = probe_cells(scores, n_boot=200)
    assert len(cells) == 30 and (cells["method"] == "probe").all()
    est = estimate_cells(verdicts).summary
    table = pd.concat([est, cells], ignore_index=True)
    fc = forecast(table, method="probe", threshold=0.1)  # slope over all five checkpoints
    assert fc.evaluation is not None and fc.evaluation.n_pos == 3 and fc.evaluation.n_neg == 3
    assert fc.evaluation.auc == 1.0
    summary = fc.summary.set_index("exploit_type")
    assert (summary.loc[["type0", "type1", "type2"], "slope"] > 0.1).all()
    assert (summary.loc[["type3", "type4", "type5"], "slope"].abs() < 0.1).all()
    assert fc.evaluation.auc == roc_auc(fc.summary["score"].to_numpy(), fc.summary["emerged"].to_numpy(bool))
    lt = lead_time(table, method="probe", n_boot=100)
    assert list(lt.by_cutoff["cutoff"]) == [1, 2, 3, 4, 5] and lt.by_cutoff["auc"].iloc[-1] == 1.0


def test_probe_cells_values_and_intervals():
    idx = pd.DataFrame({"task_id": ["a", "a", "b", "b", "b"], "checkpoint": "c1", "exploit_type": "x", "step": 3,
                        "temperature": 1.0, "score": [0.1, 0.3, 0.5, 0.5, 0.8]})
    s = probe_cells(idx, n_boot=500)
    row = s.iloc[0]
    assert list(s.columns[:3]) == ["checkpoint", "exploit_type", "method"]
    assert row["value"] == pytest.approx(2.2 / 5) and row["n"] == 5 and row["n_tasks"] == 2 and row["step"] == 3
    assert row["lower"] == pytest.approx(0.2) and row["upper"] == pytest.approx(0.6)  # one task or the other
    assert row["log10_value"] == pytest.approx(np.log10(0.44))
    t = probe_cells(idx, pooling="task", n_boot=0).iloc[0]
    assert t["value"] == pytest.approx((0.2 + 0.6) / 2) and t["interval"] == "none"
    with pytest.raises(ProbeError, match="several probes"):
        probe_cells(pd.concat([idx.assign(probe="p1"), idx.assign(probe="p2")]))


def test_join_labels_from_verify_rows():
    acts, _ = synthetic_acts(n_tasks=2, per_task=3)
    rows = pd.DataFrame({"sample_id": ["s0", "s1", "s2", "s4"], "label": ["exploit", "fail", "error", "correct"]})
    y = join_labels(acts, rows)
    np.testing.assert_array_equal(y, [1, 0, np.nan, np.nan, 0, np.nan])  # error rows: no observation
    flags = pd.DataFrame({"sample_id": ["s0", "s1"], "flag": [True, False]})
    np.testing.assert_array_equal(join_labels(acts, flags, label="flag")[:2], [1, 0])
    with pytest.raises(ProbeError, match="row 1, column 'flag': expected true/false or 0/1, got 'maybe'"):
        join_labels(acts, pd.DataFrame({"sample_id": ["s0", "s1"], "flag": [True, "maybe"]}), label="flag")
    with pytest.raises(ProbeError, match="no label column 'nope'"):
        join_labels(acts, flags, label="nope")
    with pytest.raises(ProbeError, match="appears twice"):
        join_labels(acts, pd.DataFrame({"sample_id": ["s0", "s0"], "exploit": [True, False]}))


def test_sample_id_derivation():
    assert sample_id({"sample_id": "u/3"}) == "u/3"
    assert sample_id({"model": "m", "task_id": "t", "prefix_id": "", "sample_index": 2}) == "m/t//2"
    assert sample_id({"task_id": "t", "prefix_id": "p", "attempt": 1}) == "t/p/1"
    with pytest.raises(ProbeError, match="neither 'sample_id'"):
        sample_id({"task_id": "t"})
