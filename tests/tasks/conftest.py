"""Fixtures for the task loader tests (the files themselves are built by ``tests/tasks/files.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tasks.files import write_current_problem


@pytest.fixture
def current_dir(tmp_path: Path) -> Path:
    write_current_problem(tmp_path / "problems")
    return tmp_path / "problems"
