"""The step-0 model's own samples: the donor-transfer baseline and the activation probe's training data.

One sampling pass of the step-0 model with reasoning (``donor_samples_per_task`` per task), verified in
the sandbox, gives (a) its exploit rate per task — the base rate the donor's transfer is compared with
— and (b) labelled samples on which a linear probe over the first reasoning tokens' hidden states is
trained (:func:`hackwatch.probes.train_probes`). The run pipeline then scores every checkpoint's direct
samples with that probe (``[probes]`` in the run config, ``method = "probe"``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hackwatch.demo._config import DemoConfig
    from hackwatch.tasks import Task

PROBE_SPEC = {"layers": (-1,), "windows": (2, 4, 8), "poolings": ("mean",)}
"""What the demo's probe reads: the final hidden state, mean-pooled over the first 2, 4 or 8 reasoning tokens."""


@dataclass
class BaseSamples:
    """The step-0 model's verified samples with reasoning."""

    rows: list[dict[str, Any]]
    """One dict per sample: task_id, exploit_type, generated_ids, label, exploit."""
    task_rates: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Per task: (exploit samples, valid samples)."""


def sample_base(base_dir: Path, tasks: Sequence[Task], verifier: Any, config: DemoConfig) -> BaseSamples:
    """Sample and verify the step-0 model on every task (reasoning opened, as every sampler does)."""
    from hackwatch.donor._traces import verify_completions
    from hackwatch.models import SampleRequest, TransformersBackend

    backend = TransformersBackend(str(base_dir), device="cpu")
    by_id = {t.id: t for t in tasks}
    comps = backend.sample([SampleRequest(t.prompt, n=config.donor_samples_per_task, key=t.id) for t in tasks],
                           temperature=config.temperature, max_new_tokens=config.max_completion_length,
                           seed=config.seed + 17, batch_size=config.batch_size)
    labels = verify_completions(verifier, [(by_id[c.key], c) for c in comps])
    rows, counts = [], {t.id: Counter() for t in tasks}
    for c, label in zip(comps, labels, strict=True):
        counts[c.key][label] += 1
        rows.append({"task_id": c.key, "exploit_type": by_id[c.key].exploit_type, "generated_ids": list(c.generated_ids),
                     "prefix_ids": [], "sample_index": c.index, "checkpoint": "step-0", "step": 0,
                     "temperature": config.temperature, "label": label, "exploit": label == "exploit"})
    rates = {tid: (n["exploit"], sum(n.values()) - n["error"]) for tid, n in counts.items()}
    return BaseSamples(rows, rates)


def train_world_probe(base_dir: Path, tasks: Sequence[Task], samples: BaseSamples, out: Path,
                      config: DemoConfig) -> tuple[Path | None, str]:
    """Train the probe on the step-0 samples; returns (probe directory, note) — None with the reason if impossible."""
    import numpy as np

    from hackwatch.models import TransformersBackend
    from hackwatch.probes import CaptureSpec, ProbeError, capture_rows, save_probes, train_probes

    labels = np.array([r["exploit"] for r in samples.rows if r["label"] != "error"], dtype=float)
    rows = [r for r in samples.rows if r["label"] != "error"]
    n_pos = int(labels.sum())
    if n_pos < 2 or n_pos == len(labels):
        return None, f"{n_pos} exploit samples of {len(labels)}: a probe needs both classes"
    backend = TransformersBackend(str(base_dir), device="cpu")
    spec = CaptureSpec(**PROBE_SPEC)
    acts = capture_rows(backend, rows, spec, tasks={t.id: t for t in tasks}, source="step-0 samples",
                        batch_size=64)
    try:
        probes = train_probes(acts, labels, seed=config.seed, n_boot=200)
    except ProbeError as exc:
        return None, str(exc)
    path = save_probes(probes, out)
    cv = probes.cv.sort_values("cv_auc", ascending=False).iloc[0]
    return path, (f"{len(labels)} samples ({n_pos} exploits); best cross-validated AUC {cv['cv_auc']:.2f} "
                  f"({cv['key']})")
