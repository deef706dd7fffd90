"""A run's progress: per-stage counts mirrored to a :class:`~hackwatch.progress.Heartbeat` (a bar on a
terminal, heartbeat lines when piped), the log, and ``progress.json``.

``progress.json`` in the run directory is rewritten atomically after every committed unit, so
another process (a test, a dashboard) can follow a run without opening its locked database.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

from hackwatch.progress import Heartbeat

log = logging.getLogger("hackwatch.runs")


class Progress:
    """Counts committed units per stage and mirrors them to a :class:`Heartbeat` (bar or heartbeat
    lines), the log and ``progress.json``.
    """

    def __init__(self, run_dir: Path, *, bars: bool | None = None) -> None:
        self.path = run_dir / "progress.json"
        self.bars = sys.stderr.isatty() if bars is None else bars
        self.state: dict[str, Any] = {"stages": {}, "stage": None, "pid": os.getpid()}
        self._bar: Heartbeat | None = None
        self._t0 = 0.0
        self._stage = ""

    def start(self, stage: str, total: int, skipped: int, unit: str = "unit") -> None:
        """Begin a stage of ``total`` units of which ``skipped`` were already done by an earlier run."""
        self._stage = stage
        self._t0 = time.monotonic()
        self.state["stage"] = stage
        self.state["stages"][stage] = {"total": total, "done": skipped, "skipped": skipped, "finished": False}
        log.info("%s: %d %ss to do (%d already done)", stage, total - skipped, unit, skipped)
        self.close()
        self._bar = Heartbeat(stage, total, unit=unit, done=skipped, bar=self.bars)
        self._write()

    def advance(self, n: int = 1) -> None:
        """Record ``n`` newly committed units."""
        self.state["stages"][self._stage]["done"] += n
        if self._bar is not None:
            self._bar.update(n)
        self._write()

    def finish(self) -> None:
        """End the current stage and log its rate."""
        st = self.state["stages"][self._stage]
        st["finished"] = True
        elapsed = time.monotonic() - self._t0
        new = st["done"] - st["skipped"]
        rate = f", {new / elapsed:.1f}/s" if new and elapsed > 0 else ""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        log.info("%s: done %d/%d in %.1fs%s", self._stage, st["done"], st["total"], elapsed, rate)
        self._write()

    def close(self) -> None:
        """Stop the current stage's bar or heartbeat without marking it finished (after an error): its
        last heartbeat line says ``stopped``.
        """
        if self._bar is not None:
            self._bar.close(stopped=True)
            self._bar = None

    def note(self, **values: Any) -> None:
        """Record extra top-level values (e.g. ``finished=True``)."""
        self.state.update(values)
        self._write()

    def _write(self) -> None:
        tmp = self.path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.state))
        os.replace(tmp, self.path)


def setup_logging(run_dir: Path, *, verbose: bool = False) -> None:
    """Log concisely to stderr and fully to ``run_dir/run.log``."""
    logger = logging.getLogger("hackwatch")
    logger.setLevel(logging.DEBUG)
    for h in list(logger.handlers):
        if getattr(h, "_hackwatch_run", False):
            logger.removeHandler(h)
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(logging.DEBUG if verbose else logging.INFO)
    console.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    file = logging.FileHandler(run_dir / "run.log")
    file.setLevel(logging.DEBUG)
    file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for h in (console, file):
        h._hackwatch_run = True  # type: ignore[attr-defined]
        logger.addHandler(h)
