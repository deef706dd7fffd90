"""``hackwatch monitor ROLLOUTS``: exploration-hacking flags and a metrics summary for a rollout table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hackwatch._files import check_out_suffix
from hackwatch.cli._app import app, bench_app, fail


@app.command("monitor")
def monitor(
    rollouts: Annotated[Path, typer.Argument(help="Rollout table (.jsonl or .parquet): step, prompt_id, group_id, "
                                             "subset, reward, completion, length [, entropy, ran, components].")],
    subset_col: Annotated[str, typer.Option("--subset-col", help="Column holding the context/subset tag.")] = "subset",
    components: Annotated[str, typer.Option("--components", help="Comma-separated reward-component columns.")] = "",
    pass_threshold: Annotated[float, typer.Option("--pass-threshold",
                                                  help="A rollout passes when reward >= this.")] = 1.0,
    k: Annotated[list[int] | None, typer.Option("--k", help="pass@k values to report (repeatable; default 1 and 4).")]
    = None,
    reference: Annotated[Path | None, typer.Option("--reference",
                                                   help="Reference model's rollout table (for pass@k gaps).")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write the flags here (.jsonl or .parquet).")] = None,
    metrics_out: Annotated[Path | None, typer.Option("--metrics-out",
                                                     help="Write per-step metrics (.jsonl or .parquet).")] = None,
    fail_on_flag: Annotated[bool, typer.Option("--fail-on-flag",
                                               help="Exit 1 when any alarm-level flag fires (for CI).")] = False,
) -> None:
    """Print exploration-hacking flags (and a metrics summary) for a rollout table and write them."""
    from rich.console import Console
    from rich.table import Table

    from hackwatch.monitor import (
        RolloutTableError,
        detect_flags,
        flags_frame,
        read_rollouts,
        step_metrics,
        write_rollouts,
    )

    k = list(k) if k else [1, 4]
    comps = [c.strip() for c in components.split(",") if c.strip()]
    for option, p in (("--out", out), ("--metrics-out", metrics_out)):
        if p is not None:
            check_out_suffix(p, fail, option=option)
    try:
        df = read_rollouts(rollouts, components=comps, subset_col=subset_col)
        ref = read_rollouts(reference, subset_col=subset_col) if reference is not None else None
    except RolloutTableError as exc:
        raise fail(str(exc)) from exc
    if any(x < 1 for x in k):
        raise fail(f"--k {k}: pass@k needs k >= 1")
    table = step_metrics(df, pass_threshold=pass_threshold, ks=k, components=comps, reference=ref)
    flags = detect_flags(table)
    console = Console()
    summary = Table(title=f"{rollouts.name}: {df['step'].nunique()} steps, {len(df)} rollouts (mean over steps)")
    cols = ["frac_zero_std", "frac_all_fail", "frac_all_pass", "reward_spread", *[f"pass@{x}" for x in k], "distinct_2"]
    cols = [c for c in cols if c in table.columns]
    summary.add_column("subset")
    for c in cols:
        summary.add_column(c, justify="right")
    for subset, g in table.groupby("subset", sort=True):
        summary.add_row("(all)" if subset == "*" else str(subset), *[f"{g[c].mean():.3f}" for c in cols])
    console.print(summary)
    ft = Table(title=f"{len(flags)} flag(s)")
    for c in ("severity", "rule", "subset", "steps", "evidence"):
        ft.add_column(c, overflow="fold")
    for f in flags:
        ft.add_row(f.severity, f.rule, f.subset, f"{f.first_step}–{f.last_step}", f.evidence)
    console.print(ft)
    if out is not None:
        write_rollouts(flags_frame(flags), out)
    if metrics_out is not None:
        write_rollouts(table, metrics_out)
    if fail_on_flag and any(f.severity == "alarm" for f in flags):
        raise typer.Exit(1)


@bench_app.command("monitor")
def bench_monitor(
    seeds: Annotated[int, typer.Option("--seeds", help="Replicates per case and group count.")] = 20,
    groups: Annotated[list[int] | None, typer.Option("--groups", help="Groups per subset per step (repeatable; "
                                                     "default 1, 2 and 4).")] = None,
    steps: Annotated[int, typer.Option("--steps", help="RL steps per synthetic run.")] = 16,
    case: Annotated[list[str] | None, typer.Option("--case", help="Cases to run (repeatable; default all).")] = None,
) -> None:
    """False-alarm and detection rates of the monitor's flags on synthetic GRPO logs with known truth."""
    import time

    from rich.console import Console
    from rich.table import Table

    from hackwatch.monitor._synthetic import CASES, flag_rates

    cases = list(case) if case else list(CASES)
    unknown = [c for c in cases if c not in CASES]
    if unknown:
        raise fail(f"--case {unknown[0]}: unknown case; expected one of {', '.join(CASES)}")
    if seeds < 1 or steps < 6 or any(g < 1 for g in groups or []):
        raise fail("--seeds and --groups must be >= 1 and --steps >= 6 (the CUSUM rules need 6 steps)")
    started = time.perf_counter()
    rates = flag_rates(cases, seeds=seeds, groups=groups or [1, 2, 4], steps=steps)
    table = Table(title=f"monitor flags on synthetic GRPO logs: {steps} steps, 4-rollout groups, {seeds} seeds per row")
    for col in rates.columns:
        table.add_column(col, justify="left" if col in ("case", "locked") else "right")
    for rec in rates.to_dict("records"):
        table.add_row(*[f"{v:.0%}" if isinstance(v, float) else str(v) for v in rec.values()])
    Console(width=max(120, Console().width)).print(table)
    typer.echo(f"{len(rates) * seeds} synthetic runs in {time.perf_counter() - started:.1f} s")
