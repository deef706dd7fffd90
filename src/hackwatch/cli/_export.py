"""``hackwatch export RUN``: a run's tables as Parquet or CSV files that every other command reads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from hackwatch.cli._app import app, fail

EXPORTED = ("verdicts", "scores", "estimates", "forecasts", "evaluation", "flags", "samples", "prefixes", "tasks",
            "checkpoints", "probe_scores")
"""Tables written, in this order. ``verdicts`` and ``scores`` are in the column contract of
`hackwatch estimate` (samples joined with their verdicts, tasks and prefixes; subject scores with the
donor's log-prob and rates); the others are the run database's tables as stored."""


def _frames(db: Path) -> dict[str, Any]:
    from hackwatch.runs._analysis import score_frame, verdict_frame
    from hackwatch.store import RunStore

    with RunStore.open(db, read_only=True) as store:
        present = set(store.tables())
        frames = {"verdicts": verdict_frame(store), "scores": score_frame(store)}
        for name in EXPORTED[2:]:
            if name in present:
                frames[name] = store.table(name)
    return frames


def _csv_ready(frame: Any) -> Any:
    """Lists and dicts (token ids, evidence) as JSON text: a CSV cell holds one value."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object and out[col].map(lambda v: isinstance(v, list | dict | tuple)).any():
            out[col] = out[col].map(lambda v: json.dumps(list(v) if isinstance(v, tuple) else v)
                                    if isinstance(v, list | dict | tuple) else v)
        elif out[col].dtype == object and out[col].map(lambda v: hasattr(v, "tolist")).any():
            out[col] = out[col].map(lambda v: json.dumps(v.tolist()) if hasattr(v, "tolist") else v)
    return out


@app.command("export")
def export_command(
    run: Annotated[Path, typer.Argument(help="Run directory (or its run.duckdb) from `hackwatch run` / `hackwatch demo`.")],
    out: Annotated[Path, typer.Option("--out", help="Folder to create for the tables (must not exist or be empty).")],
    fmt: Annotated[str, typer.Option("--format", help="parquet or csv.")] = "parquet",
) -> None:
    """Write a run's tables (verdicts, scores, estimates, forecasts, flags, ...) as Parquet or CSV files.

    ``verdicts`` and ``scores`` come out ready for `hackwatch estimate --verdicts ... --scores ...`,
    ``estimates`` for `hackwatch forecast --estimates ...`. The folder is written all at once.
    """
    from hackwatch._files import atomic_dir, run_database
    from hackwatch.store import StoreError

    if fmt not in ("parquet", "csv"):
        raise fail(f"--format {fmt!r}: expected parquet or csv")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise fail(f"--out {out}: exists and is not an empty folder; choose a new folder name")
    db = run_database(run, fail)
    try:
        frames = _frames(db)
    except StoreError as exc:
        raise fail(str(exc)) from None

    def fill(tmp: Path) -> None:
        for name, frame in frames.items():
            if fmt == "parquet":
                frame.to_parquet(tmp / f"{name}.parquet", index=False)
            else:
                _csv_ready(frame).to_csv(tmp / f"{name}.csv", index=False)

    atomic_dir(out, fill)
    sizes = ", ".join(f"{name} {len(frame)}" for name, frame in frames.items())
    typer.echo(f"wrote {len(frames)} tables to {out}/ ({sizes})", err=True)
