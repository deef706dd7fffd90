"""Session fixtures: one tiny world and one uninterrupted reference run shared by the run tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from hackwatch.runs import RunSummary, load_config, run_pipeline
from tests.runs.world import build_world


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The config path of a tiny world (2 checkpoints, 2 tasks, 8 prefixes, donor model)."""
    return build_world(tmp_path_factory.mktemp("world"), direct_samples=2, attempts=2, batch_size=1)


@pytest.fixture(scope="session")
def reference_run(world: Path) -> RunSummary:
    """The world run once, uninterrupted, inline (the run every other run is compared with)."""
    cfg = load_config(world)
    cfg.run.out = str(world.parent / "run_reference")
    return run_pipeline(cfg, bars=False)
