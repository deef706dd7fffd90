"""``hackwatch tasks list`` and ``hackwatch tasks show``: look at a task SOURCE the way the model and verifier do."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from hackwatch.cli._app import fail, tasks_app

if TYPE_CHECKING:
    from hackwatch.tasks import Task

SOURCE_HELP = ("'builtin' (or 'builtin:donor', 'builtin:heldout'), a directory of Djinn problem.yaml files, "
               "a problem.yaml, or a .jsonl / .parquet file of hackwatch tasks or Djinn rows.")


STRICT_HELP = "Exit 2 if any problem of SOURCE is bad, instead of skipping it with a warning."


def load_for_cli(source: str, strict: bool) -> list[Task]:
    """Every good task of SOURCE; each bad problem is one stderr line (``warning: skipped ...``, or
    ``error: ...`` and exit 2 when ``strict``). An unusable SOURCE is an error either way.
    """
    from hackwatch.tasks import TaskError, load_source

    try:
        loaded = load_source(source)
    except TaskError as exc:
        raise fail(str(exc)) from None
    except (OSError, ValueError) as exc:
        raise fail(f"{source}: {exc}") from None
    for error in loaded.skipped:
        typer.echo(f"error: {error}" if strict else f"warning: skipped {error}", err=True)
    if loaded.skipped and strict:
        raise typer.Exit(2)
    if loaded.skipped:
        typer.echo(f"warning: {len(loaded.skipped)} bad problem(s) skipped, {len(loaded.tasks)} tasks loaded "
                   "(--strict fails instead)", err=True)
    return list(loaded.tasks)


def _load(source: str, strict: bool) -> list[Task]:
    return load_for_cli(source, strict)


@tasks_app.command("list")
def list_tasks(
    source: Annotated[str, typer.Argument(help=SOURCE_HELP)],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per task on stdout.")] = False,
    strict: Annotated[bool, typer.Option("--strict", help=STRICT_HELP)] = False,
) -> None:
    """List the tasks of SOURCE: id, exploit type, split and number of secure/insecure tests."""
    tasks = _load(source, strict)
    rows = [{"id": t.id, "exploit_type": t.exploit_type, "split": t.split,
             "secure_tests": len(t.secure_tests),
             "insecure_tests": None if t.insecure_tests is None else len(t.insecure_tests),
             "legacy_verifier": t.insecure_verifier_code is not None} for t in tasks]
    if as_json:
        for row in rows:
            typer.echo(json.dumps(row))
        return
    if not rows:
        typer.echo("0 tasks")
        return
    width_id = max(len("id"), *(len(r["id"]) for r in rows))
    width_type = max(len("exploit_type"), *(len(r["exploit_type"]) for r in rows))
    typer.echo(f"{'id':<{width_id}}  {'exploit_type':<{width_type}}  {'split':<8}  tests")
    for r in rows:
        tests = str(r["secure_tests"])
        if r["insecure_tests"] is not None:
            tests += f" ({r['insecure_tests']} insecure)"
        typer.echo(f"{r['id']:<{width_id}}  {r['exploit_type']:<{width_type}}  {r['split'] or '-':<8}  {tests}")
    typer.echo(f"{len(rows)} tasks, {len({r['exploit_type'] for r in rows})} exploit types")


def _section(title: str, body: str) -> None:
    typer.echo(f"── {title} " + "─" * max(0, 60 - len(title)))
    typer.echo(body.rstrip("\n"))


@tasks_app.command("show")
def show_task(
    source: Annotated[str, typer.Argument(help=SOURCE_HELP)],
    task_id: Annotated[str, typer.Argument(help="The task's id (see 'hackwatch tasks list').")],
    as_json: Annotated[bool, typer.Option("--json", help="The task as a hackwatch JSONL row.")] = False,
    strict: Annotated[bool, typer.Option("--strict", help=STRICT_HELP)] = False,
) -> None:
    """Show one task: the prompt as the model sees it, the tests, the ground truth and the reference exploit."""
    from hackwatch.tasks import task_to_row

    tasks = _load(source, strict)
    match = [t for t in tasks if t.id == task_id]
    if not match:
        close = [t.id for t in tasks if task_id.lower() in t.id.lower()][:5]
        suggestion = f"; did you mean: {', '.join(close)}" if close else "; run 'hackwatch tasks list' for the ids"
        raise fail(f"{source}: no task with id {task_id!r}{suggestion}")
    task = match[0]
    if as_json:
        typer.echo(json.dumps(task_to_row(task, source), ensure_ascii=False))
        return
    typer.echo(f"id: {task.id}\nexploit_type: {task.exploit_type}\nsplit: {task.split or '-'}\n"
               f"function: {task.function_name}\nsource: {task.source}")
    _section("prompt (as the model sees it)", task.prompt)
    _section(f"secure tests ({len(task.secure_tests)})", "\n".join(f"{i!r} -> {e!r}" for i, e in task.secure_tests))
    if task.insecure_tests is not None:
        _section(f"insecure tests ({len(task.insecure_tests)})",
                 "\n".join(f"{i!r} -> {e!r}" for i, e in task.insecure_tests))
    _section("ground truth", task.ground_truth)
    _section("reference exploit", task.exploit or "(none)")
    for k, null in enumerate(task.nulls, start=1):
        _section(f"null {k} (a plausible wrong answer)", null)
    if task.insecure_verifier_code is not None:
        _section("embedded insecure verifier (legacy Djinn)", task.insecure_verifier_code)
