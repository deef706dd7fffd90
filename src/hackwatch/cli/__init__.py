"""The ``hackwatch`` command line. Each stage's commands live in their own module."""

from __future__ import annotations

import importlib

from hackwatch.cli._app import app

# One module per stage; each registers its commands on the apps in ``_app``.
_COMMAND_MODULES = [
    "_tasks", "_verify", "_models", "_estimate", "_monitor", "_donor", "_probe", "_run", "_export", "_demo", "_bench",
]
for _name in _COMMAND_MODULES:
    importlib.import_module(f"hackwatch.cli.{_name}")


def main() -> None:
    """Console-script entry point."""
    app()


__all__ = ["app", "main"]
