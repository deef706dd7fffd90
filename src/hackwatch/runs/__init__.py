"""Resumable runs: config, orchestration over checkpoints, local or Ray execution."""

from hackwatch.runs._checkpoints import discover_checkpoints, log_spaced, resolve_checkpoints
from hackwatch.runs._config import SECTIONS, Checkpoint, ConfigError, RunConfig, config_from_dict, load_config
from hackwatch.runs._executors import EXECUTORS, LocalExecutor, RayExecutor, make_executor
from hackwatch.runs._pipeline import (
    DONOR,
    RunError,
    RunSummary,
    plan_sample_units,
    plan_score_units,
    run_pipeline,
)

__all__ = [
    "DONOR",
    "EXECUTORS",
    "SECTIONS",
    "Checkpoint",
    "ConfigError",
    "LocalExecutor",
    "RayExecutor",
    "RunConfig",
    "RunError",
    "RunSummary",
    "config_from_dict",
    "discover_checkpoints",
    "load_config",
    "log_spaced",
    "make_executor",
    "plan_sample_units",
    "plan_score_units",
    "resolve_checkpoints",
    "run_pipeline",
]
