"""Downloads of a score's attribution: JSON (the API's data), standalone printable HTML, PDF.

The PDF follows the research reports' export (``pipelines.reports.render``): fpdf2 with its core
fonts, text mapped by ``pdf_text`` to what those fonts can print.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils.text import slugify

from apps.risk.selectors import AttributionReport

EXPORT_FORMATS = ("json", "html", "pdf")


def _filename(report: AttributionReport, extension: str) -> str:
    score = report.risk_score
    return f"{slugify(score.company.ticker)}-risk-attribution-{score.as_of.isoformat()}-{score.pk}.{extension}"


def attribution_json(report: AttributionReport) -> bytes:
    return json.dumps(report.as_dict(), cls=DjangoJSONEncoder, indent=2, ensure_ascii=False).encode()


def attribution_pdf(report: AttributionReport) -> bytes:
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    from pipelines.reports.render import pdf_text

    score = report.risk_score
    pdf = FPDF(format="A4")
    title = f"Risk attribution: {score.company.name} ({score.company.ticker}), {score.as_of.isoformat()}"
    pdf.set_title(pdf_text(title))
    pdf.set_creator("Argus")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    width = pdf.epw

    def heading(text: str, size: int = 13) -> None:
        pdf.set_font("Helvetica", "B", size)
        pdf.multi_cell(width, 7, pdf_text(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(1)

    def paragraph(text: str, style: str = "", size: int = 10) -> None:
        pdf.set_font("Helvetica", style, size)
        pdf.multi_cell(width, 5, pdf_text(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    heading(title, 15)
    paragraph(f"Score {score.score:.2f} of 100, level {score.get_level_display()}; {score.article_count} articles.")
    paragraph(f"Model version: {score.model_version or '-'}; audit record: {score.inference_record_seq or '-'}.")
    pdf.ln(2)
    check = "matches" if report.sums_to_score else "DOES NOT match"
    paragraph(f"Check: contributions sum to {report.contributions_total:.6f} = score {score.score:.6f} ({check}).", "B")
    pdf.ln(2)
    heading("Subtotals")
    for name, value in report.subtotals.items():
        paragraph(f"{name.replace('_', ' ')}: {value:.3f}")
    pdf.ln(2)
    heading("Contributions")
    if report.lines:
        pdf.set_font("Helvetica", "", 8)
        with pdf.table(col_widths=(22, 14, 12, 24, 16, 72), text_align="LEFT", line_height=4) as table:
            header = table.row()
            for cell in ("Kind", "Amount", "Share", "Event type", "Neighbour", "Evidence"):
                header.cell(cell)
            for line in report.lines:
                row = table.row()
                row.cell(pdf_text(line.kind.replace("_", " ")))
                row.cell(f"{line.amount:.3f}")
                row.cell(f"{100 * line.share:.1f}%")
                row.cell(pdf_text(line.event_type or "-"))
                row.cell(pdf_text(line.neighbour or "-"))
                where = f" [{line.article_title}, sentence {line.sentence_index}]" if line.article_title else ""
                row.cell(pdf_text(f"{line.evidence_text[:400]}{where}") or "-")
    else:
        paragraph("No contributions: the score is zero.")
    pdf.ln(3)
    heading("Without this article")
    for line in report.counterfactuals:
        paragraph(
            f"- {line.article_title or line.article_id}: the score would be {line.score_without:.2f} "
            f"({line.difference:+.2f} from this article)"
        )
    if not report.counterfactuals:
        paragraph("No per-article counterfactuals were recorded.")
    return bytes(pdf.output())


def attribution_export(report: AttributionReport, fmt: str, *, request: HttpRequest | None = None) -> HttpResponse:
    """The attribution as a download; ``fmt`` is one of ``EXPORT_FORMATS``."""
    if fmt == "json":
        response = HttpResponse(attribution_json(report), content_type="application/json")
    elif fmt == "html":
        context: dict[str, Any] = {"report": report, "score": report.risk_score}
        page = render_to_string("risk/attribution_export.html", context, request=request)
        response = HttpResponse(page, content_type="text/html; charset=utf-8")
    elif fmt == "pdf":
        response = HttpResponse(attribution_pdf(report), content_type="application/pdf")
    else:
        raise ValueError(f"format must be one of {', '.join(EXPORT_FORMATS)}")
    response["Content-Disposition"] = f'attachment; filename="{_filename(report, fmt)}"'
    return response
