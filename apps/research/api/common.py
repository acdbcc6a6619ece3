"""What the research API's endpoints share: URLs of documents and chunks, errors, example ids."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from rest_framework import status
from rest_framework.exceptions import APIException

from apps.core.api_errors import ApiErrorSerializer
from apps.jobs.api import JobThrottledOnWrites as JobThrottledOnWrites
from apps.research.models import Document, DocumentStatus
from apps.research.selectors import document_api_url as document_api_url
from apps.research.selectors import document_is_busy

SEARCH_MODES = ("hybrid", "dense", "keyword")
MAX_SEARCH_LIMIT = 50
DOCUMENT_ID_EXAMPLE = "0b6f3c5e-2d4a-4c1e-9f5a-7d2b8e1a6c33"
CHUNK_ID_EXAMPLE = "5f0e8a52-93c1-5d8e-b0a4-1c2d3e4f5a6b"
EXAMPLE_SECTION = "Acme Industrial Q3 review \u203a Balance sheet"  # headings joined as the chunker does


def document_page_url(document_id: Any) -> str:
    return reverse("research:document-detail", args=[document_id])


class ModelWorkerUnavailable(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "model_worker_unavailable"
    default_detail = "The model worker did not answer in time; try again shortly."


def model_worker_unavailable() -> ModelWorkerUnavailable:
    return ModelWorkerUnavailable(
        f"The model worker did not answer within {settings.ARGUS_SEARCH_TIMEOUT:g} seconds: it is busy, "
        "stopped, or the broker is unreachable. Nothing was retrieved; try again shortly."
    )


def error_response(status_code: int, description: str, example_name: str, example: dict[str, Any]) -> OpenApiResponse:
    return OpenApiResponse(
        response=ApiErrorSerializer,
        description=description,
        examples=[OpenApiExample(example_name, value=example, response_only=True, status_codes=[str(status_code)])],
    )


MODEL_WORKER_503 = error_response(
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
DOCUMENT_BUSY_409 = error_response(
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


def refuse_if_busy(document: Document) -> None:
    if document_is_busy(document):
        state = "deleted" if document.status == DocumentStatus.DELETING else "indexed"
        raise DocumentBusy(f"The document is being {state}; wait until its job finished.")
