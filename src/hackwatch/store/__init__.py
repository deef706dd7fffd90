"""The run database: one DuckDB file per run, documented columns, transactional units of work."""

from hackwatch.store._schema import DERIVED_TABLES, SCHEMA_VERSION, TABLES, Column, columns, schema_markdown
from hackwatch.store._store import DB_NAME, RunStore, StoreError, resolve_db_path

__all__ = [
    "DB_NAME",
    "DERIVED_TABLES",
    "SCHEMA_VERSION",
    "TABLES",
    "Column",
    "RunStore",
    "StoreError",
    "columns",
    "resolve_db_path",
    "schema_markdown",
]
