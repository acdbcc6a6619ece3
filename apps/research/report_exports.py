"""Downloads of a generated report: Markdown, standalone HTML, PDF."""

from __future__ import annotations

from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils.text import slugify

from apps.research.models import ResearchReport
from apps.research.report_selectors import report_source_chunks


def _filename(report: ResearchReport, extension: str) -> str:
    day = (report.generated_at or report.created_at).date().isoformat()
    return f"{slugify(report.company.ticker)}-report-{day}-{str(report.pk)[:8]}.{extension}"


def report_passages(report: ResearchReport) -> list:
    from pipelines.reports import Passage

    return [
        Passage(
            chunk_id=c.chunk_id,
            document_id=str(c.document_id),
            title=c.document.title,
            company=c.document.company.name if c.document.company else "",
            ticker=c.document.company.ticker if c.document.company else "",
            doc_type=c.document.doc_type,
            published_on=c.document.published_on.isoformat() if c.document.published_on else None,
            page=c.page_start,
            section=c.section,
            text=c.text,
        )
        for c in report_source_chunks(report)
    ]


def report_export(report: ResearchReport, fmt: str) -> HttpResponse:
    if fmt == "md":
        response = HttpResponse(report.rendered_markdown, content_type="text/markdown; charset=utf-8")
        extension = "md"
    elif fmt == "html":
        page = render_to_string("research/report_export.html", {"report": report})
        response = HttpResponse(page, content_type="text/html; charset=utf-8")
        extension = "html"
    else:
        from pipelines.reports import ReportFindings, render_report_pdf

        findings = ReportFindings.from_dict(report.findings or {})
        pdf = render_report_pdf(report.output or {}, findings, report_passages(report))
        response = HttpResponse(pdf, content_type="application/pdf")
        extension = "pdf"
    response["Content-Disposition"] = f'attachment; filename="{_filename(report, extension)}"'
    return response
