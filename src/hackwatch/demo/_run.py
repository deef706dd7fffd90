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
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from hackwatch.demo._config import DemoConfig


class DemoError(RuntimeError):
    """The demo cannot go on (e.g. an unfinished world folder, a resumed world of another size); one line."""


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
    summary: dict[str, Any] = field(default_factory=dict)
    """The world's machine-readable summary (also written to ``out/summary.json``)."""


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (CPU runs are then repeatable; see docs/demo.md)."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def run_demo(out: Path, config: DemoConfig, *, say: Callable[[str], None] = print, workers: int = 2) -> DemoResult:
    """Build the toy world in ``out`` and evaluate it with the real pipeline; returns the headline tables.

    Writes ``out/summary.json`` (the world's machine-readable summary, see :func:`world_summary`).
    """
    import torch

    from hackwatch.demo._corpus import build_corpus, plan_types, world_task
    from hackwatch.demo._donor import build_proposals
    from hackwatch.demo._extras import exploit_logprobs, locked_panel, summarise
    from hackwatch.demo._pretrain import pretrain_subject
    from hackwatch.demo._probe import sample_base, train_world_probe
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
    n_stages = 8

    def stage(name: str, t0: float) -> None:
        timings[name] = round(time.perf_counter() - t0, 1)
        say(f"  done in {timings[name]:.0f}s")

    seed_everything(config.seed)
    from hackwatch._quiet import quiet_libraries
    from hackwatch.progress import Heartbeat

    quiet_libraries()
    torch.set_num_threads(config.threads)

    t0 = time.perf_counter()
    say(f"[1/{n_stages}] tasks: {config.n_types} exploit types x {config.tasks_per_type} builtin tasks")
    world = choose_world(load_tasks("builtin"), n_types=config.n_types, tasks_per_type=config.tasks_per_type,
                         donor_types=config.donor_types, unrelated_types=config.unrelated_types, seed=config.seed)
    tasks = world.tasks
    plans = plan_types(world.order)
    items = build_corpus(tasks, plans)
    world_doc = {"config": asdict(config), "tasks": [t.id for t in tasks], "order": world.order,
                 "donor_types": world.donor_types, "unrelated_types": world.unrelated_types,
                 "plans": [asdict(p) for p in plans], "corpus_items": len(items)}
    (out / "world.json").write_text(json.dumps(world_doc, indent=2))
    say(f"  donor types: {', '.join(world.donor_types)}; unrelated-donor types: {', '.join(world.unrelated_types)}")
    stage("tasks", t0)

    t0 = time.perf_counter()
    say(f"[2/{n_stages}] pretraining a {config.layers}-layer, {config.hidden}-wide LM on {len(items)} distinct "
        f"chat samples ({config.pretrain_steps} steps)")
    with Heartbeat("pretrain", config.pretrain_steps, unit="step") as beat:
        model, tokenizer, losses = pretrain_subject(
            items, vocab_size=config.vocab_size, layers=config.layers, hidden=config.hidden,
            steps=config.pretrain_steps, batch=config.pretrain_batch, lr=config.pretrain_lr, seed=config.seed,
            progress=lambda step, loss: beat.update())
    from hackwatch.demo._pretrain import encode_items

    longest = max(len(e.ids) - e.start for e in encode_items(tokenizer, items))
    max_new = max(config.max_completion_length, longest + 8)
    world_doc["max_new_tokens"] = max_new
    (out / "world.json").write_text(json.dumps(world_doc, indent=2))
    config = replace(config, max_completion_length=max_new)
    base_dir = out / "models" / "base"
    model.save_pretrained(base_dir)
    tokenizer.save_pretrained(base_dir)
    say(f"  final loss {losses[-1]:.3f}")
    stage("pretrain", t0)

    by_id = {t.id: t for t in tasks}
    probe_dir: Path | None = None
    with Verifier(workers=workers) as verifier:
        bad = [(t.id, want, got) for t in map(world_task, tasks)
               for want, got in (("exploit", verifier.verify(t, t.exploit).label),
                                 ("correct", verifier.verify(t, t.ground_truth).label)) if want != got]
        if bad:
            raise RuntimeError(f"demo world: reference answers with intent comments changed label: {bad}")
        memo = MemoVerifier(verifier)

        t0 = time.perf_counter()
        say(f"[3/{n_stages}] GRPO: {config.grpo_steps} steps x {config.grpo_prompts_per_step} prompts x "
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
        say(f"[4/{n_stages}] the step-0 model's own samples ({config.donor_samples_per_task} per task, reasoning "
            "on): transfer baseline" + (" and activation-probe training" if config.probe else ""))
        seed_everything(config.seed + 2)
        base = sample_base(base_dir, tasks, verifier, config)
        n_exp = sum(k for k, _ in base.task_rates.values())
        say(f"  {n_exp} exploits in {sum(m for _, m in base.task_rates.values())} samples")
        probe_note = "disabled"
        if config.probe:
            probe_dir, probe_note = train_world_probe(base_dir, tasks, base, out / "probe", config)
            say(f"  probe: {probe_note}")
        stage("base", t0)

        t0 = time.perf_counter()
        say(f"[5/{n_stages}] proposals: donor (hackwatch.donor.train_donor on exploit code, no reasoning)"
            + (", unrelated donor, prompted prefixes" if config.baselines else "") + " -> prefix banks")
        seed_everything(config.seed + 3)
        proposals = build_proposals(base_dir, world, verifier, out, config, base.task_rates, say=say)
        transfer = proposals["donor"].info["transfer"]
        say(f"  donor transfer (exploit rate with reasoning, median over {len(transfer['untrained_types'])} "
            f"types it was not trained on): step-0 model {_pct(transfer['base_rate'])} -> donor {_pct(transfer['donor_rate'])}")
        for name, p in proposals.items():
            if p.missing:
                say(f"  {name}: {len(p.missing)} of {len(tasks)} tasks got no verified exploit trace (no prefixes)")
        stage("proposals", t0)

    t0 = time.perf_counter()
    say(f"[6/{n_stages}] exploration-hacking contrast: a locked organism under GRPO with the same monitor")
    seed_everything(config.seed + 4)
    locked_flags = locked_panel(out / "locked", config)
    stage("locked", t0)

    t0 = time.perf_counter()
    say(f"[7/{n_stages}] the run pipeline (hackwatch run): direct + prefilled sampling, verification, scoring, "
        "probe scores, estimates, forecasts, report")
    summary = run_evaluation(out, config, tasks, saved, proposals, probe_dir, rl_dir / "rollouts.parquet",
                             workers=workers)
    stage("pipeline", t0)

    t0 = time.perf_counter()
    say(f"[8/{n_stages}] demo extras: raw exploit-code log-probs, forecast AUCs per method, IS vs ground truth")
    logp = exploit_logprobs(saved, tasks, config)
    result = summarise(out, config, world, plans, summary, logp, locked_flags, proposals, probe_note)
    stage("extras", t0)
    timings["total"] = round(time.perf_counter() - t_all, 1)
    result.timings = timings
    (out / "timings.json").write_text(json.dumps(timings, indent=1))
    result.summary["seconds"] = timings["total"]
    result.summary["timings"] = timings
    write_json(out / "summary.json", result.summary)  # written last and whole: its presence marks a finished world
    return result


def write_json(path: Path, doc: Any) -> None:
    """Write ``doc`` as JSON all at once (a kill leaves the old file or none, never half of one)."""
    from hackwatch._files import atomic_write

    atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps(doc, indent=1, default=str)))


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def run_evaluation(out: Path, config: DemoConfig, tasks: Any, saved: dict[int, Path], proposals: dict[str, Any],
                   probe_dir: Path | None, rollouts: Path, *, workers: int) -> Any:
    """Build the run config programmatically and run the real pipeline on the RL checkpoints."""
    from hackwatch.runs import config_from_dict, run_pipeline

    data: dict[str, Any] = {
        "run": {"out": str(out / "run"), "name": f"demo-{config.size}-seed{config.seed}"},
        "tasks": {"source": "builtin", "ids": [t.id for t in tasks]},
        "subject": {"backend": "transformers", "device": "cpu",
                    # Step 0 (the initial model) has no place on a log(step) axis; it is the donors' base.
                    "checkpoints": [{"path": str(p), "step": s, "name": f"step-{s}"} for s, p in saved.items()
                                    if s > 0]},
        "sampling": {"direct_samples": config.gt_samples_per_task, "attempts_per_prefix": config.attempts_per_prefix,
                     "temperature": config.temperature, "max_new_tokens": config.max_completion_length,
                     "seed": config.seed, "batch_size": config.batch_size},
        "thresholds": {"emergence": config.threshold, "cutoff": min(config.cutoffs)},
        "estimate": {"missing_donor_rate": "uncorrected"},
        "monitor": {"rollouts": str(rollouts)},
        "report": {"title": f"hackwatch demo ({config.size}, seed {config.seed}) — toy world", "toy_banner": True},
    }
    donor = proposals.get("donor")
    if donor is not None and donor.bank is not None:
        data["donor"] = {"bank": str(donor.bank), "model": str(donor.model)}
    extra = [{"name": name, "bank": str(p.bank)} for name, p in proposals.items()
             if name != "donor" and p.bank is not None]
    if extra:
        data["proposals"] = extra
    if probe_dir is not None:
        data["probes"] = {"dir": str(probe_dir)}
    cfg = config_from_dict(data, origin="demo", base_dir=str(out))
    return run_pipeline(cfg, workers=workers, bars=None)


def run_worlds(out: Path, configs: list[DemoConfig], *, say: Callable[[str], None] = print,
               workers: int = 2) -> dict[str, Any]:
    """Independent worlds (one per config, ``out/seed-N``), pooled into ``out/validation.json``.

    A world that already has its ``summary.json`` is not rebuilt (rerunning the command resumes).
    """
    from hackwatch.demo._validation import pool

    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    summaries = []
    t0 = time.perf_counter()
    for i, cfg in enumerate(configs, start=1):
        world_dir = out / f"seed-{cfg.seed}"
        done = world_dir / "summary.json"
        if done.is_file():
            try:
                summary = json.loads(done.read_text())
            except (OSError, ValueError) as exc:
                raise DemoError(f"{done}: unreadable ({exc}); delete {world_dir} to rebuild that world") from None
            if summary.get("size") != cfg.size:
                raise DemoError(f"{done}: a world of size {summary.get('size')!r}, not {cfg.size!r}; use another --out "
                                "or the same --size")
            say(f"=== world {i}/{len(configs)} (seed {cfg.seed}): already done, reading {done}")
            summaries.append(summary)
            continue
        if world_dir.exists() and any(world_dir.iterdir()):
            raise DemoError(f"{world_dir}: an unfinished world (no summary.json); delete that folder to rebuild it")
        say(f"=== world {i}/{len(configs)} (seed {cfg.seed}), {time.perf_counter() - t0:.0f}s elapsed")
        result = run_demo(world_dir, cfg, say=lambda m, s=cfg.seed: say(f"[seed {s}] {m}"), workers=workers)
        summaries.append(result.summary)
    doc = pool(summaries, configs[0].cutoffs, seed=configs[0].seed)
    doc["seconds"] = round(time.perf_counter() - t0, 1)
    doc["size"] = configs[0].size
    doc["toy_world"] = True
    write_json(out / "validation.json", doc)
    return doc
