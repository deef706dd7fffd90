"""Entry functions for the venv sandbox tests (``tests.sandbox.venv_jobs:NAME``): what a job of a
pool started from a virtual environment sees of that environment.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from typing import Any


def interpreter(module: str) -> dict[str, Any]:
    """The job's interpreter facts, an import of ``module``, and a child ``sys.executable`` that
    imports it too (as Djinn's embedded verifiers spawn the interpreter).
    """
    out: dict[str, Any] = {"prefix": sys.prefix, "executable": sys.executable}
    try:
        out["imported"] = importlib.import_module(module).__file__
    except ImportError as exc:
        out["imported"] = f"{type(exc).__name__}: {exc}"
    try:
        child = subprocess.run([sys.executable, "-c", f"import sys, {module}; print(sys.prefix); print({module}.__file__)"],
                               capture_output=True, text=True, timeout=20)
        out["child"] = [child.returncode, child.stdout.split(), child.stderr[-300:]]
    except OSError as exc:
        out["child"] = [None, [], f"{type(exc).__name__}: {exc}"]
    return out
