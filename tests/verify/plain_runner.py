"""The verify job entry without the worker-side precompile hook (``tests.verify.plain_runner:run``)."""

from __future__ import annotations

from typing import Any

from hackwatch.verify._runner import run_job


def run(payload: dict[str, Any]) -> dict[str, Any]:
    """``run_job`` exactly, but the job compiles the submission itself (no ``sandbox_prepare``)."""
    return run_job(payload)
