"""The demo's donor and prefix bank, built with :mod:`hackwatch.donor` from the initial (pre-RL) model.

The donor is a copy of the step-0 subject fine-tuned on the donor-split tasks' reference exploits
with an empty reasoning section (for now with the demo's own minimal loop, see ``train_demo_donor``); sampled *with* reasoning on every task of the world, its verified
exploit traces are cut into a ladder of token prefixes. Each prefix is continued by the donor a few
times for ``â_D(x,z)``, and ``π̂_D(x)`` comes from the trace sampling itself (the exact correction).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hackwatch.demo._corpus import CorpusItem, chat_messages, fenced

if TYPE_CHECKING:
    from hackwatch.demo._config import DemoConfig
    from hackwatch.tasks import Task


def train_demo_donor(base_dir: Path, items: Sequence[CorpusItem], donor_tasks: Sequence[Task], out: Path,
                     config: DemoConfig) -> Path:
    """Minimal donor SFT for the tiny model (TO BE REPLACED by ``hackwatch.donor.train_donor``).

    ``train_donor`` (TRL SFT, fresh optimizer) wrecks the 2-layer demo model within a few steps even
    at lr 1e-4 (its samples stop reasoning and stop fencing code), so the demo fine-tunes with its
    own loop instead: the donor-split tasks' exploits with an *empty* reasoning section (rendered by
    the model's own template, as ``train_donor`` does), mixed 1:1 with replay of the pretraining
    corpus so the reasoning channel keeps its pretrained distribution.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from hackwatch.demo._pretrain import Encoded, encode_items, train_lm

    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    model = AutoModelForCausalLM.from_pretrained(base_dir)
    replay = encode_items(tokenizer, items)
    sft = []
    for t in donor_tasks:
        head = tokenizer.apply_chat_template(chat_messages(t.prompt), tokenize=False, add_generation_prompt=True)
        full = tokenizer.apply_chat_template(chat_messages(t.prompt, "", fenced(t.exploit)), tokenize=False)
        h = tokenizer(head, add_special_tokens=False)["input_ids"]
        ids = tokenizer(full, add_special_tokens=False)["input_ids"]
        sft.append(Encoded(ids, len(h), 1.0))
    total_replay = sum(e.weight for e in replay)
    data = [Encoded(e.ids, e.start, 0.5 * e.weight / total_replay) for e in replay]
    data += [Encoded(e.ids, e.start, 0.5 / len(sft)) for e in sft]
    train_lm(model, data, steps=config.donor_steps, batch=config.pretrain_batch, lr=config.donor_lr,
             seed=config.seed, pad_id=tokenizer.pad_token_id, temper=1.0)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    (out / "donor.json").write_text(json.dumps({
        "base_model": str(base_dir), "split": "donor", "tasks": [t.id for t in donor_tasks],
        "method": "demo minimal SFT (exploit code, empty reasoning) + 1:1 corpus replay",
        "steps": config.donor_steps, "lr": config.donor_lr, "seed": config.seed}, indent=2))
    return out


def build_donor_bank(base_dir: Path, items: Sequence[CorpusItem], tasks: Sequence[Task],
                     donor_tasks: Sequence[Task], verifier: Any, out_dir: Path,
                     config: DemoConfig) -> tuple[Path | None, Path, list[str]]:
    """Train the donor, generate traces, write the bank. Returns (bank path or None, donor dir, tasks without prefixes)."""
    from hackwatch.models import TransformersBackend

    try:
        from hackwatch.donor import build_bank, generate_traces, write_bank
    except ImportError:  # the donor package's public front is not exported yet
        from hackwatch.donor._bank import write_bank
        from hackwatch.donor._build import build_bank
        from hackwatch.donor._traces import generate_traces

    out_dir.mkdir(parents=True, exist_ok=True)
    donor_dir = train_demo_donor(base_dir, items, donor_tasks, out_dir / "model", config)
    backend = TransformersBackend(str(donor_dir), device="cpu")
    traces = generate_traces(backend, list(tasks), verifier, n=config.donor_samples_per_task,
                             temperature=config.temperature, max_new_tokens=config.max_completion_length,
                             seed=config.seed, batch_size=64)
    traces = _cap_traces(traces, config.prefixes_per_task)
    rows, provenance = build_bank(traces, backend, list(tasks), verifier, lengths=config.prefix_lengths,
                                  prefix_attempts=config.donor_prefix_attempts,
                                  max_new_tokens=config.max_completion_length, batch_size=64)
    missing = list(provenance.get("missing", []))
    if not rows:
        return None, donor_dir, missing
    # JSONL, not Parquet: write_bank cannot yet store a column that mixes text and numbers in Parquet.
    bank = out_dir / "bank.jsonl"
    write_bank(rows, bank, provenance=provenance)
    return bank, donor_dir, missing


def _cap_traces(traceset: Any, per_task: int) -> Any:
    """Keep at most ``per_task`` traces per task (in sampling order) to bound the prefilled sampling."""
    import dataclasses

    seen: dict[str, int] = {}
    kept = []
    for tr in traceset.traces:
        if seen.get(tr.task_id, 0) < per_task:
            kept.append(tr)
            seen[tr.task_id] = seen.get(tr.task_id, 0) + 1
    return dataclasses.replace(traceset, traces=kept)
