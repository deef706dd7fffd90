"""What a worker imports before its jobs fork, and what it keeps out of that image.

Every job is a fork of its worker, so every page and memory mapping the worker holds is copied
(as page-table entries) into each job and torn down when it exits. Two kinds of module are kept
out of the worker while its preloads import, though jobs can still import both themselves (slowly,
as a fresh interpreter would):

- *blocked* modules (:data:`NOT_PRELOADED`): ``sys.modules[name] = None`` during the preload, so an
  optional import of them falls back to "absent", as on a Python built without them;
- *deferred* modules (:data:`DEFERRED`): a stand-in module takes the name during the preload; the
  importer gets the stand-in, which loads the real module on its first attribute access.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

NOT_PRELOADED = ("ssl",)
"""``ssl`` is pulled in through ``unittest.mock`` -> ``asyncio``: ~1.2 MB and 23 memory mappings
(libssl, libcrypto) in every job's fork, for a sandbox that has no network."""


class _Deferred(types.ModuleType):
    """A stand-in for a module not loaded yet: any attribute read loads the real module.

    It has no ``__path__``: to the import system it is a plain module, so ``from pkg import name``
    reads ``name`` without loading anything (a preload importing a *submodule* of it fails, and the
    preload is retried with the real module, see :func:`preload`).
    """

    def __getattr__(self, name: str) -> Any:
        if name == "__path__":
            raise AttributeError(name)
        return getattr(_load_real(self.__name__, self), name)


def _load_real(name: str, standin: types.ModuleType) -> types.ModuleType:
    if sys.modules.get(name) is standin:  # still inside the preload: the stand-in steps aside for good
        del sys.modules[name]
    return importlib.import_module(name)


def _asyncio_standin() -> types.ModuleType:
    """``asyncio`` for ``unittest.mock``, which imports it and ``asyncio.iscoroutinefunction`` only to
    recognise async callables: 3.6 MB, 29 memory mappings and 50 modules in every job otherwise.

    ``iscoroutinefunction`` answers exactly as asyncio's does (``inspect.iscoroutinefunction``, or
    asyncio's private ``_is_coroutine`` marker on the object) and loads the real asyncio only when
    the object carries such a marker at all.
    """
    standin = _Deferred("asyncio")

    def iscoroutinefunction(func: Any) -> bool:
        import inspect

        if inspect.iscoroutinefunction(func):
            return True
        if getattr(func, "_is_coroutine", None) is None:
            return False
        return bool(_load_real("asyncio", standin).iscoroutinefunction(func))

    standin.iscoroutinefunction = iscoroutinefunction  # type: ignore[attr-defined]
    return standin


DEFERRED = {"asyncio": _asyncio_standin}
"""Module name -> factory of its stand-in."""


def preload(names: list[str]) -> None:
    """Import the pool's preloads (the worker runs without ``site``, see ``_handle._BOOT``).

    Blocked modules and stand-ins take their names while the preloads import; afterwards none of
    them is left in ``sys.modules``, so a job's own ``import`` loads the real module. If the preloads
    fail to import that way they are retried once with only the blocked modules kept out.
    """
    try:
        _import_all(names, defer=True)
    except ImportError:
        _import_all(names, defer=False)


def _import_all(names: list[str], defer: bool) -> None:
    """A module that only an import hook of a ``.pth`` file can find (an editable install in
    setuptools' "strict" mode, say) fails first; then ``site`` runs after all and the import is
    retried once.
    """
    placed: dict[str, Any] = {name: None for name in NOT_PRELOADED if name not in sys.modules}
    if defer:
        placed.update((name, make()) for name, make in DEFERRED.items() if name not in sys.modules)
    sys.modules.update(placed)
    try:
        for name in names:
            try:
                importlib.import_module(name)
            except ImportError:
                if "site" in sys.modules:
                    raise
                importlib.import_module("site").main()
                importlib.import_module(name)
    finally:
        for name, value in placed.items():
            if name in sys.modules and sys.modules[name] is value:
                del sys.modules[name]
