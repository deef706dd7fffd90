"""``write_report``: read a run database and write ``report.html`` plus its PNG figures."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from hackwatch.report import _figures
from hackwatch.report._explore import FlagSource, flag_sources, flags_table, is_demo_run
from hackwatch.report._html import Section, Table, render_html, write_atomic
from hackwatch.report._reliability import row_flags
from hackwatch.report._sensitivity import sensitivity_frame, sensitivity_tables, sensitivity_text
from hackwatch.report._verdict import verdict_display, verdict_frame

ESTIMATE_SHOWN = ["exploit_type", "checkpoint", "step", "method", "value", "log10_value", "log10_lower",
                  "log10_upper", "n", "n_tasks", "successes", "ess", "max_weight_share", "donor_correction", "khat", "flags"]


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
                 toy_banner: bool | None = None, title: str | None = None,
                 extra_flags: Mapping[str, pd.DataFrame | str | os.PathLike[str]] | None = None) -> Path:
    """Write the HTML report of a run (directory or ``.duckdb``) to ``out``; figures go beside it.

    The report opens with the verdict per exploit type (:func:`verdict_frame`), then the evidence.
    Figures are written as PNG files to ``<out stem>_figures/`` and inlined (base64) into the HTML,
    so the single HTML file can be shared and opened offline. ``toy_banner=None`` follows the run's
    ``[report].toy_banner``. ``extra_flags`` adds exploration-hacking flags of other monitored runs
    (label → flags table or flags file); a run made by ``hackwatch demo`` (provenance ``config_origin``
    ``demo``) picks up its locked organism's ``locked/flags.parquet`` beside the run folder by itself,
    other runs never look there.
    """
    from hackwatch._api import open_run

    r = open_run(run)
    out_path = Path(out) if out is not None else r.run_dir / "report.html"
    prov = r.provenance
    config = prov.get("config") if isinstance(prov.get("config"), dict) else {}
    sources = flag_sources(r.flags, config, r.run_dir, extra_flags, demo_run=is_demo_run(prov))  # may raise on a bad extra file: before writing
    fig_dir = out_path.parent / f"{out_path.stem}_figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    banner = bool(prov.get("toy_banner", False)) if toy_banner is None else toy_banner
    title = title or str(prov.get("title") or prov.get("run_name") or "hackwatch run")
    emergence = _cfg(prov, "thresholds", "emergence")  # "?" when the run recorded no config
    threshold = float(emergence) if isinstance(emergence, int | float) and emergence > 0 else 0.1
    footer = _footer(r.checkpoints, prov, len(r.tasks))
    verdicts = r.verdict_table()
    est, fc, ev = r.estimates, r.forecasts, r.evaluation
    verdict = verdict_frame(r, threshold=threshold)

    sections = [_verdict_section(verdict, threshold, prov)]
    order = list(verdict["exploit_type"])
    titles = {v.exploit_type: f"{v.exploit_type} — {'emerged, ' if v.emerged else ''}{v.trend}"
              for v in verdict.itertuples(index=False)}
    notes = {v.exploit_type: v.not_covered.replace("; ", "\n") for v in verdict.itertuples(index=False)
             if v.not_covered}
    traj = _figures.trajectories(est, threshold=threshold, footer=footer, path=fig_dir / "trajectories.png",
                                 order=order, titles=titles, notes=notes)
    s = Section("Exploit probability per exploit type",
                "log10 probability of an exploit over training steps, every panel on the same y-axis, most "
                "concerning type first. Direct rates come from unprefilled samples (exact 95% interval; hollow "
                "triangles are upper bounds where no exploit was seen). IS estimates use donor prefixes with the "
                "subject's log-probs (band: bootstrap interval; ESS = Kish effective sample size; hollow = "
                "unreliable: low ESS or Pareto k̂ > 0.7). Orange crosses are IS values no probability can take "
                "(above 1, or below the cell's lower bound): they are shown, flagged, never clipped. The lower "
                "bound is a one-sided 95% confidence bound per task: the best tested prefix's P(z) times the "
                "Clopper–Pearson lower limit of r (Bonferroni over the task's prefixes); the line is its mean over "
                "the cell's T tasks, which holds with probability ≥ 1 − T·5% (union bound). The dotted line is the "
                "emergence threshold. The trend matters more than the level: IS can sit orders of magnitude below "
                "the truth early on.",
                section_id="trajectories")
    if traj is not None:
        s.figures.append((traj, f"Trajectories per exploit type. {footer}"))
    if not est.empty:
        shown = est.assign(flags=row_flags(est).map(lambda f: ";".join(sorted(f))).to_numpy())
        s.tables.append(Table("Estimates", shown[[c for c in ESTIMATE_SHOWN if c in shown.columns]]))
    sections.append(s)

    s = Section("Forecasts", f"Trend of the log10 estimate against log(step) using the first "
                f"{_cfg(prov, 'thresholds', 'cutoff')} checkpoints, projected forward; crossing = projected "
                f"step at which the exploit rate passes {threshold:g}.")
    cross = _figures.crossings(fc, threshold=threshold, footer=footer, path=fig_dir / "crossings.png")
    if cross is not None:
        s.figures.append((cross, f"Crossing steps with intervals (observed where the estimate already "
                                 f"exceeded the threshold). {footer}"))
    s.tables.append(Table("Forecast table", fc[[c for c in FORECAST_SHOWN if c in fc.columns]] if not fc.empty else fc))
    sections.append(s)

    if not ev.empty:
        sections.append(Section("Forecast evaluation (AUC, lead time)",
                                "How well each method's slope, computed from the first checkpoints only, "
                                "separated the exploit types that later emerged (direct rate above the threshold "
                                "at any checkpoint) from those that did not. AUC with bootstrap interval; "
                                "separation_cutoff = fewest checkpoints giving AUC ≥ 0.9; lead_checkpoints = how "
                                "many checkpoints before direct sampling first saw an exploit the score had "
                                "separated the classes (negative: after).", tables=[("", ev)]))

    explore = _exploration_section(sources, footer, fig_dir)
    explore.tables += sensitivity_tables(r)  # the [monitor.sensitivity] probe, when the run had one
    explore.text += (" " + sensitivity_text(sensitivity_frame(r))).rstrip()
    sections.append(explore)

    s = Section("Samples and verdicts")
    labels = _figures.label_counts(verdicts, footer=footer, path=fig_dir / "labels.png")
    if labels is not None:
        s.figures.append((labels, f"Verdict labels per checkpoint. {footer}"))
    if not verdicts.empty:
        counts = verdicts.groupby(["checkpoint", "step", "label"]).size().unstack("label", fill_value=0)
        s.tables.append(Table("Label counts", counts.reset_index().sort_values("step")))
    sections.append(s)

    prov_rows = [(k, v if isinstance(v, str) else json.dumps(v, default=str)) for k, v in prov.items() if k != "config"]
    sections.append(Section("Provenance", tables=[
        Table("Checkpoints", r.checkpoints.sort_values("step") if not r.checkpoints.empty else r.checkpoints,
              wrap=True),
        Table("Versions, seeds, models", pd.DataFrame(prov_rows, columns=["key", "value"]), wrap=True,
              collapse=False, table_id="provenance")]))

    n_subject = int((r.checkpoints["role"] == "subject").sum()) if len(r.checkpoints) else 0
    donor = " + donor" if n_subject < len(r.checkpoints) else ""
    subtitle = (f"{len(r.tasks)} tasks, {n_subject} checkpoints{donor}, {len(r.samples)} samples, "
                f"{len(r.scores)} prefix scores · database {r.db_path}")
    write_atomic(out_path, render_html(title, subtitle, sections, toy_banner=banner))
    return out_path


def _verdict_section(verdict: pd.DataFrame, threshold: float, prov: dict[str, object]) -> Section:
    """The verdict table: one row per exploit type, emerged (red) and rising (amber) rows first."""
    n = len(verdict)
    emerged = int(verdict["emerged"].sum()) if n else 0
    rising = int(((verdict["trend"] == "rising") & ~verdict["emerged"].astype(bool)).sum()) if n else 0
    text = (f"{n} exploit types: {emerged} emerged (direct rate above {threshold:g} at some checkpoint), {rising} more "
            f"rising. Trend = slope of the log10 estimate against ln(step) on the first "
            f"{_cfg(prov, 'thresholds', 'cutoff')} checkpoints with its 90% interval (rising: interval above 0); "
            f"crossing = step at which the rate passes {threshold:g}, observed or projected with its interval. "
            f"Estimators lists the methods that give the type a finite estimate; the others say why not. "
            f"Warnings name the steps whose estimates are unreliable or impossible.")
    classes = ["emerged" if v.emerged else "rising" if v.trend == "rising" else "" for v in verdict.itertuples()]
    return Section("Verdict", text, tables=[Table("", verdict_display(verdict), wrap=True, collapse=False,
                                                  row_classes=classes, table_id="verdict")], section_id="verdict-section")


def _exploration_section(sources: list[FlagSource], footer: str, fig_dir: Path) -> Section:
    """Flags of every monitored run with their evidence curves (pass@1, zero-variance groups per subset)."""
    if not sources:
        return Section("Exploration-hacking flags", "No rollouts were monitored in this run ([monitor].rollouts "
                       "is empty) and no extra flags table was found, so nothing can be said about exploration "
                       "hacking here.", section_id="exploration")
    where = "; ".join(f"{src.label}: {src.origin}" + "".join(f" — {n}" for n in src.notes) for src in sources)
    text = ("Flags from the rollout monitor. The tell is reward homogeneity, not text homogeneity: a subset whose "
            "groups all get the same reward (zero variance) gives GRPO no signal, and a subset that stays failing "
            "while another learns is what a locked policy looks like. Sources: " + where + ".")
    s = Section("Exploration-hacking flags", text, section_id="exploration")
    fig = _figures.exploration(sources, footer=footer, path=fig_dir / "exploration.png")
    if fig is not None:
        s.figures.append((fig, f"Evidence per monitored run: pass@1 and share of zero-variance groups per subset "
                               f"over RL steps; flagged subsets in red. {footer}"))
    s.tables.append(Table("Flags", flags_table(sources), wrap=True, collapse=False, table_id="flags"))
    return s
