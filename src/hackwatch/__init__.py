"""hackwatch: early warning of reward hacking and exploration hacking in RL post-training of LLMs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hackwatch._api import open_run

__version__ = "0.1.0"

__all__ = ["__version__", "open_run"]


def __getattr__(name: str) -> Any:
    # Lazy: `import hackwatch.verify` inside sandbox workers must not pull in pandas/duckdb.
    if name == "open_run":
        from hackwatch._api import open_run

        return open_run
    raise AttributeError(f"module 'hackwatch' has no attribute {name!r}")
