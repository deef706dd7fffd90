"""Progress of long work, one helper for every stage: a bar on a terminal, heartbeat lines when piped.

``Heartbeat(stage, total, unit=...)`` (a context manager with ``update(n)``) and ``progress(items, stage)``
(an iterator wrapper). On a terminal they draw a tqdm bar; when stderr is not a terminal (CI logs,
``| tee``, nohup) they print ``[hackwatch] STAGE: done/total UNITs (p%), rate, ETA, elapsed`` at the
start, at least every 20 s from a background thread (so a single slow unit still shows life;
``$HACKWATCH_HEARTBEAT_SECONDS`` changes the interval), and at the end. Every long loop of hackwatch
(run pipeline stages, sampling and scoring in every backend, verification, probes, donor training,
the demo) goes through them. This module imports nothing heavy, so any stage can use it. See docs/runs.md.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import warnings
import weakref
from collections.abc import Iterable, Iterator
from typing import IO, Any, TypeVar

T = TypeVar("T")

__all__ = ["HEARTBEAT_ENV", "HEARTBEAT_SECONDS", "Heartbeat", "heartbeat_seconds", "progress"]

HEARTBEAT_SECONDS = 20.0
"""Default seconds between heartbeat lines when output is not a terminal (the promise is <= 30 s)."""

HEARTBEAT_ENV = "HACKWATCH_HEARTBEAT_SECONDS"
"""Environment variable that overrides :data:`HEARTBEAT_SECONDS` (e.g. ``5`` for a CI log, ``0.2`` in tests)."""


_open_bars: weakref.WeakSet[Heartbeat] = weakref.WeakSet()
"""Bars drawn and not yet closed, in this process: one opened while another is open is an inner bar. Weak:
a bar dropped without ``close`` (an error before its ``with``) stops counting once collected."""
_bars_lock = threading.Lock()


def heartbeat_seconds() -> float:
    """Seconds between heartbeat lines: ``$HACKWATCH_HEARTBEAT_SECONDS`` when set, else :data:`HEARTBEAT_SECONDS`.

    A value that is not a positive number is ignored with a warning naming it (progress is never
    worth failing a command over).
    """
    raw = os.environ.get(HEARTBEAT_ENV, "").strip()
    if not raw:
        return HEARTBEAT_SECONDS
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not 0 < value < float("inf"):
        warnings.warn(f"{HEARTBEAT_ENV}={raw!r}: expected seconds > 0, e.g. 20; using {HEARTBEAT_SECONDS:g}",
                      stacklevel=2)
        return HEARTBEAT_SECONDS
    return value


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m" if h else (f"{m}m{s:02d}s" if m else f"{s}s")


class Heartbeat:
    """Progress of one long stage: a tqdm bar on a terminal, else a heartbeat line every ``every`` seconds.

    Use it as a context manager and call :meth:`update` per finished unit::

        with Heartbeat("pretrain", total=900, unit="step") as hb:
            for step in range(900):
                ...
                hb.update()

    A line reads ``[hackwatch] pretrain: 120/900 steps (13%), 2.1 steps/s, ETA 6m10s, 57s elapsed``.
    ``bar`` forces the terminal (True) or heartbeat (False) form; None picks by ``stream.isatty()``.
    A bar opened while another hackwatch bar is open (e.g. ``verify_many(progress=True)`` inside a
    stage of the caller's) is cleared when it closes (tqdm ``leave=False``), so finished inner
    stages do not pile up under the outer bar; a bar with none open around it stays on screen.
    ``every`` defaults to :func:`heartbeat_seconds` (``$HACKWATCH_HEARTBEAT_SECONDS`` or 20 s).
    ``enabled=False`` only counts, printing nothing (a library call made with ``progress=False``).
    ``total`` may be None (unknown): lines then carry the count and rate only. Thread-safe.
    """

    def __init__(self, stage: str, total: int | None, *, unit: str = "item", done: int = 0,
                 every: float | None = None, stream: IO[str] | None = None, bar: bool | None = None,
                 enabled: bool = True) -> None:
        every = heartbeat_seconds() if every is None else every
        if every <= 0:
            raise ValueError(f"Heartbeat every={every}: expected seconds > 0, e.g. 20")
        self.stage, self.total, self.unit, self.every, self.enabled = stage, total, unit, every, enabled
        self.done = self._start_done = done
        self.stream = stream if stream is not None else sys.stderr
        self.bar = enabled and (_isatty(self.stream) if bar is None else bar)
        self._t0 = time.monotonic()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._tqdm: Any = None
        self._thread: threading.Thread | None = None
        if self.bar:
            from tqdm import tqdm

            with _bars_lock:
                inner = len(_open_bars) > 0
                _open_bars.add(self)
            # an inner bar (a stage inside a stage) vanishes when it ends; the outermost stays as the record
            self._tqdm = tqdm(total=total, initial=done, desc=f"{stage:>10}", unit=unit, file=self.stream,
                              dynamic_ncols=True, leave=not inner)
        elif enabled:
            self.beat("started")
            self._thread = threading.Thread(target=self._tick, name=f"heartbeat-{stage}", daemon=True)
            self._thread.start()

    def update(self, n: int = 1) -> None:
        """Record ``n`` more finished units."""
        with self._lock:
            self.done += n
        if self._tqdm is not None:
            self._tqdm.update(n)

    def line(self, note: str = "") -> str:
        """The heartbeat line for the current state (what :meth:`beat` prints)."""
        with self._lock:
            done = self.done
        elapsed = time.monotonic() - self._t0
        new = done - self._start_done
        rate = new / elapsed if elapsed > 0 else 0.0
        units = f"{self.unit}s"
        parts = [f"{done}/{self.total} {units}" if self.total is not None else f"{done} {units}"]
        if self.total:
            parts[0] += f" ({100 * done / self.total:.0f}%)"
        if new > 0:
            parts.append(f"{rate:.3g} {units}/s")
            if self.total is not None and done < self.total:
                parts.append(f"ETA {_duration((self.total - done) / rate)}")
        parts.append(f"{_duration(elapsed)} elapsed")
        if note:
            parts.append(note)
        return f"[hackwatch] {self.stage}: " + ", ".join(parts)

    def beat(self, note: str = "") -> None:
        """Print one heartbeat line now (heartbeat form only)."""
        if self.bar or not self.enabled:
            return
        try:
            print(self.line(note), file=self.stream, flush=True)
        except (OSError, ValueError):  # the stream was closed under us: progress is never worth a crash
            self._stop.set()

    def close(self, note: str = "", *, stopped: bool = False) -> None:
        """End the stage: close the bar, or stop the ticker and print the final line (``done``, ``note``).

        ``stopped``: the stage ended early (an error, a loop left before its end), so the last line says
        ``stopped``, not ``done`` — a log must not claim a failed stage finished.
        """
        if self._tqdm is not None:
            self._tqdm.close()
            self._tqdm = None
            with _bars_lock:
                _open_bars.discard(self)
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
            word = "stopped" if stopped else "done"
            self.beat(f"{word}, {note}" if note else word)

    def _tick(self) -> None:
        while not self._stop.wait(self.every):
            self.beat()

    def __enter__(self) -> Heartbeat:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        self.close(stopped=exc_type is not None)


def progress(items: Iterable[T], stage: str, *, total: int | None = None, unit: str = "item",
             every: float | None = None, stream: IO[str] | None = None, bar: bool | None = None,
             enabled: bool = True) -> Iterator[T]:
    """Iterate ``items`` under a :class:`Heartbeat` (``total`` defaults to ``len(items)`` when it has one)."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with Heartbeat(stage, total, unit=unit, every=every, stream=stream, bar=bar, enabled=enabled) as hb:
        for item in items:
            yield item
            hb.update()


def _isatty(stream: IO[str]) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
