"""Documents: upload (multipart, all or nothing), list, detail, chunks, re-index, delete."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api_errors import error_responses
from apps.core.api_pagination import BoundedLimitOffsetPagination
from apps.jobs.api import JOB_EXAMPLE, JobOutputSerializer
from apps.research.access import RESEARCH_READER_ROLES, can_delete_document, can_reindex_document
from apps.research.api.common import (
    DOCUMENT_BUSY_409,
    DOCUMENT_ID_EXAMPLE,
    JobThrottledOnWrites,
    document_api_url,
    document_page_url,
    error_response,
    refuse_if_busy,
)
from apps.research.api.serializers import (
    ChunkSerializer,
    DocumentDetailSerializer,
    DocumentFilterInputSerializer,
    DocumentSerializer,
    DocumentUploadInputSerializer,
    UploadOutputSerializer,
)
from apps.research.models import Document, DocumentChunk
from apps.research.selectors import document_get_for_user, document_list_filtered_for_user
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

# --- refused uploads ----------------------------------------------------------------


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


# --- examples -----------------------------------------------------------------------


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
    "fiscal_year": 2025,
    "fiscal_period": "Q3",
    "period_end": "2025-09-30",
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
        "detail": "2 of 3 files were refused. setup.exe: Files of type '.exe' are not supported; upload PDF, "
        "HTML, plain text, Markdown or JSON lines. Nothing was stored.",
        "fields": {
            "files": {
                "1": {
                    "reason": "unsupported_type",
                    "message": "Files of type '.exe' are not supported; upload PDF, HTML, plain text, Markdown or "
                    "JSON lines.",
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


class DocumentListCreateApi(JobThrottledOnWrites, GenericAPIView):
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
        # A bare list serializer (examples beside it): drf-spectacular then also documents limit/offset.
        responses={200: DocumentSerializer(many=True), **error_responses(400, 401, 403, 429)},
        examples=[
            OpenApiExample(
                "One page",
                value={"count": 1, "next": None, "previous": None, "results": [DOCUMENT_EXAMPLE]},
                response_only=True,
                status_codes=["200"],
            )
        ],
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
            "`unknown_company`, `access_level_not_allowed`, `invalid_fiscal_year`, `invalid_fiscal_period`, "
            "`duplicate`) and `message`. A file over the size "
            "limit is refused with 400 `file_too_large` (not 413), in the same envelope as every other refusal. "
            "When every refused file is a copy of a stored document, the answer is **409** `duplicate` with the "
            "existing document's id and URLs (only if the caller may read it).\n\n"
            "Accepted: **202** with one ingest job (poll `status_url`) and the new documents (status `queued`). "
            "Roles: analyst, risk_officer, admin."
        ),
        request={"multipart/form-data": DocumentUploadInputSerializer},
        responses={
            202: OpenApiResponse(UploadOutputSerializer, description="Stored and queued for ingestion."),
            400: error_response(
                400,
                "Invalid metadata (standard field errors), or refused files: nothing was stored.",
                "Refused files",
                UPLOAD_REFUSED_EXAMPLE,
            ),
            409: error_response(409, "Every refused file was already uploaded.", "Duplicate", DUPLICATE_EXAMPLE),
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
                    "fiscal_year": 2025,
                    "fiscal_period": "Q3",
                    "period_end": "2025-09-30",
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
            fiscal_year=data.get("fiscal_year"),
            fiscal_period=data.get("fiscal_period", ""),
            period_end=data.get("period_end"),
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


class DocumentDetailApi(JobThrottledOnWrites, APIView):
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
                            "can_reindex": True,
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
        refuse_if_busy(document)
        job = document_delete(user=request.user, document=document)
        return Response(JobOutputSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class ChunkPagination(BoundedLimitOffsetPagination):
    # Chunks hold at most ChunkingOptions.max_chars (2,000) characters: a page stays under ~0.5 MB.
    default_limit = 50
    max_limit = 200


class DocumentChunkListApi(GenericAPIView):
    allowed_roles = RESEARCH_READER_ROLES
    serializer_class = ChunkSerializer
    pagination_class = ChunkPagination

    @extend_schema(
        operation_id="documents_chunks_list",
        summary="List a document's chunks",
        description=(
            "The indexed passages of a document in reading order, paginated with `limit` (at most 200) and "
            "`offset`: section, pages, character offsets and text (after redaction, at most 2,000 characters "
            "per chunk). 404 for a document the caller may not read."
        ),
        responses={200: ChunkSerializer(many=True), **error_responses(400, 401, 403, 404, 429)},
        tags=["research"],
    )
    def get(self, request: Request, document_id) -> Response:
        document = _document_or_404(request, document_id)
        chunks = DocumentChunk.objects.filter(document=document).order_by("ordinal")
        page = self.paginate_queryset(chunks)
        return self.get_paginated_response(ChunkSerializer(page, many=True).data)


class DocumentReindexApi(JobThrottledOnWrites, APIView):
    allowed_roles = RESEARCH_READER_ROLES

    @extend_schema(
        operation_id="documents_reindex",
        summary="Re-index a document",
        description=(
            "Runs the ingest again (parse, redact, chunk, embed, index) and replaces the document's chunks and "
            "vectors: 202 with the job. Its uploader, risk officers and admins may re-index it (403 for other "
            "readers); 409 while a job still works on it."
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
        if not can_reindex_document(request.user, document):
            raise PermissionDenied("Only the uploader of a document, risk officers and admins may re-index it.")
        refuse_if_busy(document)
        job = document_reindex(user=request.user, document=document)
        return Response(JobOutputSerializer(job).data, status=status.HTTP_202_ACCEPTED)
