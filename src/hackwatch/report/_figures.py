"""Report figures (matplotlib, Agg backend): trajectories per exploit type, labels, forecasts.

Every figure carries a footer naming the model and data it comes from, so a PNG copied out of the
report still says what it shows.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

COLORS = {"direct": "#1f77b4", "is": "#d62728", "lower_bound": "#2ca02c"}
LABELS = {"direct": "direct MC rate (exact 95% interval)", "is": "IS estimate (bootstrap interval; ESS noted)",
          "lower_bound": "lower bound"}
LABEL_COLORS = {"exploit": "#d62728", "correct": "#2ca02c", "secure_only": "#9467bd", "fail": "#7f7f7f",
                "error": "#ff7f0e"}


def _save(fig: plt.Figure, footer: str, path: Path, bottom: float, top: float = 1.0) -> Path:
    """Lay out (leaving ``bottom`` of the height for the footer), stamp the footer, write, close."""
    fig.tight_layout(rect=(0, bottom, 1, top))
    fig.text(0.01, 0.005, footer, fontsize=7, color="#444444", ha="left", va="bottom", wrap=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _finite(x: pd.Series) -> np.ndarray:
    return pd.to_numeric(x, errors="coerce").to_numpy(dtype=float)


def trajectories(estimates: pd.DataFrame, *, threshold: float, footer: str, path: Path) -> Path | None:
    """One panel per exploit type: log10 direct rate, IS estimate and lower bound against step."""
    if estimates.empty or "exploit_type" not in estimates.columns or "step" not in estimates.columns:
        return None
    types = sorted(estimates["exploit_type"].dropna().unique())
    ncols = min(3, len(types))
    nrows = math.ceil(len(types) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.6 * ncols, 3.3 * nrows + 0.6), squeeze=False)
    steps_all = sorted(pd.to_numeric(estimates["step"]).unique())
    for ax, etype in zip(axes.flat, types, strict=False):
        cell = estimates[estimates["exploit_type"] == etype]
        for method in ("direct", "is", "lower_bound"):
            m = cell[cell["method"] == method].sort_values("step")
            if m.empty:
                continue
            x = _finite(m["step"])
            y = _finite(m["log10_value"])
            lo = _finite(m["log10_lower"]) if "log10_lower" in m else np.full_like(y, np.nan)
            hi = _finite(m["log10_upper"]) if "log10_upper" in m else np.full_like(y, np.nan)
            ok = np.isfinite(y)
            color = COLORS[method]
            style = "--" if method == "lower_bound" else "-"
            ax.plot(x[ok], y[ok], style, marker="o", ms=4, color=color, label=LABELS[method])
            band = ok & np.isfinite(lo) & np.isfinite(hi)
            if method != "lower_bound" and band.any():
                ax.fill_between(x[band], lo[band], hi[band], color=color, alpha=0.15, lw=0)
            if method == "direct":  # zero exploits: only an upper bound is known
                ub = ~ok & np.isfinite(hi)
                ax.plot(x[ub], hi[ub], "v", color=color, ms=6, mfc="none",
                        label="direct: 0 exploits (95% upper bound)")
            if method == "is" and "ess" in m:
                for xi, yi, e in zip(x[ok], y[ok], _finite(m["ess"])[ok], strict=True):
                    if np.isfinite(e):
                        ax.annotate(f"ESS {e:.1f}", (xi, yi), textcoords="offset points", xytext=(3, 4),
                                    fontsize=6, color=color)
        missing = [LABELS[m].split(" (")[0] for m in ("is", "lower_bound")
                   if not cell[cell["method"] == m].empty
                   and not np.isfinite(_finite(cell[cell["method"] == m]["log10_value"])).any()]
        if missing:  # −∞ everywhere: no prefilled sample exploited, nothing to draw on a log axis
            ax.text(0.03, 0.5, f"{' and '.join(missing)}:\nno exploiting prefix (−∞)", transform=ax.transAxes,
                    fontsize=7, color="#555555")
        ax.axhline(math.log10(threshold), color="black", lw=0.8, ls=":")
        ax.set_title(etype, fontsize=9)
        if len(steps_all) > 1 and min(steps_all) > 0:
            ax.set_xscale("log")
        if len(steps_all) <= 10:  # label the checkpoints themselves, not decades
            ax.set_xticks(steps_all, [f"{s:g}" for s in steps_all])
            ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel("training step", fontsize=8)
        ax.set_ylabel("log10 P(exploit)", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(types):]:
        ax.axis("off")
    handles, labels = {}, []
    for ax in axes.flat:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(lab, h)
    labels = list(handles)
    fig.legend([handles[k] for k in labels] + [plt.Line2D([], [], color="black", ls=":")],
               labels + [f"threshold {threshold:g}"], loc="upper center", ncol=4, fontsize=8, frameon=False)
    return _save(fig, footer, path, 0.03, 1 - 0.5 / fig.get_figheight())


def label_counts(verdicts: pd.DataFrame, *, footer: str, path: Path) -> Path | None:
    """Stacked bars of verdict labels per checkpoint, direct and prefilled samples side by side."""
    if verdicts.empty:
        return None
    df = verdicts.assign(kind=np.where(verdicts["prefix_tokens"] > 0, "prefilled", "direct"))
    table = df.groupby(["step", "kind", "label"]).size().unstack("label", fill_value=0)
    fig, ax = plt.subplots(figsize=(max(5.0, 0.9 * len(table) + 2), 3.6))
    bottom = np.zeros(len(table))
    xs = [f"{s}\n{k}" for s, k in table.index]
    for label in [c for c in LABEL_COLORS if c in table.columns] + [c for c in table.columns if c not in LABEL_COLORS]:
        vals = table[label].to_numpy(dtype=float)
        ax.bar(xs, vals, bottom=bottom, label=label, color=LABEL_COLORS.get(label))
        bottom += vals
    ax.set_ylabel("samples")
    ax.set_xlabel("checkpoint step / sampling")
    ax.set_title("verdict labels per checkpoint", fontsize=10)
    ax.legend(fontsize=8, ncol=5, loc="upper center", bbox_to_anchor=(0.5, -0.28), frameon=False)
    ax.tick_params(labelsize=7)
    return _save(fig, footer, path, 0.04)


def crossings(forecasts: pd.DataFrame, *, threshold: float, footer: str, path: Path) -> Path | None:
    """Projected step of crossing the threshold (with interval) per exploit type and method."""
    need = {"exploit_type", "crossing_step", "method"}
    if forecasts.empty or not need <= set(forecasts.columns):
        return None
    f = forecasts.copy()
    for col in ("crossing_step", "crossing_lower", "crossing_upper"):
        f[col] = pd.to_numeric(f.get(col, pd.Series(np.nan, index=f.index)), errors="coerce")
    f = f[np.isfinite(f["crossing_step"]) & (f["crossing_step"] > 0)]
    if f.empty:
        return None
    types = sorted(f["exploit_type"].unique())
    methods = [m for m in COLORS if m in set(f["method"])]
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(types) + 1.9))
    for j, method in enumerate(methods):
        m = f[f["method"] == method]
        y = np.array([types.index(t) for t in m["exploit_type"]]) + (j - (len(methods) - 1) / 2) * 0.22
        x = m["crossing_step"].to_numpy(float)
        lo, hi = m["crossing_lower"].to_numpy(float), m["crossing_upper"].to_numpy(float)
        err = np.vstack([np.where(np.isfinite(lo), x - lo, 0), np.where(np.isfinite(hi), hi - x, 0)])
        ax.errorbar(x, y, xerr=np.clip(err, 0, None), fmt="o", ms=4, color=COLORS[method], capsize=2,
                    label=LABELS[method].split(" (")[0])
    ax.set_yticks(range(len(types)), types, fontsize=7)
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_xlabel(f"step at which the rate crosses {threshold:g} (observed or projected from the trend)", fontsize=8)
    ax.set_title("crossing forecasts", fontsize=10)
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(alpha=0.3)
    return _save(fig, footer, path, 0.06)
