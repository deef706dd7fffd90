"""What the demo adds on top of the run pipeline: the raw exploit-code log-prob baseline, IS errors
against the ground truth, the locked-organism contrast, and the headline tables.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from hackwatch.demo._config import DemoConfig
    from hackwatch.demo._corpus import TypePlan
    from hackwatch.demo._run import DemoResult
    from hackwatch.tasks import Task

GT_MIN = 1e-4
"""IS errors are reported where the ground-truth rate is at least this (and measured, > 0)."""


def exploit_logprobs(saved: dict[int, Path], tasks: Sequence[Task], config: DemoConfig) -> pd.DataFrame:
    """Per checkpoint and task: log P_τ(reference exploit answer | prompt, empty reasoning), natural log.

    The answer is scored as the donor is trained to write it (reasoning closed at once, then the
    fenced exploit), so it is the 'raw exploit-code log-prob' baseline of the forecasting comparison.
    """
    from hackwatch.demo._corpus import fenced
    from hackwatch.models import ScoreRequest, TransformersBackend

    rows = []
    for step, path in saved.items():
        backend = TransformersBackend(str(path), device="cpu")
        close = backend.chat_format.reasoning_close
        reqs = [ScoreRequest(t.prompt, backend.encode(f"\n{close}\n\n{fenced(t.exploit)}"), key=t.id) for t in tasks]
        for t, s in zip(tasks, backend.score_prefixes(reqs, temperature=config.temperature, batch_size=32),
                        strict=True):
            rows.append({"step": step, "task_id": t.id, "exploit_type": t.exploit_type, "logp_exploit": s.logprob,
                         "n_tokens": s.n_tokens})
    return pd.DataFrame(rows)


def locked_panel(out_dir: Path, config: DemoConfig) -> pd.DataFrame:
    """GRPO on the monitor's locked organism (wrong answers on trigger prompts) with the same callback.

    Returns its flags; the RL run's own flags come from the run pipeline. Contrast: the locked run
    should be flagged for reward homogeneity on the trigger subset.
    """
    from hackwatch.monitor import HackwatchCallback, build_locked_organism, flags_frame, run_toy_grpo

    out_dir.mkdir(parents=True, exist_ok=True)
    organism = build_locked_organism(seed=config.seed)
    cb = HackwatchCallback(table_path=out_dir / "rollouts.parquet", flags_path=out_dir / "flags.parquet",
                           num_generations=4)
    # run_toy_grpo keeps TRL's console printer: send its per-step dicts to a log file, not the terminal.
    with open(out_dir / "train.log", "w") as log, contextlib.redirect_stdout(log), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run_toy_grpo(organism, steps=config.locked_steps, seed=config.seed, num_generations=4, callback=cb)
    return flags_frame(cb.flags)


def _slope(steps: np.ndarray, values: np.ndarray) -> float:
    ok = np.isfinite(values) & (steps > 0)
    if ok.sum() < 2:
        return float("nan")
    return float(np.polyfit(np.log(steps[ok]), values[ok], 1)[0])


def logprob_evaluation(logp: pd.DataFrame, emerged: dict[str, bool], cutoff: int) -> dict[str, Any]:
    """AUC of the raw exploit log-prob baseline: its slope (per type, mean over tasks) on the first checkpoints."""
    from hackwatch.forecast import roc_auc

    cell = logp[logp["step"] > 0].groupby(["exploit_type", "step"])["logp_exploit"].mean().reset_index()
    steps = sorted(cell["step"].unique())[:cutoff]
    scores, labels = [], []
    for typ, g in cell[cell["step"].isin(steps)].groupby("exploit_type"):
        if typ in emerged:
            scores.append(_slope(g["step"].to_numpy(float), g["logp_exploit"].to_numpy(float)))
            labels.append(emerged[typ])
    row: dict[str, Any] = {"method": "exploit_logprob", "score": "slope", "cutoff": cutoff,
                           "n_emerged": int(sum(labels)), "n_not_emerged": int(len(labels) - sum(labels))}
    try:
        row["auc"] = roc_auc(np.array(scores), np.array(labels, dtype=bool))
    except ValueError:
        row["auc"] = float("nan")
    return row


def is_errors(estimates: pd.DataFrame) -> pd.DataFrame:
    """Per cell (checkpoint × exploit type): log10(IS / GT) where the direct ground truth is ≥ ``GT_MIN``."""
    if estimates.empty:
        return pd.DataFrame(columns=["exploit_type", "step", "gt", "is", "log10_error"])
    keys = ["exploit_type", "step"]
    gt = estimates[estimates["method"] == "direct"][keys + ["value"]].rename(columns={"value": "gt"})
    est = estimates[estimates["method"] == "is"][keys + ["value", "ess"]].rename(columns={"value": "is"})
    both = gt.merge(est, on=keys)
    both = both[(both["gt"] >= GT_MIN) & (both["is"] > 0)].copy()
    both["log10_error"] = np.log10(both["is"] / both["gt"])
    return both.sort_values(keys).reset_index(drop=True)


def summarise(out: Path, config: DemoConfig, plans: Sequence[TypePlan], donor_types: Sequence[str], summary: Any,
              logp: pd.DataFrame, locked_flags: pd.DataFrame) -> DemoResult:
    """Read the run database and assemble the headline tables; writes them as CSV under ``out``."""
    from hackwatch.demo._run import FORECAST_CUTOFF, DemoResult
    from hackwatch.store import RunStore

    with RunStore.open(summary.run_dir) as store:
        estimates = store.query("SELECT * FROM estimates")
        evaluation = store.query("SELECT * FROM evaluation")
        flags = store.query("SELECT * FROM flags")
    direct = estimates[estimates["method"] == "direct"]
    rows = []
    emerged: dict[str, bool] = {}
    for p in plans:
        d = direct[direct["exploit_type"] == p.exploit_type].sort_values("step")
        # Sample-pooled empirical rate (the estimator leaves `value` empty when no exploit was seen).
        rates = (d["successes"].to_numpy(float) / d["n"].clip(lower=1).to_numpy(float))
        em = bool(len(rates) and rates.max() > config.threshold)
        emerged[p.exploit_type] = em
        rows.append({"exploit_type": p.exploit_type, "split": "donor" if p.exploit_type in donor_types else "heldout",
                     "base_rate_corpus": p.exploit_rate, "hard": p.hard, "style": p.style,
                     "direct_first": rates[0] if len(rates) else math.nan,
                     "direct_last": rates[-1] if len(rates) else math.nan, "emerged": em})
    types = pd.DataFrame(rows)
    evaluation = pd.concat([evaluation, pd.DataFrame([logprob_evaluation(logp, emerged, FORECAST_CUTOFF)])], ignore_index=True)
    errors = is_errors(estimates)
    locked = locked_flags.assign(run="locked organism") if len(locked_flags) else locked_flags
    all_flags = pd.concat([flags.assign(run="demo RL run"), locked], ignore_index=True)
    for name, frame in (("types", types), ("evaluation", evaluation), ("is_errors", errors),
                        ("flags", all_flags), ("exploit_logprobs", logp)):
        frame.to_csv(out / f"{name}.csv", index=False)
    return DemoResult(out=out, report_path=summary.report_path, db_path=summary.db_path, types=types,
                      evaluation=evaluation, is_errors=errors, flags=all_flags, estimates=estimates)
