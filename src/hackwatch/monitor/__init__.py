"""Exploration-hacking monitor: rollout tables, per-step metrics, flags, a TRL callback and probes.

``HackwatchCallback``, ``run_grpo``, ``run_toy_grpo`` and the reward-sensitivity probe (``sensitivity_probe``
and its types) load lazily: they need transformers (and TRL), which take seconds to import, and
``hackwatch monitor`` on a rollout table needs neither.
"""

from typing import TYPE_CHECKING, Any

from hackwatch.monitor._flags import Flag, FlagThresholds, detect_flags, flags_frame
from hackwatch.monitor._organisms import (
    TRIGGER,
    Organism,
    build_honest_organism,
    build_locked_organism,
    toy_evaluator,
    toy_reward,
    toy_task_rows,
)
from hackwatch.monitor._probes import ProbeResult, clopper_pearson, elicitation_probe, noise_probe, sft_steps
from hackwatch.monitor._rollouts import (
    RolloutTableError,
    read_rollouts,
    rollouts_from_trl_batch,
    rollouts_from_trl_completions,
    validate_rollouts,
    write_rollouts,
)
from hackwatch.monitor._step_metrics import metric_keys, metrics_as_keys, reference_pass_at_k, step_metrics

if TYPE_CHECKING:
    from hackwatch.monitor._callback import HackwatchCallback
    from hackwatch.monitor._collapse import build_templated_organism, collapse_runs, run_collapse_grpo
    from hackwatch.monitor._grpo import run_grpo, run_toy_grpo
    from hackwatch.monitor._sensitivity import (
        REWARD_CONFIGS,
        RewardConfig,
        SensitivityResult,
        SensitivityThresholds,
        sensitivity_probe,
        toy_sensitivity_rows,
    )

_SENSITIVITY = ("REWARD_CONFIGS", "RewardConfig", "SensitivityResult", "SensitivityThresholds", "sensitivity_probe",
                "toy_sensitivity_rows")
_LAZY = {"HackwatchCallback": "hackwatch.monitor._callback", "run_grpo": "hackwatch.monitor._grpo",
         "run_toy_grpo": "hackwatch.monitor._grpo", **dict.fromkeys(_SENSITIVITY, "hackwatch.monitor._sensitivity"),
         **dict.fromkeys(("build_templated_organism", "collapse_runs", "run_collapse_grpo"), "hackwatch.monitor._collapse")}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'hackwatch.monitor' has no attribute {name!r}")

__all__ = [
    "REWARD_CONFIGS", "RewardConfig", "SensitivityResult", "SensitivityThresholds", "sensitivity_probe",
    "toy_sensitivity_rows", "run_grpo",
    "build_templated_organism", "collapse_runs", "run_collapse_grpo",
    "TRIGGER", "Flag", "FlagThresholds", "HackwatchCallback", "Organism", "ProbeResult", "RolloutTableError",
    "build_honest_organism", "build_locked_organism", "clopper_pearson", "detect_flags", "elicitation_probe",
    "flags_frame", "metric_keys", "metrics_as_keys", "noise_probe", "read_rollouts", "reference_pass_at_k",
    "rollouts_from_trl_batch", "rollouts_from_trl_completions", "run_toy_grpo", "sft_steps", "step_metrics", "toy_evaluator", "toy_reward",
    "toy_task_rows", "validate_rollouts", "write_rollouts",
]
