"""Shared skip markers and paths for the test suite."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
LEGACY_DJINN = SHARED / "djinn-problems-legacy"
DJINN_ROWS = SHARED / "djinn-rows-sample.jsonl"


def _has_cuda() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


requires_gpu = pytest.mark.skipif(not _has_cuda(), reason="needs a CUDA device")
requires_ray = pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                                  reason="needs ray: pip install 'hackwatch[ray]'")
requires_shared_djinn = pytest.mark.skipif(
    not LEGACY_DJINN.is_dir(), reason=f"Djinn legacy problems not found at {LEGACY_DJINN} (../shared is absent)")
requires_djinn_rows = pytest.mark.skipif(
    not DJINN_ROWS.is_file(), reason=f"Djinn rows sample not found at {DJINN_ROWS} (../shared is absent)")
