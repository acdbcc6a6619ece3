"""Writes of research reports: request, record the generated output, review."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.jobs.models import JobKind
from apps.jobs.services import job_create
from apps.registry.selectors import adapter_latest_ready, adapter_training_pending, base_model_default
from apps.reports.access import can_review_report
from apps.reports.models import ReportReview, ReportStatus, ReportTemplate, ResearchReport, ReviewDecision
from apps.research.selectors import allowed_access_levels, company_get_by_ticker, most_restricted_level

REPORT_TASK = "gpu_workers.tasks.reports_generate"
# Generated (or reviewed): a late write from a duplicate job must leave these alone.
SETTLED = (ReportStatus.DRAFT, ReportStatus.NEEDS_ATTENTION, ReportStatus.APPROVED, ReportStatus.REJECTED)
REVIEWABLE = (ReportStatus.DRAFT, ReportStatus.NEEDS_ATTENTION)
MAX_REQUIRED_INDICATORS = 6
MAX_INDICATOR_CHARS = 60


class ReportRequestError(ValueError):
    """A report request that cannot be accepted; ``field`` names the offending input."""

    def __init__(self, field: str, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.field, self.code = field, code


class ReviewError(Exception):
    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def _clean_indicators(indicators: list[str]) -> list[str]:
    cleaned: list[str] = []
    for raw in indicators:
        name = " ".join(str(raw).split()).strip()
        if not name:
            continue
        if len(name) > MAX_INDICATOR_CHARS:
            raise ReportRequestError("required_indicators", f"Indicator names are at most {MAX_INDICATOR_CHARS} chars.")
        if name.lower() not in {c.lower() for c in cleaned}:
            cleaned.append(name)
    if len(cleaned) > MAX_REQUIRED_INDICATORS:
        raise ReportRequestError("required_indicators", f"At most {MAX_REQUIRED_INDICATORS} required indicators.")
    return cleaned


def report_request(
    *,
    user: Any,
    ticker: str,
    template: str = ReportTemplate.EQUITY_RESEARCH,
    question: str = "",
    required_indicators: list[str] | None = None,
    adapter_name: str = "",
    as_of: dt.date | None = None,
) -> ResearchReport:
    """Create a report request and its job; the model worker generates it after commit."""
    company = company_get_by_ticker(ticker)
    if company is None:
        raise ReportRequestError("ticker", f"Unknown ticker {ticker!r}.", code="unknown_ticker")
    if template not in ReportTemplate.values:
        raise ReportRequestError("template", f"Unknown template {template!r}.")
    if base_model_default() is None:
        raise ReportRequestError("adapter", "No base model is registered (run `manage.py prepare_models`).", "no_model")
    # An adapter still in training (the demo adapter for a while after set-up) is served by the base
    # model until it is ready; the report says so.
    if adapter_name and adapter_latest_ready(adapter_name) is None and not adapter_training_pending(adapter_name):
        raise ReportRequestError("adapter", f"No ready adapter named {adapter_name!r}.", code="unknown_adapter")
    levels = sorted(allowed_access_levels(user))
    if not levels:
        raise ReportRequestError("user", "Your role cannot read research documents.", code="forbidden")
    with transaction.atomic():
        report = ResearchReport.objects.create(
            requested_by=user,
            company=company,
            template=template,
            question=" ".join(question.split())[:2000],
            required_indicators=_clean_indicators(required_indicators or []),
            adapter_name=adapter_name,
            as_of=as_of,
            allowed_access_levels=levels,
        )
        job = job_create(
            kind=JobKind.REPORT,
            owner=user,
            params={"report_id": str(report.pk)},
            task_name=REPORT_TASK,
            message="Waiting for a model worker",
        )
        report.job = job
        report.save(update_fields=["job"])
    return report


def report_mark_generating(*, report_id: Any) -> None:
    ResearchReport.objects.filter(pk=report_id, status__in=[ReportStatus.QUEUED, ReportStatus.GENERATING]).update(
        status=ReportStatus.GENERATING, updated_at=timezone.now()
    )


def report_record_output(
    *,
    report_id: Any,
    output: dict[str, Any] | None,
    findings: dict[str, Any],
    rendered_html: str,
    rendered_markdown: str,
    chunk_ids: list[str],
    chunk_access_levels: list[str],
    inference_seqs: list[int],
    model_name: str,
    model_version: str,
    adapter_label: str,
    error: str = "",
) -> bool:
    """Store what the model produced; False (and nothing written) when the report is no longer in flight.

    A schema-invalid output is kept for the record but fails the report; a report with a number its
    source does not support (``findings["unsupported"]``) needs attention instead of being a draft.
    The update is conditional on the status, so a late duplicate of the job never overwrites a report
    that was reviewed, failed or finished in the meantime.
    """
    unsupported = findings.get("unsupported") or []
    if error:
        status = ReportStatus.FAILED
    elif unsupported:
        status = ReportStatus.NEEDS_ATTENTION
    else:
        status = ReportStatus.DRAFT
    now = timezone.now()
    written = ResearchReport.objects.filter(
        pk=report_id, status__in=[ReportStatus.QUEUED, ReportStatus.GENERATING]
    ).update(
        output=output,
        findings=findings,
        rendered_html=rendered_html,
        rendered_markdown=rendered_markdown,
        chunk_ids=chunk_ids,
        access_level=most_restricted_level(chunk_access_levels),
        inference_seqs=inference_seqs,
        model_name=model_name,
        model_version=model_version,
        adapter_label=adapter_label,
        error=error,
        status=status,
        supported_share=findings.get("supported_share"),
        numbers_checked=int(findings.get("numbers_checked") or 0),
        numbers_unsupported=len(unsupported),
        generated_at=now,
        updated_at=now,
    )
    return written == 1


def report_fail(*, report_id: Any, error: str) -> None:
    ResearchReport.objects.filter(pk=report_id).exclude(status__in=SETTLED).update(
        status=ReportStatus.FAILED, error=error[:10_000], updated_at=timezone.now()
    )


def report_review(*, report: ResearchReport, reviewer: Any, decision: str, comment: str = "") -> ReportReview:
    """Approve or reject a draft; every decision is kept. A reviewer never reviews their own report.

    A report that needs attention (a number its source does not support) is approved only with a
    comment saying why the reviewer accepts it.
    """
    comment = comment.strip()
    if decision not in ReviewDecision.values:
        raise ReviewError(f"Decision must be one of {', '.join(ReviewDecision.values)}.", "invalid_decision")
    if not can_review_report(reviewer, report):
        raise ReviewError("You may not review this report (reviewers review other people's reports).", "forbidden")
    with transaction.atomic():
        locked = ResearchReport.objects.select_for_update().get(pk=report.pk)
        if locked.status not in REVIEWABLE:
            raise ReviewError(f"Only draft reports can be reviewed; this one is {locked.status}.", "not_draft")
        if locked.status == ReportStatus.NEEDS_ATTENTION and decision == ReviewDecision.APPROVED and not comment:
            raise ReviewError(
                f"This report needs attention: {locked.numbers_unsupported} number(s) are not supported by the "
                "sources they cite. Approving it needs a comment explaining why.",
                "comment_required",
            )
        review = ReportReview.objects.create(
            report=locked, reviewer=reviewer, decision=decision, comment=comment[:5000]
        )
        locked.status = ReportStatus.APPROVED if decision == ReviewDecision.APPROVED else ReportStatus.REJECTED
        locked.save(update_fields=["status", "updated_at"])
    report.refresh_from_db()
    return review
