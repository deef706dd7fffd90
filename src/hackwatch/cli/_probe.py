"""``hackwatch probe capture | train | score``: activation probes as a white-box warning signal."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hackwatch.cli._app import fail, probe_app


def _ints(spec: str, option: str) -> tuple[int, ...]:
    try:
        vals = tuple(int(x) for x in spec.split(",") if x.strip())
    except ValueError:
        raise fail(f"{option} {spec!r}: expected comma-separated integers, e.g. 1,2,4,8,16") from None
    if not vals:
        raise fail(f"{option}: give at least one value")
    return vals


def _names(spec: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in spec.split(",") if x.strip())


@probe_app.command("capture")
def capture_cmd(
    model: Annotated[str, typer.Option("--model", "-m", help="Saved transformers model directory (in-process "
                                       "weights are needed to read hidden states).")],
    samples: Annotated[Path, typer.Option("--samples", help="Sample rows (.jsonl/.parquet) with token ids, e.g. "
                                          "from `hackwatch sample`.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Activations directory to write (ACTS).")],
    layers: Annotated[str, typer.Option("--layers", help="Hidden-state indices, comma-separated (0 = embeddings, "
                                        "-1 = final norm output).")] = "-1",
    windows: Annotated[str, typer.Option("--windows", help="Windows in reasoning tokens.")] = "1,2,4,8,16",
    pooling: Annotated[str, typer.Option("--pooling", help="mean and/or last, comma-separated.")] = "mean",
    tasks: Annotated[str | None, typer.Option("--tasks", help="Task SOURCE: prompts and exploit types of rows "
                                              "that only carry task_id.")] = None,
    checkpoint: Annotated[str | None, typer.Option("--checkpoint", help="Checkpoint name for every row (default: "
                                                   "the row's own, else its model).")] = None,
    step: Annotated[int | None, typer.Option("--step", help="Training step for every row (default: the row's "
                                             "own).")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1)] = 8,
    dtype: Annotated[str, typer.Option("--dtype", help="Storage dtype: float16 or float32.")] = "float16",
    chat_format: Annotated[str | None, typer.Option("--chat-format", help="think or channel (override).")] = None,
    device: Annotated[str, typer.Option("--device", help="auto, cpu or cuda.")] = "auto",
) -> None:
    """Hidden states of the first W reasoning tokens of every sample (one forward pass over the stored ids)."""
    from hackwatch.models import BackendError, TransformersBackend
    from hackwatch.models._rows import RowsError, read_rows
    from hackwatch.probes import ActivationsError, CaptureSpec, ProbeError, capture_rows, save_activations
    from hackwatch.tasks import TaskError, load_tasks

    if ":" in model.split("/")[0] and not Path(model).exists():
        raise fail(f"--model {model}: probes read hidden states, so they need a local model directory "
                   "(not an openai:/vllm: spec)")
    if dtype not in ("float16", "float32"):
        raise fail(f"--dtype {dtype!r}: use float16 or float32")
    try:
        spec = CaptureSpec(_ints(layers, "--layers"), _ints(windows, "--windows"), _names(pooling))
        rows = read_rows(samples)
        given = {k: v for k, v in (("checkpoint", checkpoint), ("step", step)) if v is not None}
        rows = [{**r, **given} for r in rows] if given else rows
        task_map = {t.id: t for t in load_tasks(tasks)} if tasks else {}
    except (ValueError, RowsError, TaskError) as e:
        raise fail(str(e)) from e
    try:
        backend = TransformersBackend(model, device=device, chat_format=chat_format)
    except (BackendError, OSError, ValueError) as e:
        raise fail(f"--model {model}: {e}") from e
    try:
        acts = capture_rows(backend, rows, spec, tasks=task_map, checkpoint=checkpoint, step=step,
                            source=str(samples), batch_size=batch_size, progress=True)
        save_activations(acts, out, dtype=dtype)
    except (ProbeError, ActivationsError, ValueError) as e:
        raise fail(str(e)) from e
    typer.echo(f"wrote activations of {len(acts)} samples ({len(acts.arrays)} arrays, hidden "
               f"{acts.meta['hidden_size']}, layers {acts.meta['layers']}) to {out}", err=True)


@probe_app.command("train")
def train_cmd(
    acts: Annotated[list[Path], typer.Option("--acts", help="Activations directory from `hackwatch probe capture` "
                                             "(repeat for several checkpoints).")],
    labels: Annotated[Path, typer.Option("--labels", help="Verdict rows (.jsonl/.parquet) of the same samples, "
                                         "e.g. `hackwatch verify` output.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Probe directory to write (PROBE).")],
    label: Annotated[str, typer.Option("--label", help="Label column: exploit (default; else label == exploit) "
                                       "or any true/false column.")] = "exploit",
    c: Annotated[float, typer.Option("--C", help="Inverse L2 strength of the logistic regression.")] = 0.1,
    folds: Annotated[int, typer.Option("--folds", min=2, help="Outer task-blocked CV folds.")] = 5,
    inner_folds: Annotated[int, typer.Option("--inner-folds", min=2, help="Inner folds for calibration.")] = 3,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    no_null: Annotated[bool, typer.Option("--no-null", help="Skip the shuffled-label control.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="Do not print the CV table.")] = False,
) -> None:
    """Train a calibrated logistic probe per (layer, window, pooling); CV blocked by task, AUC per combination."""
    from hackwatch.estimate import SchemaError, read_table
    from hackwatch.probes import (
        ActivationsError,
        ProbeError,
        concat_activations,
        join_labels,
        load_activations,
        save_probes,
        train_probes,
    )

    if c <= 0:
        raise fail(f"--C {c}: expected a number > 0 (smaller = stronger regularisation)")
    try:
        a = concat_activations([load_activations(p) for p in acts])
        y = join_labels(a, read_table(labels), label=label, source=str(labels))
        n_lab = int((y == y).sum())
        if n_lab == 0:
            raise ProbeError(f"{labels}: no verdict row matches a captured sample (ids like "
                             f"{a.index['sample_id'].iloc[0]!r}); pass the verdicts of the captured samples")
        ps = train_probes(a, y, c=c, n_splits=folds, inner_splits=inner_folds, seed=seed, null_control=not no_null,
                          label_name=label, progress=True)
        save_probes(ps, out)
    except (ProbeError, ActivationsError, SchemaError, ValueError) as e:
        raise fail(str(e)) from e
    if not quiet:
        from rich.console import Console
        ps.print_summary(console=Console(stderr=True))
    best = (f"best CV AUC {ps.cv['cv_auc'].max():.3f} ({ps.best_key()})" if ps.cv["cv_auc"].notna().any()
            else "no CV AUC (a test fold lacked a class; add tasks or lower --folds)")
    typer.echo(f"trained {len(ps.probes)} probes on {n_lab} labelled samples ({len(a) - n_lab} unlabelled "
               f"skipped); {best} -> {out}", err=True)


@probe_app.command("score")
def score_cmd(
    probe: Annotated[Path, typer.Option("--probe", help="Probe directory from `hackwatch probe train`.")],
    acts: Annotated[list[Path], typer.Option("--acts", help="Activations directory of the samples to score (repeat "
                                             "for several checkpoints).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Per-sample scores (.jsonl/.parquet).")],
    use: Annotated[str | None, typer.Option("--use", help="Probe to use, e.g. layer2_window8_mean (default: best "
                                            "CV AUC); 'all' scores with every probe.")] = None,
    cells: Annotated[Path | None, typer.Option("--cells", help="Also write per-cell mean scores in the estimates "
                                               "shape (method=probe) for `hackwatch forecast --method probe`.")] = None,
    estimates: Annotated[Path | None, typer.Option("--estimates", help="Estimates table (with direct rows) to "
                                                   "include in --cells, so forecasts get emergence labels.")] = None,
    by: Annotated[str, typer.Option("--by", help="Cell columns for --cells.")] = "checkpoint,exploit_type",
    pooling: Annotated[str, typer.Option("--pooling", help="sample or task (cell mean).")] = "sample",
    n_boot: Annotated[int, typer.Option("--n-boot", help="Bootstrap resamples over tasks per cell.")] = 1000,
    seed: Annotated[int, typer.Option("--seed")] = 0,
) -> None:
    """Score samples with a trained probe; optionally per-cell rows the forecaster evaluates like any score."""
    import pandas as pd

    from hackwatch.estimate import SchemaError, read_table, write_table
    from hackwatch.probes import (
        ActivationsError,
        ProbeError,
        concat_activations,
        load_activations,
        load_probes,
        probe_cells,
        score_activations,
    )

    if estimates is not None and cells is None:
        raise fail("--estimates is only used with --cells; add --cells CELLS.parquet")
    try:
        ps = load_probes(probe)
        a = concat_activations([load_activations(p) for p in acts])
        key = ps.best_key() if use is None else use
        keys = list(ps.probes) if key == "all" else [key]
        scores = score_activations(ps, a, keys)
        table = None
        if cells is not None:  # computed before anything is written: a failure leaves no output
            chosen = ps.best_key() if key == "all" else key
            table = probe_cells(scores, by=_names(by), probe=chosen, pooling=pooling, n_boot=n_boot, seed=seed)
            if estimates is not None:
                est = read_table(estimates)
                if "method" not in est.columns:
                    raise ProbeError(f"{estimates}: lacks column 'method'; pass a table from `hackwatch estimate`")
                table = pd.concat([est[est["method"] != "probe"], table], ignore_index=True)
        write_table(scores, out)
        if cells is not None and table is not None:
            write_table(table, cells)
    except (ProbeError, ActivationsError, SchemaError, ValueError, KeyError) as e:
        raise fail(str(e).strip("'\"")) from e
    note = " (chosen by CV AUC: optimistic)" if use is None else ""
    if ps.meta.get("model") and ps.meta.get("model") != a.meta.get("model"):
        typer.echo(f"note: probe trained on activations of {ps.meta['model']}, applied to {a.meta.get('model')}",
                   err=True)
    typer.echo(f"scored {len(a)} samples with {', '.join(keys)}{note} -> {out}"
               + (f"; cells -> {cells}" if cells is not None else ""), err=True)
