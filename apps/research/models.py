"""The research desk's documents: the company master, documents and their chunks."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class Company(models.Model):
    """The company master: what documents, entities and reports link to."""

    ticker = models.CharField(max_length=16, unique=True)
    name = models.CharField(max_length=255, db_index=True)
    aliases = models.JSONField(default=list, blank=True)
    sector = models.CharField(max_length=120, blank=True)
    cik = models.CharField(max_length=10, blank=True, db_index=True)

    class Meta:
        ordering = ["ticker"]
        verbose_name_plural = "companies"

    def __str__(self) -> str:
        return f"{self.ticker} · {self.name}"


class DocumentType(models.TextChoices):
    """What a document is. ``filing`` is a filing of unstated form, kept for documents uploaded before the forms."""

    FORM_10K = "10-K", "10-K annual report"
    FORM_10Q = "10-Q", "10-Q quarterly report"
    FORM_8K = "8-K", "8-K current report"
    FORM_20F = "20-F", "20-F annual report (foreign issuer)"
    FILING = "filing", "Filing (other form)"
    TRANSCRIPT = "transcript", "Earnings-call transcript"
    RELEASE = "release", "Company press release"
    REPORT = "report", "Research report"
    NOTE = "note", "Research note"
    CREDIT_MEMO = "credit_memo", "Credit memo"
    NEWS = "news", "News"
    OTHER = "other", "Other"


class FiscalPeriod(models.TextChoices):
    FY = "FY", "Full year"
    Q1 = "Q1", "First quarter"
    Q2 = "Q2", "Second quarter"
    Q3 = "Q3", "Third quarter"
    Q4 = "Q4", "Fourth quarter"
    H1 = "H1", "First half"
    H2 = "H2", "Second half"


class AccessLevel(models.TextChoices):
    """Who may read a document; see ``apps.research.access`` for the roles behind each level."""

    PUBLIC = "public", "Public"
    INTERNAL = "internal", "Internal"
    RESTRICTED = "restricted", "Restricted"


class DocumentStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    PARSING = "parsing", "Parsing"
    INDEXING = "indexing", "Indexing"
    INDEXED = "indexed", "Indexed"
    FAILED = "failed", "Failed"
    DELETING = "deleting", "Deleting"


class Document(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    company = models.ForeignKey(Company, null=True, blank=True, on_delete=models.PROTECT, related_name="documents")
    doc_type = models.CharField(max_length=20, choices=DocumentType.choices, default=DocumentType.OTHER)
    title = models.CharField(max_length=500)
    source = models.CharField(max_length=255, blank=True)
    # The filing or publication date: what as-of retrieval compares with.
    published_on = models.DateField(null=True, blank=True, db_index=True)
    fiscal_year = models.PositiveSmallIntegerField(null=True, blank=True, db_index=True)
    fiscal_period = models.CharField(max_length=2, choices=FiscalPeriod.choices, blank=True)
    period_end = models.DateField(null=True, blank=True)
    access_level = models.CharField(
        max_length=20, choices=AccessLevel.choices, default=AccessLevel.INTERNAL, db_index=True
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="documents"
    )
    # SHA-256 of the uploaded bytes: the same file twice is refused with a pointer to the first.
    content_hash = models.CharField(max_length=64, unique=True)
    original_name = models.CharField(max_length=255, blank=True)
    file_format = models.CharField(max_length=20, blank=True)
    size_bytes = models.PositiveBigIntegerField(default=0)
    file = models.FileField(upload_to="documents/", blank=True)
    redact_person_names = models.BooleanField(default=False)
    status = models.CharField(
        max_length=20, choices=DocumentStatus.choices, default=DocumentStatus.QUEUED, db_index=True
    )
    status_reason = models.TextField(blank=True)
    page_count = models.PositiveIntegerField(null=True, blank=True)
    chunk_count = models.PositiveIntegerField(default=0)
    redaction_log = models.JSONField(default=list, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    indexed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["company", "published_on"]), models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return self.title


class DocumentChunk(models.Model):
    """One indexed passage; its vector lives in Qdrant under ``chunk_id``."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="chunks")
    ordinal = models.PositiveIntegerField()
    chunk_id = models.CharField(max_length=100, unique=True)
    section = models.CharField(max_length=500, blank=True)
    page_start = models.PositiveIntegerField(null=True, blank=True)
    page_end = models.PositiveIntegerField(null=True, blank=True)
    char_start = models.PositiveIntegerField()
    char_end = models.PositiveIntegerField()
    token_count = models.PositiveIntegerField(default=0)
    text = models.TextField()
    # "text" or "table"; a table chunk keeps its cells (title, header rows, rows with labels,
    # column periods) so a citation can name the row and column and the UI can highlight the cell.
    kind = models.CharField(max_length=10, default="text")
    table = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["document", "ordinal"]
        constraints = [models.UniqueConstraint(fields=["document", "ordinal"], name="chunk_unique_ordinal")]

    def __str__(self) -> str:
        return f"{self.chunk_id} ({self.document_id})"
