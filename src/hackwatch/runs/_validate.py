"""Value checks for the run config: each returns the value or raises :class:`ConfigError` naming the key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """A run configuration value is missing or invalid; the message names the file and the key."""


def _where(ctx: str, section: str, key: str) -> str:
    return f"{ctx}: [{section}].{key}"


def _bad(ctx: str, section: str, key: str, expected: str, value: Any) -> ConfigError:
    shown = json.dumps(value, default=str) if not isinstance(value, Path) else str(value)
    return ConfigError(f"{_where(ctx, section, key)}: expected {expected}, got {shown}")


def _int(ctx: str, section: str, key: str, value: Any, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _bad(ctx, section, key, f"an integer >= {minimum}", value)
    return value


def _float(ctx: str, section: str, key: str, value: Any, *, positive: bool = False,
           unit: bool = False) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if ok and positive and not value > 0:
        ok = False
    if ok and unit and not 0 < value < 1:
        ok = False
    if not ok:
        what = "a float in (0, 1)" if unit else ("a float > 0" if positive else "a number")
        raise _bad(ctx, section, key, what, value)
    return float(value)


def _str(ctx: str, section: str, key: str, value: Any, choices: tuple[str, ...] | None = None) -> str:
    if not isinstance(value, str) or not value or (choices is not None and value not in choices):
        what = f"one of {', '.join(choices)}" if choices else "a non-empty string"
        raise _bad(ctx, section, key, what, value)
    return value


def _str_list(ctx: str, section: str, key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) and v for v in value):
        raise _bad(ctx, section, key, "a list of strings", value)
    return tuple(value)


def _int_list(ctx: str, section: str, key: str, value: Any) -> tuple[int, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0
                                              for v in value):
        raise _bad(ctx, section, key, "a list of positive integers", value)
    return tuple(value)
