"""Writes of the research desk: uploads, ingestion outcomes, re-index and delete.

An upload is validated (size, type, pages, encryption, readable text) before
anything is stored: a refused file leaves no row, no file and no job. Accepted
files are stored with their documents and one ingest job in a single
transaction; the job is enqueued after commit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from apps.jobs.models import Job, JobKind
from apps.jobs.services import job_create
from apps.research.models import AccessLevel, Company, Document, DocumentChunk, DocumentStatus, DocumentType
from pipelines.documents import DocumentFormat
from pipelines.parsing import ParseLimits, parse
from pipelines.parsing.errors import DocumentRejected

INGEST_TASK = "apps.research.tasks.document_ingest"
DELETE_TASK = "gpu_workers.tasks.document_vectors_delete"


class DuplicateDocument(DocumentRejected):
    """The same bytes were uploaded before: points at the existing document."""

    def __init__(self, existing: Document) -> None:
        super().__init__(
            "duplicate",
            f"This file was already uploaded as “{existing.title}” (document {existing.pk}).",
            {"existing_document_id": str(existing.pk), "existing_title": existing.title},
        )
        self.existing = existing


@dataclass(frozen=True)
class UploadMetadata:
    """What the uploader says about the file; fields found in the file fill the gaps."""

    ticker: str = ""
    doc_type: str = DocumentType.OTHER
    title: str = ""
    source: str = ""
    published_on: dt.date | None = None
    access_level: str = AccessLevel.INTERNAL
    redact_person_names: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class UploadResult:
    job: Job
    documents: list[Document]


def parse_limits() -> ParseLimits:
    return ParseLimits(max_bytes=settings.ARGUS_MAX_UPLOAD_BYTES, max_pages=settings.ARGUS_MAX_UPLOAD_PAGES)


def company_for_ticker(ticker: str) -> Company | None:
    """The company master entry for a ticker (case-insensitive); unknown tickers are an input error."""
    ticker = (ticker or "").strip().upper()
    if not ticker:
        return None
    company = Company.objects.filter(ticker=ticker).first()
    if company is None:
        raise DocumentRejected("unknown_company", f"No company with ticker {ticker} in the company master.")
    return company


def company_upsert(*, ticker: str, name: str, aliases: list[str] | None = None, sector: str = "", cik: str = "") -> Company:
    company, _ = Company.objects.update_or_create(
        ticker=ticker.strip().upper(),
        defaults={"name": name, "aliases": sorted(set(aliases or [])), "sector": sector, "cik": cik},
    )
    return company


def _choice(value: str, choices: type, field_name: str) -> str:
    value = (value or "").strip().lower()
    if value not in choices.values:
        raise DocumentRejected(f"invalid_{field_name}", f"{field_name} must be one of {', '.join(choices.values)}.")
    return value


def _date(value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def documents_upload(*, uploader: Any, filename: str, content_type: str, data: bytes, meta: UploadMetadata) -> UploadResult:
    """Validate an upload and store its document(s) with one ingest job.

    A JSON lines file is a batch: one document per line, each with its own
    metadata fields (``title``, ``ticker``, ``type``, ``date``, ``access_level``, ``source``);
    a bad line refuses the whole batch. Raises ``DocumentRejected`` (incl. ``DuplicateDocument``).
    """
    parsed = parse(data, filename=filename, content_type=content_type or None, limits=parse_limits())
    parsed.raise_for_errors()
    access_level = _choice(meta.access_level, AccessLevel, "access_level")
    doc_type = _choice(meta.doc_type, DocumentType, "doc_type")
    default_company = company_for_ticker(meta.ticker)

    pending: list[tuple[dict[str, Any], bytes]] = []
    if parsed.format is DocumentFormat.JSONL:
        lines = data.splitlines()
        for item in parsed.documents:
            found = item.metadata
            line_bytes = lines[item.line_number - 1] if item.line_number else b""
            fields = {
                "title": str(found.get("title") or item.title or f"{filename} line {item.line_number}")[:500],
                "company": company_for_ticker(str(found.get("ticker", ""))) or default_company,
                "doc_type": _choice(str(found.get("type") or found.get("doc_type") or doc_type), DocumentType, "doc_type"),
                "access_level": _choice(str(found.get("access_level") or access_level), AccessLevel, "access_level"),
                "published_on": _date(found.get("date") or found.get("published_on")) or meta.published_on,
                "source": str(found.get("source") or meta.source)[:255],
                "original_name": f"{filename}#L{item.line_number}",
                "file_format": DocumentFormat.JSONL.value,
            }
            pending.append((fields, line_bytes))
    else:
        (item,) = parsed.documents
        fields = {
            "title": (meta.title or item.title or filename or "Untitled document")[:500],
            "company": default_company,
            "doc_type": doc_type,
            "access_level": access_level,
            "published_on": meta.published_on,
            "source": meta.source[:255],
            "original_name": filename[:255],
            "file_format": parsed.format.value,
            "page_count": item.page_count,
        }
        pending.append((fields, data))

    hashes = [hashlib.sha256(raw).hexdigest() for _, raw in pending]
    if len(set(hashes)) != len(hashes):
        raise DocumentRejected("duplicate", "The batch contains the same document twice.")
    existing = Document.objects.filter(content_hash__in=hashes).first()
    if existing is not None:
        raise DuplicateDocument(existing)

    with transaction.atomic():
        documents = []
        for (fields, raw), digest in zip(pending, hashes, strict=True):
            document = Document(
                uploaded_by=uploader,
                content_hash=digest,
                size_bytes=len(raw),
                redact_person_names=meta.redact_person_names,
                metadata=meta.extra,
                **fields,
            )
            suffix = ".jsonl" if fields["file_format"] == DocumentFormat.JSONL.value else ""
            document.file.save(f"{digest}{suffix or _suffix(filename)}", ContentFile(raw), save=False)
            document.save()
            documents.append(document)
        job = job_create(
            kind=JobKind.INGEST,
            owner=uploader,
            params={"document_ids": [str(d.pk) for d in documents]},
            task_name=INGEST_TASK,
            message=f"{len(documents)} document(s) waiting to be ingested",
        )
        Document.objects.filter(pk__in=[d.pk for d in documents]).update(job=job)
    return UploadResult(job=job, documents=documents)


def _suffix(filename: str) -> str:
    name = (filename or "").rsplit("/", 1)[-1]
    return "." + name.rsplit(".", 1)[-1].lower()[:8] if "." in name else ""


def document_reindex(*, user: Any, document: Document) -> Job:
    """Run the ingest again (after a failure, or a pipeline change); old vectors are replaced."""
    with transaction.atomic():
        Document.objects.filter(pk=document.pk).update(status=DocumentStatus.QUEUED, status_reason="")
        job = job_create(
            kind=JobKind.REINDEX,
            owner=user,
            params={"document_ids": [str(document.pk)]},
            task_name=INGEST_TASK,
            message="Waiting to re-index",
        )
        Document.objects.filter(pk=document.pk).update(job=job)
    return job


def document_delete(*, user: Any, document: Document) -> Job:
    """Delete a document everywhere: its vectors first (model worker), then its rows and file."""
    with transaction.atomic():
        Document.objects.filter(pk=document.pk).update(status=DocumentStatus.DELETING)
        return job_create(
            kind=JobKind.DELETE,
            owner=user,
            params={"document_ids": [str(document.pk)]},
            task_name=DELETE_TASK,
            message="Waiting to delete",
        )


# --- used by the tasks ------------------------------------------------------------


def document_set_status(*, document_id: Any, status: DocumentStatus, reason: str = "") -> None:
    Document.objects.filter(pk=document_id).update(status=status, status_reason=reason[:5000], updated_at=timezone.now())


def chunk_id_for_document(document_id: Any, content_sha256: str, ordinal: int) -> str:
    """Stable per document and content: two documents with the same text never share a chunk id."""
    return str(uuid.uuid5(uuid.UUID(str(document_id)), f"{content_sha256}:{ordinal}"))


@transaction.atomic
def document_chunks_replace(*, document: Document, ingested: Any) -> int:
    """Store the chunks of one ingested document, replacing any earlier ones (re-index)."""
    DocumentChunk.objects.filter(document=document).delete()
    rows = [
        DocumentChunk(
            document=document,
            ordinal=chunk.ordinal,
            chunk_id=chunk_id_for_document(document.pk, ingested.content_sha256, chunk.ordinal),
            section=" › ".join(chunk.section_path)[:500],
            page_start=chunk.page_start,
            page_end=chunk.page_end,
            char_start=chunk.start,
            char_end=chunk.end,
            token_count=chunk.token_count,
            text=chunk.text,
        )
        for chunk in ingested.chunks
    ]
    DocumentChunk.objects.bulk_create(rows, batch_size=500)
    Document.objects.filter(pk=document.pk).update(
        status=DocumentStatus.INDEXING,
        status_reason="",
        chunk_count=len(rows),
        page_count=ingested.document.page_count or document.page_count,
        redaction_log=[r.to_dict() for r in ingested.redactions],
        metadata={**document.metadata, "pipeline": ingested.pipeline_version, **ingested.settings},
        updated_at=timezone.now(),
    )
    return len(rows)


def document_mark_indexed(*, document_id: Any, vector_count: int) -> None:
    Document.objects.filter(pk=document_id).update(
        status=DocumentStatus.INDEXED, status_reason="", indexed_at=timezone.now(), updated_at=timezone.now()
    )


def document_remove_rows(*, document_id: Any) -> None:
    """The last step of a delete: rows (chunks cascade) and the stored file."""
    document = Document.objects.filter(pk=document_id).first()
    if document is None:
        return
    stored = document.file.name
    with transaction.atomic():
        document.delete()
        if stored:
            transaction.on_commit(lambda: document.file.storage.delete(stored))
