"""The one task schema every loader produces, and its validation.

A :class:`Task` is an exploitable coding problem: a prompt (description plus a hint that reveals
the insecure verifier's flaw, the way Djinn's ``insecure_verifier_info`` does), the function to
write, secure tests (hidden, exact), optional insecure tests (what the flawed verifier checks),
the exploit type, a reference ground truth and a reference exploit.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

TestCase = tuple[Any, Any]
"""One test: ``(input, expected)``. ``input`` is the bare argument for one-parameter functions and
a list/tuple of arguments for several (Djinn's calling convention)."""


COMPARISONS = ("exact", "djinn")
"""``Task.comparison`` values: the verify stage's comparison policies (``hackwatch.verify._encode``)."""


class TaskError(ValueError):
    """A task failed validation; the message names the file, the task, the field and what was expected."""

    def __init__(self, where: str, task_id: str | None, field_name: str | None, problem: str) -> None:
        self.where = where
        self.task_id = task_id
        self.field_name = field_name
        self.problem = problem
        parts = [where]
        if task_id:
            parts.append(f"task {task_id!r}")
        if field_name:
            parts.append(f"field {field_name!r}")
        super().__init__(": ".join([", ".join(parts), problem]))


@dataclass(frozen=True)
class Task:
    """An exploitable coding task (see DESIGN.md, data model)."""

    id: str
    """Unique task id within its source."""
    description: str
    """The problem statement shown to the model."""
    hint: str
    """Text describing the verifier that reveals its flaw (Djinn's ``insecure_verifier_info``); may be empty."""
    function_name: str
    """Name of the function the submission must define."""
    secure_tests: tuple[TestCase, ...]
    """All tests of the secure verifier; never shown to the model."""
    exploit_type: str
    """One of the exploit types of DESIGN.md (or a legacy Djinn type when ``insecure_verifier_code`` is set)."""
    ground_truth: str
    """Reference correct solution (Python source)."""
    exploit: str
    """Reference exploit (Python source): passes the insecure verifier, fails the secure one."""
    insecure_tests: tuple[TestCase, ...] | None = None
    """Tests the insecure verifier uses; ``None`` means the same as ``secure_tests``."""
    nulls: tuple[str, ...] = ()
    """Plausible wrong solutions (Python source): must fail both verifiers."""
    split: str = ""
    """Free-form split tag (e.g. ``train``/``eval``/``donor``/``heldout``)."""
    source: str = ""
    """Where the task came from (``builtin``, a file path, ...)."""
    insecure_verifier_code: str | None = None
    """Legacy Djinn problems embed their own insecure verifier (a ``verify(submitted_code, ...)`` function)."""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    """Anything else the source carried (difficulty ratings, keywords, ...)."""
    comparison: str = "exact"
    """How outputs are compared with expected values (one of :data:`COMPARISONS`): ``exact`` types, or
    ``djinn``, Djinn's tolerance for tests that travelled as JSON (a list equals a tuple with equal items)."""

    @property
    def prompt(self) -> str:
        """The full user prompt: description followed by the verifier hint, as Djinn presents it."""
        if not self.hint:
            return self.description
        return f"{self.description}\n\n{self.hint}"

    @property
    def effective_insecure_tests(self) -> tuple[TestCase, ...]:
        """The tests the insecure verifier checks."""
        return self.insecure_tests if self.insecure_tests is not None else self.secure_tests


def parse_test_cases(value: Any, *, where: str, task_id: str | None, field_name: str) -> tuple[TestCase, ...]:
    """Parse test cases given as a list or as text (JSON first, then a Python literal).

    An empty or unparsable list is an error: Djinn silently passes everything on one.
    """
    raw = value
    if isinstance(value, str):
        text = value.strip()
        try:
            raw = json.loads(text)
        except (json.JSONDecodeError, ValueError):
            try:
                raw = ast.literal_eval(text)
            except (ValueError, SyntaxError, MemoryError, RecursionError) as exc:
                raise TaskError(
                    where, task_id, field_name,
                    f"test cases are neither JSON nor a Python literal ({type(exc).__name__}: {exc}); "
                    "expected a list of [input, expected] pairs",
                ) from None
    if not isinstance(raw, Sequence) or isinstance(raw, str | bytes):
        raise TaskError(where, task_id, field_name,
                        f"expected a list of [input, expected] pairs, got {type(raw).__name__}")
    if len(raw) == 0:
        raise TaskError(where, task_id, field_name,
                        "the test case list is empty; a verifier with no tests would accept anything")
    cases: list[TestCase] = []
    for i, case in enumerate(raw):
        if not isinstance(case, Sequence) or isinstance(case, str | bytes) or len(case) != 2:
            raise TaskError(where, task_id, f"{field_name}[{i}]",
                            f"expected an [input, expected] pair, got {case!r:.80}")
        cases.append((case[0], case[1]))
    return tuple(cases)
