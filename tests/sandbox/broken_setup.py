"""Importing this (as an entry module) breaks job set-up in that worker: an infrastructure failure."""

from __future__ import annotations

from typing import Any

import hackwatch.sandbox._job as job


def _refuse(rlimits: object) -> None:
    raise OSError("setrlimit refused (simulated)")


job._set_rlimits = _refuse


def entry(_: Any) -> str:
    return "never reached"
