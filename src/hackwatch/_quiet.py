"""Silence third-party warnings, log lines and loading bars (the CLI and the demo share this)."""

from __future__ import annotations

import os
import sys
import warnings

THIRD_PARTY = ("torch", "transformers", "trl", "peft", "accelerate", "datasets", "tokenizers", "huggingface_hub")
"""Libraries whose warnings, log lines and loading bars are silenced (``HACKWATCH_LIBRARY_LOGS=1`` keeps them)."""

def quiet_libraries() -> None:
    """Silence third-party warnings, log lines and weight-loading bars that are not the user's business.

    ``HACKWATCH_LIBRARY_LOGS=1`` keeps them (e.g. when reporting a bug in a backend). Environment
    settings are defaults (``setdefault``): a variable the user set wins.
    """
    if os.environ.get("HACKWATCH_LIBRARY_LOGS") == "1":
        return
    for key, value in (("TRANSFORMERS_VERBOSITY", "error"), ("HF_HUB_DISABLE_PROGRESS_BARS", "1"),
                       ("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1"), ("TOKENIZERS_PARALLELISM", "false")):
        os.environ.setdefault(key, value)
    pattern = r"(" + "|".join(THIRD_PARTY) + r")(\.|$)"
    for category in (DeprecationWarning, FutureWarning, UserWarning, RuntimeWarning):
        warnings.filterwarnings("ignore", category=category, module=pattern)
    if "transformers" in sys.modules:  # already imported (tests, the Python API): set it directly
        import transformers

        transformers.logging.set_verbosity_error()
        transformers.logging.disable_progress_bar()
