"""What the docs promise about ``lower_bound`` matches what it guarantees: 1 − α per task, 1 − T·α per cell.

The estimator's per-task guarantee is tested exactly in ``test_bound.py``; this file keeps README.md and
docs/statistics.md from calling a cell's value (a mean over T tasks) a 95 % bound again.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _flat(path: Path) -> str:
    return re.sub(r"\s+", " ", path.read_text(encoding="utf-8"))


def test_readme_says_the_95_percent_bound_is_per_task_and_a_cell_mean_only_1_minus_t_alpha() -> None:
    text = _flat(ROOT / "README.md")
    start = text.index("**Lower bound**:")
    item = text[start:text.index("- **", start + 10)]
    assert "one-sided 95% confidence bound **per task**" in item, item
    assert "mean over its T tasks" in item and "up to T·α" in item and "--alpha 0.05/T" in item, item


def test_statistics_doc_states_the_cell_level_guarantee() -> None:
    text = _flat(ROOT / "docs" / "statistics.md")
    assert "**The guarantee is per task.**" in text
    assert "P(cell value > cell mean π) ≤ P(some task's bound fails) ≤ T·α" in text
    assert "with probability ≥ 1 − T·α for T tasks (union bound) — the 1 − α level is per task, not per cell" in text
    assert "the exploit rate of those tasks is above it at 95 % confidence" not in text  # the old overclaim
