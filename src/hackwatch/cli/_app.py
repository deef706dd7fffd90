"""The typer applications every command module registers on.

Each pipeline stage owns one module in this package (``_tasks.py``, ``_verify.py``, ...) and adds
its commands to these apps; heavy imports (torch, transformers) happen inside the commands so
``hackwatch --help`` stays fast.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from hackwatch._quiet import THIRD_PARTY, quiet_libraries  # noqa: F401 - re-exported for the CLI

app = typer.Typer(
    name="hackwatch",
    help="Early warning of reward hacking and exploration hacking in RL post-training of LLMs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
tasks_app = typer.Typer(help="Inspect and check exploitable task sources.", no_args_is_help=True)
bench_app = typer.Typer(help="Benchmarks: figures and ratios measured side by side in one run.",
                        no_args_is_help=True)
donor_app = typer.Typer(help="Donor model training and trace generation (the IS proposal).",
                        no_args_is_help=True)
probe_app = typer.Typer(help="Activation probes: capture hidden states, train and score linear probes.",
                        no_args_is_help=True)

PIPED_WIDTH = "1000"
"""Console width for rich tables when stdout is not a terminal: they keep every column instead of 80."""


def keep_table_width() -> None:
    """When stdout is piped, let rich tables use a wide console (``COLUMNS``) rather than cut to 80."""
    try:
        piped = not sys.stdout.isatty()
    except (AttributeError, ValueError):
        piped = True
    if piped:
        os.environ.setdefault("COLUMNS", PIPED_WIDTH)


def _version(value: bool) -> None:
    if value:
        from hackwatch import __version__

        typer.echo(f"hackwatch {__version__}")
        raise typer.Exit()


@app.callback()
def _main(version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True, help="Print the version and exit.")] = False) -> None:
    quiet_libraries()
    keep_table_width()


app.add_typer(tasks_app, name="tasks")
app.add_typer(bench_app, name="bench")
app.add_typer(donor_app, name="donor")
app.add_typer(probe_app, name="probe")


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print a one-line error to stderr; return the exit for the caller to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)
