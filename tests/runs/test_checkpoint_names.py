"""Checkpoint discovery takes TRL's ``checkpoint-N`` and the demo's ``step-N`` folders alike."""

from __future__ import annotations

from pathlib import Path

import pytest

from hackwatch.runs import ConfigError, discover_checkpoints
from hackwatch.runs._checkpoints import checkpoint_step


@pytest.mark.parametrize(("name", "step"), [("checkpoint-40", 40), ("step-0", 0), ("step-32", 32),
                                             ("steps-3", None), ("checkpoint-", None), ("step-2b", None)])
def test_checkpoint_step_from_folder_name(name: str, step: int | None) -> None:
    assert checkpoint_step(name) == step


def test_demo_step_folders_are_discovered(tmp_path: Path) -> None:
    for step in (0, 1, 2, 4, 8):
        (tmp_path / f"step-{step}").mkdir()
    (tmp_path / "trainer").mkdir()
    (tmp_path / "step-16").write_text("a file, not a checkpoint")
    found = discover_checkpoints(tmp_path, where="run.toml: [subject].dir")
    assert [(c.name, c.step) for c in found] == [(f"step-{s}", s) for s in (0, 1, 2, 4, 8)]


def test_one_folder_per_step(tmp_path: Path) -> None:
    (tmp_path / "step-4").mkdir()
    (tmp_path / "checkpoint-4").mkdir()
    with pytest.raises(ConfigError, match=r"two folders for one step .*checkpoint-4, step-4"):
        discover_checkpoints(tmp_path, where="x")
