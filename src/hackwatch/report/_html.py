"""The self-contained HTML report: inline CSS, figures as base64 PNG, tables; nothing fetched to view it."""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

TOY_BANNER = "toy world: tiny model, not a result about real LLMs"

CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px auto;max-width:1150px;color:#222;
     line-height:1.4;padding:0 16px}
h1{font-size:1.6em;margin-bottom:4px} h2{border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:32px}
.banner{background:#fff3cd;border:2px solid #e0a800;color:#5c4400;padding:10px 14px;font-weight:600;
        font-size:1.1em;margin:12px 0}
.meta{color:#555;font-size:.9em} figure{margin:12px 0} figure img{max-width:100%;border:1px solid #eee}
figcaption{font-size:.85em;color:#555} table{border-collapse:collapse;font-size:.8em;margin:8px 0}
th,td{border:1px solid #ddd;padding:3px 6px;text-align:right} th{background:#f4f4f4}
td:first-child,th:first-child{text-align:left} .note{font-size:.9em;color:#444}
.scroll{overflow-x:auto;max-width:100%} td{white-space:nowrap}
table.wrap td,table.wrap th{white-space:normal;overflow-wrap:break-word;text-align:left;vertical-align:top}
table.wrap{width:100%} #provenance{table-layout:fixed} #provenance td{overflow-wrap:anywhere}
#provenance td:first-child,#provenance th:first-child{width:22%}
tr.emerged td{background:#fde2e1} tr.rising td{background:#fff1d6}
details{margin:8px 0} summary{cursor:pointer;color:#1f4e8c;font-size:.9em}
"""

COLLAPSE_ROWS = 12
"""Tables longer than this are folded into a ``<details>`` element (click to open)."""


@dataclass
class Table:
    """A table of a section: wrapped cells for long text, folded when long, optional CSS class per row."""

    caption: str
    frame: pd.DataFrame
    wrap: bool = False
    """Let cells wrap (long text such as evidence or provenance) instead of scrolling sideways."""
    collapse: bool | None = None
    """Fold into ``<details>``; None: when longer than ``COLLAPSE_ROWS``."""
    row_classes: list[str] | None = None
    table_id: str = ""


@dataclass
class Section:
    """A report section: heading, prose, figures (PNG paths with captions) and tables."""

    title: str
    text: str = ""
    figures: list[tuple[Path, str]] = field(default_factory=list)
    tables: list[tuple[str, pd.DataFrame] | Table] = field(default_factory=list)
    section_id: str = ""


def _img(path: Path, caption: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (f'<figure><img alt="{html.escape(path.name)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def _fmt(value: object) -> str:
    if isinstance(value, float):
        if value != value:  # NaN
            return ""
        if value in (float("inf"), float("-inf")):
            return "−∞" if value < 0 else "∞"
        return f"{value:.4g}"
    if isinstance(value, list | tuple | dict):
        return json.dumps(value, default=str)[:80]
    return str(value)


def table_html(frame: pd.DataFrame, max_rows: int = 200, *, wrap: bool = False,
               row_classes: list[str] | None = None, table_id: str = "") -> str:
    """An escaped HTML table of ``frame`` (first ``max_rows`` rows)."""
    if frame.empty:
        return '<p class="note">(none)</p>'
    shown = frame.head(max_rows)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in shown.columns)
    classes = row_classes or [""] * len(shown)
    rows = "".join((f'<tr class="{html.escape(cls)}">' if cls else "<tr>")
                   + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row) + "</tr>"
                   for row, cls in zip(shown.itertuples(index=False), classes, strict=False))
    more = f'<p class="note">… {len(frame) - max_rows} more rows in the run database</p>' if len(frame) > max_rows else ""
    attrs = (f' id="{html.escape(table_id)}"' if table_id else "") + (' class="wrap"' if wrap else "")
    return (f'<div class="scroll"><table{attrs}><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>'
            f"{more}")


def _table_block(table: Table) -> str:
    body = table_html(table.frame, wrap=table.wrap, row_classes=table.row_classes, table_id=table.table_id)
    fold = table.collapse if table.collapse is not None else len(table.frame) > COLLAPSE_ROWS
    if fold:
        name = html.escape(table.caption or "table")
        return f"<details><summary>{name} ({len(table.frame)} rows; click to open)</summary>{body}</details>"
    return (f"<h3>{html.escape(table.caption)}</h3>" if table.caption else "") + body


def render_html(title: str, subtitle: str, sections: Sequence[Section], *, toy_banner: bool) -> str:
    """The whole report as one HTML string."""
    parts = [f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>{html.escape(title)}</title>"
             f"<style>{CSS}</style></head><body>", f"<h1>{html.escape(title)}</h1>",
             f'<p class="meta">{html.escape(subtitle)}</p>']
    if toy_banner:
        parts.append(f'<div class="banner" id="toy-banner">⚠ {html.escape(TOY_BANNER)}</div>')
    for sec in sections:
        sid = f' id="{html.escape(sec.section_id)}"' if sec.section_id else ""
        parts.append(f"<h2{sid}>{html.escape(sec.title)}</h2>")
        if sec.text:
            parts.append(f'<p class="note">{html.escape(sec.text)}</p>')
        parts += [_img(p, c) for p, c in sec.figures]
        for item in sec.tables:
            parts.append(_table_block(item if isinstance(item, Table) else Table(*item)))
    parts.append("</body></html>")
    return "\n".join(parts)


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename (no partial report)."""
    from hackwatch._files import atomic_write

    atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
