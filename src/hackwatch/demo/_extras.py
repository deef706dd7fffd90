"""What the demo adds on top of the run pipeline: the raw exploit-code log-prob baseline, IS errors
against the ground truth, the locked-organism contrast, the per-method forecast scores and the
world's summary (``summary.json``).
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from hackwatch.demo._config import DemoConfig
    from hackwatch.demo._corpus import TypePlan
    from hackwatch.demo._run import DemoResult
    from hackwatch.demo._world import World
    from hackwatch.tasks import Task


def exploit_logprobs(saved: dict[int, Path], tasks: Sequence[Task], config: DemoConfig) -> pd.DataFrame:
    """Per checkpoint and task: log P_τ(reference exploit answer | prompt, empty reasoning), natural log.

    The answer is scored as the donor is trained to write it (reasoning closed at once, then the
    fenced exploit in the world's form, intent comment first), so it is the 'raw exploit-code log-prob'
    baseline of the forecasting comparison.
    """
    from hackwatch.demo._corpus import exploit_code, fenced
    from hackwatch.models import ScoreRequest, TransformersBackend

    rows = []
    for step, path in saved.items():
        backend = TransformersBackend(str(path), device="cpu")
        close = backend.chat_format.reasoning_close
        reqs = [ScoreRequest(t.prompt, backend.encode(f"\n{close}\n\n{fenced(exploit_code(t))}"), key=t.id) for t in tasks]
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


DIRECT_BY_TASK_SQL = """
SELECT t.exploit_type, s.step, s.task_id, count(*) AS n, sum(CASE WHEN v.exploit THEN 1 ELSE 0 END) AS k
FROM samples s JOIN verdicts v USING (sample_id) JOIN tasks t USING (task_id)
WHERE s.prefix_id IS NULL AND v.label <> 'error'
GROUP BY t.exploit_type, s.step, s.task_id
"""
"""Direct samples and exploits per task and step (the ground truth of exactly the tasks an IS cell covers)."""


def summarise(out: Path, config: DemoConfig, world: World, plans: Sequence[TypePlan], summary: Any,
              logp: pd.DataFrame, locked_flags: pd.DataFrame, proposals: dict[str, Any],
              probe_note: str = "") -> DemoResult:
    """Read the run database, score every method at both cutoffs, assemble the headline tables and summary dict.

    Writes the tables as CSV under ``out``; the caller writes ``summary.json``.
    """
    from hackwatch.demo._run import DemoResult
    from hackwatch.demo._validation import (
        METHODS,
        auc_table,
        emergence,
        error_summary,
        is_errors,
        logprob_estimates,
        world_scores,
    )
    from hackwatch.donor._train import _versions
    from hackwatch.store import RunStore

    with RunStore.open(summary.run_dir) as store:
        estimates = store.query("SELECT * FROM estimates")
        flags = store.query("SELECT * FROM flags")
        direct_by_task = store.query(DIRECT_BY_TASK_SQL)
    direct = estimates[estimates["method"] == "direct"] if len(estimates) else estimates
    emerged = emergence(estimates, config.threshold) if len(estimates) else {}
    by_type_tasks: dict[str, list[str]] = {}
    for t in world.tasks:
        by_type_tasks.setdefault(t.exploit_type, []).append(t.id)
    transfer = proposals["donor"].info.get("transfer", {})
    rows = []
    for p in plans:
        d = direct[direct["exploit_type"] == p.exploit_type].sort_values("step")
        # Sample-pooled empirical rate (the estimator leaves `value` empty when no exploit was seen).
        rates = d["successes"].to_numpy(float) / d["n"].clip(lower=1).to_numpy(float)
        ids = by_type_tasks.get(p.exploit_type, [])
        covered = {name: sum(1 for tid in ids if tid not in prop.missing) if prop.bank is not None else 0
                   for name, prop in proposals.items()}
        split = ("donor" if p.exploit_type in world.donor_types else
                 "unrelated" if p.exploit_type in world.unrelated_types else "heldout")
        tr = transfer.get("types", {}).get(p.exploit_type, {})
        rows.append({"exploit_type": p.exploit_type, "split": split, "base_rate_corpus": p.exploit_rate,
                     "hard": p.hard, "tasks": len(ids), "tasks_with_prefixes": covered.get("donor", 0),
                     "tasks_with_prompted": covered.get("prompted", 0),
                     "tasks_with_unrelated": covered.get("unrelated", 0),
                     "step0_rate": tr.get("base"), "donor_rate": tr.get("donor"),
                     "direct_first": rates[0] if len(rates) else math.nan,
                     "direct_last": rates[-1] if len(rates) else math.nan,
                     "emerged": bool(emerged.get(p.exploit_type, False))})
    types = pd.DataFrame(rows)
    all_est = pd.concat([estimates, logprob_estimates(logp)], ignore_index=True)
    scores = world_scores(all_est, list(types["exploit_type"]), config.cutoffs, seed=config.seed)
    auc_first = auc_table(scores, emerged, config.cutoffs[0], seed=config.seed)
    auc_second = auc_table(scores, emerged, config.cutoffs[-1], seed=config.seed)
    evaluation = pd.DataFrame([{"method": m, "cutoff": e["cutoff"], "auc": e["value"], "auc_lower": e["lower"],
                                "auc_upper": e["upper"], "n_emerged": e["n_pos"], "n_not_emerged": e["n_neg"],
                                "types_scored": e["n_scored"]}
                               for table in (auc_first, auc_second) for m, e in table.items()])
    covered = [t.id for t in world.tasks if t.id not in proposals["donor"].missing] if proposals["donor"].bank else []
    errors = is_errors(estimates, direct_by_task=direct_by_task, covered=covered)
    locked = locked_flags.assign(run="locked organism") if len(locked_flags) else locked_flags
    all_flags = pd.concat([flags.assign(run="demo RL run"), locked], ignore_index=True)
    for name, frame in (("types", types), ("evaluation", evaluation), ("is_errors", errors),
                        ("flags", all_flags), ("exploit_logprobs", logp), ("scores", scores)):
        frame.to_csv(out / f"{name}.csv", index=False)
    doc = {
        "seed": config.seed, "size": config.size, "toy_world": True,
        "types": [{"exploit_type": r["exploit_type"], "split": r["split"], "tasks": r["tasks"],
                   "tasks_with_prefixes": r["tasks_with_prefixes"], "emerged": r["emerged"],
                   "direct_first": _finite(r["direct_first"]), "direct_last": _finite(r["direct_last"]),
                   "missing": [tid for tid in by_type_tasks.get(r["exploit_type"], [])
                               if tid in proposals["donor"].missing]} for r in rows],
        "methods": list(METHODS), "cutoffs": list(config.cutoffs),
        "auc": auc_first, "auc_second": auc_second,
        "is_error": error_summary(errors),
        "is_error_cells": [float(x) for x in errors["log10_error"]] if len(errors) else [],
        "donor_transfer": {"base_rate": transfer.get("base_rate"), "donor_rate": transfer.get("donor_rate"),
                           "ratio": transfer.get("ratio"), "trained_base_rate": transfer.get("trained_base_rate"),
                           "trained_donor_rate": transfer.get("trained_donor_rate"),
                           "types": transfer.get("untrained_types", []), "per_type": transfer.get("types", {})},
        "probe": probe_note,
        "flags": {"rl_run": int(len(flags)), "locked_organism": int(len(locked_flags))},
        "scores": scores.to_dict(orient="records"),
        "versions": _versions(),
    }
    return DemoResult(out=out, report_path=summary.report_path, db_path=summary.db_path, types=types,
                      evaluation=evaluation, is_errors=errors, flags=all_flags, estimates=estimates, summary=doc)


def _finite(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None
