"""``hackwatch verify``, ``hackwatch tasks check`` and ``hackwatch bench verify``."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from hackwatch.cli._app import app, bench_app, fail, tasks_app

if TYPE_CHECKING:
    from hackwatch.tasks import Task

SOURCE_HELP = "Task SOURCE: 'builtin', a directory of Djinn problem.yaml files, a Djinn rows or hackwatch .jsonl/.parquet."
WORKERS_HELP = "Sandbox workers (default: number of CPUs)."


def _hidden(source: str) -> list[str]:
    """The task source on disk, masked inside the sandbox so a submission cannot read its tests."""
    path = Path(source)
    return [str(path.resolve())] if path.exists() else []


def _load_tasks(source: str, strict: bool = True) -> list[Task]:
    from hackwatch.cli._tasks import load_for_cli
    return load_for_cli(source, strict)


@tasks_app.command("check")
def tasks_check(
    source: Annotated[str, typer.Argument(help=SOURCE_HELP)],
    as_json: Annotated[bool, typer.Option("--json", help="Print the full report as JSON on stdout.")] = False,
    workers: Annotated[int | None, typer.Option("--workers", min=1, help=WORKERS_HELP)] = None,
) -> None:
    """Check every task: ground truth is correct, the reference exploit is an exploit, nulls fail,
    and the other exploit types' exploits fail this task's insecure verifier. Exit 0 only if all are consistent.
    """
    from hackwatch.verify import Verifier, check_tasks
    tasks = _load_tasks(source)
    with Verifier(workers=workers, hide_paths=_hidden(source)) as verifier:
        report = check_tasks(tasks, verifier=verifier, progress=True)
    if as_json:
        typer.echo(json.dumps({**report.to_dict(), "summary": report.summary}))
        typer.echo(report.summary, err=True)
    else:
        for result in report.results:
            for problem in result.problems:
                typer.echo(f"{result.task_id} ({result.exploit_type}): {problem}")
        typer.echo(report.summary)
    if not report.ok:
        raise typer.Exit(1)


def _read_rows(path: Path) -> list[tuple[str, dict[str, Any]]]:
    """Rows with their place (``FILE:LINE``) for error messages, through the guarded edge (``_files``)."""
    from hackwatch._files import read_rows_with_place

    return read_rows_with_place(path, fail)


def _write_rows(path: Path, rows: list[dict[str, Any]]) -> None:
    """Write atomically: a temp file in the same folder, renamed at the end."""
    from hackwatch._files import write_rows

    write_rows(rows, path)


@app.command("verify")
def verify_cmd(
    tasks: Annotated[str, typer.Option("--tasks", help=SOURCE_HELP)],
    completions: Annotated[Path, typer.Option("--completions", help="Input .jsonl/.parquet: task_id + completion or code.")],
    out: Annotated[Path, typer.Option("--out", help="Output .jsonl/.parquet: input fields + verdict fields.")],
    workers: Annotated[int | None, typer.Option("--workers", min=1, help=WORKERS_HELP)] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 2 if any problem of --tasks is bad, "
                                         "instead of skipping it with a warning.")] = False,
    verifiers: Annotated[str, typer.Option("--verifiers", help="Insecure verifiers: 'hackwatch' (its own, one per "
                                           "exploit type) or 'djinn' (Djinn's shared verifier modules, run in "
                                           "hackwatch's sandbox; needs Djinn importable).")] = "hackwatch",
) -> None:
    """Label model outputs: adds secure_pass, insecure_pass, label, exploit, reason and sandbox to every row.

    Every input field is carried through, so rows from `hackwatch sample` come out ready for
    `hackwatch estimate --verdicts` (exploit = label is 'exploit').
    """
    from hackwatch._files import check_out_suffix
    from hackwatch.verify import VERIFIER_MODES, DjinnUnavailable, Verifier, extract_code
    check_out_suffix(out, fail, option="--out")
    if verifiers not in VERIFIER_MODES:
        raise fail(f"--verifiers {verifiers!r}: expected one of {', '.join(VERIFIER_MODES)}")
    if verifiers == "djinn":
        from hackwatch.verify._djinn import djinn_root
        try:
            djinn_root()
        except DjinnUnavailable as exc:
            raise fail(f"--verifiers djinn: {exc}") from None
    by_id = {t.id: t for t in _load_tasks(tasks, strict)}
    rows = _read_rows(completions)
    pairs = []
    for where, row in rows:
        task_id = row.get("task_id")
        if not isinstance(task_id, str):
            raise fail(f"{where}: missing or non-string field 'task_id'")
        if task_id not in by_id:
            raise fail(f"{where}: unknown task_id {task_id!r} (not in {tasks}); check --tasks")
        code = row.get("code")
        if code is None:
            completion = row.get("completion")
            if not isinstance(completion, str):
                raise fail(f"{where}: needs a string field 'completion' (full model output) or 'code'")
            code = extract_code(completion)
        elif not isinstance(code, str):
            raise fail(f"{where}: field 'code' must be a string, got {type(code).__name__}")
        pairs.append((by_id[task_id], code))
    with Verifier(workers=workers, hide_paths=_hidden(tasks), verifiers=verifiers) as verifier:
        verdicts = verifier.verify_many(pairs, progress=True)
    out_rows = [{**row, "secure_pass": v.secure_pass, "insecure_pass": v.insecure_pass, "label": v.label,
                 "exploit": v.label == "exploit", "reason": v.reason, "sandbox": v.sandbox} for (_, row), v in zip(rows, verdicts, strict=True)]
    _write_rows(out, out_rows)
    counts: dict[str, int] = {}
    for v in verdicts:
        counts[v.label] = counts.get(v.label, 0) + 1
    typer.echo(f"{len(verdicts)} verified -> {out}: " + ", ".join(f"{k} {n}" for k, n in sorted(counts.items())),
               err=True)


@bench_app.command("verify")
def bench_verify(
    tasks: Annotated[str, typer.Option("--tasks", help=SOURCE_HELP)] = "builtin",
    workers: Annotated[int | None, typer.Option("--workers", min=1, help=WORKERS_HELP)] = None,
    n: Annotated[int, typer.Option("--n", min=1, help="Submissions per measurement (ground truths and exploits).")] = 200,
    baseline_n: Annotated[int, typer.Option("--baseline-n", min=1, help="Checks for the subprocess baseline.")] = 40,
    repeats: Annotated[int | None, typer.Option("--repeats", min=1,
                                                help="Pool measurements per kind (default 3), or with --djinn "
                                                     "alternating rounds (default 5); the median is reported.")] = None,
    djinn: Annotated[Path | None, typer.Option("--djinn", help="A checkout of EleutherAI/djinn: measure its offline "
                                               "verification side by side on the same submissions (secure, "
                                               "insecure, whole; alternating rounds) and the CLI against the "
                                               "API, instead of the subprocess baseline.")] = None,
    cli_n: Annotated[int, typer.Option("--cli-n", min=1, help="With --djinn: submissions in the file for the "
                                       "CLI-vs-API comparison.")] = 2000,
) -> None:
    """Secure and insecure checks per second: the sandbox pool vs a fresh python subprocess per check,
    or (--djinn PATH) vs Djinn's own offline verification, measured side by side.
    """
    workers = workers or os.cpu_count() or 1
    if djinn is not None:
        from hackwatch.verify._bench_djinn import bench_djinn
        try:
            result_dj = bench_djinn(_load_tasks(tasks), tasks, djinn, workers=workers, n=n, rounds=repeats or 5,
                                    cli_n=cli_n)
        except (ValueError, RuntimeError) as exc:
            raise fail(str(exc)) from None
        for line in result_dj.lines():
            typer.echo(line)
        sys.stdout.flush()
        return
    from hackwatch.verify._bench import bench
    result = bench(_load_tasks(tasks), workers=workers, n=n, baseline_n=baseline_n, repeats=repeats or 3)
    for line in result.lines():
        typer.echo(line)
    sys.stdout.flush()
