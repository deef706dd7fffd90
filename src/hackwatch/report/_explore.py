"""The exploration-hacking panel: flags of each monitored RL run and the evidence behind them.

A *flag source* is one monitored run: the run's own ``[monitor].rollouts`` (flags from the run
database) and any extra flags tables — ``write_report(extra_flags=...)`` (``hackwatch report
--extra-flags``) takes them, and a run made by ``hackwatch demo`` finds its locked organism's
``locked/flags.parquet`` beside the run folder by itself. Where a source's rollout
table is readable, the evidence is drawn over steps per subset: pass@1 and the share of
zero-variance groups (every rollout of a prompt got the same reward, so GRPO learns nothing there).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

DEMO_FLAG_FILES = {"locked organism": Path("locked") / "flags.parquet"}
"""Flags files ``hackwatch demo`` writes beside its run folder (``OUT/locked`` next to ``OUT/run``)."""

DEMO_CONFIG_ORIGIN = "demo"
"""The ``config_origin`` provenance value of a run ``hackwatch demo`` made (``config_from_dict(origin="demo")``).

Only such a run looks beside its folder for :data:`DEMO_FLAG_FILES`: any other run placed next to a
demo output would otherwise report the demo's locked organism as if it were its own.
"""


FLAG_COLUMNS = ("rule", "severity")
"""Columns every non-empty flags table has (``hackwatch.monitor.flags_frame`` writes them first)."""


class FlagsFileError(ValueError):
    """An extra flags file given to the report cannot be read (the message names the file)."""


@dataclass
class FlagSource:
    """One monitored run: its label, flags, per-step evidence (``step_metrics``) and where they came from."""

    label: str
    flags: pd.DataFrame
    metrics: pd.DataFrame | None = None
    origin: str = ""
    notes: list[str] = field(default_factory=list)


def flag_sources(run_flags: pd.DataFrame, config: Mapping[str, Any], run_dir: Path,
                 extra: Mapping[str, pd.DataFrame | str | os.PathLike[str]] | None = None, *,
                 demo_run: bool = False) -> list[FlagSource]:
    """The run's own flag source (when it monitored rollouts) and the extra ones, in that order.

    ``extra`` maps a label to a flags table or a flags file (``.parquet``/``.jsonl``); a file's sibling
    ``rollouts.parquet`` or ``rollouts.jsonl`` supplies the evidence curves. ``demo_run`` (the run's
    provenance says ``hackwatch demo`` made it, :func:`is_demo_run`) adds the demo's
    :data:`DEMO_FLAG_FILES` found beside ``run_dir`` unless ``extra`` names the same label. Raises
    :class:`FlagsFileError` (a ``ValueError``) naming the file when a given flags file cannot be read.
    """
    sources = []
    rollouts = str((config.get("monitor") or {}).get("rollouts") or "")
    if rollouts or not run_flags.empty:
        src = FlagSource("RL run", run_flags, origin=rollouts or "run database")
        if rollouts:
            _attach_metrics(src, _resolve(rollouts, run_dir))
        sources.append(src)
    for label, rel in DEMO_FLAG_FILES.items() if demo_run else ():
        path = run_dir.parent / rel
        if label not in (extra or {}) and path.is_file():
            try:
                sources.append(_from_file(label, path))
            except FlagsFileError as exc:
                sources.append(FlagSource(label, pd.DataFrame(), origin=str(path), notes=[str(exc)]))
    for label, item in (extra or {}).items():
        if isinstance(item, pd.DataFrame):
            sources.append(FlagSource(label, item, origin="passed to write_report"))
        else:
            sources.append(_from_file(label, Path(item)))
    return sources


def is_demo_run(provenance: Mapping[str, Any]) -> bool:
    """Whether a run's provenance says ``hackwatch demo`` made it (its recorded ``config_origin``)."""
    return provenance.get("config_origin") == DEMO_CONFIG_ORIGIN


def _resolve(path: str, run_dir: Path) -> Path:
    p = Path(path).expanduser()
    if p.is_absolute():
        return p
    for base in (run_dir, run_dir.parent, Path.cwd()):
        if (base / p).is_file():
            return base / p
    return p


def _from_file(label: str, path: Path) -> FlagSource:
    try:
        flags = pd.read_parquet(path) if path.suffix.lower() == ".parquet" else pd.read_json(path, lines=True)
    except Exception as exc:  # pyarrow and pandas raise several types for unreadable files
        raise FlagsFileError(f"{path}: cannot read the {label}'s flags table ({type(exc).__name__}); expected the "
                         f".parquet or .jsonl file HackwatchCallback(flags_path=...) writes") from None
    missing = [c for c in FLAG_COLUMNS if c not in flags.columns]
    if len(flags) and missing:  # e.g. the rollouts file given for the flags file beside it
        raise FlagsFileError(f"{path}: not a flags table (no column {missing[0]!r}; it has {list(flags.columns)[:8]}); "
                             "expected the .parquet or .jsonl file HackwatchCallback(flags_path=...) writes")
    src = FlagSource(label, flags, origin=str(path))
    for name in ("rollouts.parquet", "rollouts.jsonl"):
        if (path.parent / name).is_file():
            _attach_metrics(src, path.parent / name)
            break
    return src


def _attach_metrics(src: FlagSource, rollouts: Path) -> None:
    """Per-step, per-subset metrics of ``rollouts`` onto ``src`` (a note instead when unreadable)."""
    from hackwatch.monitor import RolloutTableError, read_rollouts, step_metrics

    try:
        table = step_metrics(read_rollouts(rollouts))
    except (RolloutTableError, ValueError, KeyError) as exc:
        src.notes.append(f"evidence curves unavailable: {exc}")
        return
    src.metrics = table[table["subset"] != "*"] if (table["subset"] != "*").any() else table
    src.origin = f"{src.origin} (rollouts {rollouts})" if str(rollouts) not in src.origin else src.origin


def flags_table(sources: list[FlagSource]) -> pd.DataFrame:
    """All sources' flags in one table: run, severity, rule, subset, steps, evidence, numbers (k=v text)."""
    rows = []
    for src in sources:
        for r in src.flags.to_dict("records"):
            rows.append({"run": src.label, "severity": r.get("severity", ""), "rule": r.get("rule", ""),
                         "subset": r.get("subset", ""), "steps": _steps(r), "evidence": r.get("evidence", ""),
                         "numbers": _numbers(r.get("numbers"))})
    return pd.DataFrame(rows, columns=["run", "severity", "rule", "subset", "steps", "evidence", "numbers"])


def _steps(r: Mapping[str, Any]) -> str:
    first, last = r.get("first_step"), r.get("last_step")
    try:
        return f"{int(first)}–{int(last)}"  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""


def _numbers(value: object) -> str:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return value
    if not isinstance(value, Mapping):
        return ""
    parts = []
    for k, v in sorted(value.items()):
        if isinstance(v, float) and math.isfinite(v):
            parts.append(f"{k}={v:.3g}")
        elif v is not None:
            parts.append(f"{k}={v}")
    return ", ".join(parts)


def flagged_subsets(src: FlagSource) -> set[str]:
    """Subsets named by at least one of the source's flags."""
    return {str(s) for s in src.flags.get("subset", pd.Series(dtype=object)).dropna()}
