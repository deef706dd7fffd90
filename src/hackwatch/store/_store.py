"""The run store: a DuckDB file with transactional, insert-if-absent units of work.

A unit of work (e.g. the samples of checkpoint × task × prefix × attempt batch) is committed with
:meth:`RunStore.commit_unit`: its rows and its ``units`` marker go in one transaction, rows are
inserted only where their primary key is absent. A process killed at any moment leaves either the
whole unit or nothing; the rerun skips units whose marker exists. Only one process writes a run
database at a time (workers compute, the driver writes).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from hackwatch.store._schema import SCHEMA_VERSION, TABLES, add_column_statements, columns, create_statements

DB_NAME = "run.duckdb"
"""File name of the database inside a run directory."""


_EMPTY = "_empty"
"""Sole column of a derived table stored from a frame without columns (DuckDB needs one)."""


class StoreError(RuntimeError):
    """The run database cannot be opened or does not match this version of hackwatch."""


def resolve_db_path(path: str | os.PathLike[str]) -> Path:
    """The database file of a run given either the run directory or the ``.duckdb`` file itself.

    A path ending in ``.duckdb`` (or an existing file) is the database; anything else is a run directory.
    """
    p = Path(path)
    if p.suffix == ".duckdb" or p.is_file():
        return p
    return p / DB_NAME


class RunStore:
    """One run's DuckDB database (create or reopen with :meth:`open`)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path, read_only: bool) -> None:
        self.con = con
        self.path = path
        self.read_only = read_only

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, read_only: bool = False) -> RunStore:
        """Open (creating when writable) the database at ``path`` (a run directory or a ``.duckdb`` file)."""
        db = resolve_db_path(path)
        if read_only and not db.is_file():
            raise StoreError(f"{db}: no run database here; expected a run directory holding {DB_NAME} "
                             "or the .duckdb file itself (run `hackwatch run CONFIG.toml` first)")
        if not read_only:
            db.parent.mkdir(parents=True, exist_ok=True)
        try:
            con = duckdb.connect(str(db), read_only=read_only)
        except duckdb.Error as exc:
            first = str(exc).splitlines()[0]
            raise StoreError(f"{db}: cannot open the run database ({first}); if a run is writing it, "
                             "wait for it to finish or stop it") from None
        store = cls(con, db, read_only)
        if not read_only:
            store._migrate()
        store._check_version()
        return store

    def _migrate(self) -> None:
        self.con.execute("BEGIN TRANSACTION")
        present: dict[str, set[str]] = {}
        for table, column in self.con.execute("SELECT table_name, column_name FROM information_schema.columns "
                                              "WHERE table_schema = 'main'").fetchall():
            present.setdefault(table, set()).add(column)
        for stmt in add_column_statements(present):
            self.con.execute(stmt)
        for stmt in create_statements():
            self.con.execute(stmt)
        self.con.execute("INSERT INTO provenance VALUES ('schema_version', ?) ON CONFLICT DO NOTHING",
                         [str(SCHEMA_VERSION)])
        self.con.execute("COMMIT")

    def _check_version(self) -> None:
        try:
            rows = self.con.execute("SELECT value FROM provenance WHERE key = 'schema_version'").fetchall()
            row = rows[0] if rows else None
        except duckdb.Error:
            row = None
        if row is None:
            raise StoreError(f"{self.path}: not a hackwatch run database (no schema_version in table provenance)")
        if int(row[0]) != SCHEMA_VERSION:
            raise StoreError(f"{self.path}: run database has schema_version {row[0]}, this hackwatch reads "
                             f"{SCHEMA_VERSION}; open it with the hackwatch version that wrote it or start a new run")

    def close(self) -> None:
        """Close the connection (committed work is durable)."""
        self.con.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- units of work -------------------------------------------------------------------------

    def done_units(self, stage: str | None = None) -> set[str]:
        """Keys of committed units (of one stage when given)."""
        if stage is None:
            rows = self.con.execute("SELECT unit_key FROM units").fetchall()
        else:
            rows = self.con.execute("SELECT unit_key FROM units WHERE stage = ?", [stage]).fetchall()
        return {r[0] for r in rows}

    def commit_unit(self, unit_key: str, stage: str, rows: Mapping[str, pd.DataFrame]) -> bool:
        """Insert a unit's rows (if absent) and its marker in one transaction; False if it was already done."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            seen = self.con.execute("SELECT 1 FROM units WHERE unit_key = ?", [unit_key]).fetchall()
            if seen:
                self.con.execute("ROLLBACK")
                return False
            n = 0
            for table, frame in rows.items():
                n += self._insert(table, frame)
            self.con.execute("INSERT INTO units VALUES (?, ?, ?, ?)",
                             [unit_key, stage, n, datetime.now(UTC).replace(tzinfo=None)])
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        return True

    def insert_rows(self, table: str, frame: pd.DataFrame) -> int:
        """Insert rows whose primary key is absent, in one transaction; returns rows offered."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            n = self._insert(table, frame)
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        return n

    def _insert(self, table: str, frame: pd.DataFrame) -> int:
        if frame.empty:
            return 0
        cols = columns(table)
        # a column with a default (added after the first release, e.g. prefixes.proposal) may be left out
        missing = [c for c in cols if c not in frame.columns and " DEFAULT " not in TABLES[table][c].sql_type]
        if missing:
            raise ValueError(f"rows for table {table!r} lack columns {missing}; expected {cols}")
        cols = [c for c in cols if c in frame.columns]
        view = f"_in_{table}"
        self.con.register(view, frame[cols])
        try:
            quoted = ", ".join(f'"{c}"' for c in cols)
            self.con.execute(f"INSERT INTO {table} ({quoted}) SELECT {quoted} FROM {view} ON CONFLICT DO NOTHING")
        finally:
            self.con.unregister(view)
        return len(frame)

    # -- derived tables and provenance ---------------------------------------------------------

    def replace_table(self, name: str, frame: pd.DataFrame) -> None:
        """Replace a derived table (estimates, forecasts, evaluation, flags) with ``frame`` atomically."""
        if name in TABLES:
            raise ValueError(f"{name!r} is a work table; only derived tables can be replaced")
        if len(frame.columns) == 0:
            frame = pd.DataFrame({_EMPTY: pd.Series([], dtype="object")})
        view = f"_replace_{name}"
        self.con.register(view, frame)
        self.con.execute("BEGIN TRANSACTION")
        try:
            self.con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM {view}')
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        finally:
            self.con.unregister(view)

    def set_provenance(self, values: Mapping[str, Any]) -> None:
        """Record provenance values (JSON-encoded unless str), replacing earlier ones of the same key."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            for key, value in values.items():
                text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
                self.con.execute("INSERT OR REPLACE INTO provenance VALUES (?, ?)", [key, text])
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise

    def provenance(self) -> dict[str, str]:
        """All provenance entries as text."""
        return dict(self.con.execute("SELECT key, value FROM provenance ORDER BY key").fetchall())

    def tables(self) -> list[str]:
        """Names of the tables present in the database."""
        return sorted(r[0] for r in self.con.execute("SELECT table_name FROM information_schema.tables "
                                                     "WHERE table_schema = 'main'").fetchall())

    def table(self, name: str) -> pd.DataFrame:
        """A whole table as a DataFrame (an empty frame for a derived table not yet written)."""
        if name not in self.tables():
            return pd.DataFrame()
        frame = self.con.execute(f'SELECT * FROM "{name}"').df()
        if frame.empty and list(frame.columns) == [_EMPTY]:  # placeholder of an empty derived table
            return pd.DataFrame()
        return frame

    def query(self, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
        """Run a read query and return a DataFrame."""
        return self.con.execute(sql, params or []).df()
