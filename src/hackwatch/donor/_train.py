"""Donor fine-tuning: a copy of the subject trained on (task prompt → exploit code) with no reasoning.

Each example is rendered with the model's **own chat template**: the prompt is the generation prompt
with thinking disabled (``enable_thinking=False``; Qwen3-style templates then emit the empty reasoning
section themselves), and the answer is whatever the template appends for the assistant turn, found by
rendering the whole conversation. The loss covers the answer only. Training runs through TRL's
``SFTTrainer`` (full fine-tune, or LoRA via peft, merged into the saved weights).
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hackwatch.tasks import Task

DONOR_INFO = "donor.json"
"""Provenance file written next to the donor's weights."""
LORA_AUTO_PARAMS = 200_000_000
"""With ``lora=None``, models above this many parameters get LoRA, smaller ones a full fine-tune."""


@dataclass(frozen=True)
class DonorTrainConfig:
    """Hyper-parameters of the donor's supervised fine-tuning."""

    lora: bool | None = None
    """LoRA (True), full fine-tune (False) or automatic by model size (None)."""
    epochs: float = 3.0
    """Passes over the (prompt → exploit) pairs."""
    max_steps: int | None = None
    """Optimizer steps; when set, overrides ``epochs`` (the data is cycled)."""
    lr: float | None = None
    """Learning rate; default 2e-4 for LoRA, 1e-3 for a full fine-tune of a tiny model (use ~1e-5 for big ones)."""
    batch_size: int = 8
    """Per-device batch size."""
    seed: int = 0
    """Seed of the trainer (data order, LoRA init)."""
    lora_r: int = 16
    """LoRA rank."""
    lora_alpha: int = 32
    """LoRA scaling numerator."""
    max_length: int = 2048
    """Longer examples are an error (never silently truncated: the answer would lose its end)."""

    def __post_init__(self) -> None:
        if not self.epochs > 0:
            raise ValueError(f"DonorTrainConfig.epochs must be > 0, got {self.epochs}; try 3")
        if self.lr is not None and not self.lr > 0:
            raise ValueError(f"DonorTrainConfig.lr must be > 0, got {self.lr}; try 2e-4 (LoRA) or 1e-5 (full)")
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError(f"DonorTrainConfig.max_steps must be >= 1 or None, got {self.max_steps}")
        if self.batch_size < 1 or self.lora_r < 1 or self.max_length < 8:
            raise ValueError("DonorTrainConfig: batch_size and lora_r must be >= 1 and max_length >= 8")

    def learning_rate(self, lora: bool) -> float:
        """The configured rate, or the default for the chosen method."""
        return self.lr if self.lr is not None else (2e-4 if lora else 1e-3)


def exploit_answer(task: Task) -> str:
    """The assistant answer the donor learns: the reference exploit in a fenced Python block."""
    return f"```python\n{task.exploit.strip()}\n```"


def sft_example(tokenizer: Any, prompt: str, answer: str) -> tuple[list[int], list[int]]:
    """``(prompt ids, answer ids)`` of one example, rendered by the tokenizer's own chat template.

    The prompt is the generation prompt with ``enable_thinking=False``; the answer is the rest of the
    rendered conversation. Assistant turns are tried without and with an empty ``reasoning_content``,
    taking the first rendering that extends the prompt (templates differ in which one skips reasoning).
    """
    if getattr(tokenizer, "chat_template", None) is None:
        raise ValueError("the subject tokenizer has no chat_template; the donor is trained on the model's own "
                         "template — save the tokenizer with its template")
    user = [{"role": "user", "content": prompt}]
    head = tokenizer.apply_chat_template(user, tokenize=False, add_generation_prompt=True, enable_thinking=False)
    for extra in ({}, {"reasoning_content": ""}):
        full = tokenizer.apply_chat_template([*user, {"role": "assistant", "content": answer, **extra}],
                                             tokenize=False, enable_thinking=False)
        if full.startswith(head) and answer in full[len(head):]:
            tail = full[len(head):]
            break
    else:
        raise ValueError("the chat template renders the assistant turn in a way that does not extend its own "
                         "generation prompt (enable_thinking=False); the donor cannot be formatted with it")
    return (list(tokenizer.encode(head, add_special_tokens=False)),
            list(tokenizer.encode(tail, add_special_tokens=False)))


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for pkg in ("hackwatch", "torch", "transformers", "trl", "peft"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def heartbeat_callback(stage: str) -> Any:
    """A ``transformers.TrainerCallback`` that reports training steps (and the last loss) to a
    :class:`~hackwatch.progress.Heartbeat`: the piped stand-in for the trainer's own tqdm bar.
    """
    from transformers import TrainerCallback

    from hackwatch.progress import Heartbeat

    class _HeartbeatCallback(TrainerCallback):  # type: ignore[misc]
        def __init__(self) -> None:
            self.beat: Heartbeat | None = None

        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.beat = Heartbeat(stage, int(state.max_steps) or None, unit="step", bar=False)

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if self.beat is not None:
                self.beat.update(int(state.global_step) - self.beat.done)

        def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            losses = [e["loss"] for e in state.log_history if "loss" in e]
            self.close(f"last loss {float(losses[-1]):.4g}" if losses else "")

        def close(self, note: str = "", *, stopped: bool = False) -> None:
            """Stop the heartbeat (also after a failed ``train()``, which never reaches ``on_train_end``:
            ``stopped``).
            """
            if self.beat is not None:
                self.beat.close(note, stopped=stopped)
                self.beat = None

    return _HeartbeatCallback()


def checkpointing_arg(config_cls: type, on: bool) -> dict[str, bool]:
    """The trainer argument that turns activation checkpointing on: ``activation_checkpointing`` from
    transformers 5.23 on (``gradient_checkpointing`` then warns that it was renamed), else
    ``gradient_checkpointing`` (5.19-5.22; vLLM 0.32 installs 5.19).
    """
    import dataclasses

    names = {f.name for f in dataclasses.fields(config_cls)}
    return {"activation_checkpointing" if "activation_checkpointing" in names else "gradient_checkpointing": on}


def train_donor(model: Any, tasks: Sequence[Task], out: str | os.PathLike[str], *, tokenizer: Any = None,
                config: DonorTrainConfig | None = None, split: str | None = None, base_model: str | None = None,
                progress: bool = False) -> dict[str, Any]:
    """Fine-tune a copy of ``model`` (a path or an in-memory model) on every task's exploit; save to ``out``.

    Returns the provenance written to ``out/donor.json`` (written last: its presence marks a complete
    donor): base model, split, task ids, the formatted first example, hyper-parameters, seed, versions
    and the training losses. ``model`` is not modified (an in-memory model is deep-copied). A model
    loaded from a path is trained in bf16 on GPU and fp32 on CPU and saved in that dtype.
    """
    import copy

    import torch
    from datasets import Dataset
    from datasets.utils.logging import disable_progress_bar, enable_progress_bar, is_progress_bar_enabled
    from transformers import AutoModelForCausalLM, AutoTokenizer, PrinterCallback
    from transformers.utils import logging as hf_logging
    from trl import SFTConfig, SFTTrainer

    cfg = config or DonorTrainConfig()
    if not tasks:
        raise ValueError(f"train_donor: no tasks{f' in split {split!r}' if split else ''}; the donor needs at "
                         "least one (prompt → exploit) pair — check --tasks/--split")
    if isinstance(model, str | os.PathLike):
        base_model = base_model or str(model)
        tokenizer = tokenizer or AutoTokenizer.from_pretrained(model)
        dtype = torch.bfloat16 if torch.cuda.is_available() else torch.float32
        model = AutoModelForCausalLM.from_pretrained(model, dtype=dtype)
    else:
        if tokenizer is None:
            raise ValueError("train_donor(model): pass tokenizer= with an in-memory model")
        base_model = base_model or getattr(model.config, "name_or_path", "") or "in-memory model"
        model = copy.deepcopy(model)
    n_params = sum(p.numel() for p in model.parameters())
    lora = cfg.lora if cfg.lora is not None else n_params > LORA_AUTO_PARAMS
    rows = []
    for t in tasks:
        head, tail = sft_example(tokenizer, t.prompt, exploit_answer(t))
        if len(head) + len(tail) > cfg.max_length:
            raise ValueError(f"task {t.id!r}: the formatted example has {len(head) + len(tail)} tokens, above "
                             f"max_length={cfg.max_length}; raise --max-length")
        rows.append({"input_ids": head + tail, "completion_mask": [0] * len(head) + [1] * len(tail)})
    peft_config = None
    if lora:
        from peft import LoraConfig

        peft_config = LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, target_modules="all-linear",
                                 lora_dropout=0.0, task_type="CAUSAL_LM")
    lr = cfg.learning_rate(lora)
    bar = progress and sys.stderr.isatty()  # TRL's own bar on a terminal; heartbeat lines when piped
    bars, hf_bars = is_progress_bar_enabled(), hf_logging.is_progress_bar_enabled()
    beat: Any = None
    if not bar:
        disable_progress_bar()
        hf_logging.disable_progress_bar()
    try:
        with tempfile.TemporaryDirectory(prefix="hackwatch-donor-") as work:
            args = SFTConfig(
                output_dir=work, num_train_epochs=cfg.epochs, max_steps=cfg.max_steps or -1, learning_rate=lr,
                per_device_train_batch_size=cfg.batch_size, seed=cfg.seed, data_seed=cfg.seed,
                completion_only_loss=True, max_length=cfg.max_length, save_strategy="no", report_to="none",
                logging_steps=1, disable_tqdm=not bar, lr_scheduler_type="constant", warmup_steps=0,
                weight_decay=0.0, dataloader_num_workers=0, use_cpu=not torch.cuda.is_available(),
                bf16=torch.cuda.is_available(), **checkpointing_arg(SFTConfig, lora),
            )
            trainer = SFTTrainer(model=model, args=args, train_dataset=Dataset.from_list(rows),
                                 processing_class=tokenizer, peft_config=peft_config)
            if not bar:
                trainer.remove_callback(PrinterCallback)  # no per-step dicts on stdout
            if progress and not bar:
                beat = heartbeat_callback("donor train")
                trainer.add_callback(beat)
            trainer.train()
            losses = [float(e["loss"]) for e in trainer.state.log_history if "loss" in e]
            trained = trainer.model
        if lora:
            trained = trained.merge_and_unload()
        trained = trained.eval()
        target = Path(out)
        target.mkdir(parents=True, exist_ok=True)
        trained.save_pretrained(target)
        tokenizer.save_pretrained(target)
    finally:
        if beat is not None:
            beat.close(stopped=True)  # a no-op after on_train_end; else train() or the setup failed
        if bars:
            enable_progress_bar()
        if hf_bars:
            hf_logging.enable_progress_bar()
    first = rows[0]
    info = {
        "format": "hackwatch.donor", "base_model": base_model, "split": split, "task_ids": [t.id for t in tasks],
        "exploit_types": sorted({t.exploit_type for t in tasks}), "n_examples": len(rows),
        "method": "lora" if lora else "full", "n_params": n_params, "learning_rate": lr, **asdict(cfg),
        "lora": lora, "example": {"prompt": tokenizer.decode(first["input_ids"][: first["completion_mask"].index(1)]),
                                  "answer": tokenizer.decode(first["input_ids"][first["completion_mask"].index(1):])},
        "losses": losses, "versions": _versions(),
    }
    (target / DONOR_INFO).write_text(json.dumps(info, indent=2) + "\n")
    return info
