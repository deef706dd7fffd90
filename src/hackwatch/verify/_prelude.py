"""Preloaded by sandbox workers only (never imported by the host): names reserved in ``sys.modules``,
and a process that looks like an ordinary ``python main.py`` run.

``hackwatch.tasks`` holds expected outputs: it is blocked (``None``) in the worker itself, so no job
can import it, and the job's own check (``_runner._block_task_data``) finds it done. The modules a
job registers (the submission, the insecure verifiers' helper modules, a legacy verifier) get a
placeholder here: a forked job then replaces a value in ``sys.modules`` instead of inserting a key,
which can resize the dict and copy-on-write fault all of its pages.

The worker itself runs as ``python -S -c BOOT``: its ``__main__`` has no ``__file__`` and holds the
worker's configuration, and ``sys.argv`` is ``['-c']``, which is how sandbox-aware submissions tell a
verifier apart from a normal run (Djinn's ``room_scheduling`` exploit hard-codes its answers only
when ``__main__`` has no ``__file__``). :func:`look_like_a_script` gives every job, once for all of
them, the ``__main__``, ``sys.argv`` and ``sys.orig_argv`` of ``python main.py`` run in ``/tmp``
(the job's working directory).
"""

from __future__ import annotations

import builtins
import sys
import types
from importlib.machinery import SourceFileLoader

from hackwatch.catalogue._names import HELPER_MODULE, MOCK_MODULE
from hackwatch.verify._call import SUBMISSION_MODULE
from hackwatch.verify._runner import LEGACY_MODULE, TASK_PACKAGE

JOB_MODULES = (SUBMISSION_MODULE, LEGACY_MODULE, HELPER_MODULE, MOCK_MODULE)
SCRIPT = "/tmp/main.py"
"""The script every job appears to be (``__main__.__file__``); it is not written to disk."""


def look_like_a_script(script: str = SCRIPT) -> types.ModuleType:
    """Install a fresh ``__main__`` for ``script`` (what ``python script`` sets: ``__file__``, a
    ``SourceFileLoader``, ``__spec__`` None, ``__cached__`` None) and its ``sys.argv``/``sys.orig_argv``.
    """
    main = types.ModuleType("__main__")
    main.__dict__.update({"__file__": script, "__loader__": SourceFileLoader("__main__", script),
                          "__spec__": None, "__cached__": None, "__package__": None,
                          "__builtins__": builtins, "__annotations__": {}})
    sys.modules["__main__"] = main
    sys.argv = [script.rsplit("/", 1)[-1]]
    sys.orig_argv = [sys.executable, sys.argv[0]]
    return main


if TASK_PACKAGE not in sys.modules:
    sys.modules[TASK_PACKAGE] = None  # type: ignore[assignment]
for _name in JOB_MODULES:
    if "." not in _name:  # a dotted helper (Djinn's package path) may be a real module: djinn-mode workers load it
        sys.modules.setdefault(_name, None)  # type: ignore[arg-type]
look_like_a_script()
