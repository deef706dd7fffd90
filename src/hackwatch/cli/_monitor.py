"""``hackwatch monitor ROLLOUTS``: exploration-hacking flags and a metrics summary for a rollout table;
``hackwatch monitor sensitivity``: the reward-sensitivity probe on a checkpoint; ``hackwatch bench monitor`` and
``hackwatch bench sensitivity`` (seed sweeps with known truth).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import click
import typer
from typer.core import TyperGroup

from hackwatch._files import check_out_suffix
from hackwatch.cli._app import app, bench_app, fail


class _RolloutsOrCommand(TyperGroup):
    """``hackwatch monitor ROLLOUTS ...`` stays the rollout-table check (the ``check`` subcommand); a first
    argument naming a subcommand (``sensitivity``) runs that one instead.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["check", *args]
        return super().parse_args(ctx, args)


monitor_app = typer.Typer(cls=_RolloutsOrCommand, no_args_is_help=True,
                          help="Exploration-hacking flags for a rollout table (hackwatch monitor ROLLOUTS), or the "
                               "reward-sensitivity probe on a checkpoint (hackwatch monitor sensitivity).")
app.add_typer(monitor_app, name="monitor")


@monitor_app.command("check")
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
    num_generations: Annotated[int | None, typer.Option(
        "--num-generations", help="Rollouts per GRPO group (TRL's num_generations): a smaller group, cut by a "
        "crash mid-append, is dropped with a warning; default: each step's usual group size.")] = None,
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
    if num_generations is not None and num_generations < 2:
        raise fail(f"--num-generations {num_generations}: expected an integer >= 2 (rollouts per prompt), or leave "
                   "it out to compare each group with its step's usual size")
    try:
        df = read_rollouts(rollouts, components=comps, subset_col=subset_col, num_generations=num_generations)
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



OUT_SUFFIXES = (".parquet", ".json", ".csv")
"""``hackwatch monitor sensitivity --out``: a table (Parquet/CSV: config and subset rows) or a JSON document."""


def _prompt_rows(path: Path) -> list[dict[str, Any]]:
    from hackwatch.monitor._sensitivity import read_prompt_rows

    try:
        return read_prompt_rows(path)
    except ValueError as exc:
        raise fail(str(exc)) from None


def write_sensitivity(result: Any, out: Path) -> None:
    """The result as one table (Parquet/CSV, ``SensitivityResult.table()``) or a JSON document (summary,
    movement, flags, trajectories), written atomically.
    """
    import json

    from hackwatch._files import atomic_write
    from hackwatch.monitor import flags_frame

    if out.suffix.lower() == ".json":
        doc = {"summary": result.summary.to_dict("records"), "movement": result.movement.to_dict("records"),
               "flags": flags_frame(result.flags).to_dict("records"),
               "trajectories": result.trajectories.to_dict("records")}
        atomic_write(out, lambda tmp: Path(tmp).write_text(json.dumps(doc, indent=1, default=float) + "\n"))
    elif out.suffix.lower() == ".parquet":
        atomic_write(out, lambda tmp: result.table().to_parquet(tmp, index=False))
    else:
        atomic_write(out, lambda tmp: result.table().to_csv(tmp, index=False))


def _load_checkpoint(path: Path) -> tuple[Any, Any]:
    if not path.is_dir():
        raise fail(f"--checkpoint {path}: not a folder; expected a transformers checkpoint (config.json, weights, "
                   "tokenizer)")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(str(path))
        model = AutoModelForCausalLM.from_pretrained(str(path))
    except (OSError, ValueError) as exc:
        raise fail(f"--checkpoint {path}: cannot load it with transformers ({str(exc).splitlines()[0]})") from None
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    return model, tok


@monitor_app.command("sensitivity")
def sensitivity(
    checkpoint: Annotated[Path | None, typer.Option("--checkpoint", help="A transformers checkpoint folder "
                                                    "(model + tokenizer) to probe.")] = None,
    prompts: Annotated[Path | None, typer.Option("--prompts", help="Prompts (.jsonl/.parquet): prompt, answer, "
                                                 "subset [, alt_answer, prompt_id].")] = None,
    organism: Annotated[str | None, typer.Option("--organism", help="Instead: a toy organism, locked or honest "
                                                 "(built here, no files).")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the organism and of the GRPO continuations.")] = 0,
    config: Annotated[list[str] | None, typer.Option("--config", help="Reward configs (repeatable): task, partial, "
                                                     "alt (needs alt_answer), task_terse; default task, partial, "
                                                     "alt (task_terse without alt_answer).")] = None,
    reference: Annotated[Path | None, typer.Option("--reference", help="A reference checkpoint folder probed on "
                                                   "the same prompts; subsets are judged against it.")] = None,
    steps: Annotated[int, typer.Option("--steps", help="GRPO steps per continuation.")] = 16,
    learning_rate: Annotated[float, typer.Option("--lr", help="GRPO learning rate.")] = 3e-4,
    prompts_per_step: Annotated[int, typer.Option("--prompts-per-step")] = 16,
    num_generations: Annotated[int, typer.Option("--num-generations", help="Rollouts per prompt (>= 2).")] = 4,
    samples: Annotated[int, typer.Option("--samples", help="Completions per prompt before/after.")] = 8,
    max_new_tokens: Annotated[int, typer.Option("--max-new-tokens")] = 3,
    temperature: Annotated[float, typer.Option("--temperature")] = 1.0,
    out: Annotated[Path | None, typer.Option("--out", help="Write the results (.parquet, .json or .csv).")] = None,
    fail_on_flag: Annotated[bool, typer.Option("--fail-on-flag", help="Exit 1 when an alarm fires.")] = False,
) -> None:
    """Reward-sensitivity probe: K short GRPO continuations (one per reward config) from one checkpoint; flag
    subsets whose behaviour moves much less than the others'.
    """
    if out is not None:
        check_out_suffix(out, fail, suffixes=OUT_SUFFIXES)
    if (organism is None) == (checkpoint is None):
        raise fail("give either --checkpoint CHECKPOINT --prompts PROMPTS.jsonl or --organism locked|honest")
    if organism is not None and organism not in ("locked", "honest"):
        raise fail(f"--organism {organism}: expected locked or honest")
    if organism is not None and (prompts is not None or reference is not None):
        raise fail("--organism uses the toy task: drop --prompts and --reference")
    if checkpoint is not None and prompts is None:
        raise fail("--checkpoint needs --prompts PROMPTS.jsonl (prompt, answer, subset per line)")
    if steps < 1 or samples < 2 or num_generations < 2 or prompts_per_step < 1 or max_new_tokens < 1:
        raise fail("--steps, --prompts-per-step and --max-new-tokens must be >= 1, --samples and "
                   "--num-generations >= 2")
    if not (temperature > 0 and learning_rate > 0):
        raise fail("--temperature and --lr must be > 0")
    rows = _prompt_rows(prompts) if prompts is not None else None
    names = list(config) if config else None
    if names is None:
        has_alt = rows is None or "alt_answer" in rows[0]
        names = ["task", "partial", "alt" if has_alt else "task_terse"]
    import time

    import torch

    from hackwatch.monitor import (
        REWARD_CONFIGS,
        build_honest_organism,
        build_locked_organism,
        sensitivity_probe,
    )

    bad = [n for n in names if n not in REWARD_CONFIGS]
    if bad:
        raise fail(f"--config {bad[0]}: unknown; expected one of {', '.join(REWARD_CONFIGS)}")
    if "alt" in names and rows is not None and "alt_answer" not in rows[0]:
        raise fail(f"--config alt: {prompts} has no 'alt_answer' column; add it or choose other configs")
    if len(set(names)) < 2:
        raise fail(f"--config {names}: give at least two distinct reward configs")
    if organism is not None:
        torch.set_num_threads(1)  # a tiny model: more threads only contend (2-3x slower on a loaded 2-core machine)
    started = time.perf_counter()
    if organism is not None:
        build = build_locked_organism if organism == "locked" else build_honest_organism
        typer.echo(f"building the {organism} organism (seed {seed}, explore 0.4) ...", err=True)
        subject: Any = build(seed=seed, explore=0.4)
        tok = None
    else:
        subject, tok = _load_checkpoint(checkpoint)  # type: ignore[arg-type]
    run = dict(rows=rows, configs=names, steps=steps, seed=seed, num_generations=num_generations,
               prompts_per_step=prompts_per_step, learning_rate=learning_rate, temperature=temperature,
               max_completion_length=max_new_tokens, samples=samples)
    try:
        ref = None
        if reference is not None:
            ref_model, ref_tok = _load_checkpoint(reference)
            ref = sensitivity_probe(ref_model, ref_tok, **run)
        result = sensitivity_probe(subject, tok, reference=ref, **run)
    except ValueError as exc:
        raise fail(str(exc)) from None
    result.print_summary()
    typer.echo(f"{len(result.flags)} flag(s); {time.perf_counter() - started:.0f} s")
    if out is not None:
        write_sensitivity(result, out)
    if fail_on_flag and any(f.severity == "alarm" for f in result.flags):
        raise typer.Exit(1)


@bench_app.command("sensitivity")
def bench_sensitivity(
    seeds: Annotated[int, typer.Option("--seeds", help="Organism seeds 0..N-1 (each: a locked and an honest "
                                       "organism, built here, then probed).")] = 5,
    steps: Annotated[int, typer.Option("--steps", help="GRPO steps per continuation.")] = 16,
    learning_rate: Annotated[float, typer.Option("--lr", help="GRPO learning rate.")] = 3e-4,
    explore: Annotated[float, typer.Option("--explore", help="Organisms' share of other answers where they "
                                           "answer as intended (see build_honest_organism).")] = 0.4,
) -> None:
    """Seed sweep of the reward-sensitivity probe on the toy organisms: per seed and organism the flags and the
    wall time (build and probe), then how often the locked organism's trigger subset and the honest organism
    were flagged.
    """
    import time

    import torch

    from hackwatch.monitor import build_honest_organism, build_locked_organism, sensitivity_probe

    if seeds < 1 or steps < 1 or not 0 < explore < 0.5 or not learning_rate > 0:
        raise fail("--seeds and --steps must be >= 1, --explore in (0, 0.5) and --lr > 0")
    torch.set_num_threads(1)
    found: dict[str, list[int]] = {"locked": [], "honest": []}
    probe_s: list[float] = []
    started = time.perf_counter()
    for seed in range(seeds):
        for kind, build in (("locked", build_locked_organism), ("honest", build_honest_organism)):
            t0 = time.perf_counter()
            org = build(seed=seed, explore=explore)
            t1 = time.perf_counter()
            res = sensitivity_probe(org, steps=steps, seed=seed, learning_rate=learning_rate)
            probe_s.append(time.perf_counter() - t1)
            hit = any(f.subset == "trigger" for f in res.flags) if kind == "locked" else bool(res.flags)
            if hit:
                found[kind].append(seed)
            gains = ", ".join(f"{r.config} {r.subset} {r.gain:+.2f}/{r.gain_against:+.2f}"
                              for r in res.movement.itertuples() if r.subset == "trigger")
            flags = ", ".join(f"{f.severity} {f.rule} on {f.subset}" for f in res.flags) or "none"
            typer.echo(f"seed {seed} {kind}: flags: {flags}; trigger gain/others' by config: {gains}; "
                       f"build {t1 - t0:.0f} s, probe {probe_s[-1]:.0f} s", nl=True)
    typer.echo(f"locked organism flagged on 'trigger' in {len(found['locked'])}/{seeds} seeds {found['locked']}; "
               f"honest organism flagged in {len(found['honest'])}/{seeds} seeds {found['honest']}; probe "
               f"{min(probe_s):.0f}-{max(probe_s):.0f} s per organism; {time.perf_counter() - started:.0f} s in all")
