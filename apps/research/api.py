"""The research desk's API: documents (upload, list, detail, chunks, re-index, delete), search and cited answers.

Readers (analyst, risk officer, admin) use all of it; a document the caller may not read
answers 404 exactly like one that does not exist, so an id reveals nothing.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, NotFound, PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle, ScopedRateThrottle, UserRateThrottle
from rest_framework.views import APIView

from apps.core.api_errors import ApiErrorSerializer, error_responses
from apps.jobs.api import JOB_EXAMPLE, JobOutputSerializer, StrictCharField, StrictSerializer
from apps.research.access import RESEARCH_READER_ROLES, allowed_access_levels, can_delete_document
from apps.research.models import AccessLevel, Company, Document, DocumentChunk, DocumentStatus, DocumentType
from apps.research.selectors import (
    MODEL_WORKER_ERRORS,
    Answer,
    DocumentFilters,
    SearchQuery,
    SearchResult,
    answer_question_for_user,
    chunk_search_for_user,
    document_get_for_user,
    document_is_busy,
    document_list_filtered_for_user,
    redaction_counts,
)
from apps.research.services import (
    DuplicateDocument,
    UploadFile,
    UploadMetadata,
    UploadRefused,
    document_delete,
    document_reindex,
    documents_upload_many,
)
from pipelines.parsing.errors import DocumentRejected

SEARCH_MODES = ("hybrid", "dense", "keyword")
MAX_SEARCH_LIMIT = 50
DOCUMENT_ID_EXAMPLE = "0b6f3c5e-2d4a-4c1e-9f5a-7d2b8e1a6c33"
CHUNK_ID_EXAMPLE = "5f0e8a52-93c1-5d8e-b0a4-1c2d3e4f5a6b"
EXAMPLE_SECTION = "Acme Industrial Q3 review \u203a Balance sheet"  # headings joined as the chunker does


def document_api_url(document_id: Any) -> str:
    return reverse("api-document-detail", args=[document_id])


def document_page_url(document_id: Any) -> str:
    return reverse("research:document-detail", args=[document_id])


def chunk_page_url(document_id: Any, chunk_id: str) -> str:
    """The document page scrolled to (and highlighting) the chunk, on whichever page of chunks holds it."""
    return f"{document_page_url(document_id)}?chunk={chunk_id}#chunk-{chunk_id}"


class ModelWorkerUnavailable(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "model_worker_unavailable"
    default_detail = "The model worker did not answer in time; try again shortly."


def _model_worker_unavailable() -> ModelWorkerUnavailable:
    return ModelWorkerUnavailable(
        f"The model worker did not answer within {settings.ARGUS_SEARCH_TIMEOUT:g} seconds: it is busy, "
        "stopped, or the broker is unreachable. Nothing was retrieved; try again shortly."
    )


def _error_response(status_code: int, description: str, example_name: str, example: dict[str, Any]) -> OpenApiResponse:
    return OpenApiResponse(
        response=ApiErrorSerializer,
        description=description,
        examples=[OpenApiExample(example_name, value=example, response_only=True, status_codes=[str(status_code)])],
    )


MODEL_WORKER_503 = _error_response(
    503,
    "The model worker (which embeds the query and owns the vector store) did not answer in time.",
    "Model worker timeout",
    {
        "error": {
            "status": 503,
            "code": "model_worker_unavailable",
            "detail": "The model worker did not answer within 30 seconds: it is busy, stopped, or the broker is "
            "unreachable. Nothing was retrieved; try again shortly.",
        }
    },
)
DOCUMENT_BUSY_409 = _error_response(
    409,
    "A job is still working on the document (ingest, re-index or delete); wait for it to finish.",
    "Document busy",
    {
        "error": {
            "status": 409,
            "code": "document_busy",
            "detail": "The document is being indexed; wait until its job finished.",
        }
    },
)


class DocumentBusy(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "document_busy"


def _refuse_if_busy(document: Document) -> None:
    if document_is_busy(document):
        state = "deleted" if document.status == DocumentStatus.DELETING else "indexed"
        raise DocumentBusy(f"The document is being {state}; wait until its job finished.")


def existing_document_ref(document: Document, user: Any) -> dict[str, str] | None:
    """Where the stored copy of a duplicate lives; None when the uploader may not read it."""
    if document_get_for_user(user, document.pk) is None:
        return None
    return {"id": str(document.pk), "url": document_api_url(document.pk), "page_url": document_page_url(document.pk)}


def refused_file_entry(refusal: DocumentRejected, *, filename: str, user: Any) -> dict[str, Any]:
    """One refused file as the API and the upload page report it: reason, message, and a duplicate's original."""
    entry: dict[str, Any] = {"reason": refusal.reason_code, "message": refusal.message, "filename": filename}
    if isinstance(refusal, DuplicateDocument):
        ref = existing_document_ref(refusal.existing, user)
        if ref is None:
            # Its title and id would tell the uploader about a document they may not read.
            entry["message"] = "This file was already uploaded as a document you do not have access to."
        else:
            entry["existing_document"] = ref
    return entry


def refusal_body(refused: UploadRefused, *, filenames: list[str], user: Any) -> tuple[int, dict[str, Any]]:
    """The error envelope of a refused upload: 409 when every refused file is a stored duplicate, else 400."""
    files = {
        str(index): refused_file_entry(refusal, filename=filenames[index], user=user)
        for index, refusal in sorted(refused.refusals.items())
    }
    duplicates = [r for r in refused.refusals.values() if isinstance(r, DuplicateDocument)]
    first = files[min(files, key=int)]
    summary = f"{first['filename']}: {first['message']}"
    if len(filenames) > 1:
        summary = f"{len(files)} of {len(filenames)} files were refused. {summary}"
    body: dict[str, Any] = {"detail": f"{summary} Nothing was stored.", "fields": {"files": files}}
    if len(duplicates) == len(refused.refusals):
        body = {"status": status.HTTP_409_CONFLICT, "code": "duplicate", **body}
        if len(files) == 1 and "existing_document" in first:
            body["existing_document"] = first["existing_document"]
        return status.HTTP_409_CONFLICT, body
    return status.HTTP_400_BAD_REQUEST, {"status": status.HTTP_400_BAD_REQUEST, "code": "upload_rejected", **body}


# --- output -----------------------------------------------------------------------


class DocumentSerializer(serializers.ModelSerializer):
    ticker = serializers.CharField(source="company.ticker", default=None, help_text="Null when no company is linked.")
    company = serializers.CharField(source="company.name", default=None)
    uploaded_by = serializers.CharField(source="uploaded_by.username", default=None, help_text="Null for system loads.")
    job_id = serializers.UUIDField(default=None, read_only=True, help_text="The last ingest or re-index job.")
    url = serializers.SerializerMethodField(help_text="This document in the API.")
    page_url = serializers.SerializerMethodField(help_text="This document's page in the web UI.")

    class Meta:
        model = Document
        fields = [
            "id", "title", "ticker", "company", "doc_type", "access_level", "status", "status_reason", "source",
            "published_on", "original_name", "file_format", "size_bytes", "page_count", "chunk_count",
            "uploaded_by", "job_id", "created_at", "indexed_at", "url", "page_url",
        ]  # fmt: skip

    def get_url(self, document: Document) -> str:
        return document_api_url(document.pk)

    def get_page_url(self, document: Document) -> str:
        return document_page_url(document.pk)


class DocumentDetailSerializer(DocumentSerializer):
    redactions = serializers.SerializerMethodField(
        help_text="How many values of each kind (email, phone, iban, person, ...) were redacted before indexing. "
        "The values themselves are never stored or returned."
    )
    redact_person_names = serializers.BooleanField()
    chunks_url = serializers.SerializerMethodField()
    can_delete = serializers.SerializerMethodField(help_text="Whether the caller may delete it (uploader or admin).")

    class Meta(DocumentSerializer.Meta):
        fields = [*DocumentSerializer.Meta.fields, "redact_person_names", "redactions", "chunks_url", "can_delete"]

    @extend_schema_field(serializers.DictField(child=serializers.IntegerField()))
    def get_redactions(self, document: Document) -> dict[str, int]:
        return redaction_counts(document)

    def get_chunks_url(self, document: Document) -> str:
        return reverse("api-document-chunks", args=[document.pk])

    def get_can_delete(self, document: Document) -> bool:
        return can_delete_document(self.context["request"].user, document)


class ChunkSerializer(serializers.ModelSerializer):
    page_url = serializers.SerializerMethodField()

    class Meta:
        model = DocumentChunk
        fields = [
            "chunk_id", "ordinal", "section", "page_start", "page_end", "char_start", "char_end", "token_count",
            "text", "page_url",
        ]  # fmt: skip

    def get_page_url(self, chunk: DocumentChunk) -> str:
        return chunk_page_url(chunk.document_id, chunk.chunk_id)


class UploadedDocumentSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    page_url = serializers.SerializerMethodField()

    class Meta:
        model = Document
        fields = ["id", "title", "status", "original_name", "access_level", "url", "page_url"]

    def get_url(self, document: Document) -> str:
        return document_api_url(document.pk)

    def get_page_url(self, document: Document) -> str:
        return document_page_url(document.pk)


class UploadOutputSerializer(serializers.Serializer):
    job = JobOutputSerializer(help_text="One ingest job for the whole upload; poll its status_url.")
    documents = UploadedDocumentSerializer(many=True)


class DocumentRefSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="pk")
    title = serializers.CharField()
    ticker = serializers.CharField(source="company.ticker", default=None)
    doc_type = serializers.ChoiceField(choices=DocumentType.choices)
    published_on = serializers.DateField(allow_null=True)
    access_level = serializers.ChoiceField(choices=AccessLevel.choices)
    url = serializers.SerializerMethodField()
    page_url = serializers.SerializerMethodField()

    def get_url(self, document: Document) -> str:
        return document_api_url(document.pk)

    def get_page_url(self, document: Document) -> str:
        return document_page_url(document.pk)


class HighlightSerializer(serializers.Serializer):
    start = serializers.IntegerField(help_text="Character offset in `text` where a query term starts.")
    end = serializers.IntegerField(help_text="Offset just after it.")


class SearchResultSerializer(serializers.Serializer):
    rank = serializers.IntegerField(help_text="1 = best.")
    chunk_id = serializers.CharField(source="chunk.chunk_id")
    document = DocumentRefSerializer()
    page = serializers.IntegerField(
        source="chunk.page_start", allow_null=True, help_text="Null for formats without pages."
    )
    page_end = serializers.IntegerField(source="chunk.page_end", allow_null=True)
    section = serializers.CharField(source="chunk.section", help_text="Enclosing headings, outermost first.")
    text = serializers.CharField(source="chunk.text", help_text="The chunk as indexed (after redaction).")
    highlights = serializers.SerializerMethodField()
    score = serializers.FloatField(help_text="The mode's score: fused RRF (hybrid), cosine (dense) or BM25 (keyword).")
    ranks = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="Rank per retriever (dense, keyword) where the chunk was a candidate.",
    )
    chunk_url = serializers.SerializerMethodField(help_text="The chunk on its document's page in the web UI.")

    @extend_schema_field(HighlightSerializer(many=True))
    def get_highlights(self, result: SearchResult) -> list[dict[str, int]]:
        return [{"start": start, "end": end} for start, end in result.highlights]

    def get_chunk_url(self, result: SearchResult) -> str:
        return chunk_page_url(result.document.pk, result.chunk.chunk_id)


class SearchOutputSerializer(serializers.Serializer):
    query = serializers.CharField()
    mode = serializers.ChoiceField(choices=SEARCH_MODES)
    count = serializers.IntegerField()
    results = SearchResultSerializer(many=True)


class CitationSerializer(serializers.Serializer):
    chunk_id = serializers.CharField()
    document_id = serializers.UUIDField()
    title = serializers.CharField(source="document_title")
    page = serializers.IntegerField(allow_null=True)
    section = serializers.CharField()
    url = serializers.SerializerMethodField(help_text="The cited chunk on its document's page in the web UI.")

    def get_url(self, citation: Any) -> str:
        return chunk_page_url(citation.document_id, citation.chunk_id)


class AnswerSentenceSerializer(serializers.Serializer):
    text = serializers.CharField()
    citation = CitationSerializer()


class AnswerOutputSerializer(serializers.Serializer):
    question = serializers.CharField()
    answer = AnswerSentenceSerializer(many=True, source="sentences", help_text="Each sentence cites one chunk.")
    insufficient_evidence = serializers.BooleanField(
        help_text="True when the retrieved chunks do not answer the question; `answer` is then empty."
    )
    method = serializers.CharField(help_text="`extractive` (sentences quoted from the chunks) or a generation method.")
    sources = SearchResultSerializer(many=True, help_text="The retrieved chunks the answer was drawn from.")


# --- input ------------------------------------------------------------------------


def _validate_date_range(data: dict[str, Any]) -> dict[str, Any]:
    start, end = data.get("published_from"), data.get("published_to")
    if start and end and start > end:
        raise serializers.ValidationError({"published_to": ["Must not be before published_from."]})
    return data


class DocumentUploadInputSerializer(StrictSerializer):
    files = serializers.ListField(
        child=serializers.FileField(allow_empty_file=True, use_url=False),
        min_length=1,
        max_length=settings.ARGUS_MAX_UPLOAD_FILES,
        help_text=(
            f"1 to {settings.ARGUS_MAX_UPLOAD_FILES} files (repeat the `files` part), each at most "
            f"{settings.ARGUS_MAX_UPLOAD_BYTES // (1024 * 1024)} MB and "
            f"{settings.ARGUS_MAX_UPLOAD_PAGES} pages: PDF (text layer), HTML, Markdown, plain text, "
            "or JSON lines (a batch: one document per line with `text` and optional `title`, `ticker`, "
            "`type`, `date`, `source`, `access_level`)."
        ),
    )
    ticker = serializers.CharField(
        required=False, allow_blank=True, max_length=16, help_text="A ticker of the company master, e.g. ACME."
    )
    doc_type = serializers.ChoiceField(choices=DocumentType.choices, default=DocumentType.OTHER)
    title = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=500,
        help_text="Single file only; defaults to the file's own title.",
    )
    source = serializers.CharField(required=False, allow_blank=True, max_length=255)
    published_on = serializers.DateField(required=False, allow_null=True)
    access_level = serializers.ChoiceField(
        choices=AccessLevel.choices,
        default=AccessLevel.INTERNAL,
        help_text="Who may read the documents; only a level the uploader may read is accepted.",
    )
    redact_person_names = serializers.BooleanField(
        default=False, help_text="Also redact person names (NER) besides e-mails, phones, IBANs and national ids."
    )

    def validate_ticker(self, ticker: str) -> str:
        ticker = ticker.strip().upper()
        if ticker and not Company.objects.filter(ticker=ticker).exists():
            raise serializers.ValidationError(f"No company with ticker {ticker} in the company master.")
        return ticker

    def validate_access_level(self, level: str) -> str:
        if level not in allowed_access_levels(self.context["request"].user):
            raise serializers.ValidationError(f"You may not upload {level} documents: your role cannot read them.")
        return level

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if data.get("title") and len(data["files"]) > 1:
            raise serializers.ValidationError({"title": ["A title applies to a single file; leave it empty."]})
        return data


class _SearchFiltersSerializer(StrictSerializer):
    tickers = serializers.ListField(
        child=StrictCharField(max_length=16), required=False, default=list, max_length=50, help_text="Any of these."
    )
    doc_types = serializers.ListField(
        child=serializers.ChoiceField(choices=DocumentType.choices), required=False, default=list, max_length=10
    )
    published_from = serializers.DateField(required=False, allow_null=True, default=None)
    published_to = serializers.DateField(required=False, allow_null=True, default=None)
    mode = serializers.ChoiceField(
        choices=SEARCH_MODES,
        default="hybrid",
        help_text="hybrid: dense and keyword results fused by reciprocal rank; dense: embeddings only; "
        "keyword: BM25 only.",
    )
    limit = serializers.IntegerField(min_value=1, max_value=MAX_SEARCH_LIMIT, default=10)

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        return _validate_date_range(data)


class SearchInputSerializer(_SearchFiltersSerializer):
    query = StrictCharField(max_length=1000, trim_whitespace=True)


class AskInputSerializer(_SearchFiltersSerializer):
    question = StrictCharField(max_length=1000, trim_whitespace=True)


def _search_query(data: dict[str, Any], text: str) -> SearchQuery:
    return SearchQuery(
        text=text,
        tickers=tuple(t.strip().upper() for t in data["tickers"] if t.strip()),
        doc_types=tuple(dict.fromkeys(data["doc_types"])),
        published_from=data["published_from"],
        published_to=data["published_to"],
        mode=data["mode"],
        limit=data["limit"],
    )


class DocumentFilterInputSerializer(StrictSerializer):
    """Query parameters of the document list; pagination's own are let through."""

    PAGINATION_PARAMS = frozenset({"limit", "offset"})

    ticker = serializers.CharField(required=False, allow_blank=True, max_length=16)
    doc_type = serializers.ChoiceField(choices=DocumentType.choices, required=False, allow_blank=True)
    status = serializers.ChoiceField(choices=DocumentStatus.choices, required=False, allow_blank=True)
    access_level = serializers.ChoiceField(choices=AccessLevel.choices, required=False, allow_blank=True)
    published_from = serializers.DateField(required=False, allow_null=True)
    published_to = serializers.DateField(required=False, allow_null=True)
    q = serializers.CharField(required=False, allow_blank=True, max_length=200, help_text="Words of the title.")

    def to_internal_value(self, data: Any) -> Any:
        return super().to_internal_value({k: v for k, v in data.items() if k not in self.PAGINATION_PARAMS})

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        return _validate_date_range(data)

    def filters(self) -> DocumentFilters:
        data = self.validated_data
        return DocumentFilters(
            ticker=data.get("ticker", ""),
            doc_type=data.get("doc_type", ""),
            status=data.get("status", ""),
            access_level=data.get("access_level", ""),
            published_from=data.get("published_from"),
            published_to=data.get("published_to"),
            text=data.get("q", ""),
        )


# --- throttling -------------------------------------------------------------------


class _JobThrottledOnWrites:
    """Writes that start a job share the ``jobs`` rate; reads only the per-user one."""

    throttle_scope = "jobs"

    def get_throttles(self) -> list[BaseThrottle]:
        if self.request.method in ("GET", "HEAD", "OPTIONS"):
            return [UserRateThrottle()]
        return [UserRateThrottle(), ScopedRateThrottle()]


# --- documents --------------------------------------------------------------------

DOCUMENT_EXAMPLE = {
    "id": DOCUMENT_ID_EXAMPLE,
    "title": "Acme Industrial Q3 review",
    "ticker": "ACME",
    "company": "Acme Industrial Corp",
    "doc_type": "report",
    "access_level": "internal",
    "status": "indexed",
    "status_reason": "",
    "source": "Sell-side note",
    "published_on": "2025-10-28",
    "original_name": "acme-q3.md",
    "file_format": "markdown",
    "size_bytes": 2048,
    "page_count": None,
    "chunk_count": 3,
    "uploaded_by": "ana-analyst",
    "job_id": JOB_EXAMPLE["id"],
    "created_at": "2025-11-02T09:15:00Z",
    "indexed_at": "2025-11-02T09:15:04Z",
    "url": f"/api/documents/{DOCUMENT_ID_EXAMPLE}/",
    "page_url": f"/research/documents/{DOCUMENT_ID_EXAMPLE}/",
}
UPLOAD_REFUSED_EXAMPLE = {
    "error": {
        "status": 400,
        "code": "upload_rejected",
        "detail": "2 of 3 files were refused; nothing was stored. setup.exe: unsupported_type — The file type is "
        "not supported (PDF, HTML, Markdown, plain text, JSON lines).",
        "fields": {
            "files": {
                "1": {
                    "reason": "unsupported_type",
                    "message": "The file type is not supported (PDF, HTML, Markdown, plain text, JSON lines).",
                    "filename": "setup.exe",
                },
                "2": {
                    "reason": "file_too_large",
                    "message": "The file is 31.0 MB; the limit is 20 MB.",
                    "filename": "annual-report.pdf",
                },
            }
        },
    }
}
DUPLICATE_EXAMPLE = {
    "error": {
        "status": 409,
        "code": "duplicate",
        "detail": "acme-q3.md: This file was already uploaded as “Acme Industrial Q3 review” (document "
        f"{DOCUMENT_ID_EXAMPLE}). Nothing was stored.",
        "existing_document": {
            "id": DOCUMENT_ID_EXAMPLE,
            "url": f"/api/documents/{DOCUMENT_ID_EXAMPLE}/",
            "page_url": f"/research/documents/{DOCUMENT_ID_EXAMPLE}/",
        },
        "fields": {
            "files": {
                "0": {
                    "reason": "duplicate",
                    "message": "This file was already uploaded as “Acme Industrial Q3 review” (document "
                    f"{DOCUMENT_ID_EXAMPLE}).",
                    "filename": "acme-q3.md",
                    "existing_document": {
                        "id": DOCUMENT_ID_EXAMPLE,
                        "url": f"/api/documents/{DOCUMENT_ID_EXAMPLE}/",
                        "page_url": f"/research/documents/{DOCUMENT_ID_EXAMPLE}/",
                    },
                }
            }
        },
    }
}


class DocumentListCreateApi(_JobThrottledOnWrites, GenericAPIView):
    """The documents the caller may read, and uploads of new ones."""

    allowed_roles = RESEARCH_READER_ROLES
    # Uploads are multipart; every other endpoint of the API stays JSON only.
    parser_classes = [MultiPartParser]
    serializer_class = DocumentSerializer

    def get_queryset(self):
        params = DocumentFilterInputSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        return document_list_filtered_for_user(self.request.user, params.filters())

    @extend_schema(
        operation_id="documents_list",
        summary="List documents",
        description=(
            "Documents the caller may read (their access level allows it), newest first, paginated with "
            "`limit`/`offset`. Filters combine with AND; an unknown parameter or value is a 400."
        ),
        parameters=[DocumentFilterInputSerializer],
        responses={
            200: OpenApiResponse(
                DocumentSerializer(many=True),
                examples=[
                    OpenApiExample(
                        "One page",
                        value={"count": 1, "next": None, "previous": None, "results": [DOCUMENT_EXAMPLE]},
                    )
                ],
            ),
            **error_responses(400, 401, 403, 429),
        },
        tags=["research"],
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(DocumentSerializer(page, many=True).data)

    @extend_schema(
        operation_id="documents_upload",
        summary="Upload documents",
        description=(
            "Multipart upload of one or several files (repeat the `files` part) with metadata that applies to "
            "all of them. A `.jsonl` file is a batch: one document per line.\n\n"
            "All or nothing: every file is checked (size before it is read, type, pages, encryption, readable "
            "text, duplicates) before anything is stored. If any file is refused, nothing is stored and the "
            "answer is **400** `upload_rejected` listing each refused file under `fields.files[index]` with its "
            "`reason` (`file_too_large`, `unsupported_type`, `type_mismatch`, `empty_document`, `no_text_layer`, "
            "`encrypted_pdf`, `too_many_pages`, `unreadable_document`, `invalid_encoding`, `malformed_jsonl`, "
            "`unknown_company`, `access_level_not_allowed`, `duplicate`) and `message`. A file over the size "
            "limit is refused with 400 `file_too_large` (not 413), in the same envelope as every other refusal. "
            "When every refused file is a copy of a stored document, the answer is **409** `duplicate` with the "
            "existing document's id and URLs (only if the caller may read it).\n\n"
            "Accepted: **202** with one ingest job (poll `status_url`) and the new documents (status `queued`). "
            "Roles: analyst, risk_officer, admin."
        ),
        request={"multipart/form-data": DocumentUploadInputSerializer},
        responses={
            202: OpenApiResponse(UploadOutputSerializer, description="Stored and queued for ingestion."),
            400: _error_response(
                400,
                "Invalid metadata (standard field errors), or refused files: nothing was stored.",
                "Refused files",
                UPLOAD_REFUSED_EXAMPLE,
            ),
            409: _error_response(409, "Every refused file was already uploaded.", "Duplicate", DUPLICATE_EXAMPLE),
            **error_responses(401, 403, 415, 429),
        },
        examples=[
            OpenApiExample(
                "Two reports for ACME",
                value={
                    "files": ["acme-q3.pdf", "acme-call-notes.md"],
                    "ticker": "ACME",
                    "doc_type": "report",
                    "access_level": "internal",
                    "published_on": "2025-10-28",
                },
                request_only=True,
            ),
            OpenApiExample(
                "Queued",
                value={
                    "job": {**JOB_EXAMPLE, "kind": "ingest", "message": "1 document(s) waiting to be ingested"},
                    "documents": [
                        {
                            "id": DOCUMENT_ID_EXAMPLE,
                            "title": "Acme Industrial Q3 review",
                            "status": "queued",
                            "original_name": "acme-q3.md",
                            "access_level": "internal",
                            "url": f"/api/documents/{DOCUMENT_ID_EXAMPLE}/",
                            "page_url": f"/research/documents/{DOCUMENT_ID_EXAMPLE}/",
                        }
                    ],
                },
                response_only=True,
                status_codes=["202"],
            ),
        ],
        tags=["research"],
    )
    def post(self, request: Request) -> Response:
        payload = DocumentUploadInputSerializer(data=request.data, context={"request": request})
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        uploads = [
            UploadFile(filename=f.name, content_type=f.content_type or "", size=f.size, read=f.read)
            for f in data["files"]
        ]
        meta = UploadMetadata(
            ticker=data.get("ticker", ""),
            doc_type=data["doc_type"],
            title=data.get("title", ""),
            source=data.get("source", ""),
            published_on=data.get("published_on"),
            access_level=data["access_level"],
            redact_person_names=data["redact_person_names"],
        )
        try:
            result = documents_upload_many(uploader=request.user, files=uploads, meta=meta)
        except UploadRefused as refused:
            status_code, body = refusal_body(refused, filenames=[u.filename for u in uploads], user=request.user)
            return Response({"error": body}, status=status_code)
        return Response(
            UploadOutputSerializer({"job": result.job, "documents": result.documents}).data,
            status=status.HTTP_202_ACCEPTED,
        )


def _document_or_404(request: Request, document_id: Any) -> Document:
    document = document_get_for_user(request.user, document_id)
    if document is None:
        # 404, not 403: a restricted document's id reveals nothing.
        raise NotFound("No such document.")
    return document


class DocumentDetailApi(_JobThrottledOnWrites, APIView):
    allowed_roles = RESEARCH_READER_ROLES

    @extend_schema(
        operation_id="documents_retrieve",
        summary="Get one document",
        description=(
            "Metadata, status (with the reason when it failed), chunk count and redaction counts by kind. "
            "A document the caller may not read is a 404, exactly like one that does not exist."
        ),
        responses={
            200: OpenApiResponse(
                DocumentDetailSerializer,
                examples=[
                    OpenApiExample(
                        "Indexed",
                        value={
                            **DOCUMENT_EXAMPLE,
                            "redact_person_names": False,
                            "redactions": {"email": 1, "phone": 1},
                            "chunks_url": f"/api/documents/{DOCUMENT_ID_EXAMPLE}/chunks/",
                            "can_delete": True,
                        },
                    )
                ],
            ),
            **error_responses(401, 403, 404, 429),
        },
        tags=["research"],
    )
    def get(self, request: Request, document_id) -> Response:
        document = _document_or_404(request, document_id)
        return Response(DocumentDetailSerializer(document, context={"request": request}).data)

    @extend_schema(
        operation_id="documents_destroy",
        summary="Delete a document",
        description=(
            "Deletes the document everywhere (its vectors, chunks, row and stored file) as a job: 202 with the "
            "job. Only its uploader or an admin may delete it (403 for other readers); the document shows "
            "status `deleting` until the job removed it."
        ),
        request=None,
        responses={
            202: OpenApiResponse(
                JobOutputSerializer,
                examples=[
                    OpenApiExample("Queued", value={**JOB_EXAMPLE, "kind": "delete", "message": "Waiting to delete"})
                ],
            ),
            409: DOCUMENT_BUSY_409,
            **error_responses(401, 403, 404, 429),
        },
        tags=["research"],
    )
    def delete(self, request: Request, document_id) -> Response:
        document = _document_or_404(request, document_id)
        if not can_delete_document(request.user, document):
            raise PermissionDenied("Only the uploader of a document or an admin may delete it.")
        _refuse_if_busy(document)
        job = document_delete(user=request.user, document=document)
        return Response(JobOutputSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class DocumentChunkListApi(GenericAPIView):
    allowed_roles = RESEARCH_READER_ROLES
    serializer_class = ChunkSerializer

    @extend_schema(
        operation_id="documents_chunks_list",
        summary="List a document's chunks",
        description=(
            "The indexed passages of a document in reading order, paginated with `limit`/`offset`: section, "
            "pages, character offsets and text (after redaction). 404 for a document the caller may not read."
        ),
        responses={200: ChunkSerializer(many=True), **error_responses(401, 403, 404, 429)},
        tags=["research"],
    )
    def get(self, request: Request, document_id) -> Response:
        document = _document_or_404(request, document_id)
        chunks = DocumentChunk.objects.filter(document=document).order_by("ordinal")
        page = self.paginate_queryset(chunks)
        return self.get_paginated_response(ChunkSerializer(page, many=True).data)


class DocumentReindexApi(_JobThrottledOnWrites, APIView):
    allowed_roles = RESEARCH_READER_ROLES

    @extend_schema(
        operation_id="documents_reindex",
        summary="Re-index a document",
        description=(
            "Runs the ingest again (parse, redact, chunk, embed, index) and replaces the document's chunks and "
            "vectors: 202 with the job. Any reader of the document may re-index it; 409 while a job still works "
            "on it."
        ),
        request=None,
        responses={
            202: OpenApiResponse(
                JobOutputSerializer,
                examples=[
                    OpenApiExample("Queued", value={**JOB_EXAMPLE, "kind": "reindex", "message": "Waiting to re-index"})
                ],
            ),
            409: DOCUMENT_BUSY_409,
            **error_responses(401, 403, 404, 429),
        },
        tags=["research"],
    )
    def post(self, request: Request, document_id) -> Response:
        document = _document_or_404(request, document_id)
        _refuse_if_busy(document)
        job = document_reindex(user=request.user, document=document)
        return Response(JobOutputSerializer(job).data, status=status.HTTP_202_ACCEPTED)


# --- search and answers -----------------------------------------------------------

SEARCH_RESULT_EXAMPLE = {
    "rank": 1,
    "chunk_id": CHUNK_ID_EXAMPLE,
    "document": {
        "id": DOCUMENT_ID_EXAMPLE,
        "title": "Acme Industrial Q3 review",
        "ticker": "ACME",
        "doc_type": "report",
        "published_on": "2025-10-28",
        "access_level": "internal",
        "url": f"/api/documents/{DOCUMENT_ID_EXAMPLE}/",
        "page_url": f"/research/documents/{DOCUMENT_ID_EXAMPLE}/",
    },
    "page": None,
    "page_end": None,
    "section": EXAMPLE_SECTION,
    "text": "Net debt fell to $1.1 billion and net debt to EBITDA improved to 1.4 times.",
    "highlights": [{"start": 0, "end": 3}, {"start": 4, "end": 8}, {"start": 36, "end": 40}, {"start": 44, "end": 50}],
    "score": 0.0328,
    "ranks": {"dense": 1, "keyword": 1},
    "chunk_url": f"/research/documents/{DOCUMENT_ID_EXAMPLE}/?chunk={CHUNK_ID_EXAMPLE}#chunk-{CHUNK_ID_EXAMPLE}",
}


class SearchApi(APIView):
    allowed_roles = RESEARCH_READER_ROLES
    throttle_classes = [UserRateThrottle, ScopedRateThrottle]
    throttle_scope = "search"

    @extend_schema(
        operation_id="search",
        summary="Search document chunks",
        description=(
            "Ranked chunks for a query: hybrid (dense embeddings and BM25 keywords fused by reciprocal rank), "
            "dense or keyword only, with optional filters (tickers, document types, publication dates). The "
            "caller's access levels are a filter of the vector query itself, so a chunk of a document they may "
            "not read is never returned. Each result carries its document, page, section, the character spans "
            "of query terms (`highlights`) and its scores. The query embedding and the retrieval are recorded "
            "in the audit trail. Waits for the model worker: 503 if it does not answer in time."
        ),
        request=SearchInputSerializer,
        responses={
            200: SearchOutputSerializer,
            **error_responses(400, 401, 403, 415, 429),
            503: MODEL_WORKER_503,
        },
        examples=[
            OpenApiExample(
                "Filtered hybrid search",
                value={
                    "query": "net debt to EBITDA",
                    "tickers": ["ACME"],
                    "doc_types": ["report", "filing"],
                    "published_from": "2025-01-01",
                    "mode": "hybrid",
                    "limit": 5,
                },
                request_only=True,
            ),
            OpenApiExample(
                "Results",
                value={"query": "net debt to EBITDA", "mode": "hybrid", "count": 1, "results": [SEARCH_RESULT_EXAMPLE]},
                response_only=True,
                status_codes=["200"],
            ),
        ],
        tags=["research"],
    )
    def post(self, request: Request) -> Response:
        payload = SearchInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        query = _search_query(payload.validated_data, payload.validated_data["query"])
        try:
            results = chunk_search_for_user(request.user, query)
        except MODEL_WORKER_ERRORS:
            raise _model_worker_unavailable()
        body = {"query": query.text, "mode": query.mode, "count": len(results), "results": results}
        return Response(SearchOutputSerializer(body).data)


class AskApi(APIView):
    allowed_roles = RESEARCH_READER_ROLES
    throttle_classes = [UserRateThrottle, ScopedRateThrottle]
    throttle_scope = "search"

    @extend_schema(
        operation_id="ask",
        summary="Answer a question with citations",
        description=(
            "Retrieves chunks as `/api/search/` does (same filters, same access control), then answers from "
            "them only: every sentence of `answer` cites the chunk it comes from (`citation.chunk_id`). "
            "`insufficient_evidence` is true, and `answer` empty, when the retrieved chunks do not answer the "
            "question. `method` says how the answer was made (`extractive` quotes the best sentences). "
            "Waits for the model worker: 503 if it does not answer in time."
        ),
        request=AskInputSerializer,
        responses={
            200: AnswerOutputSerializer,
            **error_responses(400, 401, 403, 415, 429),
            503: MODEL_WORKER_503,
        },
        examples=[
            OpenApiExample(
                "Question",
                value={"question": "What was Acme's net debt to EBITDA after Q3?", "tickers": ["ACME"]},
                request_only=True,
            ),
            OpenApiExample(
                "Cited answer",
                value={
                    "question": "What was Acme's net debt to EBITDA after Q3?",
                    "answer": [
                        {
                            "text": "Net debt fell to $1.1 billion and net debt to EBITDA improved to 1.4 times.",
                            "citation": {
                                "chunk_id": CHUNK_ID_EXAMPLE,
                                "document_id": DOCUMENT_ID_EXAMPLE,
                                "title": "Acme Industrial Q3 review",
                                "page": None,
                                "section": EXAMPLE_SECTION,
                                "url": SEARCH_RESULT_EXAMPLE["chunk_url"],
                            },
                        }
                    ],
                    "insufficient_evidence": False,
                    "method": "extractive",
                    "sources": [SEARCH_RESULT_EXAMPLE],
                },
                response_only=True,
                status_codes=["200"],
            ),
            OpenApiExample(
                "Nothing relevant",
                value={
                    "question": "Who won the 1998 world cup?",
                    "answer": [],
                    "insufficient_evidence": True,
                    "method": "extractive",
                    "sources": [],
                },
                response_only=True,
                status_codes=["200"],
            ),
        ],
        tags=["research"],
    )
    def post(self, request: Request) -> Response:
        payload = AskInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        query = _search_query(payload.validated_data, payload.validated_data["question"])
        try:
            answer: Answer = answer_question_for_user(request.user, query)
        except MODEL_WORKER_ERRORS:
            raise _model_worker_unavailable()
        return Response(AnswerOutputSerializer(answer).data)
