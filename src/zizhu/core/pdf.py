"""Printable documents (application forms, school notices, decision letters) via WeasyPrint.

Chinese text needs Debian's fonts-noto-cjk; fonts-hanazono covers rare characters in names
(CJK Extension B). The stylesheet names both, so the system never falls back to boxes.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django.http import HttpResponse
from django.template.loader import render_to_string
from weasyprint import HTML


def render_pdf(template: str, context: dict[str, Any]) -> bytes:
    html = render_to_string(template, context)
    pdf: bytes = HTML(string=html).write_pdf()
    return pdf


def pdf_response(filename: str, template: str, context: dict[str, Any]) -> HttpResponse:
    response = HttpResponse(render_pdf(template, context), content_type="application/pdf")
    response["Content-Disposition"] = f"inline; filename*=UTF-8''{quote(filename)}"
    return response
