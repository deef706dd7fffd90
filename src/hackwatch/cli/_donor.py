"""``hackwatch donor train|traces|prompted|from-file|show``: the IS proposal and its prefix bank."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from hackwatch.cli._app import donor_app, fail

TasksOpt = Annotated[str, typer.Option("--tasks", help="Task SOURCE (see `hackwatch tasks`).")]
DeviceOpt = Annotated[str, typer.Option("--device", help="auto, cpu or cuda (transformers backend).")]
LengthsOpt = Annotated[str, typer.Option("--lengths", help="Ladder of prefix lengths in model tokens, comma-separated; "
                                         "lengths beyond a trace's reasoning are dropped.")]
PivotOpt = Annotated[bool, typer.Option("--start-at-pivot", help="Count the ladder from the pivot (the token where "
                                        "the trace first turns to the exploit) instead of from the start.")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Run seed.")]


def _lengths(text: str) -> tuple[int, ...]:
    if not text.strip():
        return ()
    try:
        out = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise fail(f"--lengths {text!r}: expected comma-separated integers such as 2,5,10,20,45,100") from None
    if any(n < 1 for n in out):
        raise fail(f"--lengths {text!r}: every length must be >= 1 token")
    return out


def _tasks(source: str, split: str) -> list[Any]:
    from hackwatch.tasks import TaskError, load_tasks

    try:
        tasks = list(load_tasks(source))
    except (TaskError, OSError, ValueError) as e:
        raise fail(str(e)) from e
    if split and split != "all":
        picked = [t for t in tasks if t.split == split]
        if not picked:
            have = sorted({t.split or "''" for t in tasks})
            raise fail(f"--tasks {source}: no task in split {split!r} (splits present: {', '.join(have)}); "
                       "pick another --split or use --split all")
        tasks = picked
    return tasks


def _backend(spec: str, device: str, what: str) -> Any:
    from hackwatch.models import BackendError, load_backend

    try:
        return load_backend(spec, device=device)
    except (BackendError, ImportError, OSError, ValueError) as e:
        raise fail(f"{what} {spec}: {e}") from e


def _write(rows: list[dict[str, Any]], out: Path, provenance: dict[str, Any]) -> None:
    from hackwatch.donor import BankError, write_bank

    if not rows:
        raise fail(f"--out {out}: no prefix to write (missing tasks: {', '.join(provenance.get('missing', [])[:10])}); "
                   "sample more (--n), use other tasks, or check the donor")
    try:
        write_bank(rows, out, provenance)
    except BankError as e:
        raise fail(str(e)) from e


def _summary(rows: list[dict[str, Any]], provenance: dict[str, Any], out: Path) -> None:
    tasks = {r["task_id"] for r in rows}
    typer.echo(f"wrote {len(rows)} prefixes of {len({r['trace_id'] for r in rows})} traces for {len(tasks)} "
               f"tasks to {out}")
    missing = provenance.get("missing", [])
    if missing:
        typer.echo(f"{len(missing)} task(s) without a prefix (listed as 'missing' in the provenance): "
                   + ", ".join(missing))


@donor_app.command()
def train(model: Annotated[str, typer.Option("--model", "-m", help="Subject model directory (or hub id).")],
          tasks: TasksOpt, out: Annotated[Path, typer.Option("--out", "-o", help="Directory for the donor.")],
          split: Annotated[str, typer.Option("--split", help="Train on tasks of this split ('all' = every task).")]
          = "donor",
          lora: Annotated[bool | None, typer.Option("--lora/--full", help="LoRA or full fine-tune (default: LoRA "
                                                    "above 200M parameters).")] = None,
          epochs: Annotated[float, typer.Option("--epochs")] = 3.0,
          max_steps: Annotated[int | None, typer.Option("--max-steps", help="Optimizer steps (overrides --epochs).")]
          = None,
          lr: Annotated[float | None, typer.Option("--lr", help="Learning rate (default 2e-4 LoRA, 1e-3 full).")] = None,
          batch_size: Annotated[int, typer.Option("--batch-size")] = 8,
          lora_r: Annotated[int, typer.Option("--lora-r")] = 16,
          max_length: Annotated[int, typer.Option("--max-length", help="Longest example in tokens.")] = 2048,
          seed: SeedOpt = 0) -> None:
    """Fine-tune a copy of the subject on (task prompt → exploit code), reasoning left empty by its template."""
    from hackwatch.donor import DonorTrainConfig, train_donor

    task_list = _tasks(tasks, split)
    try:
        config = DonorTrainConfig(lora=lora, epochs=epochs, max_steps=max_steps, lr=lr, batch_size=batch_size, seed=seed, lora_r=lora_r,
                                  max_length=max_length)
        info = train_donor(model, task_list, out, config=config, split=split, progress=True)
    except (ValueError, OSError) as e:
        raise fail(f"donor train: {e}") from e
    last = info["losses"][-1] if info["losses"] else float("nan")
    typer.echo(f"trained donor ({info['method']}, {info['n_examples']} examples, final loss {last:.3f}) → {out}")


@donor_app.command()
def traces(donor: Annotated[str, typer.Option("--donor", help="Donor model directory (or any model spec).")],
           tasks: TasksOpt, out: Annotated[Path, typer.Option("--out", "-o", help="Bank file (.parquet or .jsonl).")],
           split: Annotated[str, typer.Option("--split", help="Sample tasks of this split ('all' = every task).")]
           = "heldout",
           n: Annotated[int, typer.Option("--n", help="Samples per task; exploit-successful ones are kept.")] = 16,
           temperature: Annotated[float, typer.Option("--temperature", "-t", help="Sampling τ (use the subject's).")]
           = 1.0,
           max_new_tokens: Annotated[int, typer.Option("--max-new-tokens")] = 512,
           donor_rate_attempts: Annotated[int, typer.Option("--donor-rate-attempts", help="Extra samples per task "
                                          "for π̂_D(x) (estimated from all n + A samples).")] = 0,
           prefix_attempts: Annotated[int, typer.Option("--prefix-attempts", help="Donor continuations per prefix "
                                      "for â_D(x,z) (0 = not estimated).")] = 0,
           lengths: LengthsOpt = "2,5,10,20,45,100", start_at_pivot: PivotOpt = False,
           full_reasoning: Annotated[bool, typer.Option("--full-reasoning", help="Also keep each trace's whole "
                                     "reasoning as a prefix.")] = False,
           source: Annotated[str, typer.Option("--source", help="donor, or other_model for an unrelated model.")]
           = "donor",
           subject: Annotated[str | None, typer.Option("--subject", help="Subject model; when its tokenizer differs "
                              "from the donor's, prefixes are re-tokenised with it.")] = None,
           workers: Annotated[int | None, typer.Option("--workers", help="Sandbox workers.")] = None,
           batch_size: Annotated[int, typer.Option("--batch-size")] = 16, seed: SeedOpt = 0,
           device: DeviceOpt = "auto") -> None:
    """Sample the donor with reasoning, keep verified exploit traces, cut them into a prefix bank."""
    from hackwatch.donor import build_bank, generate_traces, retokenized_trace_rows
    from hackwatch.verify import Verifier

    if n < 1 or temperature <= 0 or max_new_tokens < 1 or prefix_attempts < 0 or donor_rate_attempts < 0:
        raise fail("--n and --max-new-tokens must be >= 1, --temperature > 0, attempts >= 0")
    if source not in ("donor", "other_model"):
        raise fail(f"--source {source!r}: expected donor or other_model (prompted/file have their own commands)")
    ladder = _lengths(lengths)
    if not ladder and not full_reasoning:
        raise fail("--lengths is empty; give lengths or --full-reasoning")
    task_list = _tasks(tasks, split)
    be = _backend(donor, device, "--donor")
    sub = _backend(subject, device, "--subject") if subject else None
    retok = sub is not None and sub.tokenizer.get_vocab() != be.tokenizer.get_vocab()
    with Verifier(workers=workers) as verifier:
        ts = generate_traces(be, task_list, verifier, n=n, temperature=temperature, max_new_tokens=max_new_tokens,
                             seed=seed, rate_samples=donor_rate_attempts, batch_size=batch_size, progress=True)
        rows, prov = build_bank(ts, be, task_list, verifier, lengths=ladder, start_at_pivot=start_at_pivot,
                                full_reasoning=full_reasoning, prefix_attempts=0 if retok else prefix_attempts,
                                max_new_tokens=max_new_tokens, source="other_model" if retok else source,
                                batch_size=batch_size, progress=True)
    if retok:
        assert sub is not None
        rows = retokenized_trace_rows(ts, be, sub, task_list, lengths=ladder, start_at_pivot=start_at_pivot)
        prov.update(retokenized_with=str(subject), n_prefixes=len(rows), prefix_attempts=0)
        typer.echo("note: donor and subject tokenizers differ; prefixes re-tokenised with the subject's, "
                   "logp_donor and â_D left null", err=True)
    prov.update(donor_split=split, tasks_source=tasks)
    _write(rows, out, prov)
    kept = sum(1 for _ in ts.traces)
    total = sum(m for _, m in ts.task_counts.values())
    typer.echo(f"{kept} exploit-successful traces of {total} donor samples")
    _summary(rows, prov, out)


@donor_app.command()
def prompted(writer: Annotated[str, typer.Option("--writer", help="Writer model spec, e.g. "
                                                 "'openai:http://host:8000/v1#model'.")],
             subject: Annotated[str, typer.Option("--subject", help="Subject model (its tokenizer encodes the text).")],
             tasks: TasksOpt, out: Annotated[Path, typer.Option("--out", "-o", help="Bank file.")],
             split: Annotated[str, typer.Option("--split")] = "heldout",
             template: Annotated[Path | None, typer.Option("--template", help="Prompt template file ({prompt}, "
                                 "{exploit_type}, {task_id}, {function_name}); default: a built-in one.")] = None,
             n: Annotated[int, typer.Option("--n", help="Texts per task.")] = 1,
             temperature: Annotated[float, typer.Option("--temperature", "-t")] = 1.0,
             max_new_tokens: Annotated[int, typer.Option("--max-new-tokens")] = 256,
             lengths: LengthsOpt = "", start_at_pivot: PivotOpt = False, seed: SeedOpt = 0,
             device: DeviceOpt = "auto") -> None:
    """Prefixes written by an LLM from a prompt template (source 'prompted'), in subject tokens."""
    from hackwatch.donor import DEFAULT_WRITER_TEMPLATE, prompted_prefixes

    if n < 1 or temperature <= 0:
        raise fail("--n must be >= 1 and --temperature > 0")
    text = DEFAULT_WRITER_TEMPLATE
    if template is not None:
        if not template.is_file():
            raise fail(f"--template {template}: no such file")
        text = template.read_text(encoding="utf-8")
    task_list = _tasks(tasks, split)
    w, sub = _backend(writer, device, "--writer"), _backend(subject, device, "--subject")
    try:
        rows, prov = prompted_prefixes(w, sub, task_list, n=n, template=text, temperature=temperature,
                                       max_new_tokens=max_new_tokens, seed=seed, lengths=_lengths(lengths),
                                       start_at_pivot=start_at_pivot, progress=True)
    except ValueError as e:
        raise fail(str(e)) from e
    _write(rows, out, prov)
    _summary(rows, prov, out)


@donor_app.command("from-file")
def from_file(file: Annotated[Path, typer.Option("--file", help="JSONL lines {task_id, text[, prefix_id]}.")],
              subject: Annotated[str, typer.Option("--subject", help="Subject model (its tokenizer encodes the text).")],
              tasks: TasksOpt, out: Annotated[Path, typer.Option("--out", "-o", help="Bank file.")],
              split: Annotated[str, typer.Option("--split")] = "all", lengths: LengthsOpt = "",
              start_at_pivot: PivotOpt = False, device: DeviceOpt = "auto") -> None:
    """Prefixes from a user file (source 'file'), tokenised once with the subject tokenizer."""
    from hackwatch.donor import BankError, file_prefixes

    task_list = _tasks(tasks, split)
    sub = _backend(subject, device, "--subject")
    try:
        rows, prov = file_prefixes(file, sub, task_list, lengths=_lengths(lengths), start_at_pivot=start_at_pivot)
    except BankError as e:
        raise fail(str(e)) from e
    _write(rows, out, prov)
    _summary(rows, prov, out)


@donor_app.command()
def show(bank: Annotated[Path, typer.Argument(help="Bank file (.parquet or .jsonl).")]) -> None:
    """Validate a bank and print one line per task: traces, prefixes, lengths, rates."""
    import pandas as pd

    from hackwatch.donor import BankError, read_bank, read_provenance

    try:
        frame = read_bank(bank)
    except BankError as e:
        raise fail(str(e)) from e
    for tid, g in frame.groupby("task_id", sort=False):
        rate = g["donor_rate_task"].iloc[0]
        typer.echo(f"{tid}\t{g['exploit_type'].iloc[0]}\t{g['trace_id'].nunique()} traces\t{len(g)} prefixes\t"
                   f"lengths {sorted(set(g['prefix_tokens']))}\tpi_D {'-' if pd.isna(rate) else f'{rate:.3g}'}")
    missing = read_provenance(bank).get("missing", [])
    typer.echo(f"{len(frame)} prefixes, {frame['task_id'].nunique()} tasks"
               + (f"; missing: {', '.join(missing)}" if missing else ""))
