"""forecast stage: trends of per-cell estimates over checkpoints, emergence scores and their evaluation.

The trend of a cell's log10 estimate against ln(step) on the first checkpoints scores how likely
an exploit type is to emerge; emergence labels come from direct sampling over all checkpoints;
ROC AUC (with bootstrap interval and leave-one-out for fitted combinations), lead time and
crossing forecasts say how well and how early the score warns. Pure functions over tables.
"""

from hackwatch.forecast._evaluate import AUCResult, auc_interval, leave_one_out_scores, roc_auc
from hackwatch.forecast._forecast import (
    ForecastResult,
    LeadTimeResult,
    ScoreKind,
    combination_auc,
    emergence_labels,
    emergence_scores,
    forecast,
    lead_time,
)
from hackwatch.forecast._trend import (
    LineFit,
    crossing_interval,
    crossing_step,
    fit_line,
    series_columns,
    trajectory,
)

__all__ = [
    "AUCResult", "ForecastResult", "LeadTimeResult", "LineFit", "ScoreKind", "auc_interval", "combination_auc",
    "crossing_interval", "crossing_step", "emergence_labels", "emergence_scores", "fit_line", "forecast",
    "lead_time", "leave_one_out_scores", "roc_auc", "series_columns", "trajectory",
]
