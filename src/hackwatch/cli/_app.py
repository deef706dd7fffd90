"""The typer applications every command module registers on.

Each pipeline stage owns one module in this package (``_tasks.py``, ``_verify.py``, ...) and adds
its commands to these apps; heavy imports (torch, transformers) happen inside the commands so
``hackwatch --help`` stays fast.
"""

from __future__ import annotations

import typer

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

app.add_typer(tasks_app, name="tasks")
app.add_typer(bench_app, name="bench")
app.add_typer(donor_app, name="donor")
app.add_typer(probe_app, name="probe")


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print a one-line error to stderr; return the exit for the caller to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)
