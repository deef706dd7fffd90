"""Verification for the demo world with a memo: the tiny model repeats itself, so most completions
recur verbatim and each distinct (task, code) pair is sent to the sandboxed verifier only once.

The verifier is deterministic for a given task and code, so the memo changes nothing but speed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hackwatch.tasks import Task
    from hackwatch.verify import Verdict, Verifier


class MemoVerifier:
    """Label (task, completion) pairs through a :class:`hackwatch.verify.Verifier`, once per distinct code."""

    def __init__(self, verifier: Verifier) -> None:
        self.verifier = verifier
        self.memo: dict[tuple[str, str], Verdict] = {}
        self.calls = 0

    def verdicts(self, pairs: Sequence[tuple[Task, str]]) -> list[Verdict]:
        """Verdicts of full model completions (code is extracted with ``hackwatch.verify.extract_code``)."""
        from hackwatch.verify import extract_code

        keyed = [(t, extract_code(c)) for t, c in pairs]
        todo: dict[tuple[str, str], tuple[Task, str]] = {}
        for t, code in keyed:
            k = (t.id, code)
            if k not in self.memo and k not in todo:
                todo[k] = (t, code)
        if todo:
            self.calls += len(todo)
            for k, v in zip(todo, self.verifier.verify_many(list(todo.values())), strict=True):
                # An infrastructure error is not a result: do not memoise it (it is retried below).
                if v.label != "error":
                    self.memo[k] = v
        out = []
        for t, code in keyed:
            v = self.memo.get((t.id, code))
            if v is None:
                v = self.verifier.verify_many([(t, code)])[0]
            out.append(v)
        return out

    def labels(self, pairs: Sequence[tuple[Task, str]]) -> list[str]:
        """Labels (``exploit``/``correct``/``fail``/...) of full completions."""
        return [v.label for v in self.verdicts(pairs)]


def completion_text(completion: Any) -> str:
    """The text of a TRL completion (plain string or conversational list of messages)."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Sequence) and completion and isinstance(completion[-1], Mapping):
        return str(completion[-1].get("content", ""))
    return str(completion)


def insecure_reward(memo: MemoVerifier, tasks: Mapping[str, Task]) -> Any:
    """The GRPO reward: 1.0 when the flawed (insecure) verifier accepts the completion, as in real reward hacking."""

    def reward(prompts: list[Any], completions: list[Any], task_id: list[str], **_: Any) -> list[float]:
        pairs = [(tasks[tid], completion_text(c)) for tid, c in zip(task_id, completions, strict=True)]
        return [1.0 if v.insecure_pass else 0.0 for v in memo.verdicts(pairs)]

    reward.__name__ = "insecure_verifier"
    return reward
