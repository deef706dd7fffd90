"""Importing this (as an entry module) breaks job set-up in that worker: an infrastructure failure.

The rlimit plan it installs is invalid (soft above hard), so ``setrlimit`` fails in the job's set-up,
in C (``_fastjob``) and in Python alike.
"""

from __future__ import annotations

import resource
from typing import Any

import hackwatch.sandbox._job as job


def _invalid_plan(limits: dict[str, float], nproc_backstop: bool) -> tuple[tuple[int, tuple[int, int]], ...]:
    return ((resource.RLIMIT_NOFILE, (64, 32)),)


job.plan_for = _invalid_plan


def entry(_: Any) -> str:
    return "never reached"
