"""hackwatch: early warning of reward hacking and exploration hacking in RL post-training of LLMs."""

from hackwatch._api import open_run

__version__ = "0.1.0"

__all__ = ["__version__", "open_run"]
