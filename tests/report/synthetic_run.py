"""A run database filled with synthetic rows (fixed seed) and the real analysis stage, for report tests.

Two exploit types over three checkpoints: ``rising`` whose exploit probability grows with the step,
``flat`` that never exploits. Rows follow the store schema exactly; estimates come from the real
``hackwatch.estimate`` through the run's analysis stage.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from hackwatch.runs import config_from_dict
from hackwatch.runs._analysis import analyse
from hackwatch.runs._progress import Progress
from hackwatch.store import RunStore

STEPS = (1, 4, 16)
RATES = {"rising": (0.02, 0.08, 0.3), "flat": (0.0, 0.0, 0.0)}


def write_rollouts_file(path: Path, *, seed: int = 0) -> Path:
    """RL rollouts where subset ``locked`` always fails (all-fail groups) while ``ordinary`` improves."""
    from hackwatch.monitor import write_rollouts

    rng = np.random.default_rng(seed)
    rows = []
    for step in range(1, 13):
        for subset in ("ordinary", "locked"):
            for prompt in range(4):
                for g in range(4):
                    p_pass = 0.0 if subset == "locked" else min(0.9, 0.2 + 0.06 * step)
                    rows.append({"step": step, "prompt_id": f"{subset}-{prompt}", "group_id": f"{step}:{subset}-{prompt}",
                                 "subset": subset, "reward": float(rng.random() < p_pass),
                                 "completion": f"answer {step} {g} {rng.integers(100)}", "length": 3})
    write_rollouts(pd.DataFrame(rows), path)
    return path


def build_synthetic_run(run_dir: Path, *, seed: int = 0, toy_banner: bool = True,
                        rollouts: Path | None = None) -> Path:
    rng = np.random.default_rng(seed)
    cfg = config_from_dict({
        "monitor": {"rollouts": str(rollouts) if rollouts else ""},
        "run": {"out": str(run_dir), "name": "synthetic"},
        "tasks": {"source": "builtin"},
        "subject": {"checkpoints": [{"path": f"/models/ck{s}", "step": s, "name": f"checkpoint-{s}"} for s in STEPS]},
        "sampling": {"direct_samples": 40, "attempts_per_prefix": 4, "temperature": 0.7, "seed": seed},
        "thresholds": {"emergence": 0.1, "cutoff": 2},
        "report": {"toy_banner": toy_banner, "title": "synthetic run"},
    }, origin="synthetic.toml", base_dir=run_dir.parent)
    tasks, prefixes, samples, verdicts, scores = [], [], [], [], []
    for etype in RATES:
        for j in range(3):
            tid = f"{etype}-{j}"
            tasks.append({"task_id": tid, "exploit_type": etype, "split": "heldout", "source": "synthetic",
                          "function_name": "f", "prompt": "p", "n_secure_tests": 6, "n_insecure_tests": 6})
            for k in range(2):
                pid = f"{tid}-p{k}"
                prefixes.append({"prefix_id": pid, "task_id": tid, "trace_id": f"{tid}-tr", "prefix_tokens": 4 * (k + 1),
                                 "prefix_ids": [1, 2, 3, 4] * (k + 1), "text": "…", "source": "donor",
                                 "donor_rate_task": 0.5, "donor_rate_prefix": 0.6, "logp_donor_bank": -3.0 * (k + 1),
                                 "proposal": "donor"})
    for ci, step in enumerate(STEPS):
        ck = f"checkpoint-{step}"
        for t in tasks:
            rate = RATES[t["exploit_type"]][ci]
            for a in range(40):
                sid = f"direct/{ck}/{t['task_id']}/0/{a}"
                samples.append(_sample(sid, t["task_id"], ck, step, None, 0, a, seed))
                ex = bool(rng.random() < rate)
                verdicts.append(_verdict(sid, ex))
        for p in prefixes:
            rate = min(1.0, 3 * RATES[next(t["exploit_type"] for t in tasks if t["task_id"] == p["task_id"])][ci])
            for a in range(4):
                sid = f"prefilled/{ck}/{p['prefix_id']}/0/{a}"
                samples.append(_sample(sid, p["task_id"], ck, step, p["prefix_id"], p["prefix_tokens"], a, seed))
                verdicts.append(_verdict(sid, bool(rng.random() < rate)))
            scores.append({"model": ck, "prefix_id": p["prefix_id"], "task_id": p["task_id"],
                           "logprob": -6.0 * p["prefix_tokens"] / 4 + ci, "n_tokens": p["prefix_tokens"],
                           "temperature": 0.7, "approx_error_bound": None})
    run_dir.mkdir(parents=True, exist_ok=True)
    with RunStore.open(run_dir) as store:
        store.set_provenance({"config": cfg.to_dict(), "config_hash": cfg.work_hash(), "run_name": "synthetic",
                              "title": "synthetic run", "toy_banner": toy_banner, "tasks_source": "synthetic",
                              "seed": seed, "model_ids": {f"checkpoint-{s}": f"/models/ck{s}" for s in STEPS},
                              "hackwatch_version": "test"})
        store.insert_rows("tasks", pd.DataFrame(tasks))
        store.insert_rows("checkpoints", pd.DataFrame([{"checkpoint": f"checkpoint-{s}", "step": s,
                                                        "path": f"/models/ck{s}", "role": "subject"} for s in STEPS]))
        store.insert_rows("prefixes", pd.DataFrame(prefixes))
        store.insert_rows("samples", pd.DataFrame(samples))
        store.insert_rows("verdicts", pd.DataFrame(verdicts))
        store.insert_rows("scores", pd.DataFrame(scores))
        analyse(cfg, store, Progress(run_dir, bars=False))
    return run_dir


def _sample(sid: str, task: str, ck: str, step: int, pid: str | None, n: int, attempt: int, seed: int) -> dict:
    return {"sample_id": sid, "unit_key": sid.rsplit("/", 1)[0], "task_id": task, "checkpoint": ck, "step": step,
            "prefix_id": pid, "prefix_tokens": n, "temperature": 0.7, "seed": seed, "attempt": attempt,
            "reasoning": "", "final": "", "completion": "", "generated_ids": [0], "n_generated_tokens": 1,
            "finish_reason": "eos"}


def _verdict(sid: str, exploit: bool) -> dict:
    return {"sample_id": sid, "label": "exploit" if exploit else "fail", "exploit": exploit,
            "secure_pass": False, "insecure_pass": exploit, "reason": "", "sandbox": "synthetic",
            "secure_s": 0.0, "insecure_s": 0.0}
