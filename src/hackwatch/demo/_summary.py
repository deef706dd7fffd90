"""The demo's terminal summary: per exploit type, per forecasting method, IS errors and flags —
all labelled as toy-world numbers.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from hackwatch.demo._config import DemoConfig
    from hackwatch.demo._run import DemoResult

BANNER = "TOY-WORLD NUMBERS: a tiny model on a synthetic corpus; not results about real LLMs."


def _pct(x: Any) -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "-"
    return "-" if math.isnan(v) else f"{100 * v:.1f}%"


def _num(x: Any, fmt: str = "{:.2f}") -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "-"
    return "-" if math.isnan(v) else fmt.format(v)


def summary_lines(result: DemoResult, config: DemoConfig) -> list[str]:
    """The summary as plain lines (the CLI prints them; tests read them)."""
    lines = ["", BANNER, ""]
    lines.append(f"Exploit types (threshold {config.threshold:.0%} direct rate; checkpoints "
                 f"{', '.join(map(str, [s for s in config.checkpoint_steps if s > 0]))}):")
    lines.append(f"  {'exploit type':34s} {'split':9s} {'corpus':>7s} {'kind':5s} {'step0':>6s} {'donor':>6s} "
                 f"{'prefixed':>8s} {'direct@first':>12s} {'direct@last':>11s}  emerged")
    for r in result.types.itertuples(index=False):
        lines.append(f"  {r.exploit_type:34s} {r.split:9s} {_pct(r.base_rate_corpus):>7s} "
                     f"{'hard' if r.hard else 'easy':5s} {_pct(r.step0_rate):>6s} {_pct(r.donor_rate):>6s} "
                     f"{f'{r.tasks_with_prefixes}/{r.tasks}':>8s} {_pct(r.direct_first):>12s} "
                     f"{_pct(r.direct_last):>11s}  {'YES' if r.emerged else 'no'}")
    lines.append("  (step0 / donor: exploit rate with reasoning of the initial model and of the donor; prefixed: "
                 "tasks with verified donor prefixes)")
    tr = result.summary.get("donor_transfer", {}) if result.summary else {}
    if tr:
        lines.append(f"  Donor transfer on the {len(tr.get('types', []))} types it was not trained on (median): "
                     f"{_pct(tr.get('base_rate'))} -> {_pct(tr.get('donor_rate'))}"
                     + (f" ({tr['ratio']:.1f}x)" if tr.get("ratio") else ""))
    lines += trajectory_lines(result)
    n_em = int(result.types["emerged"].sum())
    lines.append(f"  {n_em} of {len(result.types)} types emerged in one GRPO run.")
    lines += ["", "Forecasting which types emerge (score = slope of the log estimate vs ln(step) on the first "
              "checkpoints; a type a method has no estimate for ranks last):"]
    lines += evaluation_lines(result.evaluation)
    err = result.is_errors
    lines += ["", "IS error against the ground truth (many direct samples), where GT >= 1e-4:"]
    if len(err):
        e = err["log10_error"].to_numpy(float)
        lines.append(f"  {len(e)} cells; median log10(IS/GT) = {np.median(e):+.2f}; "
                     f"|error| <= 1 in {np.mean(np.abs(e) <= 1):.0%} of cells; range {e.min():+.2f} .. {e.max():+.2f}")
    else:
        lines.append("  no cell has both a measurable ground truth and an IS estimate")
    lines += ["", "Exploration-hacking flags:"]
    flags = result.flags
    for run in ("demo RL run", "locked organism"):
        f = flags[flags["run"] == run] if len(flags) and "run" in flags.columns else flags.iloc[0:0]
        if len(f):
            rules = ", ".join(sorted({f"{r.rule} ({r.subset})" for r in f.itertuples(index=False)})[:6])
            lines.append(f"  {run}: {len(f)} flag(s): {rules}")
        else:
            lines.append(f"  {run}: no flags")
    lines += ["", BANNER]
    if result.report_path is not None:
        lines.append(f"Report: {result.report_path}")
    lines.append(f"Run database: {result.db_path}  (hackwatch.open_run); tables as CSV and summary.json in {result.out}")
    if result.timings:
        lines.append("Timings (s): " + ", ".join(f"{k} {v:.0f}" for k, v in result.timings.items()))
    return lines


def evaluation_lines(evaluation: Any) -> list[str]:
    """The per-method AUC table (one row per method and cutoff)."""
    lines = [f"  {'method':16s} {'cutoff':>6s} {'AUC':>6s} {'interval':>15s} {'scored':>7s}  types (emerged/not)"]
    for r in evaluation.itertuples(index=False):
        d = r._asdict()
        lo, hi = d.get("auc_lower"), d.get("auc_upper")
        interval = f"[{_num(lo)}, {_num(hi)}]" if lo is not None and not _nan(lo) else "-"
        lines.append(f"  {d['method']:16s} {d.get('cutoff', '-')!s:>6s} {_num(d.get('auc')):>6s} {interval:>15s} "
                     f"{_count(d, 'types_scored'):>7s}  {_count(d, 'n_emerged')}/{_count(d, 'n_not_emerged')}")
    return lines


def _nan(x: Any) -> bool:
    try:
        return math.isnan(float(x))
    except (TypeError, ValueError):
        return True


def trajectory_lines(result: DemoResult) -> list[str]:
    """Per exploit type, the direct rate (%) and the IS estimate (log10) at every checkpoint."""
    est = result.estimates
    if est is None or len(est) == 0:
        return []
    steps = sorted(int(s) for s in est["step"].unique())
    out = ["", "  Estimates over checkpoints (direct: exploits/samples in %; IS: log10 of the estimate; "
           "- = no estimate):", f"  {'':34s} {'':6s} " + " ".join(f"{'step ' + str(s):>9s}" for s in steps)]
    for typ in result.types["exploit_type"]:
        cell = est[est["exploit_type"] == typ]
        for method, fmt in (("direct", "direct"), ("is", "IS")):
            m = cell[cell["method"] == method].drop_duplicates("step").set_index("step")
            vals = []
            for s in steps:
                if s not in m.index:
                    vals.append("-")
                elif method == "direct":
                    r = m.loc[s]
                    vals.append(f"{100 * float(r['successes']) / max(float(r['n']), 1):.1f}")
                else:
                    vals.append(_num(m.loc[s, "log10_value"], "{:+.1f}"))
            out.append(f"  {typ if method == 'direct' else '':34s} {fmt:6s} " + " ".join(f"{v:>9s}" for v in vals))
    return out


def validation_lines(doc: dict[str, Any]) -> list[str]:
    """The pooled multi-world table of ``validation.json`` as plain lines."""
    import pandas as pd

    em = doc.get("emerged", {})
    lines = ["", BANNER, "", f"Pooled over {len(doc.get('seeds', []))} worlds (seeds {doc.get('seeds')}): "
             f"{em.get('emerged', 0)} of {em.get('types', 0)} (world, type) pairs emerged.",
             "Forecast AUC per method over (world, type) pairs (interval: cluster bootstrap over worlds):"]
    rows = [{"method": m, "cutoff": e["cutoff"], "auc": e["value"], "auc_lower": e["lower"], "auc_upper": e["upper"],
             "n_emerged": e["n_pos"], "n_not_emerged": e["n_neg"], "types_scored": e.get("n_scored")}
            for key in ("auc", "auc_second") for m, e in doc.get(key, {}).items()]
    lines += evaluation_lines(pd.DataFrame(rows))
    err = doc.get("is_error", {})
    lines.append(f"IS vs ground truth: {err.get('cells', 0)} cells with GT >= 1e-4; |log10(IS/GT)| <= 1 in "
                 f"{_pct(err.get('within_1'))}; median {_num(err.get('median_log10'), '{:+.2f}')}")
    tr = doc.get("donor_transfer", {})
    lines.append(f"Donor transfer (median over worlds of the held-out-type medians): {_pct(tr.get('base_rate'))} -> "
                 f"{_pct(tr.get('donor_rate'))}")
    lines += [BANNER]
    return lines


def print_summary(result: DemoResult, config: DemoConfig) -> None:
    """Print the summary to stdout, then the run's verdict per exploit type (as ``hackwatch run`` prints it)."""
    print("\n".join(summary_lines(result, config)))
    try:
        from hackwatch.report import format_verdict, verdict_frame

        print("\n" + format_verdict(verdict_frame(result.db_path)))
    except Exception as exc:  # the verdict is a convenience here; the report holds it too
        print(f"(verdict not available: {exc})")


def _count(row: dict, key: str) -> str:
    value = row.get(key)
    try:
        return str(int(value))
    except (TypeError, ValueError):
        return "-"
