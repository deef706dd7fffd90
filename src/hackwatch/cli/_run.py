"""``hackwatch run`` (the resumable pipeline) and ``hackwatch report`` (HTML report of a run)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hackwatch.cli._app import app, fail


@app.command("run")
def run_command(
    config: Annotated[Path, typer.Argument(help="Run config TOML (see examples/run.toml and docs/runs.md).")],
    executor: Annotated[str, typer.Option("--executor", help="local (process pool, default) or ray.")] = "local",
    workers: Annotated[int, typer.Option(
        "--workers", min=0, help="Local: processes for sampling/scoring and sandbox workers for verification "
                                 "(1 = inline). Ray: tasks in flight (0 = cluster CPUs).")] = 1,
    out: Annotated[Path | None, typer.Option("--out", help="Run directory (overrides out= of the config's run section).")] = None,
    ray_address: Annotated[str | None, typer.Option(
        "--ray-address", help="Address of an existing Ray cluster (default: start a local one).")] = None,
    no_report: Annotated[bool, typer.Option("--no-report", help="Skip writing report.html at the end.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log every detail to stderr too.")] = False,
) -> None:
    """Run (or resume) the whole pipeline of CONFIG over its checkpoints; finished units are skipped.

    Stages: direct sampling, prefilled sampling, verification, scoring, estimates, forecasts, flags,
    report. Killing the run at any moment and running the same command again loses and duplicates nothing.
    """
    from hackwatch.estimate import SchemaError
    from hackwatch.models import BackendError
    from hackwatch.runs import EXECUTORS, ConfigError, RunError, load_config, run_pipeline
    from hackwatch.runs._progress import setup_logging
    from hackwatch.store import StoreError

    if executor not in EXECUTORS:
        raise fail(f"--executor: expected one of {', '.join(EXECUTORS)}, got {executor!r}")
    try:
        cfg = load_config(config)
        if out is not None:
            cfg.run.out = str(out.resolve())
        cfg.run_dir.mkdir(parents=True, exist_ok=True)
        setup_logging(cfg.run_dir, verbose=verbose)
        summary = run_pipeline(cfg, executor=executor, workers=workers, ray_address=ray_address,
                               report=not no_report)
    except (ConfigError, RunError, StoreError, SchemaError, BackendError) as exc:
        raise fail(str(exc)) from None
    from hackwatch.report import format_verdict, verdict_frame

    typer.echo(format_verdict(verdict_frame(summary.db_path)))  # the report's verdict, most concerning first
    counts = ", ".join(f"{k} {v}" for k, v in summary.counts.items()
                       if k in ("samples", "verdicts", "scores", "estimates", "forecasts", "flags"))
    typer.echo(f"run: {summary.db_path} ({counts})")
    if summary.report_path is not None:
        typer.echo(f"report: {summary.report_path}")


@app.command("report")
def report_command(
    run: Annotated[Path, typer.Argument(help="Run directory or its run.duckdb file.")],
    out: Annotated[Path | None, typer.Option("--out", help="HTML file to write (default: RUN_DIR/report.html).")] = None,
    toy_banner: Annotated[bool | None, typer.Option(
        "--toy-banner/--no-toy-banner", help="Show the toy-world banner (default: as the run's config says).")] = None,
    title: Annotated[str | None, typer.Option("--title", help="Report title (default: from the run's config).")] = None,
) -> None:
    """Write a self-contained HTML report (figures inlined) and its PNG figures for a run."""
    from hackwatch.report import write_report
    from hackwatch.store import StoreError, resolve_db_path

    db = resolve_db_path(run)
    target = out if out is not None else db.parent / "report.html"
    try:
        path = write_report(run, target, toy_banner=toy_banner, title=title)
    except StoreError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"report: {path}")
    typer.echo(f"figures: {path.parent / (path.stem + '_figures')}")
