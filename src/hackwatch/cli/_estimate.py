"""Commands of the statistics stage: ``hackwatch estimate`` and ``hackwatch forecast``."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated

import typer

from hackwatch._files import check_out_suffix
from hackwatch.cli._app import app, bench_app, fail

VERDICT_NEEDED = ("task_id", "checkpoint", "step", "prefix_id", "prefix_tokens", "temperature", "exploit")
"""Verdict columns every estimate reads (docs/statistics.md, table contracts)."""


def _columns(spec: str) -> list[str]:
    cols = [c.strip() for c in spec.split(",") if c.strip()]
    if not cols:
        raise fail(f"--by/--series {spec!r}: give at least one column name, comma-separated")
    return cols


def _show_warnings(caught: list[warnings.WarningMessage]) -> None:
    for w in caught:
        typer.echo(f"warning: {w.category.__name__}: {w.message}", err=True)


@app.command("estimate")
def estimate_command(
    verdicts: Annotated[Path, typer.Option("--verdicts", help="Verdict table (.jsonl or .parquet), one row per sample.")],
    out: Annotated[Path, typer.Option("--out", help="Estimates table to write (.jsonl or .parquet).")],
    scores: Annotated[Path | None, typer.Option(
        "--scores", help="Prefix-score table (.jsonl or .parquet); without it only direct rates.")] = None,
    by: Annotated[str, typer.Option("--by", help="Cell: comma-separated grouping columns.")] = "checkpoint,exploit_type",
    interval: Annotated[str, typer.Option(
        "--interval", help="Direct-rate interval: clopper-pearson (exact) or jeffreys.")] = "clopper-pearson",
    pooling: Annotated[str, typer.Option(
        "--pooling", help="sample: pool all samples/terms; task: average per task first.")] = "sample",
    no_donor_correction: Annotated[bool, typer.Option(
        "--no-donor-correction", help="Omit log pi_D - log a_D (the exploit-conditioning correction).")] = False,
    missing_donor_rate: Annotated[str, typer.Option(
        "--missing-donor-rate",
        help="Prefixes without a donor rate: uncorrected (factor 1; the default, as in `hackwatch run`) | error "
             "| drop | upper (Clopper-Pearson bound; needs donor_prefix_attempts). See docs/statistics.md.")] = (
        "uncorrected"),
    alpha: Annotated[float, typer.Option("--alpha", help="1 - confidence level of the intervals.")] = 0.05,
    n_boot: Annotated[int, typer.Option("--n-boot", help="Bootstrap resamples over tasks for IS intervals.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the bootstrap.")] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", help="Do not print the summary table.")] = False,
) -> None:
    """Per-cell exploit probabilities: direct rates, IS estimates with diagnostics, lower bounds.

    Tables with a ``proposal`` column holding several proposals (`hackwatch export` of a run with
    ``[[proposals]]``) are estimated per proposal, as the run does: ``is``/``lower_bound`` from the
    donor bank, ``is_<name>``/``lower_bound_<name>`` from proposal ``<name>``.
    """
    from hackwatch.estimate import SchemaError, estimate_proposals, read_table, write_table
    from hackwatch.estimate._columns import require_columns

    check_out_suffix(out, fail)
    if interval not in ("clopper-pearson", "jeffreys"):
        raise fail(f"--interval {interval!r}: use clopper-pearson or jeffreys")
    if pooling not in ("sample", "task"):
        raise fail(f"--pooling {pooling!r}: use sample or task")
    if missing_donor_rate not in ("error", "uncorrected", "drop", "upper"):
        raise fail(f"--missing-donor-rate {missing_donor_rate!r}: use error, uncorrected, drop or upper")
    if not 0 < alpha < 1:
        raise fail(f"--alpha {alpha}: expected a number in (0, 1), e.g. 0.05")
    try:
        v = read_table(verdicts)
        # Name every missing column up front (rows of `hackwatch sample` -> `hackwatch verify` carry them all).
        require_columns(v, list(dict.fromkeys([*VERDICT_NEEDED, *_columns(by)])), source=str(verdicts),
                        kind="verdicts")
        s = read_table(scores) if scores is not None else None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = estimate_proposals(v, s, by=_columns(by), interval=interval, pooling=pooling,
                                        donor_correction=not no_donor_correction,
                                        missing_donor_rate=missing_donor_rate, n_boot=n_boot, alpha=alpha,
                                        seed=seed, verdicts_source=str(verdicts),
                                        scores_source=str(scores) if scores else None)
        write_table(result.summary, out)
    except (SchemaError, ValueError) as exc:
        raise fail(str(exc)) from None
    _show_warnings(caught)
    if not quiet:
        from rich.console import Console

        result.print_summary(console=Console(stderr=False))
    typer.echo(f"wrote {len(result.summary)} estimates to {out}", err=True)


@app.command("forecast")
def forecast_command(
    estimates: Annotated[Path, typer.Option("--estimates", help="Estimates table written by `hackwatch estimate`.")],
    out: Annotated[Path, typer.Option("--out", help="Forecast table to write (.jsonl or .parquet).")],
    threshold: Annotated[float, typer.Option("--threshold", help="Rate of concern; a series emerges above it.")] = 0.1,
    cutoff: Annotated[int | None, typer.Option(
        "--cutoff", help="Use only the first K checkpoints of each series for the trend (default: all).")] = None,
    target_step: Annotated[float | None, typer.Option("--target-step", help="Step to project the trend to.")] = None,
    method: Annotated[str, typer.Option(
        "--method", help="Estimate whose trend is scored: is, lower_bound or direct.")] = "is",
    score: Annotated[str, typer.Option("--score", help="Emergence score: slope, level or projected.")] = "slope",
    series: Annotated[str | None, typer.Option(
        "--series", help="Series columns (default: the cell columns minus checkpoint/step).")] = None,
    step_offset: Annotated[float, typer.Option(
        "--step-offset", help="Trend uses ln(step + offset); steps <= -offset are left out.")] = 0.0,
    lead: Annotated[bool, typer.Option("--lead-time", help="Also print the AUC per cutoff and the lead time.")] = False,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the bootstraps.")] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", help="Do not print the summary table.")] = False,
) -> None:
    """Trends, emergence scores, crossing forecasts and their AUC against the observed emergence."""
    from hackwatch.estimate import SchemaError, read_table, write_table
    from hackwatch.forecast import forecast, lead_time

    check_out_suffix(out, fail)
    if score not in ("slope", "level", "projected"):
        raise fail(f"--score {score!r}: use slope, level or projected")
    if cutoff is not None and cutoff < 1:
        raise fail(f"--cutoff {cutoff}: expected a number of checkpoints >= 1")
    if not 0 < threshold < 1:
        raise fail(f"--threshold {threshold}: expected a rate in (0, 1), e.g. 0.1")
    series_by = _columns(series) if series else None
    try:
        table = read_table(estimates)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = forecast(table, threshold=threshold, cutoff=cutoff, target_step=target_step, method=method,
                              score=score, series_by=series_by, step_offset=step_offset, seed=seed)  # type: ignore[arg-type]
            lt = (lead_time(table, threshold=threshold, method=method, score=score, target_step=target_step,
                            series_by=series_by, step_offset=step_offset, seed=seed) if lead else None)
        write_table(result.summary, out)
    except (SchemaError, ValueError, KeyError) as exc:
        raise fail(f"{estimates}: {exc}") from None
    _show_warnings(caught)
    if not quiet:
        result.print_summary()
        if lt is not None:
            from hackwatch.estimate._display import print_table

            print_table(lt.by_cutoff, title="AUC by cutoff (first K checkpoints)")
            typer.echo(f"separation cutoff K* = {lt.separation_cutoff:g}; lead time = {lt.lead:g} checkpoints")
    typer.echo(f"wrote {len(result.summary)} forecasts to {out}", err=True)


@bench_app.command("coverage")
def bench_coverage(
    replicates: Annotated[int, typer.Option("--replicates", help="Replicate cells per synthetic world.")] = 300,
    series: Annotated[int, typer.Option("--series", help="Replicate series per world for the crossing interval.")] = 100,
    n_boot: Annotated[int, typer.Option("--n-boot", help="Bootstrap resamples per IS cell.")] = 300,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the worlds and draws.")] = 0,
) -> None:
    """Coverage of the IS bootstrap interval, the lower bound and the crossing interval, by ESS and k-hat band.

    Synthetic worlds with known truth (hackwatch.estimate.synthetic); prints Markdown tables
    (docs/statistics.md holds the default run's). About a minute with the defaults.
    """
    import time

    from hackwatch.estimate._coverage import ESS_BANDS, KHAT_BANDS, CoverageSetup, band_of, replicate_cells
    from hackwatch.forecast._coverage import CrossingSetup, own_model_coverage, series_crossings

    if replicates < 1 or series < 1 or n_boot < 1:
        raise fail("--replicates, --series and --n-boot must be >= 1")
    start = time.perf_counter()
    setup = CoverageSetup(replicates=replicates, n_boot=n_boot, seed=seed)
    cells = replicate_cells(setup)
    typer.echo(f"## IS cells ({replicates} replicates per world; {setup.n_tasks} tasks x {setup.prefixes_per_task} "
               f"prefixes x {setup.rollouts_per_prefix} rollouts; {100 * (1 - setup.alpha):g}% intervals)\n")
    summary = cells.groupby("world", sort=False).agg(
        truth=("truth", "first"), mean_ratio=("value", "mean"), covered=("covered", "mean"),
        median_ess=("ess", "median"), median_khat=("khat", "median"), share_khat_07=("khat", lambda k: (k > 0.7).mean()),
        lcb_exceeds=("lcb_exceeds", "mean"), point_exceeds=("point_exceeds", "mean")).reset_index()
    summary["mean_ratio"] = summary["mean_ratio"] / summary["truth"]
    typer.echo(_markdown(summary, ["world", "truth", "mean_ratio", "covered", "median_ess", "median_khat",
                                   "share_khat_07", "lcb_exceeds", "point_exceeds"]))
    for title, col, bands, missing in (("ESS", "ess", ESS_BANDS, "no ESS"), ("k-hat", "khat", KHAT_BANDS, "k̂ n/a")):
        typer.echo(f"\n### bootstrap interval coverage by {title} band (cells: coverage)\n")
        typer.echo(_band_matrix(cells, band_of(cells[col], bands, missing), [b[2] for b in bands] + [missing]))
    cs = CrossingSetup(series=series, n_boot=n_boot, seed=seed)
    crossings = series_crossings(cs)
    typer.echo(f"\n## crossing interval ({100 * (1 - cs.alpha):g}%; {series} series per world, steps 1-16, true "
               f"crossing at step {cs.true_crossing:.0f}; bands of each series' median ESS / k-hat)\n")
    for title, col, bands, missing in (("ESS", "ess", ESS_BANDS, "no ESS"), ("k-hat", "khat", KHAT_BANDS, "k̂ n/a")):
        typer.echo(f"\n### by {title} band (series: coverage)\n")
        typer.echo(_band_matrix(crossings, band_of(crossings[col], bands, missing), [b[2] for b in bands] + [missing]))
    typer.echo(f"\nunder its own model (line + Gaussian noise of known sigma 0.2, 400 series): "
               f"{own_model_coverage(seed=seed + 5):.3f}")
    typer.echo(f"\n{time.perf_counter() - start:.0f} s", err=True)


def _markdown(df, columns: list[str]) -> str:  # type: ignore[no-untyped-def]
    from hackwatch.estimate._display import format_cell

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for _, row in df.iterrows():
        lines.append("| " + " | ".join(format_cell(row[c]) for c in columns) + " |")
    return "\n".join(lines)


def _band_matrix(table, band, order: list[str]) -> str:  # type: ignore[no-untyped-def]
    """World × band: 'n: coverage' per cell of the matrix."""
    t = table.assign(band=band.to_numpy()).groupby(["world", "band"], sort=False)["covered"].agg(["size", "mean"])
    bands = [b for b in order if b in set(t.index.get_level_values("band"))]
    lines = ["| world | " + " | ".join(bands) + " |", "|---|" + "---|" * len(bands)]
    for world in dict.fromkeys(t.index.get_level_values("world")):
        cells = [f"{int(t.loc[(world, b), 'size'])}: {t.loc[(world, b), 'mean']:.2f}" if (world, b) in t.index else "—"
                 for b in bands]
        lines.append(f"| {world} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
