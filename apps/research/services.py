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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.jobs.models import Job, JobKind, JobStatus
from apps.jobs.services import job_create
from apps.research.access import allowed_access_levels
from apps.research.models import (
    AccessLevel,
    Company,
    Document,
    DocumentChunk,
    DocumentStatus,
    DocumentType,
    FiscalPeriod,
)
from pipelines.documents import DocumentFormat
from pipelines.entities.master import MasterEntry, sp500_entries
from pipelines.parsing import MEGABYTE, ParseLimits, parse
from pipelines.parsing.errors import DocumentRejected, FileTooLarge

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
    # What period the document reports on: FY2022 for the 10-K filed in February 2023.
    fiscal_year: int | None = None
    fiscal_period: str = ""
    period_end: dt.date | None = None


@dataclass(frozen=True)
class UploadResult:
    job: Job
    documents: list[Document]


@dataclass(frozen=True)
class UploadFile:
    """One file of a multi-file upload. ``read`` is only called once ``size`` is within the limit,
    so an oversized file is refused without being read into memory."""

    filename: str
    content_type: str
    size: int
    read: Callable[[], bytes]


class UploadRefused(Exception):
    """Some files of a multi-file upload were refused, so none was stored: file index -> its reason."""

    def __init__(self, refusals: dict[int, DocumentRejected]) -> None:
        super().__init__(f"{len(refusals)} file(s) refused")
        self.refusals = refusals


@dataclass(frozen=True)
class _PendingDocument:
    """A validated document waiting to be stored."""

    fields: dict[str, Any]
    raw: bytes
    content_hash: str
    stored_name: str


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


def company_master_changed() -> None:
    """Tell every web process that the master changed (their query parsers rebuild; see selectors)."""
    from django.core.cache import cache

    from apps.research.selectors import _MASTER_VERSION_KEY

    try:
        cache.incr(_MASTER_VERSION_KEY)
    except ValueError:  # not set yet
        cache.set(_MASTER_VERSION_KEY, 1, timeout=None)


def company_upsert(
    *, ticker: str, name: str, aliases: list[str] | None = None, sector: str = "", cik: str = ""
) -> Company:
    company, _ = Company.objects.update_or_create(
        ticker=ticker.strip().upper(),
        defaults={"name": name, "aliases": sorted(set(aliases or [])), "sector": sector, "cik": cik},
    )
    company_master_changed()
    return company


def company_create(*, ticker: str, name: str, aliases: Sequence[str] = (), sector: str = "", cik: str = "") -> Company:
    """A new company of the master (an admin's write); the ticker is stored upper-case."""
    company = Company.objects.create(
        ticker=ticker.strip().upper(),
        name=name.strip(),
        aliases=sorted({a.strip() for a in aliases if a.strip()}),
        sector=sector.strip(),
        cik=cik.strip().lstrip("0"),
    )
    company_master_changed()
    return company


def company_update(*, company: Company, **changes: Any) -> Company:
    """Change a company's name, aliases, sector or CIK; its ticker, which documents and reports key on, stays."""
    allowed = {"name", "aliases", "sector", "cik"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValueError(f"cannot change {sorted(unknown)}")
    if "aliases" in changes:
        changes["aliases"] = sorted({a.strip() for a in changes["aliases"] if a.strip()})
    if "cik" in changes:
        changes["cik"] = changes["cik"].strip().lstrip("0")
    for name, value in changes.items():
        setattr(company, name, value.strip() if isinstance(value, str) else value)
    company.save(update_fields=list(changes))
    company_master_changed()
    return company


@dataclass(frozen=True)
class CompanyMasterImport:
    created: int
    updated: int
    unchanged: int


def company_master_import_sp500(*, entries: Sequence[MasterEntry] | None = None) -> CompanyMasterImport:
    """Add the S&P 500 to the company master (idempotent).

    Missing companies are created; an existing company keeps its name (the demo master's or an analyst's) and
    gains the new aliases, and an empty sector is filled. ``entries`` replaces the pytickersymbols list in tests.
    """
    entries = list(entries) if entries is not None else sp500_entries()
    existing = {c.ticker: c for c in Company.objects.filter(ticker__in=[e.ticker for e in entries])}
    to_create: list[Company] = []
    to_update: list[Company] = []
    for entry in entries:
        aliases = [a for a in entry.aliases if a]
        company = existing.get(entry.ticker)
        if company is None:
            to_create.append(
                Company(
                    ticker=entry.ticker,
                    name=entry.name,
                    aliases=sorted(set(aliases)),
                    sector=entry.sector,
                    cik=entry.cik,
                )
            )
            continue
        merged = sorted(set(company.aliases or []) | {a for a in aliases if a != company.name})
        sector = company.sector or entry.sector
        if merged != sorted(company.aliases or []) or sector != company.sector:
            company.aliases, company.sector = merged, sector
            to_update.append(company)
    return _company_master_save(to_create, to_update, ["aliases", "sector"], total=len(entries))


def company_master_import_sec(*, entries: Sequence[MasterEntry]) -> CompanyMasterImport:
    """Add SEC filers (ticker, CIK, name) to the company master (idempotent).

    A missing ticker is created. An existing company keeps its name; it gains the CIK if it had none and the
    SEC's name as an alias. A filer whose CIK the master already holds under another ticker is left alone
    (a renamed ticker is an admin's call, not an import's).
    """
    entries = list(entries)
    existing = {c.ticker: c for c in Company.objects.filter(ticker__in=[e.ticker for e in entries])}
    known_ciks = set(Company.objects.exclude(cik="").values_list("cik", flat=True))
    to_create: list[Company] = []
    to_update: list[Company] = []
    for entry in entries:
        company = existing.get(entry.ticker)
        if company is None:
            if entry.cik in known_ciks:
                continue
            known_ciks.add(entry.cik)
            to_create.append(
                Company(ticker=entry.ticker, name=entry.name, aliases=sorted(set(entry.aliases)), cik=entry.cik)
            )
            continue
        aliases = sorted(set(company.aliases or []) | {a for a in (entry.name, *entry.aliases) if a != company.name})
        cik = company.cik or entry.cik
        if aliases != sorted(company.aliases or []) or cik != company.cik:
            company.aliases, company.cik = aliases, cik
            to_update.append(company)
    return _company_master_save(to_create, to_update, ["aliases", "cik"], total=len(entries))


def _company_master_save(
    to_create: list[Company], to_update: list[Company], fields: list[str], *, total: int
) -> CompanyMasterImport:
    """One import's new and changed companies in one transaction; the rest of ``total`` were unchanged."""
    with transaction.atomic():
        Company.objects.bulk_create(to_create, ignore_conflicts=True)
        Company.objects.bulk_update(to_update, fields)
    company_master_changed()
    return CompanyMasterImport(len(to_create), len(to_update), total - len(to_create) - len(to_update))


def _choice(value: str, choices: type, field_name: str) -> str:
    # Case-insensitive ("10-k" from a lower-cased batch field is the 10-K form), stored in the canonical case.
    canonical = {v.lower(): v for v in choices.values}
    value = canonical.get((value or "").strip().lower(), "")
    if not value:
        raise DocumentRejected(f"invalid_{field_name}", f"{field_name} must be one of {', '.join(choices.values)}.")
    return value


def _fiscal_fields(year: Any, period: Any, period_end: Any) -> dict[str, Any]:
    """Fiscal year, period and period end of a document; the year follows from the period end when not given."""
    end = _date(period_end)
    if year in (None, ""):
        from pipelines.query import fiscal_year_for_period_end

        fiscal_year = fiscal_year_for_period_end(end) if end else None
    else:
        try:
            fiscal_year = int(year)
        except (TypeError, ValueError):
            raise DocumentRejected("invalid_fiscal_year", f"fiscal_year must be a year, got {year!r}.") from None
        if not 1900 <= fiscal_year <= 2100:
            raise DocumentRejected("invalid_fiscal_year", f"fiscal_year must be a year, got {year!r}.")
    fiscal_period = str(period or "").strip().upper()
    if fiscal_period and fiscal_period not in FiscalPeriod.values:
        raise DocumentRejected(
            "invalid_fiscal_period", f"fiscal_period must be one of {', '.join(FiscalPeriod.values)}."
        )
    return {"fiscal_year": fiscal_year, "fiscal_period": fiscal_period, "period_end": end}


def _date(value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def documents_upload(
    *,
    uploader: Any | None,
    filename: str,
    content_type: str,
    data: bytes,
    meta: UploadMetadata,
    actor_label: str = "",
) -> UploadResult:
    """Validate an upload and store its document(s) with one ingest job.

    A JSON lines file is a batch: one document per line, each with its own
    metadata fields (``title``, ``ticker``, ``type``, ``date``, ``access_level``, ``source``);
    a bad line refuses the whole batch. Raises ``DocumentRejected`` (incl. ``DuplicateDocument``).
    """
    pending = _pending_documents(uploader=uploader, filename=filename, content_type=content_type, data=data, meta=meta)
    return _store_pending(uploader, pending, meta, actor_label)


def documents_upload_many(
    *, uploader: Any | None, files: Sequence[UploadFile], meta: UploadMetadata, actor_label: str = ""
) -> UploadResult:
    """Several files, all or nothing: every file is validated before any is stored, then one job ingests them all.

    Raises ``UploadRefused`` with the reason of every refused file (not only the first), so
    the uploader can fix them all at once. Two files with the same content are refused too.
    """
    refusals: dict[int, DocumentRejected] = {}
    pending: list[_PendingDocument] = []
    first_file_with_hash: dict[str, int] = {}
    for index, upload in enumerate(files):
        try:
            found = _pending_documents(
                uploader=uploader,
                filename=upload.filename,
                content_type=upload.content_type,
                data=_read_within_limit(upload),
                meta=meta,
            )
            for item in found:
                earlier = first_file_with_hash.get(item.content_hash)
                if earlier is not None:
                    raise DocumentRejected(
                        "duplicate",
                        f"Same content as file {earlier + 1} ({files[earlier].filename}) of this upload.",
                        {"same_as_file": earlier},
                    )
        except DocumentRejected as exc:
            refusals[index] = exc
            continue
        for item in found:
            first_file_with_hash.setdefault(item.content_hash, index)
        pending.extend(found)
    if refusals:
        raise UploadRefused(refusals)
    return _store_pending(uploader, pending, meta, actor_label)


def _read_within_limit(upload: UploadFile) -> bytes:
    """The file's bytes, read only once its size is known to be within the limit."""
    limit = settings.ARGUS_MAX_UPLOAD_BYTES
    if upload.size > limit:
        raise FileTooLarge(
            f"The file is {_size_label(upload.size)}; the limit is {_size_label(limit)}.",
            {"bytes": upload.size, "limit": limit},
        )
    return upload.read()


def _size_label(size: int) -> str:
    return f"{size / MEGABYTE:.1f} MB" if size >= MEGABYTE else f"{size / 1024:.1f} KB"


def _pending_documents(
    *, uploader: Any | None, filename: str, content_type: str, data: bytes, meta: UploadMetadata
) -> list[_PendingDocument]:
    """Validate one file and the documents it holds, without writing anything."""
    parsed = parse(data, filename=filename, content_type=content_type or None, limits=parse_limits())
    parsed.raise_for_errors()
    access_level = _choice(meta.access_level, AccessLevel, "access_level")
    doc_type = _choice(meta.doc_type, DocumentType, "doc_type")
    default_company = company_for_ticker(meta.ticker)

    found: list[tuple[dict[str, Any], bytes]] = []
    if parsed.format is DocumentFormat.JSONL:
        lines = data.splitlines()
        for item in parsed.documents:
            line_meta = item.metadata
            # Fields the batch format does not name itself (form, fiscal_year, ...) arrive under "extra".
            line_extra = line_meta.get("extra") or {}
            line_bytes = lines[item.line_number - 1] if item.line_number else b""
            fields = {
                "title": str(line_meta.get("title") or item.title or f"{filename} line {item.line_number}")[:500],
                "company": company_for_ticker(str(line_meta.get("ticker", ""))) or default_company,
                # "form" is the precise document type (10-K, 8-K) where "type" may be a broad class ("filing").
                "doc_type": _choice(
                    str(line_extra.get("form") or line_meta.get("type") or line_extra.get("doc_type") or doc_type),
                    DocumentType,
                    "doc_type",
                ),
                "access_level": _choice(
                    str(line_meta.get("access_level") or access_level), AccessLevel, "access_level"
                ),
                "published_on": _date(line_meta.get("date") or line_meta.get("published_on")) or meta.published_on,
                "source": str(line_meta.get("source") or meta.source)[:255],
                "original_name": f"{filename}#L{item.line_number}",
                "file_format": DocumentFormat.JSONL.value,
                **(
                    _fiscal_fields(
                        line_extra.get("fiscal_year"), line_extra.get("fiscal_period"), line_extra.get("period_end")
                    )
                    if any(line_extra.get(k) for k in ("fiscal_year", "fiscal_period", "period_end"))
                    else _fiscal_fields(meta.fiscal_year, meta.fiscal_period, meta.period_end)
                ),
            }
            found.append((fields, line_bytes))
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
            **_fiscal_fields(meta.fiscal_year, meta.fiscal_period, meta.period_end),
        }
        found.append((fields, data))

    if uploader is not None:
        # Uploading what one may not read would hand the document to others and hide it from oneself.
        readable = allowed_access_levels(uploader)
        for fields, _ in found:
            if fields["access_level"] not in readable:
                raise DocumentRejected(
                    "access_level_not_allowed",
                    f"You may not upload {fields['access_level']} documents: your role cannot read them.",
                    {"access_level": fields["access_level"]},
                )

    hashes = [hashlib.sha256(raw).hexdigest() for _, raw in found]
    if len(set(hashes)) != len(hashes):
        raise DocumentRejected("duplicate", "The batch contains the same document twice.")
    existing = Document.objects.filter(content_hash__in=hashes).first()
    if existing is not None:
        raise DuplicateDocument(existing)
    return [
        _PendingDocument(
            fields=fields,
            raw=raw,
            content_hash=digest,
            # JSON lines members are stored one per file, as a one-line batch.
            stored_name=digest + (".jsonl" if fields["file_format"] == DocumentFormat.JSONL else _suffix(filename)),
        )
        for (fields, raw), digest in zip(found, hashes, strict=True)
    ]


def _store_pending(
    uploader: Any | None, pending: list[_PendingDocument], meta: UploadMetadata, actor_label: str
) -> UploadResult:
    saved_files: list[Any] = []
    try:
        return _store_upload(uploader, pending, meta, actor_label, saved_files)
    except BaseException:
        # The rows rolled back; the files written before the failure must go too (nothing half-stored).
        for stored in saved_files:
            stored.storage.delete(stored.name)
        raise


def _store_upload(uploader, pending, meta, actor_label, saved_files) -> UploadResult:
    with transaction.atomic():
        documents = []
        for item in pending:
            document = Document(
                uploaded_by=uploader,
                content_hash=item.content_hash,
                size_bytes=len(item.raw),
                redact_person_names=meta.redact_person_names,
                metadata=meta.extra,
                **item.fields,
            )
            document.file.save(item.stored_name, ContentFile(item.raw), save=False)
            saved_files.append(document.file)
            try:
                with transaction.atomic():
                    document.save()
            except IntegrityError:
                # The same bytes uploaded at the same moment: the other upload won the unique hash.
                existing = Document.objects.filter(content_hash=item.content_hash).first()
                if existing is None:
                    raise
                raise DuplicateDocument(existing) from None
            documents.append(document)
        job = job_create(
            kind=JobKind.INGEST,
            owner=uploader,
            actor_label=actor_label,
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


# The ingest share of an ingest job's progress (0-50); the model worker's indexing fills the rest.
INGEST_PROGRESS_SHARE = 50


def document_mark_failed(*, document_id: Any, reason: str) -> None:
    document_set_status(document_id=document_id, status=DocumentStatus.FAILED, reason=reason)


def document_set_status(*, document_id: Any, status: DocumentStatus, reason: str = "") -> None:
    Document.objects.filter(pk=document_id).update(
        status=status, status_reason=reason[:5000], updated_at=timezone.now()
    )


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
            section=" > ".join(chunk.section_path)[:500],
            page_start=chunk.page_start,
            page_end=chunk.page_end,
            char_start=chunk.start,
            char_end=chunk.end,
            token_count=chunk.token_count,
            # A table part's text repeats its title and header line before its rows.
            text=chunk.full_text,
            kind=chunk.kind,
            table=chunk.table,
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


ANSWER_TASK = "gpu_workers.tasks.answer_generate"


def answer_job_create(*, user: Any, query: Any) -> Job:
    """Queue an answer to a question (``selectors.SearchQuery``) as a job: no web thread waits on a model.

    A user who may read nothing, or an empty question, gets a job that is already answered
    ("insufficient evidence") without a model call.
    """
    from apps.research.selectors import answer_retrieval_kwargs, query_plan_for_user

    plan = query_plan_for_user(user, query)
    retrieval = answer_retrieval_kwargs(user, query, plan)
    # The fallback that answered is known once the job ran: the notes go along, one per filter step.
    understanding = plan.understanding() | {"fallbacks": plan.notes}
    params = {"question": query.text, "retrieval": retrieval, "understanding": understanding}
    if retrieval is None:
        return Job.objects.create(
            kind=JobKind.ANSWER,
            owner=user,
            actor_label=f"user:{user.get_username()}",
            params=params,
            status=JobStatus.SUCCEEDED,
            progress=100,
            message="Nothing to retrieve",
            result={"hits": []},
            finished_at=timezone.now(),
        )
    return job_create(
        kind=JobKind.ANSWER, owner=user, params=params, task_name=ANSWER_TASK, message="Waiting for the model worker"
    )
