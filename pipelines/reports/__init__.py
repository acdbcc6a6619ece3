"""Research reports: the schema decoding is constrained to, the prompts, the checks, the rendering.

Plain Python (no Django, no model). The generation engine compiles ``report_schema`` with
xgrammar and decodes ``report_messages``; the app then parses, checks and renders::

    schema = report_schema(spec, passages)            # grounded in the passages: citations and numbers
    messages = report_messages(spec, passages)        # same passages, same excerpts
    report, notes = guard_free_text(tidy_report(parse_model_json(output_text)))   # junk text -> insufficient
    findings = report_findings(report, schema, passages, spec=spec, notes=notes)  # conflicts need the spec
    html = render_report_html(report, findings, passages, chunk_url=lambda cid: f"/research/chunks/{cid}/")
"""

from pipelines.reports.handles import passages_with_handles, resolve_handles
from pipelines.reports.prompts import ANSWER_SYSTEM_PROMPT, REPORT_SYSTEM_PROMPT, answer_messages, report_messages
from pipelines.reports.render import render_report_html, render_report_markdown, render_report_pdf
from pipelines.reports.schema import (
    CURRENCIES,
    HORIZONS,
    INSUFFICIENT,
    RATINGS,
    SCHEMA_VERSION,
    answer_schema,
    report_schema,
    schema_hash,
)
from pipelines.reports.spec import (
    MAX_PASSAGE_CHARS,
    MAX_PASSAGES,
    TEMPLATES,
    Passage,
    ReportRequestSpec,
    ReportTemplate,
    template_question,
)
from pipelines.reports.validation import (
    MetricCheck,
    ReportFindings,
    ReportOutputError,
    check_citations,
    check_metric_numbers,
    check_text_numbers,
    guard_free_text,
    junk_reason,
    metric_conflicts,
    parse_model_json,
    report_findings,
    tidy_report,
    validate_report,
)

__all__ = [
    "ANSWER_SYSTEM_PROMPT",
    "CURRENCIES",
    "HORIZONS",
    "INSUFFICIENT",
    "MAX_PASSAGES",
    "MAX_PASSAGE_CHARS",
    "RATINGS",
    "REPORT_SYSTEM_PROMPT",
    "SCHEMA_VERSION",
    "TEMPLATES",
    "MetricCheck",
    "Passage",
    "ReportFindings",
    "ReportOutputError",
    "ReportRequestSpec",
    "ReportTemplate",
    "answer_messages",
    "answer_schema",
    "check_citations",
    "check_metric_numbers",
    "check_text_numbers",
    "guard_free_text",
    "junk_reason",
    "metric_conflicts",
    "parse_model_json",
    "passages_with_handles",
    "render_report_html",
    "render_report_markdown",
    "render_report_pdf",
    "report_findings",
    "report_messages",
    "report_schema",
    "resolve_handles",
    "schema_hash",
    "template_question",
    "tidy_report",
    "validate_report",
]
