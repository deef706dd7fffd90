import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.special import logsumexp

from hackwatch.estimate import (
    LowESSWarning,
    MissingDonorRateWarning,
    MissingVerdictsWarning,
    SchemaError,
    SingleSampleWarning,
    importance_terms,
    is_estimates,
    kish_ess,
    lower_bounds,
    max_weight_share,
)
from hackwatch.estimate.synthetic import simulate, synthetic_world

# (task, prefix, trace, tokens, logp_subject, logp_donor, donor_rate_task, donor_rate_prefix, k, n)
PREFIXES = [
    ("t1", "p1", "tr1", 5, -15.0, -9.0, 0.2, 0.4, 2, 8),
    ("t1", "p2", "tr1", 10, -30.0, -20.0, 0.2, 0.5, 4, 8),
    ("t2", "p3", "tr2", 5, -12.0, -6.0, 0.1, 0.3, 0, 8),
    ("t2", "p4", "tr3", 5, -14.0, -11.0, 0.1, 0.2, 1, 4),
]


def tables(prefixes=PREFIXES, temperature=0.7, checkpoint="c1", step=10, etype="a"):
    scores, verdicts = [], []
    for task, pid, trace, tok, lp, ld, rt, rp, k, n in prefixes:
        scores.append({"task_id": task, "exploit_type": etype, "checkpoint": checkpoint, "step": step,
                       "prefix_id": pid, "prefix_tokens": tok, "temperature": temperature, "logp_subject": lp,
                       "logp_donor": ld, "donor_rate_task": rt, "donor_rate_prefix": rp, "trace_id": trace})
        for i in range(n):
            verdicts.append({"task_id": task, "exploit_type": etype, "checkpoint": checkpoint, "step": step,
                             "prefix_id": pid, "prefix_tokens": tok, "temperature": temperature, "seed": i,
                             "attempt": i, "label": "x", "exploit": i < k})
    return pd.DataFrame(scores), pd.DataFrame(verdicts)


def expected_lambda(correction=True):
    out = []
    for _task, _pid, _tr, _tok, lp, ld, rt, rp, k, n in PREFIXES:
        lam = lp - ld + (np.log(k / n) if k else -np.inf)
        out.append(lam + (np.log(rt) - np.log(rp) if correction else 0.0))
    return np.array(out)


def test_terms_match_hand_computation_with_exact_zero():
    s, v = tables()
    t = importance_terms(s, v).set_index("prefix_id").loc[["p1", "p2", "p3", "p4"]]
    np.testing.assert_allclose(t["log_term"].to_numpy(), expected_lambda())
    assert np.isneginf(t.loc["p3", "log_term"])
    assert list(t["r_hat"]) == [0.25, 0.5, 0.0, 0.25]


@pytest.mark.parametrize("correction", [True, False])
def test_cell_value_is_logsumexp_minus_log_n(correction):
    s, v = tables()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = is_estimates(s, v, donor_correction=correction, n_boot=50).summary.iloc[0]
    lam = expected_lambda(correction)
    assert r["log10_value"] == pytest.approx((logsumexp(lam) - np.log(4)) / np.log(10))
    assert r["donor_correction"] == correction
    assert (r["n"], r["n_tasks"], r["successes"]) == (4, 2, 3)
    w = np.exp(lam[np.isfinite(lam)])
    assert r["ess"] == pytest.approx(w.sum() ** 2 / (w**2).sum())
    assert r["max_weight_share"] == pytest.approx(w.max() / w.sum())


def test_task_pooling_averages_per_task_first():
    s, v = tables()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = is_estimates(s, v, pooling="task", n_boot=50).summary.iloc[0]
    lam = expected_lambda()
    per_task = [logsumexp(lam[:2]) - np.log(2), logsumexp(lam[2:]) - np.log(2)]
    assert r["log10_value"] == pytest.approx((logsumexp(per_task) - np.log(2)) / np.log(10))
    assert r["pooling"] == "task"


def test_no_successes_gives_exact_zero():
    s, v = tables([p[:8] + (0, 8) for p in PREFIXES])
    r = is_estimates(s, v, n_boot=20).summary.iloc[0]
    assert r["value"] == 0 and np.isneginf(r["log10_value"]) and r["successes"] == 0 and r["ess"] == 0


def test_kish_ess_and_share():
    assert kish_ess(np.log(np.ones(10))) == pytest.approx(10)
    assert kish_ess(np.array([0.0, -50.0, -50.0])) == pytest.approx(1.0)
    assert kish_ess(np.array([-np.inf, -np.inf])) == 0
    assert max_weight_share(np.log([1.0, 1.0, 2.0])) == pytest.approx(0.5)


def test_warns_when_estimate_rests_on_few_samples():
    s, v = tables()
    with pytest.warns(SingleSampleWarning, match="one or two"):
        is_estimates(s.iloc[[0, 2]], v, n_boot=10)


def test_warns_on_low_ess():
    s, v = tables()
    with pytest.warns(LowESSWarning, match="ESS"):
        is_estimates(s, v, n_boot=10, low_ess=100.0)


def test_refuses_temperature_mismatch_between_scores_and_verdicts():
    s, v = tables()
    s.loc[0, "temperature"] = 1.0
    with pytest.raises(SchemaError, match="scored at temperature 1.0 but sampled at 0.7"):
        is_estimates(s, v, scores_source="s.jsonl")


def test_refuses_mixed_checkpoints_in_a_cell():
    s1, v1 = tables()
    s2, v2 = tables(checkpoint="c2", step=20)
    with pytest.raises(SchemaError, match="mixes checkpoints"):
        is_estimates(pd.concat([s1, s2]), pd.concat([v1, v2]), by=["exploit_type"])


def test_refuses_mixed_temperatures_in_a_cell():
    s1, v1 = tables()
    s2, v2 = tables([(t + "x", p + "x", *rest) for t, p, *rest in PREFIXES], temperature=1.0)
    with pytest.raises(SchemaError, match="mixes temperatures"):
        is_estimates(pd.concat([s1, s2]), pd.concat([v1, v2]))


def test_donor_correction_needs_donor_columns():
    s, v = tables()
    with pytest.raises(SchemaError, match="no-donor-correction"):
        is_estimates(s.drop(columns="donor_rate_prefix"), v, missing_donor_rate="error")
    with pytest.warns(MissingDonorRateWarning, match="uncorrected"):  # the default: used, counted, warned
        r = is_estimates(s.drop(columns="donor_rate_prefix"), v)
    assert r.summary["n_terms_uncorrected"].iloc[0] == len(s)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = is_estimates(s.drop(columns=["donor_rate_prefix", "donor_rate_task"]), v, donor_correction=False)
    assert not r.summary["donor_correction"].iloc[0]


def test_unsampled_prefix_is_left_out_with_warning():
    s, v = tables()
    extra = s.iloc[[0]].assign(prefix_id="p9")
    with pytest.warns(MissingVerdictsWarning, match="1 scored prefixes"):
        t = importance_terms(pd.concat([s, extra]), v)
    assert "p9" not in set(t["prefix_id"])


def test_point_lower_bound_takes_max_over_nested_prefixes_never_sum():
    s, v = tables()
    r = lower_bounds(s, v, point=True).summary.iloc[0]
    t1 = max(-15.0 + np.log(0.25), -30.0 + np.log(0.5))
    t2 = max(-12.0 + -np.inf, -14.0 + np.log(0.25))
    assert r["log10_value"] == pytest.approx((logsumexp([t1, t2]) - np.log(2)) / np.log(10))
    assert r["method"] == "lower_bound_point" and r["n_tasks"] == 2


def test_lower_bound_uses_bonferroni_clopper_pearson_limits():
    from scipy.stats import beta

    s, v = tables()
    r = lower_bounds(s, v, alpha=0.05).summary.iloc[0]
    # two prefixes per task, so each r gets its one-sided lower limit at level 0.05 / 2
    t1 = max(-15.0 + np.log(beta.ppf(0.025, 2, 7)), -30.0 + np.log(beta.ppf(0.025, 4, 5)))
    t2 = -14.0 + np.log(beta.ppf(0.025, 1, 4))  # p3 saw 0 of 8: its limit is 0
    assert r["log10_value"] == pytest.approx((logsumexp([t1, t2]) - np.log(2)) / np.log(10))
    assert r["method"] == "lower_bound" and r["n_tasks"] == 2 and r["interval"] == "none"
    assert r["log10_value"] < lower_bounds(s, v, point=True).summary["log10_value"].iloc[0]


# ---- exact-answer tests against the synthetic generative model -------------------------------------


WORLD = synthetic_world(proposal="donor", seed=0)


@pytest.fixture(scope="module")
def good_runs():
    world = WORLD
    return simulate(world, replicates=300, n_tasks=40, prefixes_per_task=4, rollouts_per_prefix=8, seed=1)


@pytest.mark.parametrize("pooling", ["sample", "task"])
def test_is_mean_matches_truth_across_seeds(good_runs, pooling):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = is_estimates(good_runs.scores, good_runs.verdicts, by=["replicate"], pooling=pooling,
                         n_boot=0).summary
    mean, se = s["value"].mean(), s["value"].std() / np.sqrt(len(s))
    assert abs(mean - good_runs.truth) < 4 * se, f"mean {mean} truth {good_runs.truth} se {se} (seed 1)"


def test_bootstrap_interval_coverage_near_nominal(good_runs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = is_estimates(good_runs.scores, good_runs.verdicts, by=["replicate"], n_boot=400, seed=3).summary
    cover = ((s["lower"] <= good_runs.truth) & (good_runs.truth <= s["upper"])).mean()
    # Percentile bootstrap over 40 tasks under-covers slightly (measured 0.89 for nominal 0.95).
    assert 0.85 <= cover <= 0.99, f"coverage {cover} (seeds 1, 3)"


def test_without_donor_correction_the_estimate_is_biased(good_runs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = is_estimates(good_runs.scores, good_runs.verdicts, by=["replicate"], donor_correction=False,
                         n_boot=0).summary
    # Treating q as D gives E = mean_x sum_z P r a_D / pi_D: exploit-prone prefixes are over-weighted.
    biased = float(((WORLD.p_subject * WORLD.r * WORLD.a_donor).sum(axis=1) / WORLD.pi_donor).mean())
    mean, se = s["value"].mean(), s["value"].std() / np.sqrt(len(s))
    assert biased > 1.5 * good_runs.truth
    assert abs(mean - biased) < 4 * se, f"mean {mean} expected {biased} se {se}"


def test_ess_is_small_when_the_proposal_is_bad():
    kw = dict(replicates=50, n_tasks=30, prefixes_per_task=6, rollouts_per_prefix=8, seed=2)
    good = simulate(synthetic_world(proposal="donor", seed=0, log10_rate=-3), **kw)
    bad = simulate(synthetic_world(proposal="bad", seed=0, log10_rate=-3), **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        eg = is_estimates(good.scores, good.verdicts, by=["replicate"], n_boot=0).summary["ess"].mean()
        eb = is_estimates(bad.scores, bad.verdicts, by=["replicate"], n_boot=0).summary["ess"].mean()
    assert eb < 2.0 < eg and eb < eg / 2, f"ESS bad {eb} good {eg}"


def test_refuses_checkpoint_with_two_steps():
    s, v = tables()
    s["step"] = 11
    with pytest.raises(SchemaError, match="step 11 in the scores but 10"):
        importance_terms(s, v)
