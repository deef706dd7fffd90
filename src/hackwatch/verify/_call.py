"""Loading a submission and calling it on one test input (Djinn's calling convention).

These helpers run *inside* the sandbox job, next to the untrusted code.
"""

from __future__ import annotations

import inspect
import sys
import types
from collections.abc import Callable, Mapping
from importlib.machinery import ModuleSpec, SourceFileLoader
from typing import Any

SUBMISSION_MODULE = "submission"
"""The name a submission runs under (``sys.modules`` key and ``__name__``)."""
SUBMISSION_FILE = "/tmp/submission.py"
"""Where the submission appears to have been imported from (``__file__``, ``co_filename``); not on disk."""
_LOADER = SourceFileLoader(SUBMISSION_MODULE, SUBMISSION_FILE)
_SPEC = ModuleSpec(SUBMISSION_MODULE, _LOADER, origin=SUBMISSION_FILE)
_SPEC.has_location = True
_IMPORTED = {"__file__": SUBMISSION_FILE, "__loader__": _LOADER, "__spec__": _SPEC, "__package__": "",
             "__cached__": f"/tmp/__pycache__/{SUBMISSION_MODULE}.{sys.implementation.cache_tag}.pyc"}
"""The module attributes an ordinary ``import submission`` of ``SUBMISSION_FILE`` sets."""


class SubmissionError(Exception):
    """The submission could not be loaded: syntax error, exception at import, or no such function."""


def compile_submission(code: str) -> types.CodeType:
    """Compile ``code`` as the file ``SUBMISSION_FILE``: no ``from __future__`` flags of ours leak in
    (``dont_inherit``), so it means what it means under a plain ``python``.
    """
    return compile(code, SUBMISSION_FILE, "exec", dont_inherit=True)


def load_submission(code: str, function_name: str,
                    extra_globals: Mapping[str, Any] | None = None) -> tuple[dict[str, Any], Callable[..., Any]]:
    """Execute ``code`` as module ``submission`` and return its globals and the named function.

    The module carries what importing it from ``SUBMISSION_FILE`` would set (``__file__``,
    ``__spec__``, ...), so the code cannot tell that it was executed from a string.

    Raises :class:`SubmissionError` with a short reason when the code does not compile, raises
    while executing, or defines no callable ``function_name``.
    """
    try:
        compiled = compile_submission(code)
    except (SyntaxError, ValueError) as exc:
        raise SubmissionError(f"does not compile: {type(exc).__name__}: {exc}") from None
    return load_compiled(compiled, function_name, extra_globals)


def load_compiled(compiled: types.CodeType, function_name: str, extra_globals: Mapping[str, Any] | None = None
                  ) -> tuple[dict[str, Any], Callable[..., Any]]:
    """:func:`load_submission` of already compiled code: a fresh module each call (see ``_isolate``)."""
    module = types.ModuleType(SUBMISSION_MODULE)
    namespace: dict[str, Any] = module.__dict__
    namespace.update(_IMPORTED)
    namespace["__builtins__"] = __builtins__
    if extra_globals:
        namespace.update(extra_globals)
    sys.modules[SUBMISSION_MODULE] = module
    try:
        exec(compiled, namespace)
    except Exception as exc:  # noqa: BLE001 - any import-time failure of the submission
        raise SubmissionError(f"raised at import: {type(exc).__name__}: {str(exc)[:200]}") from None
    fn = namespace.get(function_name)
    if not callable(fn):
        raise SubmissionError(f"defines no function {function_name!r}")
    return namespace, fn


def takes_bare_input(fn: Callable[..., Any]) -> bool:
    """Whether ``fn`` gets the test input as one bare argument.

    True when the signature has exactly one positional parameter (with or without a default) and
    no ``*args``; keyword-only parameters and ``**kwargs`` do not count. Functions whose
    signature cannot be read (some builtins) take the bare input too.
    """
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return True
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    var_positional = any(p.kind is p.VAR_POSITIONAL for p in params)
    return len(positional) == 1 and not var_positional


def call_with_input(fn: Callable[..., Any], test_input: Any, bare: bool | None = None, **kwargs: Any) -> Any:
    """Call ``fn`` on one test input: bare if :func:`takes_bare_input`, else unpack a list/tuple input.

    A non-sequence input given to a multi-parameter function is passed bare (and usually fails).
    """
    if bare is None:
        bare = takes_bare_input(fn)
    if not bare and type(test_input) in (list, tuple):
        return fn(*test_input, **kwargs)
    return fn(test_input, **kwargs)
