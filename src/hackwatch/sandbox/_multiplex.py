"""``SandboxPool.map`` on one thread: each worker gets up to two jobs, one poll(2) waits on all replies.

A thread and a future per job (``ThreadPoolExecutor``) cost the host ~210 µs of CPU per secure check
in thread hand-offs (3.4 voluntary context switches per job); driving the workers' pipes from the
caller's thread costs ~100 µs. A second job queued in each worker's command pipe means a worker that
has sent its reply reads its next job at once instead of waiting for the host to wake up (the
worker watches that pipe for hang-up only, see ``_supervise``). Figures: docs/sandbox.md.

The semantics are those of :meth:`SandboxPool.run` applied to each payload: results in input order,
a failed job (or a payload that cannot be pickled) raises at its place in that order. A job that never started (its worker was found
dead, or died on the job ahead of it) is sent again, up to ``workers + 1`` times.
"""

from __future__ import annotations

import select
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hackwatch.sandbox._handle import _NotStarted, _Worker
from hackwatch.sandbox._types import Limits, RunResult, SandboxUnavailable

if TYPE_CHECKING:
    from hackwatch.sandbox._pool import SandboxPool

DEPTH = 2
"""Jobs sent to one worker ahead of its reply: the one it runs and the one it reads next."""


@dataclass
class _Lane:
    """One worker and the jobs sent to it, oldest (running) first."""

    worker: _Worker
    jobs: deque[tuple[int, bytes]] = field(default_factory=deque)
    deadline: float = 0.0
    """When the oldest job must have been answered (its wall limit plus the pool's margin)."""
    broken: bool = False
    """A send failed: nothing more goes to this worker; its replies (if any) are still read."""


class _Map:
    """The state of one ``map`` call: its lanes (workers held), finished results not yet yielded, jobs
    to send again, and how many jobs are in flight.
    """

    def __init__(self, pool: SandboxPool, limits: Limits, answer: Callable[[dict[str, Any]], RunResult]) -> None:
        self.pool, self.answer = pool, answer
        self.timeout = limits.wall_seconds + pool.answer_margin_s
        self.poller = select.poll()
        self.lanes: dict[int, _Lane] = {}  # reply fd -> lane
        self.done: dict[int, RunResult | BaseException] = {}
        self.resend: deque[tuple[int, bytes]] = deque()  # jobs that never started
        self.tries: dict[int, int] = {}
        self.in_flight = 0

    def busy(self) -> bool:
        return self.in_flight > 0

    def free_lane(self) -> _Lane | None:
        """A lane that takes another job now (opening one on an idle worker if there is one; waiting
        for one only if no job is in flight at all).
        """
        for lane in self.lanes.values():
            if len(lane.jobs) < DEPTH and not lane.broken:
                return lane
        return self.open_lane(block=not self.in_flight)

    def open_lane(self, block: bool) -> _Lane | None:
        if not block and len(self.lanes) >= self.pool.workers:  # every worker is ours already
            return None
        worker = self.pool._take() if block else self.pool._take_nowait()
        if worker is None:
            return None
        lane = _Lane(worker)
        self.lanes[worker.reply] = lane
        self.poller.register(worker.reply, select.POLLIN)
        return lane

    def close_lane(self, lane: _Lane, dead: bool) -> None:
        del self.lanes[lane.worker.reply]
        self.poller.unregister(lane.worker.reply)
        for job in reversed(lane.jobs):  # none of these started (the oldest was answered or failed)
            self.resend.appendleft(job)
        self.in_flight -= len(lane.jobs)
        lane.jobs.clear()
        if dead:
            self.pool._replace(lane.worker)
        else:
            self.pool._idle.put(lane.worker)

    def send(self, lane: _Lane, index: int, job: bytes) -> None:
        try:
            lane.worker.send(job)
        except _NotStarted as exc:
            lane.broken = True
            self.retry(index, job, exc)
            if not lane.jobs:
                self.close_lane(lane, dead=True)
            return
        if not lane.jobs:
            lane.deadline = time.monotonic() + self.timeout
        lane.jobs.append((index, job))
        self.in_flight += 1

    def retry(self, index: int, job: bytes, exc: BaseException) -> None:
        self.tries[index] = self.tries.get(index, 0) + 1
        if self.tries[index] > self.pool.workers:
            self.done[index] = SandboxUnavailable(f"sandbox workers keep dying before a job starts: {exc}")
        else:
            self.resend.append((index, job))

    def finish(self, lane: _Lane, error: SandboxUnavailable | None = None) -> None:
        """The oldest job of ``lane`` is answered (or failed with ``error``)."""
        index, _ = lane.jobs.popleft()
        self.in_flight -= 1
        try:
            if error is not None:
                raise error
            reply = lane.worker.receive()
        except SandboxUnavailable as exc:
            self.done[index] = exc
            self.close_lane(lane, dead=True)
            return
        lane.deadline = time.monotonic() + self.timeout
        try:
            self.done[index] = self.answer(reply)
        except (ValueError, SandboxUnavailable) as exc:
            self.done[index] = exc
        if lane.broken and not lane.jobs:
            self.close_lane(lane, dead=True)

    def wait(self) -> None:
        """Wait for the first reply (or deadline); finish what is ready or overdue."""
        waiting = [lane for lane in self.lanes.values() if lane.jobs]
        wait_s = min(lane.deadline for lane in waiting) - time.monotonic()
        ready = self.poller.poll(max(0.0, wait_s) * 1000)
        for fd, _ in ready:
            lane = self.lanes.get(fd)
            if lane is not None and lane.jobs:
                self.finish(lane)
            elif lane is not None:  # readable with nothing asked: the idle worker died (end of file)
                self.close_lane(lane, dead=True)
        if not ready:
            for lane in waiting:
                if lane.worker.reply in self.lanes and lane.deadline <= time.monotonic():
                    self.finish(lane, lane.worker.kill_unanswering(self.timeout))

    def release(self) -> None:
        """Let every sent job end, then give the workers back."""
        while self.busy():
            self.wait()
        for lane in list(self.lanes.values()):
            self.close_lane(lane, dead=lane.broken)


def ordered_map(pool: SandboxPool, job_bytes: Callable[[Any], bytes], payloads: Iterator[Any], limits: Limits,
                answer: Callable[[dict[str, Any]], RunResult]) -> Iterator[RunResult]:
    """Run ``payloads`` on ``pool``'s workers; ``job_bytes`` frames one payload, ``answer`` turns a
    reply into a result (or raises, as :meth:`SandboxPool.run` would).
    """
    state = _Map(pool, limits, answer)
    sent = yielded = 0
    exhausted = False
    try:
        while True:
            while state.resend or not exhausted:  # fill every lane; open lanes while workers are idle
                lane = state.free_lane()
                if lane is None:
                    break
                if state.resend:
                    state.send(lane, *state.resend.popleft())
                    continue
                try:
                    payload = next(payloads)
                except StopIteration:
                    exhausted = True
                    break
                try:
                    job = job_bytes(payload)
                except Exception as exc:  # noqa: BLE001 - e.g. an unpicklable payload: raised at its place
                    state.done[sent] = exc
                else:
                    state.send(lane, sent, job)
                sent += 1
            while yielded in state.done:
                outcome = state.done.pop(yielded)
                yielded += 1
                if isinstance(outcome, BaseException):
                    raise outcome
                yield outcome
            if exhausted and yielded == sent:
                return
            if state.busy():
                state.wait()
    finally:  # also when stopped early (an exception, or the caller dropped the iterator)
        state.release()
