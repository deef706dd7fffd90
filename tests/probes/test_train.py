"""Training: a planted linear signal is recovered, shuffled labels and task identity are not, calibration,
and probe files round-trip."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from hackwatch.probes import ProbeError, cross_validate, load_probes, save_probes, train_probes

from .conftest import synthetic_acts

KEY = (1, 4, "mean")


def test_planted_signal_is_recovered_and_shuffled_labels_are_not():
    acts, y = synthetic_acts(signal=4.0, seed=0)
    ps = train_probes(acts, y, seed=0, n_boot=200)
    row = ps.cv.iloc[0]
    print(ps.cv.to_string())
    assert row["n"] == 300 and row["n_tasks"] == 30 and row["n_folds"] == 5
    assert row["cv_auc"] > 0.97 and row["cv_auc_lower"] > 0.9
    assert abs(row["null_cv_auc"] - 0.5) < 0.12
    # calibrated: out-of-fold probabilities average to the base rate and beat the constant predictor
    assert row["cv_brier"] < 0.5 * row["base_rate"] * (1 - row["base_rate"])
    # trained separately on shuffled labels: near 0.5 under task-blocked CV
    shuffled = np.random.default_rng(1).permutation(y)
    oof, _ = cross_validate(acts.array(*KEY), shuffled, acts.index["task_id"].to_numpy(), key=KEY, seed=0)
    assert abs(roc_auc_score(shuffled, oof) - 0.5) < 0.12


def test_calibrated_probabilities_match_the_rate():
    acts, y = synthetic_acts(signal=1.0, n_tasks=40, per_task=15, seed=2)
    x, groups = acts.array(*KEY), acts.index["task_id"].to_numpy()
    oof, _ = cross_validate(x, y, groups, key=KEY, seed=0)
    assert abs(oof.mean() - y.mean()) < 0.04
    # within score bins the observed rate follows the predicted probability
    lo, hi = oof < np.quantile(oof, 0.33), oof > np.quantile(oof, 0.67)
    assert abs(y[lo].mean() - oof[lo].mean()) < 0.08 and abs(y[hi].mean() - oof[hi].mean()) < 0.1


def test_task_blocked_cv_does_not_reward_recognising_tasks():
    # labels constant within a task; activations carry task identity but no label direction
    acts, y = synthetic_acts(signal=0.0, task_spread=3.0, task_labels=True, n_tasks=40, per_task=8, seed=3)
    x, groups = acts.array(*KEY), acts.index["task_id"].to_numpy()
    blocked, _ = cross_validate(x, y, groups, key=KEY, c=1.0, seed=0)
    leaky, _ = cross_validate(x, y, np.arange(len(y)).astype(str), key=KEY, c=1.0, seed=0)  # no blocking
    assert abs(roc_auc_score(y, blocked) - 0.5) < 0.15
    assert roc_auc_score(y, leaky) > 0.9  # what an unblocked split would have reported


def test_probe_files_roundtrip(tmp_path):
    acts, y = synthetic_acts(seed=4)
    ps = train_probes(acts, y, null_control=False, n_boot=50)
    probe = ps.probes["layer1_window4_mean"]
    x = acts.array(*KEY)
    # the stored numbers rebuild the scikit-learn pipeline exactly
    np.testing.assert_allclose(probe.to_pipeline().decision_function(x), probe.logit(x), rtol=1e-5)
    back = load_probes(save_probes(ps, tmp_path / "probe"))
    np.testing.assert_allclose(back.probes["layer1_window4_mean"].predict_proba(x), probe.predict_proba(x))
    assert back.best_key() == "layer1_window4_mean" and back.meta["label"] == "exploit"
    assert back.cv["cv_auc"].iloc[0] == pytest.approx(ps.cv["cv_auc"].iloc[0])
    with pytest.raises(ProbeError, match="expected activations of width 24"):
        probe.logit(x[:, :5])
    doc = json.loads((tmp_path / "probe" / "probes.json").read_text())
    del doc["probes"][0]["intercept"]
    (tmp_path / "probe" / "probes.json").write_text(json.dumps(doc))
    with pytest.raises(ProbeError, match="lacks 'intercept'"):
        load_probes(tmp_path / "probe")


def test_training_input_errors():
    acts, y = synthetic_acts(seed=5)
    with pytest.raises(ProbeError, match="needs both classes"):
        train_probes(acts, np.zeros(len(y)))
    with pytest.raises(ProbeError, match="300 samples"):
        train_probes(acts, y[:10])
    one_task = acts.index["task_id"] == "t0"
    labels = np.where(one_task, y, np.nan)
    labels[np.flatnonzero(one_task)[:2]] = [0, 1]
    with pytest.raises(ProbeError, match="one task"):
        train_probes(acts, labels)
