"""``hackwatch.open_run(path)``: a finished (or running-elsewhere-and-paused) run's tables as DataFrames."""

from __future__ import annotations

import json
import os
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from hackwatch.store import RunStore, resolve_db_path


class Run:
    """Read-only view of a run database; each table is read once, on first access.

    The database is opened read-only for each read and closed again, so holding a ``Run`` never
    blocks a ``hackwatch run`` resuming the same directory.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.db_path = resolve_db_path(path)
        with self._store() as store:  # fail early on a missing or foreign database
            self.table_names = store.tables()

    def _store(self) -> RunStore:
        return RunStore.open(self.db_path, read_only=True)

    def table(self, name: str) -> pd.DataFrame:
        """Any table by name (an empty frame for a derived table not yet written)."""
        if name not in self.table_names:
            raise KeyError(f"{self.db_path}: no table {name!r}; tables: {', '.join(self.table_names)}")
        with self._store() as store:
            return store.table(name)

    def sql(self, query: str, params: list[Any] | None = None) -> pd.DataFrame:
        """Run a read-only SQL query against the run database."""
        with self._store() as store:
            return store.query(query, params)

    @cached_property
    def tasks(self) -> pd.DataFrame:
        return self.table("tasks")

    @cached_property
    def checkpoints(self) -> pd.DataFrame:
        return self.table("checkpoints")

    @cached_property
    def prefixes(self) -> pd.DataFrame:
        return self.table("prefixes")

    @cached_property
    def samples(self) -> pd.DataFrame:
        return self.table("samples")

    @cached_property
    def verdicts(self) -> pd.DataFrame:
        return self.table("verdicts")

    @cached_property
    def scores(self) -> pd.DataFrame:
        return self.table("scores")

    @cached_property
    def units(self) -> pd.DataFrame:
        return self.table("units")

    @cached_property
    def probe_scores(self) -> pd.DataFrame:
        """Per-sample probe scores of the run's ``[probes]`` stage (empty without one)."""
        return self.table("probe_scores") if "probe_scores" in self.table_names else pd.DataFrame()

    @cached_property
    def estimates(self) -> pd.DataFrame:
        return self.table("estimates") if "estimates" in self.table_names else pd.DataFrame()

    @cached_property
    def forecasts(self) -> pd.DataFrame:
        return self.table("forecasts") if "forecasts" in self.table_names else pd.DataFrame()

    @cached_property
    def evaluation(self) -> pd.DataFrame:
        return self.table("evaluation") if "evaluation" in self.table_names else pd.DataFrame()

    @cached_property
    def flags(self) -> pd.DataFrame:
        return self.table("flags") if "flags" in self.table_names else pd.DataFrame()

    @cached_property
    def provenance(self) -> dict[str, Any]:
        """Provenance values, JSON-decoded where they are JSON."""
        with self._store() as store:
            raw = store.provenance()
        out: dict[str, Any] = {}
        for key, text in raw.items():
            try:
                out[key] = json.loads(text)
            except json.JSONDecodeError:
                out[key] = text
        return out

    @property
    def config(self) -> dict[str, Any]:
        """The run's configuration sections as plain data."""
        return dict(self.provenance.get("config", {}))

    @property
    def run_dir(self) -> Path:
        return self.db_path.parent

    def verdict_table(self) -> pd.DataFrame:
        """Samples joined with verdicts in the :mod:`hackwatch.estimate` column contract."""
        from hackwatch.runs._analysis import verdict_frame

        with self._store() as store:
            return verdict_frame(store)

    def score_table(self) -> pd.DataFrame:
        """Subject and donor prefix log-probs in the :mod:`hackwatch.estimate` column contract."""
        from hackwatch.runs._analysis import score_frame

        with self._store() as store:
            return score_frame(store)

    def __repr__(self) -> str:
        return f"Run({str(self.db_path)!r}, tables={self.table_names})"


def open_run(path: str | os.PathLike[str]) -> Run:
    """Open a run directory (or its ``run.duckdb``) and expose its tables as DataFrames.

    ``run.samples``, ``run.verdicts``, ``run.scores``, ``run.estimates``, ``run.forecasts``,
    ``run.flags``, ... ; ``run.provenance`` holds versions, seeds, model ids and the config.
    """
    return Run(path)
