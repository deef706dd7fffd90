"""Report figures (matplotlib, Agg backend): trajectories per exploit type, labels, forecasts.

Every figure carries a footer naming the model and data it comes from, so a PNG copied out of the
report still says what it shows.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.patches  # noqa: E402
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


AXIS_FLOOR = -12.0
"""Lowest log10 drawn on the shared axis; smaller values sit on it as clipped (▼) markers."""
EXTRA_COLORS = ("#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f")
FLAG_COLOR = "#ff7f0e"


def _method_style(method: str, extras: list[str]) -> tuple[str, str, str]:
    """Colour, line style and legend label of a method (extra IS proposals and probes get a palette)."""
    if method in COLORS:
        return COLORS[method], "--" if method == "lower_bound" else "-", LABELS[method]
    color = EXTRA_COLORS[extras.index(method) % len(EXTRA_COLORS)]
    label = f"IS, {method[3:]} prefixes" if method.startswith("is_") else method
    return color, "-." if method.startswith("is_") else ":", label


def _y_limits(estimates: pd.DataFrame) -> tuple[float, float]:
    """One y-range for every panel: all finite values and interval ends, probability 1 always in view."""
    vals = np.concatenate([_finite(estimates[c]) for c in ("log10_value", "log10_lower", "log10_upper")
                           if c in estimates.columns])
    vals = vals[np.isfinite(vals)]
    lo = max(AXIS_FLOOR, float(vals.min())) if vals.size else -4.0
    hi = max(0.0, float(vals.max())) if vals.size else 0.0
    return math.floor(lo) - 0.3, hi + 0.4


def trajectories(estimates: pd.DataFrame, *, threshold: float, footer: str, path: Path,
                 order: list[str] | None = None, titles: dict[str, str] | None = None,
                 notes: dict[str, str] | None = None) -> Path | None:
    """Write :func:`trajectory_figure` to ``path`` (None when there is nothing to draw)."""
    drawn = trajectory_figure(estimates, threshold=threshold, order=order, titles=titles, notes=notes)
    if drawn is None:
        return None
    fig, bottom, top = drawn
    return _save(fig, footer, path, bottom, top)


def trajectory_figure(estimates: pd.DataFrame, *, threshold: float, order: list[str] | None = None,
                      titles: dict[str, str] | None = None,
                      notes: dict[str, str] | None = None) -> tuple[plt.Figure, float, float] | None:
    """Small multiples on ONE shared y-axis: log10 direct rate, IS (+ interval) and lower bound per type.

    IS-family points flagged impossible (above 1, below the cell's lower bound) are drawn as orange
    crosses and labelled; unreliable ones (low ESS, heavy tail) as hollow markers. ``order`` sets the
    panel order (the verdict's), ``titles`` and ``notes`` add a panel's verdict and why an estimator
    is missing. Returns the figure and the bottom and top of its plot area (footer and legend outside).
    """
    if estimates.empty or "exploit_type" not in estimates.columns or "step" not in estimates.columns:
        return None
    from hackwatch.report._reliability import IMPOSSIBLE, UNRELIABLE, row_flags

    estimates = estimates.assign(_flags=row_flags(estimates).to_numpy())
    present = sorted(estimates["exploit_type"].dropna().unique())
    types = [t for t in (order or []) if t in present] + [t for t in present if t not in (order or [])]
    methods = [m for m in ("direct", "is", "lower_bound") if (estimates["method"] == m).any()]
    extras = sorted(m for m in estimates["method"].dropna().unique() if m not in COLORS)
    ncols = min(3, len(types))
    nrows = math.ceil(len(types) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.6 * ncols, 3.1 * nrows + 0.9), squeeze=False,
                             sharey=True)
    y_lo, y_hi = _y_limits(estimates)
    floor = y_lo + 0.15
    steps_all = sorted(pd.to_numeric(estimates["step"]).unique())
    for ax, etype in zip(axes.flat, types, strict=False):
        cell = estimates[estimates["exploit_type"] == etype]
        ax.axhspan(0, y_hi, color="#eeeeee", lw=0)
        for method in methods + extras:
            m = cell[cell["method"] == method].sort_values("step")
            if m.empty:
                continue
            color, style, label = _method_style(method, extras)
            x = _finite(m["step"])
            y = _finite(m["log10_value"])
            lo = _finite(m["log10_lower"]) if "log10_lower" in m else np.full_like(y, np.nan)
            hi = _finite(m["log10_upper"]) if "log10_upper" in m else np.full_like(y, np.nan)
            ok = np.isfinite(y)
            shown = np.maximum(y, floor)
            ax.plot(x[ok], shown[ok], style, marker="o", ms=4, color=color, label=label)
            clipped = ok & (y < floor)
            if clipped.any():
                ax.plot(x[clipped], shown[clipped], "v", color=color, ms=7, label=f"below 1e{AXIS_FLOOR:.0f} (clipped)")
            band = ok & np.isfinite(lo) & np.isfinite(hi)
            if method != "lower_bound" and band.any():
                ax.fill_between(x[band], np.maximum(lo[band], floor), np.maximum(hi[band], floor), color=color,
                                alpha=0.15 if method in COLORS else 0.08, lw=0)
            if method == "direct":  # zero exploits: only an upper bound is known
                ub = ~ok & np.isfinite(hi)
                ax.plot(x[ub], hi[ub], "v", color=color, ms=6, mfc="none",
                        label="direct: 0 exploits (95% upper bound)")
            if not (method == "is" or method.startswith("is_")):
                continue
            flags = m["_flags"].tolist()
            bad = np.array([bool(f & set(IMPOSSIBLE)) for f in flags]) & ok
            weak = np.array([bool(f & set(UNRELIABLE)) for f in flags]) & ok & ~bad
            if weak.any():
                ax.plot(x[weak], shown[weak], "o", ms=8, mfc="white", mec=color, mew=1.5,
                        label="IS unreliable (low ESS or k̂ > 0.7): hollow")
            if bad.any():
                ax.plot(x[bad], shown[bad], "X", ms=10, color=FLAG_COLOR, mec="black", mew=0.6,
                        label="IS impossible (above 1 or below the lower bound): flagged")
            ess, khat = _finite(m["ess"]) if "ess" in m else np.full_like(y, np.nan), \
                _finite(m["khat"]) if "khat" in m else np.full_like(y, np.nan)
            for i in np.flatnonzero(ok):
                words = [f"ESS {ess[i]:.1f}"] if np.isfinite(ess[i]) and method == "is" else []
                words += [f"k̂ {khat[i]:.2f}"] if np.isfinite(khat[i]) else []
                words += ["above 1"] if "above_one" in flags[i] else []
                words += ["< lower bound"] if "below_lcb" in flags[i] else []
                if words:
                    ax.annotate(" ".join(words), (x[i], shown[i]), textcoords="offset points", xytext=(3, 4),
                                fontsize=6, color="black" if bad[i] else color)
        if notes and notes.get(etype):
            ax.text(0.03, 0.04, notes[etype], transform=ax.transAxes, fontsize=6.5, color="#555555", va="bottom",
                    wrap=True)
        ax.axhline(math.log10(threshold), color="black", lw=0.8, ls=":")
        ax.axhline(0, color="#888888", lw=0.6)
        ax.set_title((titles or {}).get(etype, etype), fontsize=9)
        if len(steps_all) > 1 and min(steps_all) > 0:
            ax.set_xscale("log")
        if len(steps_all) <= 10:  # label the checkpoints themselves, not decades
            ax.set_xticks(steps_all, [f"{s:g}" for s in steps_all])
            ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel("training step", fontsize=8)
        ax.set_ylabel("log10 P(exploit)", fontsize=8)
        ax.tick_params(labelsize=7, labelleft=True)
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylim(y_lo, y_hi)
    for ax in list(axes.flat)[len(types):]:
        ax.axis("off")
    handles: dict[str, object] = {}
    for ax in axes.flat:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(lab, h)
    labels = list(handles)
    extra = [plt.Line2D([], [], color="black", ls=":"), matplotlib.patches.Patch(color="#eeeeee")]
    fig.legend([handles[k] for k in labels] + extra,
               labels + [f"threshold {threshold:g}", "P > 1 (impossible)"], loc="upper center", ncol=3, fontsize=8,
               frameon=False)
    legend_rows = math.ceil((len(labels) + 2) / 3)
    return fig, 0.03 / max(1, nrows / 2), 1 - (0.2 + 0.17 * legend_rows) / fig.get_figheight()


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


def exploration(sources: list, *, footer: str, path: Path) -> Path | None:
    """Per monitored run (row): pass@1 and the share of zero-variance groups per subset over steps.

    ``sources`` are :class:`hackwatch.report._explore.FlagSource` objects; those without rollout
    metrics are skipped. Flagged subsets are drawn thick and named in red in the legend.
    """
    from hackwatch.report._explore import flagged_subsets

    shown = [s for s in sources if s.metrics is not None and not s.metrics.empty]
    if not shown:
        return None
    fig, axes = plt.subplots(len(shown), 2, figsize=(10.5, 2.9 * len(shown) + 0.5), squeeze=False)
    for (ax_pass, ax_zero), src in zip(axes, shown, strict=True):
        flagged = flagged_subsets(src)
        m = src.metrics
        for k, (subset, g) in enumerate(m.groupby("subset", sort=True)):
            g = g.sort_values("step")
            bad = str(subset) in flagged
            style = {"lw": 2.4 if bad else 1.2, "color": "#d62728" if bad else EXTRA_COLORS[k % len(EXTRA_COLORS)],
                     "marker": "o", "ms": 3, "label": f"{subset}{' (flagged)' if bad else ''}"}
            for ax, col in ((ax_pass, "pass@1"), (ax_zero, "frac_zero_std")):
                if col in g.columns:
                    ax.plot(_finite(g["step"]), _finite(g[col]), **style)
        ax_pass.set_title(f"{src.label}: pass@1 per subset", fontsize=9)
        ax_zero.set_title(f"{src.label}: groups with zero reward variance", fontsize=9)
        for ax in (ax_pass, ax_zero):
            ax.set_ylim(-0.05, 1.05)
            ax.set_xlabel("RL step", fontsize=8)
            ax.tick_params(labelsize=7)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7, loc="best")
        ax_pass.set_ylabel("share", fontsize=8)
    return _save(fig, footer, path, 0.05 / len(shown))
