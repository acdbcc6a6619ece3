"""Downloads of a generated report: Markdown, standalone HTML, PDF."""

from __future__ import annotations

from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils.text import slugify

from apps.reports.models import ResearchReport
from apps.reports.selectors import chunk_passage, report_source_chunks


def _filename(report: ResearchReport, extension: str) -> str:
    day = (report.generated_at or report.created_at).date().isoformat()
    return f"{slugify(report.company.ticker)}-report-{day}-{str(report.pk)[:8]}.{extension}"


def report_export(report: ResearchReport, fmt: str) -> HttpResponse:
    if fmt == "md":
        response = HttpResponse(report.rendered_markdown, content_type="text/markdown; charset=utf-8")
        extension = "md"
    elif fmt == "html":
        page = render_to_string("reports/report_export.html", {"report": report})
        response = HttpResponse(page, content_type="text/html; charset=utf-8")
        extension = "html"
    else:
        from pipelines.reports import ReportFindings, render_report_pdf

        findings = ReportFindings.from_dict(report.findings or {})
        pdf = render_report_pdf(report.output or {}, findings, [chunk_passage(c) for c in report_source_chunks(report)])
        response = HttpResponse(pdf, content_type="application/pdf")
        extension = "pdf"
    response["Content-Disposition"] = f'attachment; filename="{_filename(report, extension)}"'
    return response
