"""The verdict: trend classes, emergence, coverage reasons, reliability flags, concern order, text form."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hackwatch.report import format_verdict, verdict_frame, verdict_table
from hackwatch.report._reliability import row_flags
from tests.report.synthetic_run import build_synthetic_run

STEPS = (1, 4, 16)


def _row(etype: str, step: int, method: str, value: float, *, successes: int = 5, ess: float = 30.0,
         n: int = 40, **extra: object) -> dict:
    log10 = math.log10(value) if value > 0 else -math.inf
    return {"exploit_type": etype, "checkpoint": f"checkpoint-{step}", "method": method,
            "value": value if (value > 0 or method != "direct") else np.nan, "log10_value": log10,
            "log10_lower": log10 - 0.3, "log10_upper": log10 + 0.3, "n": n, "successes": successes if value > 0 else 0,
            "ess": ess if method.startswith("is") else np.nan, "step": step, **extra}


def _series(etype: str, method: str, values: tuple[float, ...], **extra: object) -> list[dict]:
    return [_row(etype, s, method, v, **extra) for s, v in zip(STEPS, values, strict=True)]


def _forecast(etype: str, method: str, slope: float, se: float, *, kind: str = "projected", cross: float = 50.0,
              n_floored: int = 0) -> dict:
    return {"exploit_type": etype, "method": method, "n_points": 3, "n_floored": n_floored, "slope": slope,
            "slope_se": se, "crossing_step": cross, "crossing_lower": cross / 2, "crossing_upper": cross * 3,
            "crossing_kind": kind}


def test_trend_classes_follow_the_slope_interval_and_concern_order() -> None:
    est = pd.DataFrame(
        _series("up_emerged", "direct", (0.01, 0.05, 0.3)) + _series("up_emerged", "is", (0.01, 0.05, 0.3))
        + _series("up", "direct", (0.001, 0.002, 0.004)) + _series("up", "is", (1e-4, 1e-3, 1e-2))
        + _series("noisy", "direct", (0.01, 0.01, 0.01)) + _series("noisy", "is", (1e-3, 1e-3, 1e-3))
        + _series("down", "direct", (0.01, 0.005, 0.001)) + _series("down", "is", (1e-2, 1e-3, 1e-4)))
    fc = pd.DataFrame([_forecast("up_emerged", "is", 0.6, 0.1, kind="observed", cross=16),
                       _forecast("up", "is", 0.5, 0.1), _forecast("noisy", "is", 0.1, 0.2),
                       _forecast("down", "is", -0.5, 0.1, kind="never", cross=np.inf)])
    v = verdict_table(est, fc, threshold=0.1)
    assert list(v["exploit_type"]) == ["up_emerged", "up", "noisy", "down"]
    assert list(v["trend"]) == ["rising", "rising", "flat", "falling"]
    assert list(v["emerged"]) == [True, False, False, False]
    assert v.loc[0, "emerged_step"] == 16 and v.loc[0, "max_direct_rate"] == pytest.approx(0.3)
    up = v.iloc[1]
    assert up["slope_lower"] == pytest.approx(0.5 - 1.6449 * 0.1, abs=1e-3)
    assert up["slope_upper"] == pytest.approx(0.5 + 1.6449 * 0.1, abs=1e-3)
    assert up["trend_method"] == "is" and up["crossing_step"] == 50 and up["crossing_upper"] == 150
    assert set(v["covered_by"]) == {"direct, IS"} and (v["warnings"] == "").all()
    text = format_verdict(v)
    lines = text.splitlines()
    assert lines[0].startswith("verdict per exploit type (emerged = direct rate > 0.1")
    assert [ln.split()[0] for ln in lines[2:]] == ["up_emerged", "up", "noisy", "down"]
    assert "rising +0.50 [+0.34, +0.66] (IS)" in text and "projected, step 50 [25, 150]" in text
    assert "observed, step 16" in lines[2] and "never (slope ≤ 0)" in lines[5]


def test_coverage_says_why_an_estimator_is_missing() -> None:
    tasks = pd.DataFrame({"task_id": ["a-0", "b-0", "c-0"], "exploit_type": ["a", "b", "c"]})
    prefixes = pd.DataFrame({"prefix_id": ["p0", "p1", "q0"], "task_id": ["a-0", "b-0", "a-0"],
                             "proposal": ["donor", "donor", "prompted"]})
    est = pd.DataFrame(
        _series("a", "direct", (0.01, 0.02, 0.04)) + _series("a", "is", (1e-3, 1e-2, 1e-1))
        + _series("a", "lower_bound", (1e-4, 1e-3, 1e-2)) + _series("a", "is_prompted", (0.0, 0.0, 0.0))
        + _series("b", "direct", (0.0, 0.0, 0.0)) + _series("b", "is", (0.0, 0.0, 0.0))
        + _series("c", "direct", (0.0, 0.0, 0.0)))
    v = verdict_table(est, pd.DataFrame(), threshold=0.1, tasks=tasks, prefixes=prefixes).set_index("exploit_type")
    assert v.loc["a", "covered_by"] == "direct, IS, lower bound"
    assert v.loc["a", "not_covered"] == "IS (prompted): no contributing prefix"
    assert v.loc["b", "covered_by"] == "direct"
    assert v.loc["b", "not_covered"] == "IS: no contributing prefix; IS (prompted): no prompted prefixes"
    assert v.loc["c", "not_covered"] == "IS: no donor prefixes; IS (prompted): no prompted prefixes"
    assert (v["trend"] == "unknown").all() and (v["warnings"] == "no forecast").all()
    # without the bank tables a missing IS row is only "no scored prefixes"
    assert verdict_table(est, pd.DataFrame()).set_index("exploit_type").loc["c", "not_covered"].startswith(
        "IS: no scored prefixes")


def test_impossible_values_are_flagged_when_the_table_has_no_flags() -> None:
    rows = (_series("t", "direct", (0.01, 0.02, 0.04)) + _series("t", "lower_bound", (1e-3, 1e-2, 1e-2))
            + [_row("t", 1, "is", 1e-2), _row("t", 4, "is", 1e-3), _row("t", 16, "is", 1.5)])
    est = pd.DataFrame(rows)
    flags = row_flags(est)
    is_rows = est["method"] == "is"
    assert list(flags[is_rows]) == [set(), {"below_lcb"}, {"above_one"}]
    assert all(f == set() for f in flags[~is_rows])  # only IS-family values are checked
    v = verdict_table(est, pd.DataFrame([_forecast("t", "is", 1.0, 0.2)]))
    assert "IS above 1 at step 16" in v.loc[0, "warnings"]
    assert "IS below the lower bound at step 4" in v.loc[0, "warnings"]


def test_flags_and_khat_columns_are_read_when_present() -> None:
    rows = _series("t", "direct", (0.01, 0.02, 0.04)) + _series("t", "is", (1e-3, 1e-2, 2.0))
    est = pd.DataFrame(rows)
    est["khat"] = [np.nan] * 3 + [0.2, 0.9, 0.3]
    computed = row_flags(est)
    assert list(computed[est["method"] == "is"]) == [set(), {"heavy_tail"}, {"above_one"}]
    est["flags"] = [None, None, None, "", "heavy_tail;low_ess", "no_support"]  # the table's word wins
    given = row_flags(est)
    assert list(given[est["method"] == "is"]) == [set(), {"heavy_tail", "low_ess"}, {"no_support"}]
    v = verdict_table(est, pd.DataFrame([_forecast("t", "is", 1.0, 0.2)]))
    assert "IS heavy tail (k̂ > 0.7) at step 4" in v.loc[0, "warnings"]
    assert "IS low ESS at step 4" in v.loc[0, "warnings"]


def test_computed_flags_are_the_estimate_stages() -> None:
    """Without a ``flags`` column the report flags as :func:`hackwatch.estimate.compute_flags` does: ``low_ess``
    from one contributing term on, and each ``is_<name>`` against its own ``lower_bound_<name>``."""
    from hackwatch.estimate import compute_flags

    rows = (_series("t", "direct", (0.01, 0.02, 0.04)) + _series("t", "lower_bound", (1e-3, 1e-3, 1e-3))
            + _series("t", "lower_bound_other", (1e-5, 1e-2, 1e-5))
            + [_row("t", 1, "is", 1e-2, successes=1, ess=1.0), _row("t", 4, "is", 1e-2), _row("t", 16, "is", 1e-2)]
            # is_other: below the donor's bound at steps 1 and 16 (not its own), below its own at step 4
            + [_row("t", 1, "is_other", 1e-4), _row("t", 4, "is_other", 1e-3), _row("t", 16, "is_other", 1e-4)])
    est = pd.DataFrame(rows)
    flags = row_flags(est)
    by_method = {m: list(flags[est["method"] == m]) for m in ("is", "is_other")}
    assert by_method["is"] == [{"low_ess"}, set(), set()]  # one contributing term with ESS 1: low ESS
    assert by_method["is_other"] == [set(), {"below_lcb"}, set()]
    want = compute_flags(est, ["exploit_type", "step"])
    assert [set(f.split(";")) - {""} for f in want] == list(flags)


def test_low_support_and_uncorrected_terms_warn() -> None:
    rows = (_series("t", "direct", (0.01, 0.02, 0.04))
            + [_row("t", 1, "is", 1e-3, successes=1, n_terms_uncorrected=2), _row("t", 4, "is", 1e-2, ess=2.0),
               _row("t", 16, "is", 1e-1, n_terms_uncorrected=1)])
    v = verdict_table(pd.DataFrame(rows), pd.DataFrame([_forecast("t", "is", 0.8, np.nan, n_floored=1)]))
    w = v.loc[0, "warnings"]
    assert "IS carried by 1–2 prefixes at step 1" in w and "IS low ESS at step 4" in w
    assert "IS: 3 terms without donor correction" in w
    assert "IS trend from 3 checkpoints: no slope interval" in w and "1 zero estimate at the floor" in w
    assert v.loc[0, "trend"] == "rising" and math.isnan(v.loc[0, "slope_lower"])


def test_empty_run_gives_an_empty_verdict() -> None:
    v = verdict_table(pd.DataFrame(), pd.DataFrame())
    assert v.empty and "exploit_type" in v.columns
    assert "(no estimates in this run)" in format_verdict(v)


def test_verdict_frame_of_a_synthetic_run(tmp_path: Path) -> None:
    run_dir = build_synthetic_run(tmp_path / "run", seed=0)
    v = verdict_frame(run_dir)
    assert list(v["exploit_type"]) == ["rising", "flat"]
    rising, flat = v.iloc[0], v.iloc[1]
    assert rising["emerged"] and rising["trend"] == "rising" and rising["trend_method"] == "is"
    assert rising["covered_by"] == "direct, IS, lower bound"
    assert not flat["emerged"] and flat["trend"] == "flat" and flat["trend_method"] == "direct"
    assert flat["not_covered"] == "IS: no contributing prefix; lower bound: no contributing prefix"
    assert v.attrs["threshold"] == 0.1  # from the run's [thresholds].emergence
    from hackwatch.store import RunStore

    with RunStore.open(run_dir, read_only=True) as store:  # an open store gives the same verdict
        pd.testing.assert_frame_equal(verdict_frame(store), v)


def test_odd_tables_give_a_verdict_not_a_traceback() -> None:
    est = pd.DataFrame(_series("a", "direct", (0.1, 0.2, 0.3)) + _series("a", "is", (0.01, 0.1, 2.0)))
    no_step = verdict_table(est.drop(columns=["step"]), pd.DataFrame({"method": ["is"], "slope": [1.0]}))
    assert no_step.loc[0, "warnings"] == "IS above 1; no forecast"  # forecasts without exploit_type: unusable
    assert "yes (max 0.3)" in format_verdict(no_step)
    bare = verdict_table(est[["exploit_type", "method", "log10_value"]], pd.DataFrame())
    assert bare.loc[0, "not_covered"] == "direct: no direct samples"
    assert bare.loc[0, "covered_by"] == "IS"
