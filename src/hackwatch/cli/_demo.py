"""``hackwatch demo``: the whole pipeline on the embedded toy world (CPU, no downloads)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hackwatch.cli._app import app, fail


@app.command("demo")
def demo(
    out: Annotated[Path, typer.Option("--out", help="Output folder (models, run database, report).")] = Path(
        "hackwatch-demo"),
    size: Annotated[str, typer.Option("--size", help="small (a few minutes; the test) or default (~10 min).")] = (
        "default"),
    seed: Annotated[int, typer.Option("--seed", help="Seeds torch, numpy, random and every sampling call.")] = 0,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Sandbox workers for verification.")] = 2,
) -> None:
    """Build a toy RL world where reward hacking emerges, then run the whole hackwatch pipeline on it.

    Pretrains a tiny LM on a synthetic corpus, runs TRL GRPO with the insecure verifier as reward
    (log-spaced checkpoints), builds a donor and prefix bank, estimates exploit rates per checkpoint
    and exploit type (direct, importance sampling, lower bounds), forecasts which types emerge and
    writes an HTML report. All numbers are toy-world numbers, not results about real LLMs.
    """
    from hackwatch.demo import SIZES, demo_config, print_summary, run_demo

    if size not in SIZES:
        raise fail(f"--size: expected one of {', '.join(SIZES)}, got {size!r}")
    if out.exists() and any(out.iterdir()):
        raise fail(f"--out {out}: folder exists and is not empty; the demo writes a fresh world — "
                   "choose another --out or delete it")
    config = demo_config(size, seed)

    def say(msg: str) -> None:
        typer.echo(msg)

    typer.echo(f"hackwatch demo — size {size}, seed {seed}, output {out} (toy world: tiny model, CPU)")
    result = run_demo(out, config, say=say, workers=workers)
    print_summary(result, config)
