"""The per-row policy for IS terms without a donor rate (missing_donor_rate), with exact answers."""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.special import logsumexp

from hackwatch.estimate import (
    MissingDonorRateWarning,
    SchemaError,
    estimate_cells,
    importance_terms,
    is_estimates,
    lower_bounds,
    zero_success_upper,
)
from hackwatch.estimate.synthetic import simulate, synthetic_world

WORLD = synthetic_world(n_types=12, n_prefixes=6, seed=4)
B = 8


def data():
    d = simulate(WORLD, replicates=2, n_tasks=6, prefixes_per_task=3, rollouts_per_prefix=8, seed=5)
    scores = d.scores.assign(donor_prefix_attempts=B)
    return scores, d.verdicts


def r_hat(scores, verdicts):
    pre = verdicts[verdicts["prefix_tokens"] > 0]
    return pre.groupby("prefix_id")["exploit"].mean().reindex(scores["prefix_id"]).to_numpy()


def hand_lambda(scores, verdicts, policy):
    """λ per score row, by hand: NaN marks a dropped row."""
    with np.errstate(divide="ignore"):
        base = scores["logp_subject"] - scores["logp_donor"] + np.log(r_hat(scores, verdicts))
    rt, rp = scores["donor_rate_task"].to_numpy(), scores["donor_rate_prefix"].to_numpy()
    miss = np.isnan(rp)
    corr = np.log(rt) - np.log(np.where(miss, 1.0, rp))
    if policy == "uncorrected":
        corr = np.where(miss, 0.0, corr)
    elif policy == "drop":
        corr = np.where(miss, np.nan, corr)
    elif policy == "upper":
        corr = np.where(miss, np.log(rt) - np.log(1 - 0.05 ** (1 / B)), corr)
    return base.to_numpy() + corr


def hand_value(scores, lam, replicate, pooling="sample"):
    sel = (scores["replicate"] == replicate).to_numpy() & ~np.isnan(lam)
    if pooling == "sample":
        return (logsumexp(lam[sel]) - np.log(sel.sum())) / np.log(10)
    per_task = [logsumexp(lam[sel & (scores["task_id"] == t).to_numpy()]) - np.log(
        (sel & (scores["task_id"] == t).to_numpy()).sum()) for t in pd.unique(scores["task_id"][sel])]
    return (logsumexp(per_task) - np.log(len(per_task))) / np.log(10)


def run(scores, verdicts, policy, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return is_estimates(scores, verdicts, by=["replicate"], missing_donor_rate=policy, n_boot=0,
                            **kw).summary.set_index("replicate")


def with_missing(scores, verdicts):
    """Remove a_D from three contributing rows of replicate 0 and one non-contributing row."""
    rh = r_hat(scores, verdicts)
    rep0 = (scores["replicate"] == 0).to_numpy()
    contributing = np.flatnonzero(rep0 & (rh > 0))[:3]
    zero = np.flatnonzero(rep0 & (rh == 0))[:1]
    assert len(contributing) == 3 and len(zero) == 1, "synthetic draw changed; pick other rows"
    out = scores.copy()
    out.loc[np.r_[contributing, zero], "donor_rate_prefix"] = np.nan
    return out, np.r_[contributing, zero]


@pytest.mark.parametrize("pooling", ["sample", "task"])
def test_policies_agree_when_every_rate_is_present(pooling):
    s, v = data()
    ref = run(s, v, "error", pooling=pooling)
    for policy in ("uncorrected", "drop", "upper"):
        got = run(s, v, policy, pooling=pooling)
        np.testing.assert_array_equal(got["log10_value"], ref["log10_value"])
        assert (got[["n_terms_uncorrected", "n_terms_dropped", "n_terms_upper"]] == 0).all().all()
        assert (got["missing_donor_rate"] == policy).all() and got["donor_correction"].all()
    lam = hand_lambda(s, v, "error")
    for rep in (0, 1):
        assert ref.loc[rep, "log10_value"] == pytest.approx(hand_value(s, lam, rep, pooling))


@pytest.mark.filterwarnings("ignore::hackwatch.estimate.LowESSWarning")
@pytest.mark.parametrize("policy", ["uncorrected", "drop", "upper"])
@pytest.mark.parametrize("pooling", ["sample", "task"])
def test_missing_rates_give_the_documented_values(policy, pooling):
    s, v = data()
    s_miss, rows = with_missing(s, v)
    lam = hand_lambda(s_miss, v, policy)
    with pytest.warns(MissingDonorRateWarning, match=r"replicate=0 \(4 of 18"):
        got = is_estimates(s_miss, v, by=["replicate"], missing_donor_rate=policy, n_boot=0,
                           pooling=pooling).summary.set_index("replicate")
    full = run(s, v, "error", pooling=pooling)
    for rep in (0, 1):
        assert got.loc[rep, "log10_value"] == pytest.approx(hand_value(s_miss, lam, rep, pooling), abs=1e-12)
    # replicate 1 is untouched; replicate 0 moved
    assert got.loc[1, "log10_value"] == full.loc[1, "log10_value"]
    assert got.loc[0, "log10_value"] != pytest.approx(full.loc[0, "log10_value"])
    counts = got.loc[0, ["n_terms_uncorrected", "n_terms_dropped", "n_terms_upper"]].tolist()
    assert counts == {"uncorrected": [4, 0, 0], "drop": [0, 4, 0], "upper": [0, 0, 4]}[policy]
    assert got.loc[0, "n"] == (14 if policy == "drop" else 18)
    assert got.loc[0, "successes"] == (full.loc[0, "successes"] - (3 if policy == "drop" else 0))
    assert got.loc[1, ["n_terms_uncorrected", "n_terms_dropped", "n_terms_upper"]].tolist() == [0, 0, 0]
    assert bool(got.loc[0, "donor_correction"]) and got.loc[0, "missing_donor_rate"] == policy


def test_terms_say_what_each_row_got():
    s, v = data()
    s_miss, rows = with_missing(s, v)
    t = importance_terms(s_miss, v, missing_donor_rate="drop").set_index("prefix_id")
    dropped = set(s_miss["prefix_id"].iloc[rows])
    assert set(t.index[t["donor_rate_status"] == "dropped"]) == dropped
    assert t.loc[list(dropped), "log_term"].isna().all()
    assert (t.loc[~t.index.isin(dropped), "donor_rate_status"] == "corrected").all()
    t0 = importance_terms(s_miss, v, donor_correction=False)
    assert (t0["donor_rate_status"] == "not_requested").all()


def test_error_policy_names_the_row():
    s, v = data()
    s_miss, rows = with_missing(s, v)
    first = int(rows.min())
    pid = s_miss["prefix_id"].iloc[first]
    with pytest.raises(SchemaError, match=rf"s.parquet: scores row {first} \(prefix synthetic/[^/]+/{pid}\), "
                                          r"column 'donor_rate_prefix': expected a rate in \(0, 1\], got null; "
                                          r".*missing_donor_rate='uncorrected'"):
        is_estimates(s_miss, v, by=["replicate"], scores_source="s.parquet", missing_donor_rate="error")
    with pytest.raises(SchemaError, match=r"column 'donor_rate_prefix': expected a rate in \(0, 1\], got 0.0"):
        is_estimates(s.assign(donor_rate_prefix=s["donor_rate_prefix"].where(s.index != 2, 0.0)), v,
                     by=["replicate"], missing_donor_rate="error")


def test_upper_bound_is_the_one_sided_clopper_pearson_bound():
    b = np.array([1, 4, 8, 100])
    up = zero_success_upper(b, alpha=0.05)
    np.testing.assert_allclose((1 - up) ** b, 0.05)  # P(0 of B | a = a⁺) = α exactly
    assert zero_success_upper(np.array([0]))[0] == 1.0  # nothing tried: the only sure bound is 1


def test_upper_needs_attempts_and_task_rate():
    s, v = data()
    s_miss, rows = with_missing(s, v)
    with pytest.raises(SchemaError, match="lacks column 'donor_prefix_attempts'"):
        is_estimates(s_miss.drop(columns="donor_prefix_attempts"), v, by=["replicate"], missing_donor_rate="upper")
    s_task = s_miss.copy()
    s_task.loc[rows[0], "donor_rate_task"] = np.nan
    with pytest.raises(SchemaError, match=rf"scores row {rows[0]}, column 'donor_rate_task'"):
        is_estimates(s_task, v, by=["replicate"], missing_donor_rate="upper")
    # the other policies accept a missing task rate (and a missing column)
    got = run(s_miss.drop(columns="donor_rate_task"), v, "uncorrected")
    assert got["n_terms_uncorrected"].tolist() == [18, 18] and got["donor_correction"].all()
    # with no task rate at all, every term is the uncorrected one
    base = run(s, v, "error", donor_correction=False)
    np.testing.assert_allclose(got["log10_value"], base["log10_value"])


def test_a_cell_whose_prefixes_are_all_dropped_has_no_value():
    s, v = data()
    s_all = s.assign(donor_rate_prefix=np.where(s["replicate"] == 1, np.nan, s["donor_rate_prefix"]))
    got = run(s_all, v, "drop")
    assert np.isnan(got.loc[1, "log10_value"]) and got.loc[1, "n"] == 0 and got.loc[1, "n_tasks"] == 0
    assert got.loc[1, "n_terms_dropped"] == 18 and got.loc[1, "interval"] == "none"
    assert np.isfinite(got.loc[0, "log10_value"])


def test_lower_bounds_and_direct_rows_ignore_the_policy():
    s, v = data()
    s_miss, _ = with_missing(s, v)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = estimate_cells(v, s_miss, by=["replicate"], missing_donor_rate="drop", n_boot=0).summary
    lb = est[est["method"] == "lower_bound"].set_index("replicate")
    ref = lower_bounds(s, v, by=["replicate"]).summary.set_index("replicate")
    np.testing.assert_array_equal(lb["log10_value"], ref["log10_value"])
    assert lb["n_terms_dropped"].isna().all() and est.loc[est["method"] == "is", "n_terms_dropped"].tolist() == [4, 0]


def test_refuses_terms_made_with_another_policy():
    s, v = data()
    s_miss, _ = with_missing(s, v)
    terms = importance_terms(s_miss, v, by=["replicate"], missing_donor_rate="drop")
    with pytest.raises(ValueError, match="compute the terms with the same settings"):
        is_estimates(s_miss, v, by=["replicate"], missing_donor_rate="uncorrected", terms=terms)
    with pytest.raises(ValueError, match="missing_donor_rate 'zero' unknown"):
        is_estimates(s, v, by=["replicate"], missing_donor_rate="zero")  # type: ignore[arg-type]


def test_drop_is_unbiased_when_rates_are_missing_at_random():
    """The documented property: missingness independent of the prefix leaves "drop" unbiased."""
    d = simulate(synthetic_world(proposal="donor", seed=0), replicates=300, n_tasks=40, prefixes_per_task=4,
                 rollouts_per_prefix=8, seed=1)
    rng = np.random.default_rng(11)
    scores = d.scores.assign(donor_rate_prefix=np.where(rng.uniform(size=len(d.scores)) < 0.3, np.nan,
                                                        d.scores["donor_rate_prefix"]))
    s = run(scores, d.verdicts, "drop")
    mean, se = s["value"].mean(), s["value"].std() / np.sqrt(len(s))
    assert abs(mean - d.truth) < 4 * se, f"mean {mean} truth {d.truth} se {se}"
    assert 0.25 < s["n_terms_dropped"].sum() / (s["n"].sum() + s["n_terms_dropped"].sum()) < 0.35


@pytest.fixture(scope="module")
def zero_of_b_runs():
    """Rates missing as a real bank leaves them: null exactly when 0 of B = 4 donor continuations exploited.

    The present rows keep the exact a_D, isolating the effect of the policy on the missing rows.
    """
    world = synthetic_world(proposal="donor", seed=0)
    d = simulate(world, replicates=400, n_tasks=40, prefixes_per_task=4, rollouts_per_prefix=8,
                 donor_prefix_attempts=4, seed=1)
    scores = d.scores.assign(donor_rate_prefix=np.where(d.scores["donor_rate_prefix"].isna(), np.nan,
                                                        d.scores["true_rate_prefix"]))
    return world, d, scores


def test_drop_tends_to_the_documented_ratio_when_missingness_depends_on_the_prefix(zero_of_b_runs):
    world, d, scores = zero_of_b_runs
    surv = 1 - (1 - world.a_donor) ** 4  # s(z): probability that a_D is present
    limit = (world.p_subject * world.r * surv).sum(1).mean() / (world.proposal * surv).sum(1).mean()
    s = run(scores, d.verdicts, "drop")
    mean, se = s["value"].mean(), s["value"].std() / np.sqrt(len(s))
    assert abs(limit / d.truth - 1) > 6 * se / d.truth, "the world no longer separates the limit from the truth"
    assert abs(mean - limit) < 4 * se, f"mean {mean} limit {limit} truth {d.truth} se {se}"


def test_upper_is_biased_low(zero_of_b_runs):
    _, d, scores = zero_of_b_runs
    s = run(scores, d.verdicts, "upper")
    mean, se = s["value"].mean(), s["value"].std() / np.sqrt(len(s))
    assert mean + 4 * se < d.truth, f"mean {mean} truth {d.truth} se {se}"
