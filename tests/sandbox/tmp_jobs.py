"""Jobs that use the temporary directory the way verifiers do (``tempfile.gettempdir()`` + a fixed name)."""

from __future__ import annotations

import os
import tempfile
import time
from typing import Any


def temp_roundtrip(token: str) -> dict[str, Any]:
    """Write ``test_cases.py`` in the temporary directory (as Djinn-style verifiers do), wait, read it back;
    also say which directory that was."""
    tmp = tempfile.gettempdir()
    before = sorted(os.listdir(tmp))
    path = os.path.join(tmp, "test_cases.py")
    with open(path, "w") as fh:
        fh.write(token)
    time.sleep(0.05)
    with open(path) as fh:
        return {"before": before, "read": fh.read(), "tmp": tmp}
