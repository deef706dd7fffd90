"""The run report: a self-contained HTML file that opens with the verdict, and its figures.

``verdict_frame`` (one row per exploit type, most concerning first) and ``format_verdict`` (its
plain-text form) are what ``hackwatch run`` and ``hackwatch demo`` print at their end.
"""

from hackwatch.report._explore import FlagsFileError
from hackwatch.report._html import TOY_BANNER, render_html, table_html
from hackwatch.report._report import write_report
from hackwatch.report._verdict import format_verdict, verdict_display, verdict_frame, verdict_table

__all__ = ["TOY_BANNER", "FlagsFileError", "format_verdict", "render_html", "table_html", "verdict_display",
           "verdict_frame", "verdict_table", "write_report"]
