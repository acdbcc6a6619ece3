"""Search (waits for the interactive model worker, seconds) and cited answers (a job: 202, then poll)."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle, UserRateThrottle
from rest_framework.views import APIView

from apps.core.api_errors import error_responses
from apps.jobs.selectors import job_wait
from apps.research.access import RESEARCH_READER_ROLES
from apps.research.api.common import (
    CHUNK_ID_EXAMPLE,
    DOCUMENT_ID_EXAMPLE,
    EXAMPLE_SECTION,
    MODEL_WORKER_503,
    model_worker_unavailable,
)
from apps.research.api.serializers import (
    AnswerOutputSerializer,
    AskInputSerializer,
    AskJobOutputSerializer,
    SearchInputSerializer,
    SearchOutputSerializer,
    search_query,
)
from apps.research.selectors import (
    MODEL_WORKER_ERRORS,
    answer_for_job,
    answer_job_get_for_user,
    chunk_search_understood,
)
from apps.research.services import answer_job_create

ABSTENTION_THRESHOLDS_EXAMPLE = {
    "min_dense": settings.ARGUS_ABSTAIN_MIN_DENSE,
    "min_coverage": settings.ARGUS_ABSTAIN_MIN_COVERAGE,
    "min_fused": settings.ARGUS_ABSTAIN_MIN_FUSED,
    "min_name_coverage": settings.ARGUS_ABSTAIN_MIN_NAME_COVERAGE,
}
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
UNDERSTANDING_EXAMPLE = {
    "as_of": "2025-12-31",
    "companies": [{"ticker": "ACME", "name": "Acme Industrial Corp", "text": "Acme's", "method": "name"}],
    "periods": [{"text": "Q3 2025", "fiscal_year": 2025, "fiscal_period": "Q3", "label": "Q3 2025", "relative": ""}],
    "fiscal_years": [2025],
    "comparison": False,
    "peers": False,
    "latest": False,
    "latest_fiscal_year": None,
    "applied_filters": {"tickers": ["ACME"], "fiscal_years": [2025], "published_to": "2025-12-31"},
    "company_scope": ["ACME"],
    "fallback": None,
}
UNDERSTANDING_DOC = (
    "\n\n**Query understanding.** The companies (tickers in any form: `$ACME`, `NYSE: ACME`, names and aliases "
    "of the company master) and fiscal periods (`FY2021`, `fiscal 2022`, `Q2 2023`, `2Q23`, `H1 2024`, "
    "`last year`, `last quarter`, `latest`) named in the text become ticker and fiscal-year filters when the "
    "request gives none (`understand: false` turns this off). When they match nothing, the fiscal-year filter "
    "and then the company filter are dropped, and `query_understanding.fallback` says so. A fiscal-year filter "
    "keeps documents of unknown fiscal year (news, notes). `as_of` excludes every document published after it "
    "(and undated ones); relative periods resolve against it. An unknown ticker in `tickers` is a 400 naming it."
)


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
            "in the audit trail. Waits for the model worker: 503 if it does not answer in time." + UNDERSTANDING_DOC
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
                value={
                    "query": "Acme's net debt to EBITDA in Q3 2025",
                    "mode": "hybrid",
                    "count": 1,
                    "results": [SEARCH_RESULT_EXAMPLE],
                    "query_understanding": UNDERSTANDING_EXAMPLE,
                },
                response_only=True,
                status_codes=["200"],
            ),
        ],
        tags=["research"],
    )
    def post(self, request: Request) -> Response:
        payload = SearchInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        query = search_query(payload.validated_data, payload.validated_data["query"])
        try:
            outcome = chunk_search_understood(request.user, query)
        except MODEL_WORKER_ERRORS:
            raise model_worker_unavailable()
        body = {
            "query": query.text,
            "mode": query.mode,
            "count": len(outcome.results),
            "results": outcome.results,
            "query_understanding": outcome.understanding,
        }
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
            "question: below a calibrated relevance threshold no model is called (`method` `abstained`, the "
            "reason in `abstention`). `method` says how the answer was made (`extractive` quotes the best "
            "sentences). When two quoted sentences give different figures for the same metric and period, "
            "`conflicts` shows both with their citations, the more trusted source first (filings over "
            "releases over research over other uploads). A question that needs a value or a computation "
            "gets it in `computed`: done by code on cited table cells, with its formula and operands. "
            "An answer quotes only the companies the question names (`query_understanding.company_scope`), "
            "unless it compares with peers it does not name. "
            "The answer is a job on the interactive model worker: **202** with `status_url` at once (or after "
            "`wait` seconds, at most 10, if it is not ready by then), **200** with the answer when it is. "
            "GET `status_url` until it answers 200." + UNDERSTANDING_DOC
        ),
        request=AskInputSerializer,
        responses={
            200: AnswerOutputSerializer,
            202: AskJobOutputSerializer,
            **error_responses(400, 401, 403, 415, 429),
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
                    "job_id": "0b6f9a11-3f1c-4d55-9a4e-5d2f8a8e9f0e",
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
                    "conflicts": [],
                    "computed": None,
                    "abstention": {
                        "sufficient": True,
                        "reason": "relevant passages found",
                        "best_dense": 0.71,
                        "best_fused": 1.0,
                        "coverage": 1.0,
                        "name_coverage": 1.0,
                        "missing_terms": [],
                        "thresholds": ABSTENTION_THRESHOLDS_EXAMPLE,
                    },
                    "query_understanding": UNDERSTANDING_EXAMPLE,
                },
                response_only=True,
                status_codes=["200"],
            ),
            OpenApiExample(
                "Nothing relevant",
                value={
                    "job_id": "5d2f8a8e-0b6f-4d55-9a4e-9f0e3f1c9a11",
                    "question": "Who won the 1998 football world cup?",
                    "answer": [],
                    "insufficient_evidence": True,
                    "method": "abstained",
                    "sources": [],
                    "conflicts": [],
                    "computed": None,
                    "abstention": {
                        # As measured by bench/abstention_calibration.py on seven real 10-Ks: Disney's
                        # names ESPN, the World Cup and 1998, but no passage is about the question.
                        "sufficient": False,
                        "reason": "best passage similarity 0.13 < 0.53",
                        "best_dense": 0.129,
                        "best_fused": 0.643,
                        "coverage": 1.0,
                        "name_coverage": 1.0,
                        "missing_terms": [],
                        "thresholds": ABSTENTION_THRESHOLDS_EXAMPLE,
                    },
                    "query_understanding": {
                        **UNDERSTANDING_EXAMPLE,
                        "companies": [],
                        "periods": [
                            {
                                "text": "1998",
                                "fiscal_year": 1998,
                                "fiscal_period": "FY",
                                "label": "FY1998",
                                "relative": "",
                            }
                        ],
                        "fiscal_years": [1998],
                        "applied_filters": {"tickers": [], "fiscal_years": [1998], "published_to": None},
                        "company_scope": [],
                        "fallback": "No passage matched fiscal year 1998; searched without the fiscal-year filter.",
                    },
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
        query = search_query(payload.validated_data, payload.validated_data["question"])
        job = answer_job_create(user=request.user, query=query)
        job_wait(job, seconds=payload.validated_data["wait"])
        return ask_job_response(request, job)


def ask_job_response(request: Request, job: Any) -> Response:
    """200 with the answer when the job produced one; 202 with the job while it runs; 200 with the failed job."""
    answer = answer_for_job(request.user, job)
    if answer is None:
        status = 202 if not job.is_finished else 200
        return Response(AskJobOutputSerializer(job).data, status=status)
    fields = {f.name: getattr(answer, f.name) for f in dataclasses.fields(answer)}
    return Response(AnswerOutputSerializer({"job_id": job.id, **fields}).data)


class AskResultApi(APIView):
    allowed_roles = RESEARCH_READER_ROLES

    @extend_schema(
        operation_id="ask_result",
        summary="The answer of an ask job",
        description="**200** with the answer when it is ready (or with the failed job), **202** while it runs.",
        responses={200: AnswerOutputSerializer, 202: AskJobOutputSerializer, **error_responses(401, 403, 404, 429)},
        tags=["research"],
    )
    def get(self, request: Request, job_id: uuid.UUID) -> Response:
        job = answer_job_get_for_user(request.user, job_id)
        if job is None:
            raise NotFound("No such answer.")
        return ask_job_response(request, job)
