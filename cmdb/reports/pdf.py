"""The one typed door to WeasyPrint (untyped): HTML bytes in, PDF bytes out.

WeasyPrint is imported when a PDF is asked for, so importing the report package stays cheap and
works where WeasyPrint (or Pango underneath it) is not installed; then ``PdfUnavailable`` says so.
The document may fetch nothing: it is standalone (inline CSS, inline SVG), and a name that
slipped through escaping must not make the renderer read a local file or call a URL.
"""

from __future__ import annotations

import importlib
import logging

from cmdb.errors import KonturError

logger = logging.getLogger(__name__)


class PdfUnavailable(KonturError):
    """WeasyPrint (or the Pango library it loads) is not installed."""


def html_to_pdf(document: bytes) -> bytes:
    """Render a standalone UTF-8 HTML document to PDF."""
    try:
        weasyprint = importlib.import_module("weasyprint")
    except (ImportError, OSError) as exc:  # OSError: libpango missing
        raise PdfUnavailable(
            f"PDF needs WeasyPrint and Pango (pip install weasyprint; apt install libpango-1.0-0):"
            f" {exc}"
        ) from exc
    fetcher = weasyprint.URLFetcher(allowed_protocols=frozenset())
    pdf = weasyprint.HTML(
        string=document.decode("utf-8"), base_url=None, url_fetcher=fetcher
    ).write_pdf()
    if not isinstance(pdf, bytes):
        raise TypeError(f"weasyprint returned {type(pdf).__name__}, not bytes")
    logger.debug("rendered a PDF of %d bytes", len(pdf))
    return pdf
