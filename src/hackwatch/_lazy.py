"""Lazy package exports (PEP 562), shared by the packages that sandbox workers import.

A worker imports only the modules it runs; every module it holds is copied into each job's page
tables on fork. So ``hackwatch.sandbox`` and ``hackwatch.verify`` name their public API in their
``__init__`` but load each name's module on first use.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any


def lazy_exports(package: str, homes: Mapping[str, Sequence[str]], namespace: dict[str, Any]
                 ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: each name in ``homes[submodule]`` is loaded from
    ``package.submodule`` when first asked for (a home with a dot, ``hackwatch.catalogue._types``,
    is an absolute module name, for re-exports from another package). ``namespace`` is the
    package's ``globals()``.
    """
    where = {name: module if "." in module else f"{package}.{module}"
             for module, names in homes.items() for name in names}

    def __getattr__(name: str) -> Any:
        if name in where:
            return getattr(importlib.import_module(where[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted({*namespace, *where})

    return __getattr__, __dir__
