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
    seeds: Annotated[str | None, typer.Option(
        "--seeds", help="Comma-separated seeds: build one independent world per seed under OUT/seed-N and pool "
                        "them into OUT/validation.json (forecast AUC per method with intervals). Resumes: a "
                        "world with a summary.json is not rebuilt.")] = None,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Sandbox workers for verification.")] = 2,
) -> None:
    """Build a toy RL world where reward hacking emerges, then run the whole hackwatch pipeline on it.

    Pretrains a tiny LM on a synthetic corpus (16 exploit types x 2 tasks), runs TRL GRPO with the
    insecure verifier as reward (log-spaced checkpoints), builds three IS proposals from the initial
    model (a donor trained by hackwatch.donor.train_donor, an unrelated donor, prompted prefixes) and an
    activation probe, runs `hackwatch run` on the checkpoints (direct, IS, lower bounds, probe scores),
    scores every method's forecast (AUC at two cutoffs) and writes the report and OUT/summary.json.
    With --seeds, builds one world per seed and pools them into OUT/validation.json. All numbers are
    toy-world numbers, not results about real LLMs.
    """
    from hackwatch.demo import (
        SIZES,
        DemoError,
        demo_config,
        print_summary,
        run_demo,
        run_worlds,
        validation_lines,
    )

    if size not in SIZES:
        raise fail(f"--size: expected one of {', '.join(SIZES)}, got {size!r}")
    if seeds is not None:
        try:
            seed_list = [int(s) for s in seeds.split(",") if s.strip()]
        except ValueError:
            raise fail(f"--seeds {seeds!r}: expected comma-separated integers, e.g. --seeds 0,1,2,3,4") from None
        if not seed_list or len(set(seed_list)) != len(seed_list):
            raise fail(f"--seeds {seeds!r}: expected distinct comma-separated integers, e.g. --seeds 0,1,2,3,4")
        typer.echo(f"hackwatch demo — size {size}, {len(seed_list)} worlds (seeds {seed_list}), output {out} "
                   "(toy worlds: tiny model, CPU)")
        try:
            doc = run_worlds(out, [demo_config(size, s) for s in seed_list], say=typer.echo, workers=workers)
        except DemoError as exc:
            raise fail(str(exc)) from None
        typer.echo("\n".join(validation_lines(doc)))
        typer.echo(f"Pooled results: {out / 'validation.json'}; each world: {out}/seed-N/summary.json")
        return
    if out.exists() and any(out.iterdir()):
        raise fail(f"--out {out}: folder exists and is not empty; the demo writes a fresh world — "
                   "choose another --out or delete it")
    config = demo_config(size, seed)

    def say(msg: str) -> None:
        typer.echo(msg)

    typer.echo(f"hackwatch demo — size {size}, seed {seed}, output {out} (toy world: tiny model, CPU)")
    result = run_demo(out, config, say=say, workers=workers)
    print_summary(result, config)
