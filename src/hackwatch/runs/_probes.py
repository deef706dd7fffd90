"""The probe stage of a run: each subject checkpoint's direct samples scored by an activation probe.

One unit per checkpoint: the checkpoint's own model reads its direct samples' stored token ids in one
extra forward pass (:func:`hackwatch.probes.capture_rows`, nothing re-tokenised), the probe of
``[probes].dir`` scores them (:func:`hackwatch.probes.score_activations`), and the rows go to the
``probe_scores`` table. The unit key and every row carry a fingerprint of the probe files and the probe
used, so a probe retrained or changed between reruns is scored again while finished units are skipped.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hackwatch.runs._config import ConfigError, RunConfig
from hackwatch.runs._jobs import ModelJob, get_backend

PROBE_FILES = ("probes.json", "probes.npz")
"""The files of a probe directory that define its probes (hashed into the fingerprint)."""


@dataclass(frozen=True)
class RunProbe:
    """The probe a run uses: its directory, key and fingerprint."""

    dir: Path
    key: str
    """Probe key, ``layer<L>_window<W>_<pooling>``."""
    fingerprint: str
    """First 16 hex digits of SHA-256 over the probe files and the key."""


@dataclass(frozen=True)
class ProbeUnit:
    """One probe unit: the direct samples of one checkpoint, scored by one probe."""

    unit_key: str
    checkpoint: str
    probe_dir: str
    probe_key: str
    probe_hash: str


def load_run_probe(config: RunConfig) -> RunProbe | None:
    """The probe of ``[probes]`` (None without one); errors name ``[probes].dir`` or ``[probes].use``."""
    from hackwatch.probes import ProbeError, load_probes

    if not config.probes.dir:
        return None
    path = config.resolve(config.probes.dir)
    try:
        ps = load_probes(path)
    except ProbeError as exc:
        raise ConfigError(f"{config.origin}: [probes].dir: {exc}") from None
    key = config.probes.use
    if not key:
        try:
            key = ps.best_key()
        except ProbeError as exc:
            raise ConfigError(f"{config.origin}: [probes].use: {exc} (one of {', '.join(sorted(ps.probes))})") \
                from None
    elif key not in ps.probes:
        raise ConfigError(f"{config.origin}: [probes].use: no probe {key!r} in {path}; trained: "
                          f"{', '.join(sorted(ps.probes))}")
    digest = hashlib.sha256(key.encode())
    for name in PROBE_FILES:
        digest.update((path / name).read_bytes())
    return RunProbe(path, key, digest.hexdigest()[:16])


def plan_probe_units(probe: RunProbe, checkpoints: list[str]) -> list[ProbeUnit]:
    """One unit per subject checkpoint: ``probe/<checkpoint>/<fingerprint>``."""
    return [ProbeUnit(f"probe/{c}/{probe.fingerprint}", c, str(probe.dir), probe.key, probe.fingerprint)
            for c in checkpoints]


def probe_job(job: ModelJob, unit: ProbeUnit, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Capture and score ``rows`` (direct samples of ``unit.checkpoint``, with ``prompt``) under the job's model.

    Returns rows of the ``probe_scores`` table, one per sample.
    """
    from hackwatch.probes import CaptureSpec, capture_rows, load_probes, score_activations

    if not rows:
        return []
    backend = get_backend(job.spec, job.device)
    ps = load_probes(unit.probe_dir)
    p = ps.probes[unit.probe_key]
    acts = capture_rows(backend, rows, CaptureSpec((p.layer,), (p.window,), (p.pooling,)),
                        source=f"direct samples of {unit.checkpoint}", batch_size=job.batch_size)
    scored = score_activations(ps, acts, [unit.probe_key])
    return [{"sample_id": r.sample_id, "probe_hash": unit.probe_hash, "probe": r.probe, "checkpoint": r.checkpoint,
             "step": int(r.step), "task_id": r.task_id, "exploit_type": r.exploit_type,
             "n_reasoning_tokens": int(r.n_reasoning_tokens), "logit": float(r.logit), "score": float(r.score)}
            for r in scored.itertuples(index=False)]
