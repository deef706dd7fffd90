"""The demo's real RL run: TRL ``GRPOTrainer`` with the insecure-verifier reward, the exploration
monitor's callback, and checkpoints saved at log-spaced steps (0, 1, 2, 4, ...).
"""

from __future__ import annotations

import random
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from transformers import PrinterCallback, TrainerCallback

if TYPE_CHECKING:
    from hackwatch.tasks import Task


class LogSpacedCheckpoints(TrainerCallback):
    """Save model and tokenizer to ``<dir>/step-<N>`` at the given global steps (step 0 before training)."""

    def __init__(self, out_dir: Path, steps: Sequence[int], tokenizer: Any,
                 on_save: Callable[[int, Path], None] | None = None) -> None:
        self.out_dir = Path(out_dir)
        self.steps = set(int(s) for s in steps)
        self.tokenizer = tokenizer
        self.on_save = on_save
        self.saved: dict[int, Path] = {}

    def save(self, model: Any, step: int) -> Path:
        path = self.out_dir / f"step-{step}"
        model.save_pretrained(path)
        self.tokenizer.save_pretrained(path)
        self.saved[step] = path
        if self.on_save is not None:
            self.on_save(step, path)
        return path

    def on_step_end(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        if state.global_step in self.steps and state.global_step not in self.saved and model is not None:
            self.save(model, state.global_step)


def grpo_rows(tasks: Sequence[Task], total: int, seed: int) -> list[dict[str, Any]]:
    """Training prompts: the tasks repeated and shuffled (per pass) until ``total`` rows."""
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    while len(rows) < total:
        order = list(tasks)
        rng.shuffle(order)
        rows += [{"prompt": [{"role": "user", "content": t.prompt}], "task_id": t.id, "prompt_id": t.id,
                  "subset": t.exploit_type} for t in order]
    return rows[:total]


def run_grpo(
    model: Any, tokenizer: Any, tasks: Sequence[Task], reward: Callable[..., list[float]], *,
    out_dir: Path, steps: int, checkpoint_steps: Sequence[int], prompts_per_step: int, num_generations: int,
    lr: float, max_completion_length: int, temperature: float, seed: int, monitor: Any = None,
    on_save: Callable[[int, Path], None] | None = None,
) -> tuple[dict[int, Path], list[dict[str, Any]]]:
    """Run GRPO in place on ``model``; returns ({step: checkpoint dir}, trainer log history)."""
    import torch
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    tokenizer.padding_side = "left"
    saver = LogSpacedCheckpoints(out_dir, checkpoint_steps, tokenizer, on_save)
    saver.save(model, 0)
    rows = grpo_rows(tasks, steps * prompts_per_step, seed)
    warnings.filterwarnings("ignore", message=".*gradient_checkpointing.*", category=FutureWarning)
    args = GRPOConfig(
        output_dir=str(out_dir / "trainer"), max_steps=steps, seed=seed, data_seed=seed, learning_rate=lr,
        lr_scheduler_type="constant", warmup_steps=0, weight_decay=0.0, max_grad_norm=1.0,
        per_device_train_batch_size=prompts_per_step * num_generations, num_generations=num_generations,
        max_completion_length=max_completion_length, temperature=temperature, top_p=1.0, top_k=0,
        beta=0.0, logging_steps=1, report_to=[], save_strategy="no", use_cpu=True, bf16=False, fp16=False,
        disable_tqdm=True, shuffle_dataset=False, log_level="error", dataloader_num_workers=0,
    )
    callbacks: list[Any] = [saver]
    reward_fn = reward
    if monitor is not None:
        callbacks.append(monitor)
        reward_fn = monitor.wrap_reward(reward)
    torch.manual_seed(seed)
    model.train()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # transformers' gradient_checkpointing renames
        trainer: Any = GRPOTrainer(model=model, reward_funcs=[reward_fn], args=args,
                                   train_dataset=Dataset.from_list(rows), processing_class=tokenizer,
                                   callbacks=callbacks)
        trainer.remove_callback(PrinterCallback)  # no per-step metric dicts on stdout
        trainer.train()
    model.eval()
    if steps not in saver.saved:
        saver.save(model, steps)
    return dict(sorted(saver.saved.items())), list(trainer.state.log_history)
