"""Exploration-hacking monitor: rollout tables, per-step metrics, flags, a TRL callback and probes."""

from hackwatch.monitor._callback import HackwatchCallback
from hackwatch.monitor._flags import Flag, FlagThresholds, detect_flags, flags_frame
from hackwatch.monitor._grpo import run_toy_grpo
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

__all__ = [
    "TRIGGER", "Flag", "FlagThresholds", "HackwatchCallback", "Organism", "ProbeResult", "RolloutTableError",
    "build_honest_organism", "build_locked_organism", "clopper_pearson", "detect_flags", "elicitation_probe",
    "flags_frame", "metric_keys", "metrics_as_keys", "noise_probe", "read_rollouts", "reference_pass_at_k",
    "rollouts_from_trl_batch", "rollouts_from_trl_completions", "run_toy_grpo", "sft_steps", "step_metrics", "toy_evaluator", "toy_reward",
    "toy_task_rows", "validate_rollouts", "write_rollouts",
]
