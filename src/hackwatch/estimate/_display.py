"""Terminal rendering of result tables (rich), shared by estimates and forecasts."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd


def format_cell(value: Any) -> str:
    """Compact text for one table cell: 3 significant digits, '-inf', '—' for null."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isinf(value):
            return "-inf" if value < 0 else "inf"
        if value == 0:
            return "0"
        if abs(value) >= 1e5 or abs(value) < 1e-3:
            return f"{value:.3g}"
        return f"{value:.3g}" if abs(value) < 1 else f"{value:.4g}"
    return str(value)


def print_table(df: pd.DataFrame, *, title: str, console: Any | None = None, max_rows: int = 60,
                notes: list[str] | None = None, columns: list[str] | None = None) -> None:
    """Print ``df`` (optionally a subset of columns) as a rich table followed by notes."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    cols = [c for c in (columns or list(df.columns)) if c in df.columns]
    table = Table(title=title, show_lines=False)
    for col in cols:
        table.add_column(col, overflow="fold")
    for _, row in df.head(max_rows).iterrows():
        table.add_row(*(format_cell(row[c]) for c in cols))
    console.print(table)
    if len(df) > max_rows:
        console.print(f"... {len(df) - max_rows} more rows")
    for note in notes or []:
        console.print(f"[dim]note:[/dim] {note}")
