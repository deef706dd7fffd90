"""Progress of long work, one helper for every stage: a bar on a terminal, heartbeat lines when piped.

``Heartbeat(stage, total, unit=...)`` (a context manager with ``update(n)``) and ``progress(items, stage)``
(an iterator wrapper). When stderr is not a terminal they print ``[hackwatch] STAGE: done/total UNITs (p%),
rate, ETA, elapsed`` at the start, at least every 20 s (``$HACKWATCH_HEARTBEAT_SECONDS`` to change it), and
at the end. See docs/runs.md.
"""

from hackwatch.runs._progress import HEARTBEAT_ENV, HEARTBEAT_SECONDS, Heartbeat, heartbeat_seconds, progress

__all__ = ["HEARTBEAT_ENV", "HEARTBEAT_SECONDS", "Heartbeat", "heartbeat_seconds", "progress"]
