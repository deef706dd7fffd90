"""Subject checkpoints: discovery of ``checkpoint-<step>`` (TRL) or ``step-<step>`` (the demo) folders, and
log-spaced selection.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path

from hackwatch.runs._config import Checkpoint, ConfigError, RunConfig

_CKPT = re.compile(r"^(?:checkpoint|step)-(\d+)$")
"""A checkpoint folder's name: TRL's ``checkpoint-<step>`` or the demo's ``step-<step>``."""


def checkpoint_step(name: str) -> int | None:
    """The training step in a checkpoint folder name (``checkpoint-40``, ``step-8``), else None."""
    m = _CKPT.match(name)
    return int(m.group(1)) if m else None


def log_spaced(steps: Sequence[int], k: int) -> list[int]:
    """Choose ``k`` of ``steps`` spaced evenly in log(step), always keeping the first and the last.

    Early checkpoints matter most for a forecast and training curves move in log(step), so a
    log-spaced subset keeps the resolution where the trend is decided. Step 0 is treated as step 1
    for spacing. Returns the chosen steps in increasing order; all of them when ``k >= len(steps)``.
    """
    uniq = sorted(set(steps))
    if k <= 0 or k >= len(uniq):
        return uniq
    if k == 1:
        return [uniq[-1]]
    logs = [math.log(max(s, 1)) for s in uniq]
    lo, hi = logs[0], logs[-1]
    chosen: list[int] = []
    remaining = list(range(len(uniq)))
    for i in range(k):
        target = lo + (hi - lo) * i / (k - 1)
        best = min(remaining, key=lambda j: (abs(logs[j] - target), j))
        chosen.append(best)
        remaining.remove(best)
    return sorted(uniq[j] for j in chosen)


def discover_checkpoints(folder: Path, *, where: str) -> list[Checkpoint]:
    """All ``checkpoint-<step>`` or ``step-<step>`` folders directly inside ``folder``, by step."""
    if not folder.is_dir():
        raise ConfigError(f"{where}: {folder} is not a folder; expected a folder of checkpoint-<step> "
                          "(or step-<step>) folders")
    found = []
    for child in folder.iterdir():
        step = checkpoint_step(child.name)
        if step is not None and child.is_dir():
            found.append(Checkpoint(name=child.name, path=str(child), step=step))
    if not found:
        raise ConfigError(f"{where}: no checkpoint-<step> folders (nor step-<step>) in {folder}; "
                          "list them explicitly with [[subject.checkpoints]] path/step instead")
    steps = [c.step for c in found]
    if len(set(steps)) != len(steps):
        dup = sorted(c.name for c in found if steps.count(c.step) > 1)
        raise ConfigError(f"{where}: two folders for one step in {folder} ({', '.join(dup)}); keep one per step")
    return sorted(found, key=lambda c: c.step)


def resolve_checkpoints(config: RunConfig) -> list[Checkpoint]:
    """The run's checkpoints with absolute paths, ordered by step (explicit list or folder + selection)."""
    sub = config.subject
    if sub.dir:
        found = discover_checkpoints(config.resolve(sub.dir), where=f"{config.origin}: [subject].dir")
        keep = set(log_spaced([c.step for c in found], sub.select))
        return [c for c in found if c.step in keep]
    out = []
    for i, c in enumerate(sub.checkpoints):
        path = c.path
        if sub.backend != "openai":
            resolved = config.resolve(c.path)
            if not resolved.exists():
                raise ConfigError(f"{config.origin}: [subject].checkpoints[{i}].path: {resolved} does not exist")
            path = str(resolved)
        out.append(Checkpoint(name=c.name, path=path, step=c.step))
    return sorted(out, key=lambda c: c.step)


def backend_spec(kind: str, path: str) -> str:
    """The :func:`hackwatch.models.load_backend` spec for a checkpoint path and backend kind."""
    if kind == "vllm":
        return path if path.startswith("vllm:") else f"vllm:{path}"
    return path
