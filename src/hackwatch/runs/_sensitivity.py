"""The run's ``[monitor.sensitivity]`` stage: the reward-sensitivity probe on the final checkpoint.

The probe trains K short GRPO continuations (minutes), so its result is kept: the derived tables
``sensitivity`` (``SensitivityResult.table()``) and ``sensitivity_flags`` (its flags, ``numbers`` as JSON
text), and the provenance key ``sensitivity_key`` (a hash of the section, the checkpoint path and the prompt
table's bytes). A rerun with the same key reuses them; a changed section runs the probe again; a removed
section empties both tables. ``analyse`` adds ``sensitivity_flags`` to the run's ``flags``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import asdict

import pandas as pd

from hackwatch.runs._config import Checkpoint, ConfigError, RunConfig
from hackwatch.runs._progress import Progress
from hackwatch.store import RunStore

log = logging.getLogger("hackwatch.runs")

TABLES = ("sensitivity", "sensitivity_flags")


def _key(config: RunConfig, final: Checkpoint) -> str:
    sec = config.monitor.sensitivity
    assert sec is not None
    digest = hashlib.sha256(config.resolve(sec.prompts).read_bytes()).hexdigest()
    data = {"section": asdict(sec), "checkpoint": str(config.resolve(final.path)), "prompts": digest}
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


def sensitivity_stage(config: RunConfig, store: RunStore, checkpoints: Sequence[Checkpoint],
                      progress: Progress) -> None:
    """Run (or reuse) the probe on the last checkpoint (highest step) and store its tables."""
    sec = config.monitor.sensitivity
    if sec is None:
        if any(t in store.tables() for t in TABLES):
            for t in TABLES:
                store.replace_table(t, pd.DataFrame())
            store.set_provenance({"sensitivity_key": ""})
        return
    from hackwatch.monitor import flags_frame
    from hackwatch.monitor._sensitivity import read_prompt_rows, sensitivity_probe

    where = f"{config.origin}: [monitor.sensitivity]"
    try:
        rows = read_prompt_rows(config.resolve(sec.prompts))
    except (ValueError, OSError) as exc:
        raise ConfigError(f"{where}.prompts: {exc}") from None
    if "alt" in sec.configs and "alt_answer" not in rows[0]:
        raise ConfigError(f"{where}.configs: 'alt' needs an alt_answer column in {sec.prompts}; add it or drop 'alt'")
    final = max(checkpoints, key=lambda c: c.step)
    key = _key(config, final)
    if store.provenance().get("sensitivity_key") == key and "sensitivity" in store.tables():
        log.info("sensitivity: reusing the stored probe of %s", final.name)
        return
    progress.start("sensitivity", len(sec.configs), 0, unit="config")
    model, tok = _load(config, final, where)
    result = sensitivity_probe(model, tok, rows=rows, configs=list(sec.configs), steps=sec.steps, seed=sec.seed,
                               num_generations=sec.num_generations, prompts_per_step=sec.prompts_per_step,
                               learning_rate=sec.learning_rate, temperature=sec.temperature,
                               max_completion_length=sec.max_new_tokens, samples=sec.samples,
                               grpo_args={"use_cpu": config.subject.device == "cpu" or not _cuda()})
    progress.advance(len(sec.configs))
    progress.finish()
    table = result.table().assign(checkpoint=final.name, step=final.step)
    flags = flags_frame(result.flags)
    if not flags.empty:
        flags["numbers"] = [json.dumps(n, sort_keys=True, default=str) for n in flags["numbers"]]
        flags["first_step"] = flags["last_step"] = final.step
    store.replace_table("sensitivity", table)
    store.replace_table("sensitivity_flags", flags)
    store.set_provenance({"sensitivity_key": key})
    log.info("sensitivity: %d flag(s) on %s", len(flags), final.name)


def _cuda() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def _load(config: RunConfig, final: Checkpoint, where: str) -> tuple[object, object]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = config.resolve(final.path)
    try:
        tok = AutoTokenizer.from_pretrained(str(path))
        model = AutoModelForCausalLM.from_pretrained(str(path))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{where}: the final checkpoint {path} does not load with transformers "
                          f"({str(exc).splitlines()[0]})") from None
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    return model, tok
