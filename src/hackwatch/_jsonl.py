"""Reading JSONL input files with errors that name the file and line (shared by every stage)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any


def iter_jsonl(path: str | Path, error: Callable[[str], Exception]) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, object)`` for every non-blank line of ``path``.

    A line that is not valid JSON, or not a JSON object, raises ``error("FILE:LINE: ...")`` — each
    stage passes its own exception type (``TaskError``, ``BankError``, ...) so callers keep theirs.
    """
    with Path(path).open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise error(f"{path}:{n}: not valid JSON ({exc.msg} at column {exc.colno}); "
                            "expected one JSON object per line") from None
            if not isinstance(obj, dict):
                raise error(f"{path}:{n}: expected a JSON object per line, got {type(obj).__name__}")
            yield n, obj
