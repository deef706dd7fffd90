"""``write_report``: read a run database and write ``report.html`` plus its PNG figures."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from hackwatch.report import _figures
from hackwatch.report._html import Section, render_html, write_atomic

ESTIMATE_SHOWN = ["exploit_type", "checkpoint", "step", "method", "value", "log10_value", "log10_lower",
                  "log10_upper", "n", "n_tasks", "successes", "ess", "max_weight_share", "donor_correction"]


FORECAST_SHOWN = ["exploit_type", "method", "n_points", "level", "slope", "slope_se", "projected_log10",
                  "crossing_step", "crossing_lower", "crossing_upper", "crossing_kind", "score", "emerged",
                  "first_exploit_step", "first_crossing_step"]


def _footer(checkpoints: pd.DataFrame, prov: dict[str, object], n_tasks: int) -> str:
    subject = checkpoints[checkpoints["role"] == "subject"].sort_values("step") if len(checkpoints) else checkpoints
    model_text = ", ".join(f"{c.checkpoint}={c.path}" for c in subject.itertuples(index=False))
    if len(model_text) > 160:
        model_text = model_text[:157] + "…"
    donor = prov.get("donor_model") or "bank log-probs"
    return (f"run {prov.get('run_name', '?')} · model: {model_text} · donor: {donor} · data: tasks "
            f"{prov.get('tasks_source', '?')} ({n_tasks} tasks), τ={_cfg(prov, 'sampling', 'temperature')}, "
            f"seed {prov.get('seed', '?')} · hackwatch {prov.get('hackwatch_version', '?')}")


def _cfg(prov: dict[str, object], section: str, key: str) -> object:
    cfg = prov.get("config") or {}
    return (cfg.get(section) or {}).get(key, "?") if isinstance(cfg, dict) else "?"


def write_report(run: str | os.PathLike[str], out: str | os.PathLike[str] | None = None, *,
                 toy_banner: bool | None = None, title: str | None = None) -> Path:
    """Write the HTML report of a run (directory or ``.duckdb``) to ``out``; figures go beside it.

    Figures are written as PNG files to ``<out stem>_figures/`` and inlined (base64) into the HTML,
    so the single HTML file can be shared and opened offline. ``toy_banner=None`` follows the run's
    ``[report].toy_banner``.
    """
    from hackwatch._api import open_run

    r = open_run(run)
    out_path = Path(out) if out is not None else r.run_dir / "report.html"
    fig_dir = out_path.parent / f"{out_path.stem}_figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    prov = r.provenance
    banner = bool(prov.get("toy_banner", False)) if toy_banner is None else toy_banner
    title = title or str(prov.get("title") or prov.get("run_name") or "hackwatch run")
    threshold = float(_cfg(prov, "thresholds", "emergence") or 0.1)  # type: ignore[arg-type]
    footer = _footer(r.checkpoints, prov, len(r.tasks))
    verdicts = r.verdict_table()
    est, fc, ev, flags = r.estimates, r.forecasts, r.evaluation, r.flags

    sections: list[Section] = []
    traj = _figures.trajectories(est, threshold=threshold, footer=footer, path=fig_dir / "trajectories.png")
    s = Section("Exploit probability per exploit type",
                "log10 probability of an exploit over training steps. Direct rates come from unprefilled "
                "samples (exact 95% interval; hollow triangles are upper bounds where no exploit was seen). "
                "IS estimates use donor prefixes with the subject's log-probs (ESS = Kish effective sample "
                "size; low ESS means few prefixes carry the estimate). The lower bound is the best single "
                "prefix's P(z)·r̂. The dotted line is the emergence threshold. The trend matters more than "
                "the level: IS can sit orders of magnitude below the truth early on.")
    if traj is not None:
        s.figures.append((traj, f"Trajectories per exploit type. {footer}"))
    if not est.empty:
        s.tables.append(("Estimates", est[[c for c in ESTIMATE_SHOWN if c in est.columns]]))
    sections.append(s)

    s = Section("Forecasts", f"Trend of the log10 estimate against log(step) using the first "
                f"{_cfg(prov, 'thresholds', 'cutoff')} checkpoints, projected forward; crossing = projected "
                f"step at which the exploit rate passes {threshold:g}.")
    cross = _figures.crossings(fc, threshold=threshold, footer=footer, path=fig_dir / "crossings.png")
    if cross is not None:
        s.figures.append((cross, f"Crossing steps with intervals (observed where the estimate already "
                                 f"exceeded the threshold). {footer}"))
    s.tables.append(("", fc[[c for c in FORECAST_SHOWN if c in fc.columns]] if not fc.empty else fc))
    sections.append(s)

    if not ev.empty:
        sections.append(Section("Forecast evaluation (AUC, lead time)",
                                "How well each method's slope, computed from the first checkpoints only, "
                                "separated the exploit types that later emerged (direct rate above the threshold "
                                "at any checkpoint) from those that did not. AUC with bootstrap interval; "
                                "separation_cutoff = fewest checkpoints giving AUC ≥ 0.9; lead_checkpoints = how "
                                "many checkpoints before direct sampling first saw an exploit the score had "
                                "separated the classes (negative: after).", tables=[("", ev)]))

    sections.append(Section("Exploration-hacking flags",
                            "Flags from the rollout monitor (empty when no rollouts were configured or nothing "
                            "was flagged).", tables=[("", flags)]))

    s = Section("Samples and verdicts")
    labels = _figures.label_counts(verdicts, footer=footer, path=fig_dir / "labels.png")
    if labels is not None:
        s.figures.append((labels, f"Verdict labels per checkpoint. {footer}"))
    if not verdicts.empty:
        counts = verdicts.groupby(["checkpoint", "step", "label"]).size().unstack("label", fill_value=0)
        s.tables.append(("Label counts", counts.reset_index().sort_values("step")))
    sections.append(s)

    prov_rows = [(k, v) for k, v in prov.items() if k != "config"]
    sections.append(Section("Provenance", tables=[
        ("Checkpoints", r.checkpoints.sort_values("step") if not r.checkpoints.empty else r.checkpoints),
        ("Versions, seeds, models", pd.DataFrame(prov_rows, columns=["key", "value"]).astype(str))]))

    n_subject = int((r.checkpoints["role"] == "subject").sum()) if len(r.checkpoints) else 0
    donor = " + donor" if n_subject < len(r.checkpoints) else ""
    subtitle = (f"{len(r.tasks)} tasks, {n_subject} checkpoints{donor}, {len(r.samples)} samples, "
                f"{len(r.scores)} prefix scores · database {r.db_path}")
    write_atomic(out_path, render_html(title, subtitle, sections, toy_banner=banner))
    return out_path
