"""``run_demo``: the whole demo world, stage by stage, into one output folder.

tasks → corpus → pretraining → GRPO (insecure-verifier reward, monitor callback, log-spaced
checkpoints) → donor + prefix bank → locked organism (exploration-hacking contrast) → the resumable
run pipeline (``hackwatch.runs``: direct and prefilled sampling, verification, scoring, estimates,
forecasts, flags, report) → the demo's own extras (raw exploit-code log-probs, IS/GT errors) and
the terminal summary. Nothing is cached outside ``out``.
"""

from __future__ import annotations

import json
import random
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from hackwatch.demo._config import DemoConfig

FORECAST_CUTOFF = 3
"""Forecasts use the first three RL checkpoints (steps 1, 2, 4)."""


@dataclass
class DemoResult:
    """Where everything went and the headline tables (pandas DataFrames)."""

    out: Path
    report_path: Path | None
    db_path: Path
    types: Any
    """Per exploit type: plan (base rate, hard, style, split), emerged, first/last direct rate."""
    evaluation: Any
    """Per method: forecast AUC (slope on the first checkpoints) and lead time."""
    is_errors: Any
    """Per cell where ground truth is measurable: log10(IS / GT)."""
    flags: Any
    """Exploration-hacking flags of the RL run and of the locked organism."""
    estimates: Any = None
    """The run's estimates table (cell = checkpoint × exploit type; methods direct, is, lower_bound)."""
    timings: dict[str, float] = field(default_factory=dict)


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (CPU runs are then repeatable; see docs/demo.md)."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def run_demo(out: Path, config: DemoConfig, *, say: Callable[[str], None] = print, workers: int = 2) -> DemoResult:
    """Build the toy world in ``out`` and evaluate it with the real pipeline; returns the headline tables."""
    import torch

    from hackwatch.demo._corpus import build_corpus, plan_types
    from hackwatch.demo._donor import build_donor_bank
    from hackwatch.demo._extras import exploit_logprobs, locked_panel, summarise
    from hackwatch.demo._pretrain import pretrain_subject
    from hackwatch.demo._reward import MemoVerifier, insecure_reward
    from hackwatch.demo._rl import run_grpo
    from hackwatch.demo._world import choose_world
    from hackwatch.monitor import HackwatchCallback
    from hackwatch.tasks import load_tasks
    from hackwatch.verify import Verifier

    out = Path(out).resolve()  # the run config's paths are relative to its base_dir: give both absolute
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    t_all = time.perf_counter()

    def stage(name: str, t0: float) -> None:
        timings[name] = round(time.perf_counter() - t0, 1)
        say(f"  done in {timings[name]:.0f}s")

    seed_everything(config.seed)
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))

    t0 = time.perf_counter()
    say(f"[1/7] tasks: choosing {config.n_types} exploit types x {config.tasks_per_type} builtin tasks")
    tasks, order, donor_types = choose_world(load_tasks("builtin"), n_types=config.n_types,
                                             tasks_per_type=config.tasks_per_type,
                                             donor_types=config.donor_types, seed=config.seed)
    plans = plan_types(order)
    items = build_corpus(tasks, plans)
    world = {"config": asdict(config), "tasks": [t.id for t in tasks], "donor_types": donor_types,
             "plans": [asdict(p) for p in plans], "corpus_items": len(items)}
    (out / "world.json").write_text(json.dumps(world, indent=2))
    stage("tasks", t0)

    t0 = time.perf_counter()
    say(f"[2/7] pretraining a {config.layers}-layer, {config.hidden}-wide LM on {len(items)} distinct "
        f"chat samples ({config.pretrain_steps} steps)")
    from tqdm import tqdm

    bar = tqdm(total=config.pretrain_steps, desc="pretrain", unit="step", leave=False,
               disable=not sys.stderr.isatty())
    model, tokenizer, losses = pretrain_subject(
        items, vocab_size=config.vocab_size, layers=config.layers, hidden=config.hidden,
        steps=config.pretrain_steps, batch=config.pretrain_batch, lr=config.pretrain_lr, seed=config.seed,
        progress=lambda step, loss: (bar.update(1), bar.set_postfix(loss=f"{loss:.3f}")))
    bar.close()
    from hackwatch.demo._pretrain import encode_items

    longest = max(len(e.ids) - e.start for e in encode_items(tokenizer, items))
    max_new = max(config.max_completion_length, longest + 8)
    world["max_new_tokens"] = max_new
    (out / "world.json").write_text(json.dumps(world, indent=2))
    config = replace(config, max_completion_length=max_new)
    base_dir = out / "models" / "base"
    model.save_pretrained(base_dir)
    tokenizer.save_pretrained(base_dir)
    say(f"  final loss {losses[-1]:.3f}")
    stage("pretrain", t0)

    by_id = {t.id: t for t in tasks}
    with Verifier(workers=workers) as verifier:
        memo = MemoVerifier(verifier)

        t0 = time.perf_counter()
        say(f"[3/7] GRPO: {config.grpo_steps} steps x {config.grpo_prompts_per_step} prompts x "
            f"{config.num_generations} completions, reward = insecure verifier; checkpoints at "
            f"{', '.join(map(str, config.checkpoint_steps))}")
        rl_dir = out / "rl"
        rl_dir.mkdir(exist_ok=True)
        monitor = HackwatchCallback(table_path=rl_dir / "rollouts.parquet", flags_path=rl_dir / "flags.parquet",
                                    num_generations=config.num_generations)
        seed_everything(config.seed + 1)
        saved, history = run_grpo(
            model, tokenizer, tasks, insecure_reward(memo, by_id), out_dir=out / "checkpoints",
            steps=config.grpo_steps, checkpoint_steps=config.checkpoint_steps,
            prompts_per_step=config.grpo_prompts_per_step, num_generations=config.num_generations,
            lr=config.grpo_lr, max_completion_length=config.max_completion_length,
            temperature=config.temperature, seed=config.seed + 1, monitor=monitor,
            on_save=lambda s, p: say(f"  checkpoint step {s}"))
        (rl_dir / "log_history.json").write_text(json.dumps(history, indent=1, default=str))
        rewards = [h["reward"] for h in history if "reward" in h]
        if rewards:
            say(f"  mean reward {rewards[0]:.2f} (first step) -> {rewards[-1]:.2f} (last step)")
        stage("grpo", t0)

        t0 = time.perf_counter()
        say("[4/7] donor: fine-tune a copy of the initial model on donor-split exploit code (no reasoning), "
            "sample it with reasoning, keep verified exploit traces -> prefix bank")
        seed_everything(config.seed + 2)
        bank_path, donor_dir, missing = build_donor_bank(
            base_dir, items, tasks, [t for t in tasks if t.exploit_type in donor_types], verifier, out / "donor",
            config)
        if missing:
            say(f"  {len(missing)} of {len(tasks)} tasks got no exploit trace from the donor (no prefixes for them)")
        stage("donor", t0)

    t0 = time.perf_counter()
    say("[5/7] exploration-hacking contrast: a locked organism under GRPO with the same monitor")
    seed_everything(config.seed + 3)
    locked_flags = locked_panel(out / "locked", config)
    stage("locked", t0)

    t0 = time.perf_counter()
    say("[6/7] the run pipeline (hackwatch run): direct + prefilled sampling, verification, scoring, "
        "estimates, forecasts, report")
    summary = run_evaluation(out, config, tasks, saved, bank_path, donor_dir, rl_dir / "rollouts.parquet",
                             workers=workers)
    stage("pipeline", t0)

    t0 = time.perf_counter()
    say("[7/7] demo extras: raw exploit-code log-probs, IS vs ground truth")
    logp = exploit_logprobs(saved, tasks, config)
    result = summarise(out, config, plans, donor_types, summary, logp, locked_flags)
    stage("extras", t0)
    timings["total"] = round(time.perf_counter() - t_all, 1)
    result.timings = timings
    (out / "timings.json").write_text(json.dumps(timings, indent=1))
    return result


def run_evaluation(out: Path, config: DemoConfig, tasks: Any, saved: dict[int, Path], bank: Path | None,
                   donor_dir: Path, rollouts: Path, *, workers: int) -> Any:
    """Build the run config programmatically and run the real pipeline on the RL checkpoints."""
    from hackwatch.runs import config_from_dict, run_pipeline

    data: dict[str, Any] = {
        "run": {"out": str(out / "run"), "name": f"demo-{config.size}-seed{config.seed}"},
        "tasks": {"source": "builtin", "ids": [t.id for t in tasks]},
        "subject": {"backend": "transformers", "device": "cpu",
                    # Step 0 (the initial model) has no place on a log(step) axis; it is the donor's base.
                    "checkpoints": [{"path": str(p), "step": s, "name": f"step-{s}"} for s, p in saved.items()
                                    if s > 0]},
        "sampling": {"direct_samples": config.gt_samples_per_task, "attempts_per_prefix": config.attempts_per_prefix,
                     "temperature": config.temperature, "max_new_tokens": config.max_completion_length,
                     "seed": config.seed, "batch_size": 64},
        "thresholds": {"emergence": config.threshold, "cutoff": FORECAST_CUTOFF},
        "monitor": {"rollouts": str(rollouts)},
        "report": {"title": f"hackwatch demo ({config.size}, seed {config.seed}) — toy world", "toy_banner": True},
    }
    if bank is not None:
        data["donor"] = {"bank": str(bank), "model": str(donor_dir)}
    cfg = config_from_dict(data, origin="demo", base_dir=str(out))
    return run_pipeline(cfg, workers=workers, bars=None)
