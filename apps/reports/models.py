"""Research reports generated from the research desk's documents, and their review."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from apps.research.models import AccessLevel


class ReportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    GENERATING = "generating", "Generating"
    DRAFT = "draft", "Draft"
    # Generated, but a number is not supported by the source it cites: approval needs a reviewer's comment.
    NEEDS_ATTENTION = "needs_attention", "Needs attention"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    FAILED = "failed", "Failed"


class ReportTemplate(models.TextChoices):
    EQUITY_RESEARCH = "equity_research", "Equity research note"
    EARNINGS_UPDATE = "earnings_update", "Earnings update"
    CREDIT_REVIEW = "credit_review", "Credit review"


class ResearchReport(models.Model):
    """A generated research report: the request, the structured output, its sources and review."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reports")
    company = models.ForeignKey("research.Company", on_delete=models.PROTECT, related_name="reports")
    template = models.CharField(max_length=40, choices=ReportTemplate.choices, default=ReportTemplate.EQUITY_RESEARCH)
    question = models.TextField(blank=True)
    required_indicators = models.JSONField(default=list, blank=True)
    adapter_name = models.CharField(max_length=100, blank=True)  # as requested; "" = the base model
    adapter_label = models.CharField(max_length=120, blank=True)  # name@version actually used
    as_of = models.DateField(null=True, blank=True)
    # The requester's readable access levels at request time: retrieval filters on them in the query.
    allowed_access_levels = models.JSONField(default=list)
    status = models.CharField(max_length=20, choices=ReportStatus.choices, default=ReportStatus.QUEUED, db_index=True)
    output = models.JSONField(null=True, blank=True)
    findings = models.JSONField(default=dict, blank=True)
    rendered_html = models.TextField(blank=True)
    rendered_markdown = models.TextField(blank=True)
    chunk_ids = models.JSONField(default=list, blank=True)  # every retrieved chunk the model saw
    # The most restricted access level among those chunks: only readers of that level may open the report.
    access_level = models.CharField(
        max_length=20, choices=AccessLevel.choices, default=AccessLevel.PUBLIC, db_index=True
    )
    inference_seqs = models.JSONField(default=list, blank=True)
    # The number check (pipelines.reports.validation): the audit record is written before it runs and is
    # append-only, so the outcome lives here (and in the job result and /metrics).
    supported_share = models.FloatField(null=True, blank=True)  # None: the report states no number
    numbers_checked = models.PositiveIntegerField(default=0)
    numbers_unsupported = models.PositiveIntegerField(default=0)
    model_name = models.CharField(max_length=200, blank=True)
    model_version = models.CharField(max_length=200, blank=True)
    error = models.TextField(blank=True)
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    generated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["requested_by", "created_at"]), models.Index(fields=["company", "created_at"])]

    def __str__(self) -> str:
        return f"{self.company.ticker} report {self.id} ({self.status})"


class ReviewDecision(models.TextChoices):
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class ReportReview(models.Model):
    """One review decision on a report; the history is kept, the report carries the latest status."""

    report = models.ForeignKey(ResearchReport, on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decision = models.CharField(max_length=20, choices=ReviewDecision.choices)
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.decision} by {self.reviewer_id} on {self.report_id}"
