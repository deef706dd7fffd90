"""Short real TRL GRPO runs monitored by ``HackwatchCallback``: any prompt rows and reward (``run_grpo``), or the
toy task on an organism (``run_toy_grpo``, CPU, seconds).

Used by the end-to-end tests, by the demo world's exploration-hacking panel and by the reward-sensitivity
probe (one continuation per reward configuration). The RL loop is TRL's ``GRPOTrainer``; ``grpo_args``
passes any further ``GRPOConfig`` field (e.g. ``use_vllm=True`` on a GPU machine).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from hackwatch.monitor._callback import HackwatchCallback
from hackwatch.monitor._organisms import Organism, shuffled, toy_reward, toy_task_rows


def run_grpo(model: Any, tokenizer: Any, rows: Sequence[Mapping[str, Any]], reward: Callable[..., Sequence[float]], *,
             steps: int = 8, seed: int = 0, num_generations: int = 4, prompts_per_step: int = 8,
             learning_rate: float = 1e-5, temperature: float = 1.0, max_completion_length: int = 3,
             components: Mapping[str, Callable[..., Sequence[float]]] | None = None,
             callback: HackwatchCallback | None = None, output_dir: str | Path | None = None,
             grpo_args: Mapping[str, Any] | None = None) -> HackwatchCallback:
    """Train ``model`` in place with GRPO on ``rows`` (each with ``prompt`` and any columns the reward reads,
    shuffled by ``seed``) for ``steps`` steps; returns the (filled) callback. ``reward`` decides pass/fail;
    ``components`` are recorded beside it (see ``HackwatchCallback.wrap_reward``).
    """
    import torch
    from datasets import Dataset
    from transformers import PrinterCallback
    from trl import GRPOConfig, GRPOTrainer

    if steps < 1 or prompts_per_step < 1:
        raise ValueError("run_grpo: steps and prompts_per_step must be >= 1")
    if not rows or any("prompt" not in r for r in rows):
        raise ValueError("run_grpo: rows must be a non-empty list of dicts with a 'prompt' key")
    cb = callback or HackwatchCallback(num_generations=num_generations)
    dataset = Dataset.from_list(shuffled([dict(r) for r in rows], seed))
    with tempfile.TemporaryDirectory() as tmp:
        settings: dict[str, Any] = dict(
            output_dir=str(output_dir or tmp), max_steps=steps, seed=seed, learning_rate=learning_rate,
            per_device_train_batch_size=prompts_per_step * num_generations, num_generations=num_generations,
            max_completion_length=max_completion_length, temperature=temperature, beta=0.0, logging_steps=1,
            report_to=[], save_strategy="no", use_cpu=not torch.cuda.is_available(), bf16=False, fp16=False,
            disable_tqdm=True, shuffle_dataset=False, log_level="error",
        )
        settings.update(grpo_args or {})
        args = GRPOConfig(**settings)
        torch.manual_seed(seed)
        tokenizer.padding_side = "left"
        trainer: Any = GRPOTrainer(model=model, reward_funcs=[cb.wrap_reward(reward, components=components)],
                                   args=args, train_dataset=dataset, processing_class=tokenizer, callbacks=[cb])
        trainer.remove_callback(PrinterCallback)  # the per-step dict on stdout; log_history keeps every entry
        trainer.train()
        cb.log_history = list(trainer.state.log_history)
    model.eval()
    return cb


def run_toy_grpo(organism: Organism, *, steps: int = 8, seed: int = 0, num_generations: int = 4,
                 prompts_per_step: int = 8, learning_rate: float = 1e-5, temperature: float = 1.0,
                 callback: HackwatchCallback | None = None, output_dir: str | Path | None = None) -> HackwatchCallback:
    """Train ``organism.model`` in place with GRPO on the toy task for ``steps`` steps (on the CPU); returns
    the (filled) callback.
    """
    return run_grpo(organism.model, organism.tokenizer, toy_task_rows(), toy_reward, steps=steps, seed=seed,
                    num_generations=num_generations, prompts_per_step=prompts_per_step,
                    learning_rate=learning_rate, temperature=temperature, callback=callback,
                    output_dir=output_dir, grpo_args={"use_cpu": True})
