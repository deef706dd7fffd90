"""Trajectory small multiples: one shared y-axis, impossible IS values drawn flagged, extra methods shown."""

from __future__ import annotations

from pathlib import Path

import matplotlib.image
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from hackwatch.report._figures import FLAG_COLOR, trajectories, trajectory_figure
from tests.report.test_verdict import _row, _series


def _orange_pixels(path: Path) -> int:
    img = matplotlib.image.imread(path)[..., :3]
    rgb = np.array([int(FLAG_COLOR[i:i + 2], 16) for i in (1, 3, 5)]) / 255
    return int((np.abs(img - rgb).max(axis=-1) < 0.08).sum())


def _estimates(is_last: float) -> pd.DataFrame:
    rows = (_series("high", "direct", (0.01, 0.05, 0.2)) + _series("high", "lower_bound", (1e-3, 1e-2, 1e-2))
            + [_row("high", 1, "is", 1e-2), _row("high", 4, "is", 3e-2), _row("high", 16, "is", is_last)]
            + _series("low", "direct", (0.0, 0.0, 0.0)) + _series("low", "is", (1e-9, 1e-8, 1e-7)))
    return pd.DataFrame(rows)


def test_panels_share_one_y_axis_that_shows_probability_one() -> None:
    fig, bottom, top = trajectory_figure(_estimates(0.1), threshold=0.1, order=["low", "high"],
                                         titles={"low": "low — flat"})
    try:
        axes = [ax for ax in fig.axes if ax.has_data()]
        assert [ax.get_title() for ax in axes] == ["low — flat", "high"]  # the verdict's order and titles
        limits = {ax.get_ylim() for ax in axes}
        assert len(limits) == 1  # one y-axis for every panel
        lo, hi = limits.pop()
        assert lo <= -9 and hi > 0  # the 1e-9 IS value and probability 1 are both in view
        assert 0 < bottom < top < 1
    finally:
        plt.close(fig)


def test_values_far_below_the_axis_floor_are_clipped_not_lost() -> None:
    est = _estimates(0.1)
    est.loc[est["exploit_type"] == "low", ["value", "log10_value"]] = [0.0, -400.0]  # underflowed products
    est.loc[est["exploit_type"] == "low", ["log10_lower", "log10_upper"]] = [-401.0, -399.0]
    fig, _, _ = trajectory_figure(est, threshold=0.1)
    try:
        lo, _ = fig.axes[0].get_ylim()
        assert -13 < lo < -12  # the axis stops at the floor ...
        labels = fig.legends[0].get_texts()
        assert any("below 1e-12 (clipped)" in t.get_text() for t in labels)  # ... and says so
    finally:
        plt.close(fig)


def test_impossible_is_values_are_drawn_flagged(tmp_path: Path) -> None:
    ok = trajectories(_estimates(0.1), threshold=0.1, footer="f", path=tmp_path / "ok.png")
    bad = trajectories(_estimates(1.5), threshold=0.1, footer="f", path=tmp_path / "bad.png")
    assert ok is not None and bad is not None
    assert _orange_pixels(bad) > 40 * max(1, _orange_pixels(ok))


def test_extra_is_methods_and_probe_get_their_own_lines() -> None:
    est = pd.concat([_estimates(0.1), pd.DataFrame(_series("high", "is_prompted", (1e-4, 1e-3, 1e-2))
                                                   + _series("high", "probe", (0.02, 0.04, 0.1)))])
    fig, _, _ = trajectory_figure(est, threshold=0.1)
    try:
        labels = {t.get_text() for t in fig.legends[0].get_texts()}
        assert {"IS, prompted prefixes", "probe"} <= labels
    finally:
        plt.close(fig)
