"""Reports rendered from computed data: the uptime report as XLSX, HTML and PDF.

``render_xlsx``, ``render_html`` and ``render_pdf`` take an :class:`~cmdb.uptime_types.UptimeReport`
and a locale ('ru', the default, or 'en') and return the file's bytes. openpyxl and WeasyPrint
are imported only when their format is asked for.
"""

from __future__ import annotations

from cmdb.reports.pdf import PdfUnavailable
from cmdb.reports.render import render_html, render_pdf, render_xlsx

__all__ = ["PdfUnavailable", "render_html", "render_pdf", "render_xlsx"]
