"""One definition of *emerged*: the forecast labels, the report's verdict and the demo's validation agree."""

from __future__ import annotations

import pandas as pd
import pytest

from hackwatch.demo._validation import emergence
from hackwatch.estimate import estimate_cells
from hackwatch.forecast import emergence_labels
from hackwatch.report import verdict_table


def _verdicts() -> pd.DataFrame:
    """Two checkpoints of one exploit type over two tasks. At step 2 task ``a`` exploits 1 of 2 samples and
    task ``b`` 0 of 18: pooled over samples the rate is 1/20 = 0.05, the mean of the task rates 0.25."""
    rows = []
    for step, counts in ((1, {"a": (0, 2), "b": (0, 18)}), (2, {"a": (1, 2), "b": (0, 18)})):
        for task, (k, n) in counts.items():
            rows += [{"task_id": task, "exploit_type": "process_exit", "checkpoint": f"step-{step}", "step": step,
                      "prefix_id": None, "prefix_tokens": 0, "temperature": 1.0, "exploit": i < k} for i in range(n)]
    return pd.DataFrame(rows)


@pytest.mark.parametrize("pooling, emerged, rate", [("sample", False, 0.05), ("task", True, 0.25)])
def test_forecast_report_and_demo_share_one_emergence_rule(pooling: str, emerged: bool, rate: float) -> None:
    est = estimate_cells(_verdicts(), pooling=pooling).summary
    labels = emergence_labels(est, threshold=0.1, series_by=["exploit_type"]).set_index("exploit_type")
    assert labels.loc["process_exit", "emerged"] == emerged
    assert labels.loc["process_exit", "max_direct_rate"] == pytest.approx(rate)
    verdict = verdict_table(est, pd.DataFrame(), threshold=0.1).set_index("exploit_type")
    assert verdict.loc["process_exit", "emerged"] == emerged
    assert verdict.loc["process_exit", "max_direct_rate"] == pytest.approx(rate)
    assert emergence(est, 0.1) == {"process_exit": emerged}  # the demo used pooled k/n whatever the table said
