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

    Stages: direct sampling, prefilled sampling (the donor bank and every extra proposal's bank),
    verification, probe scoring (with a probes section), prefix scoring, estimates, forecasts, flags, report. Killing the run at any moment and running the same command again loses and duplicates nothing.
    """
    from hackwatch.estimate import SchemaError
    from hackwatch.models import BackendError
    from hackwatch.runs import EXECUTORS, ConfigError, RunError, load_config, run_pipeline
    from hackwatch.runs._progress import setup_logging
    from hackwatch.store import StoreError

    if executor not in EXECUTORS:
        raise fail(f"--executor: expected one of {', '.join(EXECUTORS)}, got {executor!r}")
    if out is not None and out.suffix and out.suffix.lower() in (".toml", ".duckdb", ".html", ".jsonl", ".parquet"):
        raise fail(f"--out {out}: expected a run folder name, not a {out.suffix} file")
    created = None
    try:
        cfg = load_config(config)
        if out is not None:
            cfg.run.out = str(out.resolve())
        created = None if cfg.run_dir.exists() else cfg.run_dir
        cfg.run_dir.mkdir(parents=True, exist_ok=True)
        setup_logging(cfg.run_dir, verbose=verbose)
        summary = run_pipeline(cfg, executor=executor, workers=workers, ray_address=ray_address,
                               report=not no_report)
    except (ConfigError, RunError, StoreError, SchemaError, BackendError) as exc:
        kept = _discard_empty_run(created)
        raise fail(str(exc) + kept) from None
    from hackwatch.report import format_verdict, verdict_frame

    typer.echo(format_verdict(verdict_frame(summary.db_path)))  # the report's verdict, most concerning first
    counts = ", ".join(f"{k} {v}" for k, v in summary.counts.items()
                       if k in ("samples", "verdicts", "scores", "estimates", "forecasts", "flags"))
    typer.echo(f"run: {summary.db_path} ({counts})")
    if summary.report_path is not None:
        typer.echo(f"report: {summary.report_path}")


def _discard_empty_run(created: Path | None) -> str:
    """After a failed run: remove the run folder this command created if no unit of work was committed
    (a failed start leaves nothing behind); keep one that holds work, since rerunning resumes it.
    """
    import logging
    import shutil

    if created is None or not created.exists():
        return ""
    for h in list(logging.getLogger("hackwatch").handlers):  # release run.log before deleting it
        if getattr(h, "_hackwatch_run", False):
            h.close()
            logging.getLogger("hackwatch").removeHandler(h)
    db = created / "run.duckdb"
    if db.is_file():
        try:
            import duckdb

            with duckdb.connect(str(db), read_only=True) as con:
                done = con.execute("SELECT count(*) FROM units").fetchone()[0]
        except Exception:  # noqa: BLE001 - an unreadable database holds no resumable work
            done = 0
        if done:
            return f" (run folder {created} kept: {done} finished units; rerun the command to resume)"
    shutil.rmtree(created, ignore_errors=True)
    return ""


@app.command("report")
def report_command(
    run: Annotated[Path, typer.Argument(help="Run directory or its run.duckdb file.")],
    out: Annotated[Path | None, typer.Option("--out", help="HTML file to write (default: RUN_DIR/report.html).")] = None,
    toy_banner: Annotated[bool | None, typer.Option(
        "--toy-banner/--no-toy-banner", help="Show the toy-world banner (default: as the run's config says).")] = None,
    title: Annotated[str | None, typer.Option("--title", help="Report title (default: from the run's config).")] = None,
    extra_flags: Annotated[list[str] | None, typer.Option(
        "--extra-flags", metavar="LABEL=PATH",
        help="Exploration-hacking flags of another monitored run (the .parquet/.jsonl flags file "
             "HackwatchCallback(flags_path=...) wrote; its rollouts file beside it gives the evidence curves), "
             "shown under LABEL. Repeatable. A run made by hackwatch demo finds its locked organism by itself.")] = None,
) -> None:
    """Write a self-contained HTML report (figures inlined) and its PNG figures for a run."""
    from hackwatch._files import check_out_suffix, run_database
    from hackwatch.report import FlagsFileError, write_report
    from hackwatch.store import StoreError

    db = run_database(run, fail)
    if out is not None:
        check_out_suffix(out, fail, suffixes=(".html",))
    extra = _extra_flags(extra_flags or [])
    target = out if out is not None else db.parent / "report.html"
    try:
        path = write_report(run, target, toy_banner=toy_banner, title=title, extra_flags=extra)
    except (StoreError, FlagsFileError) as exc:
        raise fail(str(exc)) from None
    typer.echo(f"report: {path}")
    typer.echo(f"figures: {path.parent / (path.stem + '_figures')}")


def _extra_flags(items: list[str]) -> dict[str, Path]:
    """``--extra-flags LABEL=PATH`` values as label → existing file (one-line error otherwise)."""
    extra: dict[str, Path] = {}
    for item in items:
        label, sep, path = item.partition("=")
        label = label.strip()
        if not sep or not label or not path:
            raise fail(f"--extra-flags {item!r}: expected LABEL=PATH, e.g. --extra-flags 'locked organism=locked/flags.parquet'")
        if label in extra:
            raise fail(f"--extra-flags {item!r}: label {label!r} is given twice; give each run its own label")
        file = Path(path).expanduser()
        if not file.is_file():
            raise fail(f"--extra-flags {item!r}: {file} is not a file; expected the flags .parquet/.jsonl of a "
                       "monitored run (HackwatchCallback(flags_path=...))")
        extra[label] = file
    return extra
