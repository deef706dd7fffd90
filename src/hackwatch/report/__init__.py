"""The run report: a self-contained HTML file with inlined PNG figures, and the figures themselves."""

from hackwatch.report._html import TOY_BANNER, render_html, table_html
from hackwatch.report._report import write_report

__all__ = ["TOY_BANNER", "render_html", "table_html", "write_report"]
