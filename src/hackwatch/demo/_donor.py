"""The demo's donor and prefix bank, built with :mod:`hackwatch.donor` from the initial (pre-RL) model.

The donor is a copy of the step-0 subject fine-tuned on the donor-split tasks' reference exploits
with an empty reasoning section; sampled *with* reasoning on every task of the world, its verified
exploit traces are cut into a ladder of token prefixes. Each prefix is continued by the donor a few
times for ``â_D(x,z)``, and ``π̂_D(x)`` comes from the trace sampling itself (the exact correction).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hackwatch.demo._config import DemoConfig
    from hackwatch.tasks import Task


def build_donor_bank(base_dir: Path, tasks: Sequence[Task], donor_tasks: Sequence[Task], verifier: Any,
                     out_dir: Path, config: DemoConfig) -> tuple[Path | None, Path, list[str]]:
    """Train the donor, generate traces, write the bank. Returns (bank path or None, donor dir, tasks without prefixes)."""
    try:
        from hackwatch.donor import DonorTrainConfig, build_bank, generate_traces, train_donor, write_bank
    except ImportError:  # the donor package's public front is not exported yet
        from hackwatch.donor._bank import write_bank
        from hackwatch.donor._build import build_bank
        from hackwatch.donor._traces import generate_traces
        from hackwatch.donor._train import DonorTrainConfig, train_donor
    from hackwatch.models import TransformersBackend

    out_dir.mkdir(parents=True, exist_ok=True)
    donor_dir = out_dir / "model"
    train_donor(str(base_dir), list(donor_tasks), donor_dir,
                config=DonorTrainConfig(lora=False, epochs=float(config.donor_epochs), lr=config.donor_lr,
                                        batch_size=4, seed=config.seed),
                split="donor")
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
    bank = out_dir / "bank.parquet"
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
