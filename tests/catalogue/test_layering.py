"""The catalogue sits below tasks and verify: tasks never imports verify, the catalogue imports neither.

Before the catalogue had its own package, ``hackwatch.tasks`` imported it from ``hackwatch.verify``
(lazily, inside functions) while ``hackwatch.verify`` imported ``Task``: an import circle. These tests
fail if any import of that kind comes back, at module level or inside a function.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import hackwatch

SRC = Path(hackwatch.__file__).parent

#: package -> packages it must never import at run time (``if TYPE_CHECKING:`` imports are fine).
FORBIDDEN = {
    "hackwatch.tasks": ("hackwatch.verify",),
    "hackwatch.catalogue": ("hackwatch.verify", "hackwatch.tasks"),
}


def _package(path: Path) -> str:
    """The package a relative import in ``path`` is resolved against."""
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1])


def _runtime_imports(text: str, package: str) -> list[tuple[int, str]]:
    """Every module an import statement in ``text`` names (functions included), skipping ``if TYPE_CHECKING:``."""
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            found.extend((node.lineno, f"{base}.{alias.name}") for alias in node.names)  # `from x import sub`
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(text))
    return found


def test_no_runtime_import_crosses_a_layer_upwards():
    offences = []
    for package, banned in FORBIDDEN.items():
        folder = SRC / package.split(".", 1)[1]
        files = sorted(folder.rglob("*.py"))
        assert files, f"no modules under {folder}"
        for path in files:
            for line, name in _runtime_imports(path.read_text(), _package(path)):
                if any(name == b or name.startswith(b + ".") for b in banned):
                    offences.append(f"{path.relative_to(SRC)}:{line}: imports {name}")
    assert offences == [], "\n".join(offences)


def test_the_scan_sees_imports_inside_functions_and_relative_ones():
    """The check above is only as good as its scan: lazy and relative imports must be reported."""
    text = ("from typing import TYPE_CHECKING\n\n"
            "def f():\n    from hackwatch.verify._check import check_tasks\n    from hackwatch import verify\n"
            "    from ..verify import Verifier\n\n"
            "if TYPE_CHECKING:\n    import hackwatch.verify\n")
    assert [name for _, name in _runtime_imports(text, "hackwatch.tasks")] == [
        "typing.TYPE_CHECKING", "hackwatch.verify._check.check_tasks", "hackwatch.verify",
        "hackwatch.verify.Verifier"]


def test_loading_tasks_never_loads_verify():
    """At run time too: the builtin suite (data: its hints and exploits are stored, not written by the
    catalogue at load time) and the Djinn loader's exploit-type check run without ``hackwatch.verify``
    in ``sys.modules``."""
    code = """if True:
        import json, sys, warnings
        warnings.simplefilter("error")
        from hackwatch.tasks import TaskError, load_tasks
        from hackwatch.tasks._djinn import djinn_task
        tasks = load_tasks("builtin")
        raw = {"description": "d", "function_name": "f", "test_cases": "[(1, 1)]", "ground_truth": "def f(x): return x",
               "exploit": "def f(x): return x", "nulls": [], "exploit_type": "no_such_type"}
        try:
            djinn_task(raw, task_id="t", where="p.yaml", source="p.yaml")
        except TaskError as exc:
            error = str(exc)
        print(json.dumps({"n": len(tasks), "hinted": sum(bool(t.hint and t.exploit) for t in tasks), "error": error,
                          "loaded": sorted(m for m in sys.modules if m.startswith("hackwatch."))}))
    """
    out = json.loads(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout)
    assert out["n"] == out["hinted"] > 0
    assert "expected one of: argument_injection_leak, assert_bypass," in out["error"]
    assert "hackwatch.catalogue._names" in out["loaded"] and "hackwatch.catalogue._types" not in out["loaded"]
    assert [m for m in out["loaded"] if m.split(".")[1] == "verify"] == []


def test_the_catalogue_alone_loads_neither_tasks_nor_verify():
    code = """if True:
        import json, sys
        from hackwatch.catalogue import EXPLOIT_TYPE_NAMES, EXPLOIT_TYPES
        assert list(EXPLOIT_TYPES) == list(EXPLOIT_TYPE_NAMES)
        print(json.dumps(sorted(m for m in sys.modules if m.startswith("hackwatch."))))
    """
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                                       text=True).stdout)
    assert [m for m in loaded if m.split(".")[1] in ("tasks", "verify")] == []


def test_verify_still_exports_the_catalogue():
    import hackwatch.catalogue as catalogue
    import hackwatch.verify as verify
    from hackwatch.catalogue import _names
    from hackwatch.verify import _insecure

    assert verify.EXPLOIT_TYPES is catalogue.EXPLOIT_TYPES
    assert verify.EXPLOIT_TYPE_NAMES is catalogue.EXPLOIT_TYPE_NAMES
    assert verify.ExploitType is catalogue.ExploitType
    assert {"EXPLOIT_TYPES", "EXPLOIT_TYPE_NAMES", "ExploitType"} <= set(verify.__all__) & set(dir(verify))
    assert set(catalogue.__all__) <= set(dir(catalogue))
    assert set(_insecure.INSECURE_VERIFIERS) == {*catalogue.EXPLOIT_TYPE_NAMES, "plain"}
    assert _insecure.HELPER_MODULE is _names.HELPER_MODULE  # the verifiers react to the catalogue's tokens
