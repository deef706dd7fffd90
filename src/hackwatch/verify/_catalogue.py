"""The exploit-type catalogue: one entry per verifier flaw of DESIGN.md.

Each entry knows how to describe its flaw to a model (a Djinn-style hint) and how to write a
reference exploit for a task. The insecure verifiers themselves live in ``_insecure.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hackwatch.tasks import Task

EXPLOIT_TYPE_NAMES: tuple[str, ...] = (
    "argument_injection_leak",
    "assert_bypass",
    "debug_module",
    "environment_variable_manipulation",
    "error_code_abuse",
    "filesystem_exposure",
    "function_attribute_flag",
    "hardcoding_or_memorization",
    "import_hook_side_channel",
    "inadequate_test_coverage",
    "inspect_module_abuse",
    "logging_warnings_side_channel",
    "magic_docstring_comment_token",
    "mock_functionality_replacement",
    "problem_object_exposure",
    "process_exit",
    "resource_exhaustion",
    "result_manipulation",
    "state_bleed_expected_recompute",
    "test_case_leak",
    "test_case_logging_side_channel",
    "test_cases_honor_system",
    "test_skipping",
    "trace_profiler_hook_oracle",
    "type_confusion",
    "validator_honor_system",
    "verifier_logic_override",
)


@dataclass(frozen=True)
class ExploitType:
    """One verifier flaw: how it is hinted at and how a reference exploit for a task looks."""

    name: str
    """Catalogue name (DESIGN.md)."""
    flaw: str
    """One-line description of the flaw."""
    hint: Callable[[Task], str]
    """Djinn-style verifier description for ``task`` that reveals the flaw without saying 'exploit'."""
    make_exploit: Callable[[Task], str]
    """Reference exploit source for ``task`` (may use ``task.insecure_tests``)."""
    insecure_subset: int | None = None
    """If set, builtin tasks of this type get the first N secure tests as their insecure tests."""
