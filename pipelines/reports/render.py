"""A generated report as Markdown, HTML and PDF, with numbered citation markers and the check results.

Citation markers ``[n]`` number the sources in order of first citation; the sources list maps
them back to chunk ids. Everything from the model or the passages is escaped: HTML is built with
``html.escape`` (never from rendered Markdown), Markdown escapes its own syntax, and the PDF
replaces what its core fonts cannot print.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pipelines.reports.figures import parse_unit
from pipelines.reports.schema import INSUFFICIENT
from pipelines.reports.spec import TEMPLATES, Passage, ReportRequestSpec, passage_index
from pipelines.reports.validation import MetricCheck, ReportFindings, report_citations

ChunkUrl = Callable[[str], str]
NOT_MATCHED = "not found in the cited source"
NO_CITATION = "no source cited"
_MD_SPECIAL = re.compile(r"([\\`*_\[\]{}|#!~])")
_SAFE_URL = re.compile(r"^(?:https?://|/|\.{0,2}/|#|\?)[^\s\"'<>]*$|^[A-Za-z0-9_./?=&%#-]+$")


def _text(value: Any) -> str:
    return "" if value is None else " ".join(str(value).split())


def _is_insufficient(value: Any) -> bool:
    return _text(value).lower() in ("", INSUFFICIENT)


def format_value(value: Any, unit: str) -> str:
    """ "12.5" + "%" -> "12.5%", "3.2" + "USD billion" -> "USD 3.2 billion", "1.8" + "x" -> "1.8x"."""
    if _is_insufficient(value):
        return INSUFFICIENT
    value = _text(value)
    spec = parse_unit(unit)
    if spec.kind == "percent":
        return f"{value}%"
    if spec.kind == "multiple":
        return f"{value}x"
    if spec.kind == "bp":
        return f"{value} bp"
    if spec.kind == "money" or spec.scale:
        return " ".join(part for part in (spec.currency, value, spec.scale) if part)
    return f"{value} {_text(unit)}".strip()


def _target_text(target: Any) -> str:
    if isinstance(target, Mapping):
        return format_value(target.get("value"), _text(target.get("currency")))
    return INSUFFICIENT if _is_insufficient(target) else _text(target)


def _source_numbers(report: Mapping[str, Any], findings: ReportFindings | None = None) -> dict[str, int]:
    """Citation numbers: the report's sources in first-citation order, then sources a conflict names."""
    ordered = list(report_citations(report))
    for conflict in findings.conflicts if findings else []:
        for chunk_id in [conflict.get("citation"), *(o.get("citation") for o in conflict.get("others") or [])]:
            if isinstance(chunk_id, str) and chunk_id not in ordered:
                ordered.append(chunk_id)
    return {chunk_id: i for i, chunk_id in enumerate(ordered, 1)}


def _conflict_parts(conflict: Mapping[str, Any]) -> tuple[str, list[tuple[str, Any]]]:
    """("revenue growth, Q2 2024", [("1.4% (filing)", chunk id), ("95% (note)", chunk id)]), report first."""
    period = _text(conflict.get("period"))
    title = f"{_text(conflict.get('name'))}, {period}" if period else _text(conflict.get("name"))
    values = [conflict, *(conflict.get("others") or [])]
    return title, [
        (
            f"{format_value(v.get('value'), _text(v.get('unit')))}"
            + (
                f" for {_text(v.get('period'))}"
                if v.get("period") and v.get("period") != conflict.get("period")
                else ""
            )
            + f" ({_text(v.get('doc_type')) or 'source'})",
            v.get("citation"),
        )
        for v in values
    ]


CONFLICT_HEADING = "Sources disagree"
CONFLICT_NOTE = "The report shows the most trusted source's figure; the others are listed with their citations."


def _checks_by_metric(report: Mapping[str, Any], findings: ReportFindings | None) -> list[MetricCheck | None]:
    metrics = report.get("key_metrics") or []
    checks = list(findings.metric_checks) if findings else []
    # check_metric_numbers emits one check per metric in order, then the target price.
    return [
        checks[i] if i < len(checks) and checks[i].name == _text(m.get("name")) else None for i, m in enumerate(metrics)
    ]


def _flag_text(check: MetricCheck | None) -> str:
    if check is None or not check.flagged:
        return ""
    return check.why


def _mismatch_line(check: MetricCheck) -> str:
    """Which field, which number in which unit, which chunk it cites, and why the chunk does not support it."""
    if check.citation:
        cited = f"cited {check.citation}"
    else:
        cited = "no citation" if check.status == "no_citation" else "cited: the report's sources"
    period = f", {check.period}" if check.period else ""
    unit = f" [unit: {check.unit}]" if check.unit else ""
    return f"{check.name}: {format_value(check.value, check.unit)}{unit}{period} ({cited}): {check.why}"


def _source_line(passage: Passage | None, chunk_id: str) -> str:
    if passage is None:
        return f"unknown source (chunk {chunk_id})"
    parts = [passage.title or "untitled"]
    who = (
        f"{passage.company} ({passage.ticker})"
        if passage.company and passage.ticker
        else passage.company or passage.ticker
    )
    parts += [p for p in (who, passage.doc_type, passage.published_on) if p]
    if passage.page is not None:
        parts.append(f"p. {passage.page}")
    if passage.section:
        parts.append(passage.section)
    return ", ".join(parts) + f" (chunk {chunk_id})"


def _header_fields(report: Mapping[str, Any], spec: ReportRequestSpec | None) -> list[tuple[str, str]]:
    as_of = report.get("as_of") or (spec.as_of if spec else None)
    return [
        ("Rating", _text(report.get("rating")) or INSUFFICIENT),
        ("Target price", _target_text(report.get("target_price"))),
        ("Horizon", _text(report.get("horizon")) or INSUFFICIENT),
        ("As of", _text(as_of) or "not given"),
    ]


def _title(report: Mapping[str, Any], spec: ReportRequestSpec | None) -> str:
    template = TEMPLATES[spec.template].title if spec else "Research report"
    return f"{template}: {_text(report.get('company'))} ({_text(report.get('ticker'))})"


def _problems(findings: ReportFindings | None) -> list[str]:
    if findings is None:
        return []
    problems = [*findings.schema_errors, *findings.citation_errors]
    problems += [_mismatch_line(c) for c in findings.unsupported]
    return problems


def _attention(findings: ReportFindings | None) -> str:
    """The headline over the problems: a report with an unsupported number needs attention before review."""
    if findings is None or not findings.needs_attention:
        return ""
    share = findings.supported_share
    supported = f"{share:.0%} of {findings.numbers_checked} numbers supported" if share is not None else ""
    return f"Needs attention: {len(findings.unsupported)} number(s) not supported by their sources ({supported})."


# --- Markdown -----------------------------------------------------------------------------------


def md_escape(value: Any) -> str:
    """Markdown syntax backslash-escaped; ``<``, ``>`` and ``&`` as entities, since not every Markdown
    dialect honours ``\\<`` (Python-Markdown passes ``\\<script>`` through as raw HTML)."""
    text = _text(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text)


def render_report_markdown(
    report: Mapping[str, Any],
    findings: ReportFindings | None,
    passages_meta: Mapping[str, Any] | Sequence[Any],
    *,
    spec: ReportRequestSpec | None = None,
) -> str:
    meta = passage_index(passages_meta)
    numbers = _source_numbers(report, findings)

    def cite(chunk_id: Any) -> str:
        return f" [{numbers[chunk_id]}]" if isinstance(chunk_id, str) and chunk_id in numbers else ""

    lines = [f"# {md_escape(_title(report, spec))}", ""]
    for note in findings.notes if findings else []:
        lines += [f"> **Note:** {md_escape(note)}", ""]
    target = report.get("target_price")
    for label, value in _header_fields(report, spec):
        extra = cite(target.get("citation")) if label == "Target price" and isinstance(target, Mapping) else ""
        lines.append(f"- **{label}:** {md_escape(value)}{extra}")
    if spec:
        lines += [f"- **Question:** {md_escape(spec.resolved_question())}"]
    problems = _problems(findings)
    if problems:
        lines += ["", f"> **Check:** {len(problems)} problem(s) found; flagged items did not match their sources.", ">"]
        if _attention(findings):
            lines += [f"> **{md_escape(_attention(findings))}**", ">"]
        lines += [f"> - {md_escape(p)}" for p in problems]
    lines += ["", "## Thesis", "", md_escape(report.get("thesis")) or INSUFFICIENT, "", "## Key metrics", ""]
    metrics = [m for m in report.get("key_metrics") or [] if isinstance(m, Mapping)]
    if metrics:
        lines += ["| Metric | Value | Unit | Period | Source | Check |", "|---|---|---|---|---|---|"]
        for metric, check in zip(metrics, _checks_by_metric(report, findings), strict=False):
            flag = _flag_text(check)
            lines.append(
                "| "
                + " | ".join(
                    [
                        md_escape(metric.get("name")),
                        md_escape(format_value(metric.get("value"), _text(metric.get("unit")))),
                        md_escape(metric.get("unit")) or "-",
                        md_escape(metric.get("period")) or "-",
                        cite(metric.get("citation")).strip() or "-",
                        f"**FLAG: {flag}**"
                        if flag
                        else (check.status if check and check.status in ("matched", "conflict") else "-"),
                    ]
                )
                + " |"
            )
    else:
        lines.append("No metrics reported.")
    if findings and findings.conflicts:
        lines += ["", f"### {CONFLICT_HEADING}", "", CONFLICT_NOTE, ""]
        for conflict in findings.conflicts:
            title, values = _conflict_parts(conflict)
            lines.append(f"- {md_escape(title)}: " + " vs ".join(f"{md_escape(t)}{cite(c)}" for t, c in values))
    lines += ["", "## Risks", ""]
    risks = [r for r in report.get("risks") or [] if isinstance(r, Mapping)]
    lines += [f"- {md_escape(r.get('risk'))}{cite(r.get('citation'))}" for r in risks] or ["No risks reported."]
    lines += ["", "## Sources", ""]
    lines += [f"{n}. {md_escape(_source_line(meta.get(c), c))}" for c, n in numbers.items()] or ["No sources cited."]
    return "\n".join(lines) + "\n"


# --- HTML ---------------------------------------------------------------------------------------


def _safe_href(url: str) -> str:
    return url if _SAFE_URL.match(url or "") else "#"


def render_report_html(
    report: Mapping[str, Any],
    findings: ReportFindings | None,
    passages_meta: Mapping[str, Any] | Sequence[Any],
    *,
    chunk_url: ChunkUrl | None = None,
    spec: ReportRequestSpec | None = None,
) -> str:
    """An HTML fragment (``<article>``); citation markers link to ``chunk_url(chunk_id)``, or to the sources list."""
    esc = html.escape
    meta = passage_index(passages_meta)
    numbers = _source_numbers(report, findings)

    def href(chunk_id: str) -> str:
        return esc(_safe_href(chunk_url(chunk_id)) if chunk_url else f"#source-{numbers[chunk_id]}")

    def cite(chunk_id: Any) -> str:
        if not isinstance(chunk_id, str) or chunk_id not in numbers:
            return ""
        return f' <a class="citation" href="{href(chunk_id)}" data-chunk-id="{esc(chunk_id)}">[{numbers[chunk_id]}]</a>'

    out = ['<article class="research-report">', "<header>", f"<h1>{esc(_title(report, spec))}</h1>", "<dl>"]
    target = report.get("target_price")
    for label, value in _header_fields(report, spec):
        extra = cite(target.get("citation")) if label == "Target price" and isinstance(target, Mapping) else ""
        out.append(f"<dt>{esc(label)}</dt><dd>{esc(value)}{extra}</dd>")
    if spec:
        out.append(f"<dt>Question</dt><dd>{esc(spec.resolved_question())}</dd>")
    out += ["</dl>", "</header>"]
    for note in findings.notes if findings else []:
        out.append(f'<p class="report-note" data-testid="report-note"><strong>Note:</strong> {esc(note)}</p>')
    problems = _problems(findings)
    if problems:
        out.append('<section class="report-check flagged" data-testid="report-check"><h2>Check</h2>')
        if _attention(findings):
            out.append(f'<p class="needs-attention"><strong>{esc(_attention(findings))}</strong></p>')
        out.append("<ul>")
        out += [f"<li>{esc(p)}</li>" for p in problems]
        out.append("</ul></section>")
    out += ["<section><h2>Thesis</h2>", f"<p>{esc(_text(report.get('thesis')) or INSUFFICIENT)}</p></section>"]
    out.append("<section><h2>Key metrics</h2>")
    metrics = [m for m in report.get("key_metrics") or [] if isinstance(m, Mapping)]
    if metrics:
        out.append(
            '<table class="key-metrics"><thead><tr><th>Metric</th><th>Value</th><th>Unit</th><th>Period</th>'
            "<th>Source</th><th>Check</th></tr></thead><tbody>"
        )
        for metric, check in zip(metrics, _checks_by_metric(report, findings), strict=False):
            flag = _flag_text(check)
            status = check.status if check else "unchecked"
            row_class = f"metric-{esc(status)}" + (" flagged" if flag else "")
            verdict = f'<strong class="flag">&#9888; {esc(flag)}</strong>' if flag else esc(status.replace("_", " "))
            out.append(
                f'<tr class="{row_class}"><td>{esc(_text(metric.get("name")))}</td>'
                f"<td>{esc(format_value(metric.get('value'), _text(metric.get('unit'))))}</td>"
                f"<td>{esc(_text(metric.get('unit')) or '-')}</td><td>{esc(_text(metric.get('period')) or '-')}</td>"
                f"<td>{cite(metric.get('citation')).strip() or '-'}</td><td>{verdict}</td></tr>"
            )
        out.append("</tbody></table>")
    else:
        out.append("<p>No metrics reported.</p>")
    if findings and findings.conflicts:
        out.append(f'<div class="metric-conflicts" data-testid="metric-conflicts"><h3>{CONFLICT_HEADING}</h3>')
        out.append(f"<p>{esc(CONFLICT_NOTE)}</p><ul>")
        for conflict in findings.conflicts:
            title, values = _conflict_parts(conflict)
            out.append(f"<li>{esc(title)}: " + " vs ".join(f"{esc(t)}{cite(c)}" for t, c in values) + "</li>")
        out.append("</ul></div>")
    out.append("</section><section><h2>Risks</h2>")
    risks = [r for r in report.get("risks") or [] if isinstance(r, Mapping)]
    if risks:
        out.append(
            "<ul>" + "".join(f"<li>{esc(_text(r.get('risk')))}{cite(r.get('citation'))}</li>" for r in risks) + "</ul>"
        )
    else:
        out.append("<p>No risks reported.</p>")
    out.append('</section><section class="sources"><h2>Sources</h2>')
    if numbers:
        out.append("<ol>")
        for chunk_id, n in numbers.items():
            link = f'<a href="{href(chunk_id)}">{esc(_source_line(meta.get(chunk_id), chunk_id))}</a>'
            out.append(f'<li id="source-{n}" value="{n}">{link}</li>')
        out.append("</ol>")
    else:
        out.append("<p>No sources cited.</p>")
    out += ["</section>", "</article>"]
    return "\n".join(out) + "\n"


# --- PDF ----------------------------------------------------------------------------------------

_LATIN1_REPLACEMENTS = str.maketrans(
    {
        "\u2014": "-", "\u2013": "-", "\u2212": "-", "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
        "\u2022": "*", "\u2026": "...", "\u26a0": "!", "\u00a0": " ", "\u20ac": "EUR ", "\u2009": " ",
    }
)  # fmt: skip


def pdf_text(value: Any) -> str:
    """Text the PDF core fonts can print: common typography mapped to ASCII, the rest of non-latin-1 as '?'."""
    return _text(value).translate(_LATIN1_REPLACEMENTS).encode("latin-1", "replace").decode("latin-1")


def render_report_pdf(
    report: Mapping[str, Any],
    findings: ReportFindings | None,
    passages_meta: Mapping[str, Any] | Sequence[Any],
    *,
    spec: ReportRequestSpec | None = None,
) -> bytes:
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    meta = passage_index(passages_meta)
    numbers = _source_numbers(report, findings)

    def cite(chunk_id: Any) -> str:
        return f" [{numbers[chunk_id]}]" if isinstance(chunk_id, str) and chunk_id in numbers else ""

    pdf = FPDF(format="A4")
    pdf.set_title(pdf_text(_title(report, spec)))
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

    heading(_title(report, spec), 16)
    target = report.get("target_price")
    for label, value in _header_fields(report, spec):
        extra = cite(target.get("citation")) if label == "Target price" and isinstance(target, Mapping) else ""
        paragraph(f"{label}: {value}{extra}")
    if spec:
        paragraph(f"Question: {spec.resolved_question()}")
    for note in findings.notes if findings else []:
        paragraph(f"Note: {note}", "I")
    problems = _problems(findings)
    if problems:
        pdf.ln(2)
        pdf.set_text_color(170, 0, 0)
        paragraph(f"Check: {len(problems)} problem(s) found; flagged items did not match their sources.", "B")
        if _attention(findings):
            paragraph(_attention(findings), "B")
        for problem in problems:
            paragraph(f"- {problem}")
        pdf.set_text_color(0, 0, 0)
    pdf.ln(3)
    heading("Thesis")
    paragraph(_text(report.get("thesis")) or INSUFFICIENT)
    pdf.ln(3)
    heading("Key metrics")
    metrics = [m for m in report.get("key_metrics") or [] if isinstance(m, Mapping)]
    if metrics:
        pdf.set_font("Helvetica", "", 9)
        with pdf.table(col_widths=(30, 22, 16, 18, 10, 30), text_align="LEFT", line_height=5) as table:
            header = table.row()
            for cell in ("Metric", "Value", "Unit", "Period", "Source", "Check"):
                header.cell(cell)
            for metric, check in zip(metrics, _checks_by_metric(report, findings), strict=False):
                flag = _flag_text(check)
                row = table.row()
                row.cell(pdf_text(metric.get("name")))
                row.cell(pdf_text(format_value(metric.get("value"), _text(metric.get("unit")))))
                row.cell(pdf_text(metric.get("unit")) or "-")
                row.cell(pdf_text(metric.get("period")) or "-")
                row.cell(cite(metric.get("citation")).strip() or "-")
                row.cell(f"FLAG: {flag}" if flag else (check.status.replace("_", " ") if check else "-"))
    else:
        paragraph("No metrics reported.")
    if findings and findings.conflicts:
        paragraph(f"{CONFLICT_HEADING}. {CONFLICT_NOTE}", "B")
        for conflict in findings.conflicts:
            title, values = _conflict_parts(conflict)
            paragraph(f"- {title}: " + " vs ".join(f"{t}{cite(c)}" for t, c in values))
    pdf.ln(3)
    heading("Risks")
    risks = [r for r in report.get("risks") or [] if isinstance(r, Mapping)]
    for risk in risks:
        paragraph(f"- {_text(risk.get('risk'))}{cite(risk.get('citation'))}")
    if not risks:
        paragraph("No risks reported.")
    pdf.ln(3)
    heading("Sources")
    for chunk_id, n in numbers.items():
        paragraph(f"[{n}] {_source_line(meta.get(chunk_id), chunk_id)}", size=9)
    if not numbers:
        paragraph("No sources cited.")
    return bytes(pdf.output())
