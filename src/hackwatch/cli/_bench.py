"""Commands of this stage (registered on the apps in ``_app``): ``hackwatch bench collapse``."""

from __future__ import annotations

from typing import Annotated

import typer

from hackwatch.cli._app import bench_app, fail


@bench_app.command("collapse")
def bench_collapse(
    seeds: Annotated[int, typer.Option("--seeds", help="Organism seeds 0..N-1 (one templated organism and two "
                                       "GRPO runs each).")] = 5,
    steps: Annotated[int, typer.Option("--steps", help="GRPO steps per run (the CUSUM rules need >= 6).")] = 24,
    bonus: Annotated[float, typer.Option("--bonus", help="Reward for the favoured phrasing, in (0, 1).")] = 0.2,
    learning_rate: Annotated[float, typer.Option("--lr", help="GRPO learning rate (constant).")] = 5e-4,
    threads: Annotated[int, typer.Option("--threads", help="torch CPU threads (1 is fastest on a small shared "
                                         "machine).")] = 1,
) -> None:
    """The collapsing organism: per seed, does `diversity_drop` warn under task reward + a phrasing bonus
    (collapse) and stay quiet under the task reward alone (control)? Prints each run and the wall time.
    """
    import time

    if seeds < 1 or steps < 6 or threads < 1:
        raise fail(f"--seeds {seeds}, --steps {steps}, --threads {threads}: need --seeds >= 1, --steps >= 6 "
                   "(the CUSUM rules need 6 steps) and --threads >= 1")
    if not (0.0 < bonus < 1.0 and learning_rate > 0):
        raise fail(f"--bonus {bonus}, --lr {learning_rate}: need 0 < --bonus < 1 (a right digit must outweigh "
                   "the phrasing) and --lr > 0")
    import torch
    from rich.console import Console
    from rich.table import Table

    from hackwatch.monitor import collapse_runs

    torch.set_num_threads(threads)
    started = time.perf_counter()
    runs = collapse_runs(range(seeds), steps=steps, bonus=bonus, learning_rate=learning_rate)
    table = Table(title=f"diversity_drop on the collapsing organism: {steps} GRPO steps, 8 prompts x 4 rollouts "
                        "per step (toy model, CPU); pass@1, favoured share and phrasings seen: first -> last 3 steps; "
                        "seconds of a task+bonus row include training the organism")
    for col in ("seed", "reward", "warned", "metrics", "steps", "change", "other flags", "pass@1", "favoured",
                "phrasings", "seconds"):
        table.add_column(col, justify="left" if col in ("reward", "metrics", "change", "other flags") else "right")
    for r in runs.to_dict("records"):
        table.add_row(str(r["seed"]), r["reward"], "yes" if r["warned"] else "no", r["metrics"] or "-",
                      f"{r['first_step']}–{r['last_step']}" if r["warned"] else "-",
                      f"{r['change']:+.2f} {r['change_metric']}" if r["warned"] else "-", r["other_flags"] or "-",
                      f"{r['pass_first']:.2f}→{r['pass_last']:.2f}", f"{r['favoured_first']:.2f}→{r['favoured_last']:.2f}",
                      f"{r['phrasings_first']:.0f}→{r['phrasings_last']:.0f}", f"{r['seconds']:.0f}")
    Console(width=max(120, Console().width)).print(table)
    warned = runs.groupby("reward")["warned"].sum()
    typer.echo(f"warned: collapse (task+bonus) {int(warned.get('task+bonus', 0))}/{seeds} seeds, control (task) "
               f"{int(warned.get('task', 0))}/{seeds}; {time.perf_counter() - started:.0f} s wall, "
               f"{torch.get_num_threads()} torch thread(s)")
