"""Tests embedded in an old-form Djinn secure verifier, read without running it.

Djinn's oldest problems carry no ``test_cases`` field (or an empty one): their tests live inside the
``secure_verifier`` code, e.g. ``test_cases = [(1, 0), (2, 1)]`` then ``for n, expected in test_cases:``.
The code is parsed, never executed: the tests are every literal list of ``(input, expected)`` pairs
that a ``for input, expected in NAME`` loop (or ``for i, (input, expected) in enumerate(NAME)``)
walks, in the order of the loops. Anything else (tests built by code, unittest assertions, tests
read from elsewhere) is refused with the exact reason, never guessed.
"""

from __future__ import annotations

import ast

from hackwatch.tasks._schema import TaskError, TestCase, parse_test_cases

FIELD = "secure_verifier"
_FIX = "add a test_cases field with the secure tests"


def _pair_loop_name(node: ast.For) -> str | None:
    """``NAME`` of ``for a, b in NAME`` or ``for i, (a, b) in enumerate(NAME)``; None for other loops."""
    target, source = node.target, node.iter
    if (isinstance(source, ast.Call) and isinstance(source.func, ast.Name) and source.func.id == "enumerate"
            and len(source.args) == 1 and isinstance(target, ast.Tuple) and len(target.elts) == 2):
        target, source = target.elts[1], source.args[0]
    if isinstance(source, ast.Name) and isinstance(target, ast.Tuple) and len(target.elts) == 2:
        return source.id
    return None


def _assignments(tree: ast.AST) -> dict[str, list[ast.expr]]:
    found: dict[str, list[ast.expr]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found.setdefault(target.id, []).append(node.value)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            found.setdefault(node.target.id, []).append(node.value)
    return found


def embedded_tests(code: str, where: str, task_id: str | None) -> tuple[TestCase, ...]:
    """The secure tests an old-form ``secure_verifier`` embeds (see the module docstring).

    Raises :class:`TaskError` on field ``secure_verifier`` saying exactly why they cannot be read.
    """
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        raise TaskError(where, task_id, FIELD, f"its embedded tests cannot be read: the code does not parse "
                                               f"({exc.msg} at line {exc.lineno}); {_FIX}") from None
    loops = sorted((n for n in ast.walk(tree) if isinstance(n, ast.For)), key=lambda n: (n.lineno, n.col_offset))
    names = list(dict.fromkeys(name for name in map(_pair_loop_name, loops) if name is not None))
    if not names:
        raise TaskError(where, task_id, FIELD,
                        "its embedded tests cannot be read: no 'for input, expected in NAME' loop over a list of "
                        f"test cases (the tests are built or checked some other way, e.g. unittest assertions); {_FIX}")
    assigned = _assignments(tree)
    tests: list[TestCase] = []
    for name in names:
        values = assigned.get(name, [])
        if len(values) != 1:
            lines = ", ".join(str(v.lineno) for v in values)
            why = "is never assigned" if not values else f"is assigned {len(values)} times (lines {lines})"
            raise TaskError(where, task_id, FIELD, f"its embedded tests cannot be read: the loop's list {name!r} "
                                                   f"{why}; {_FIX}")
        value = values[0]
        try:
            literal = ast.literal_eval(value)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            raise TaskError(where, task_id, FIELD,
                            f"its embedded tests cannot be read: {name!r} (line {value.lineno}) is computed "
                            f"({type(value).__name__}), not a literal list; {_FIX}") from None
        tests += parse_test_cases(literal, where=where, task_id=task_id, field_name=f"{FIELD}: {name}")
    return tuple(tests)


__all__ = ["embedded_tests"]
