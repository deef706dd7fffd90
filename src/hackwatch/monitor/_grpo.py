"""A short real TRL GRPO run on the toy task, monitored by ``HackwatchCallback`` (CPU, seconds).

Used by the end-to-end tests and by the demo world's exploration-hacking panel.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hackwatch.monitor._callback import HackwatchCallback
from hackwatch.monitor._organisms import Organism, shuffled, toy_reward, toy_task_rows


def run_toy_grpo(organism: Organism, *, steps: int = 8, seed: int = 0, num_generations: int = 4,
                 prompts_per_step: int = 8, learning_rate: float = 1e-5, temperature: float = 1.0,
                 callback: HackwatchCallback | None = None, output_dir: str | Path | None = None) -> HackwatchCallback:
    """Train ``organism.model`` in place with GRPO for ``steps`` steps; returns the (filled) callback."""
    import torch
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    if steps < 1 or prompts_per_step < 1:
        raise ValueError("run_toy_grpo: steps and prompts_per_step must be >= 1")
    cb = callback or HackwatchCallback(num_generations=num_generations)
    rows = shuffled(toy_task_rows(), seed)
    dataset = Dataset.from_list(rows)
    with tempfile.TemporaryDirectory() as tmp:
        args = GRPOConfig(
            output_dir=str(output_dir or tmp), max_steps=steps, seed=seed, learning_rate=learning_rate,
            per_device_train_batch_size=prompts_per_step * num_generations, num_generations=num_generations,
            max_completion_length=3, temperature=temperature, beta=0.0, logging_steps=1, report_to=[],
            save_strategy="no", use_cpu=True, bf16=False, fp16=False, disable_tqdm=True, shuffle_dataset=False, log_level="error",
        )
        torch.manual_seed(seed)
        organism.tokenizer.padding_side = "left"
        trainer: Any = GRPOTrainer(model=organism.model, reward_funcs=[cb.wrap_reward(toy_reward)], args=args,
                                   train_dataset=dataset, processing_class=organism.tokenizer, callbacks=[cb])
        trainer.train()
        cb.log_history = list(trainer.state.log_history)
    organism.model.eval()
    return cb
