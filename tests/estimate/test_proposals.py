"""Tables holding several IS proposals (column ``proposal``): each is estimated on its own rows."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from hackwatch.estimate import StatisticalWarning, estimate_cells, estimate_proposals, split_proposals
from hackwatch.estimate.synthetic import simulate, synthetic_world


def _tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    """A donor bank with direct samples plus a second proposal ``bad`` on the same tasks (own prefix ids)."""
    good = simulate(synthetic_world(seed=0, log10_rate=-2), n_tasks=10, prefixes_per_task=3, direct_per_task=4, seed=1)
    bad = simulate(synthetic_world(proposal="bad", seed=0, log10_rate=-2), n_tasks=10, prefixes_per_task=3, seed=2)
    bv, bs = bad.verdicts.copy(), bad.scores.copy()
    bv["prefix_id"] = "bad:" + bv["prefix_id"]
    bs["prefix_id"] = "bad:" + bs["prefix_id"]
    gv = good.verdicts.assign(proposal=lambda d: d["prefix_id"].map(lambda p: None if p is None else "donor"))
    v = pd.concat([gv, bv.assign(proposal="bad")], ignore_index=True)
    s = pd.concat([good.scores.assign(proposal="donor"), bs.assign(proposal="bad")], ignore_index=True)
    return v, s


def test_each_proposal_is_estimated_on_its_own_rows() -> None:
    v, s = _tables()
    banks = split_proposals(v, s)
    assert [b.name for b in banks] == ["donor", "bad"]
    assert banks[0].verdicts["prefix_tokens"].eq(0).any() and not banks[1].verdicts["prefix_tokens"].eq(0).any()
    assert sum(len(b.verdicts) for b in banks) == len(v) and sum(len(b.scores) for b in banks) == len(s)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = estimate_proposals(v, s, n_boot=50).summary
        donor = estimate_cells(banks[0].verdicts, banks[0].scores, n_boot=50).summary
        bad = estimate_cells(banks[1].verdicts, banks[1].scores, n_boot=50).summary
        pooled = estimate_cells(v, s, n_boot=50).summary
    assert list(got["method"]) == ["direct", "is", "lower_bound", "is_bad", "lower_bound_bad"]
    value = got.set_index("method")["log10_value"]
    assert value["is"] == donor.set_index("method").loc["is", "log10_value"]
    assert value["is_bad"] == bad.set_index("method").loc["is", "log10_value"]
    assert value["is"] != pooled.set_index("method").loc["is", "log10_value"]  # what pooling gave


def test_one_proposal_is_estimated_as_given() -> None:
    v, s = _tables()
    v, s = v[v["proposal"] != "bad"], s[s["proposal"] != "bad"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pd.testing.assert_frame_equal(estimate_proposals(v, s, n_boot=50).summary,
                                      estimate_cells(v, s, n_boot=50).summary)


def test_a_proposal_without_scores_is_left_out_with_a_warning() -> None:
    v, s = _tables()
    with pytest.warns(StatisticalWarning, match="proposal 'bad' has no prefilled verdicts or no scores"):
        got = estimate_proposals(v, s[s["proposal"] != "bad"], n_boot=50, verdicts_source="v.parquet").summary
    assert "is_bad" not in set(got["method"]) and "is" in set(got["method"])
