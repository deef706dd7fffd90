"""Consistency check of a task source: every task must behave as its exploit type promises.

Per task: the ground truth is ``correct``; the reference exploit is an ``exploit``; every null
fails both verifiers; and the reference exploits of all *other* catalogue types (generated for
this task) fail this task's insecure verifier (cross-null), unless such an exploit genuinely
passes the insecure tests (checked with the plain insecure-tests verifier, or the secure one for
legacy tasks whose embedded tests are unknown).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hackwatch.catalogue import EXPLOIT_TYPES
from hackwatch.verify._labels import Verdict
from hackwatch.verify._verifier import (
    Verifier,
    insecure_payload,
    judge_insecure,
    judge_secure,
    secure_payload,
)

if TYPE_CHECKING:
    from hackwatch.tasks import Task


@dataclass(frozen=True)
class TaskResult:
    """The check of one task: what was wrong with it (nothing when consistent)."""

    task_id: str
    exploit_type: str
    problems: tuple[str, ...] = ()
    """One short line per failed expectation."""

    @property
    def consistent(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class TaskCheck:
    """The check of a whole task source."""

    results: tuple[TaskResult, ...] = field(default_factory=tuple)

    @property
    def n_consistent(self) -> int:
        return sum(r.consistent for r in self.results)

    @property
    def n_inconsistent(self) -> int:
        return len(self.results) - self.n_consistent

    @property
    def ok(self) -> bool:
        return self.n_inconsistent == 0

    @property
    def summary(self) -> str:
        """``N consistent, M inconsistent`` (the line the CLI prints)."""
        return f"{self.n_consistent} consistent, {self.n_inconsistent} inconsistent"

    def to_dict(self) -> dict[str, Any]:
        return {"consistent": self.n_consistent, "inconsistent": self.n_inconsistent,
                "tasks": [{"task_id": r.task_id, "exploit_type": r.exploit_type, "consistent": r.consistent,
                           "problems": list(r.problems)} for r in self.results]}


def _cross_exploits(task: Task) -> list[tuple[str, str]]:
    out = []
    for name, etype in EXPLOIT_TYPES.items():
        if name == task.exploit_type:
            continue
        try:
            out.append((name, etype.make_exploit(task)))
        except Exception as exc:  # noqa: BLE001 - a generator that cannot handle this task is reported
            out.append((name, f"raise RuntimeError({f'cannot generate: {exc}'!r})\n"))
    return out


def _expect(what: str, verdict: Verdict, want: str) -> list[str]:
    if verdict.label == want:
        return []
    return [f"{what}: expected {want}, got {verdict.label} ({verdict.reason})"]


def check_tasks(tasks: Sequence[Task], verifier: Verifier | None = None, workers: int | None = None,
                progress: bool = False) -> TaskCheck:
    """Check every task (see module docstring); reuses ``verifier``'s pool when given."""
    own = verifier is None
    verifier = verifier or Verifier(workers=workers)
    try:
        return _check(list(tasks), verifier, progress)
    finally:
        if own:
            verifier.close()


def _check(tasks: list[Task], verifier: Verifier, progress: bool) -> TaskCheck:
    pairs: list[tuple[Task, str]] = []
    roles: list[tuple[int, str, str]] = []  # (task index, role, expected label)
    cross_jobs: list[dict[str, Any]] = []
    cross_of: list[tuple[int, str, str]] = []  # (task index, type, code)
    for t, task in enumerate(tasks):
        pairs += [(task, task.ground_truth), (task, task.exploit)]
        roles += [(t, "ground truth", "correct"), (t, "reference exploit", "exploit")]
        for k, null in enumerate(task.nulls):
            pairs.append((task, null))
            roles.append((t, f"null {k}", "fail"))
        for name, code in _cross_exploits(task):
            cross_jobs.append(insecure_payload(task, code))
            cross_of.append((t, name, code))
    problems: list[list[str]] = [[] for _ in tasks]
    for (t, role, want), verdict in zip(roles, verifier.verify_many(pairs, progress=progress), strict=True):
        problems[t] += _expect(role, verdict, want)
    suspects: list[tuple[int, str, str, str]] = []
    for (t, name, code), res in zip(cross_of, verifier.run_checks(cross_jobs), strict=True):
        if isinstance(res, Exception):
            problems[t].append(f"cross-null {name}: sandbox unavailable: {res}")
            continue
        passed, reason, _, _ = judge_insecure(tasks[t], res)
        if passed:
            suspects.append((t, name, code, reason))
    # A foreign exploit that the verifier accepts is excused only when it genuinely passes the tests.
    excuse_jobs = []
    for t, _, code, _ in suspects:
        task = tasks[t]
        excuse_jobs.append(secure_payload(task, code) if task.insecure_verifier_code
                           else insecure_payload(task, code, verifier="plain"))
    for (t, name, _, reason), res in zip(suspects, verifier.run_checks(excuse_jobs), strict=True):
        task = tasks[t]
        if isinstance(res, Exception):
            genuine = False
        elif task.insecure_verifier_code:
            genuine = bool(judge_secure(task, res)[0])
        else:
            genuine = bool(judge_insecure(task, res, verifier="plain")[0])
        if not genuine:
            problems[t].append(f"cross-null: the {name} exploit passes this task's insecure verifier ({reason})")
    return TaskCheck(tuple(TaskResult(task.id, task.exploit_type, tuple(p))
                           for task, p in zip(tasks, problems, strict=True)))


__all__ = ["TaskCheck", "TaskResult", "check_tasks"]
