"""Djinn's own insecure verifiers as a mode (``Verifier(verifiers="djinn")``, ``--verifiers djinn``).

When the user has Djinn (EleutherAI/djinn) importable, the insecure check of a task runs Djinn's
shared verifier module for its exploit type, ``djinn.verifiers.insecure.<type>.verify(problem, code)``,
*inside hackwatch's sandbox*: the labels are Djinn's by construction, the isolation hackwatch's.
The job hands the verifier the problem surrogate Djinn's offline service builds (function name, the
insecure tests as ``test_cases``, ``order_dependent``) and the same builtins conveniences (``math``,
``gcd``); status ``passed`` is a pass, anything else (``failed``, ``crashed``, an exception) is not.

The sandbox workers import the verifier modules before their jobs fork (a checkout outside the
interpreter's installation is not visible to a job). They skip ``djinn/core/__init__.py``, which loads
Djinn's registry and exporter (``datasets``, ~2 s and ~1,100 modules) that no verifier uses: ``djinn.core``
is registered as a bare package, so ``djinn.core.sandbox_defs`` imports alone. Djinn's code runs unchanged.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import pickle
import sys
import types
from typing import Any

DJINN_PACKAGE = "djinn.verifiers.insecure"
"""Where Djinn keeps its shared insecure verifiers, one module per exploit type."""
VERIFIER_MODES = ("hackwatch", "djinn")
"""``Verifier(verifiers=...)``: hackwatch's own flawed verifiers, or Djinn's modules in the sandbox."""
INSTALL_HINT = ("install it (pip install --no-deps -e PATH/TO/djinn) or put its checkout on PYTHONPATH; "
                "or use --verifiers hackwatch")
_MAX_REASON = 200


class DjinnUnavailable(RuntimeError):
    """Djinn's verifiers were asked for but ``djinn`` cannot be imported here."""


def djinn_root() -> str:
    """The directory of the importable ``djinn`` package; :class:`DjinnUnavailable` if there is none."""
    try:
        spec = importlib.util.find_spec("djinn")
    except (ImportError, ValueError) as exc:
        raise DjinnUnavailable(f"Djinn is not importable ({exc}); {INSTALL_HINT}") from None
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise DjinnUnavailable(f"Djinn is not importable (no package 'djinn' on sys.path); {INSTALL_HINT}")
    root = locations[0]
    if not os.path.isdir(os.path.join(root, "verifiers", "insecure")):
        raise DjinnUnavailable(f"the 'djinn' package at {root} has no verifiers/insecure/ (not EleutherAI's "
                               f"Djinn, or too old); {INSTALL_HINT}")
    return root


def djinn_types(root: str | None = None) -> tuple[str, ...]:
    """The exploit types Djinn has a shared insecure verifier for (module names of ``verifiers/insecure``)."""
    folder = os.path.join(root or djinn_root(), "verifiers", "insecure")
    return tuple(sorted(name[:-3] for name in os.listdir(folder)
                        if name.endswith(".py") and not name.startswith("_")))


def _light_core(root: str) -> None:
    """Register ``djinn.core`` as a bare package unless it is loaded already (see module docstring)."""
    if "djinn.core" in sys.modules:
        return
    importlib.import_module("djinn")
    core = types.ModuleType("djinn.core")
    core.__path__ = [os.path.join(root, "core")]
    core.__package__ = "djinn.core"
    sys.modules["djinn.core"] = core


def load_verifier(exploit_type: str) -> Any:
    """Import Djinn's shared insecure verifier module for ``exploit_type``."""
    _light_core(djinn_root())
    return importlib.import_module(f"{DJINN_PACKAGE}.{exploit_type}")


def load_all() -> None:
    """Import every Djinn insecure verifier and its helpers (a sandbox worker's preload)."""
    root = djinn_root()
    _light_core(root)
    importlib.import_module(f"{DJINN_PACKAGE}.helpers.leaky_helper")
    for name in djinn_types(root):
        importlib.import_module(f"{DJINN_PACKAGE}.{name}")


class DjinnProblem:
    """The problem surrogate Djinn's offline service hands its insecure verifiers."""

    def __init__(self, function_name: str, test_cases: list[tuple[Any, Any]], order_dependent: bool) -> None:
        self.function_name = function_name
        self.test_cases = test_cases
        self.order_dependent = order_dependent

    def get_test_cases_safe(self) -> list[tuple[Any, Any]]:
        return self.test_cases or []


def _builtins_like_djinn() -> None:
    """What Djinn's insecure child process adds to ``builtins`` before running a verifier."""
    import builtins
    import math
    builtins.math = math.__dict__  # type: ignore[attr-defined]  # sic: Djinn sets the module's dict
    builtins.gcd = math.gcd  # type: ignore[attr-defined]


def run_djinn(payload: dict[str, Any]) -> dict[str, Any]:
    """Run Djinn's verifier for ``payload["exploit_type"]`` on the submission; ``{"passed", "reason"}``."""
    exploit_type = payload["exploit_type"]
    try:
        module = sys.modules.get(f"{DJINN_PACKAGE}.{exploit_type}") or load_verifier(exploit_type)
    except (ImportError, DjinnUnavailable) as exc:
        return {"passed": False, "reason": f"djinn verifier {exploit_type!r} not loadable: {exc}"[:_MAX_REASON]}
    tests = pickle.loads(payload["tests_blob"])
    _builtins_like_djinn()
    problem = DjinnProblem(payload["function_name"], tests, bool(payload.get("order_dependent", True)))
    try:
        result = module.verify(problem, payload["code"])
    except BaseException as exc:  # noqa: BLE001 - Djinn's child process reports these as crashed
        return {"passed": False, "reason": f"djinn {exploit_type}: crashed: {type(exc).__name__}: {exc}"[:_MAX_REASON]}
    status = getattr(result, "status", result)
    status = str(getattr(status, "value", status)).lower()
    feedback = str(getattr(result, "feedback", "") or "").replace("\n", " ")
    return {"passed": status == "passed", "reason": f"djinn {exploit_type}: {status}: {feedback}"[:_MAX_REASON]}


__all__ = ["DJINN_PACKAGE", "VERIFIER_MODES", "DjinnProblem", "DjinnUnavailable", "djinn_root", "djinn_types",
           "load_all", "load_verifier", "run_djinn"]
