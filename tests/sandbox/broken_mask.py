"""Preloading this makes every mask of the worker's view fail (as a mount refused for one hidden path would):
the pool must then refuse to start, never fall back to rlimits mode, where nothing is hidden."""

from __future__ import annotations

import hackwatch.sandbox._view as view


def _refuse(path: str) -> None:
    raise view.MaskError(f"mask {path}: refused (simulated)")


view._mask = _refuse
