"""Research reports through the REST API: request (202 + job), poll, list, review, export."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, NotFound, PermissionDenied, ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.roles import user_has_role
from apps.core.api_errors import error_responses
from apps.jobs.api import JobThrottledOnWrites, StrictCharField, StrictSerializer
from apps.registry.selectors import adapter_ready_list
from apps.reports.access import REPORT_READER_ROLES, REPORT_REQUESTER_ROLES, can_review_report
from apps.reports.exports import report_export
from apps.reports.models import ReportStatus, ReportTemplate, ResearchReport, ReviewDecision
from apps.reports.selectors import (
    report_cited_chunks,
    report_get_for_user,
    report_list_filtered,
    report_list_for_user,
)
from apps.reports.services import ReportRequestError, ReviewError, report_request, report_review
from apps.research.selectors import chunk_page_url, document_api_url

REPORT_ID_EXAMPLE = "6c1d2f4e-9b7a-4c3e-8f21-0a9b8c7d6e5f"
REPORT_OUTPUT_EXAMPLE = {
    "ticker": "AAPL",
    "company": "Apple Inc.",
    "rating": "overweight",
    "target_price": {"value": "212.50", "currency": "USD"},
    "horizon": "12 months",
    "thesis": "Services growth and a resilient gross margin support earnings; the balance sheet stays net cash.",
    "key_metrics": [
        {"name": "revenue growth", "value": "6.1%", "unit": "%", "period": "Q3 2025", "citation": "c-9f2a-0003"},
        {"name": "net debt/EBITDA", "value": "insufficient evidence", "unit": "", "period": "", "citation": None},
    ],
    "risks": [{"risk": "Regulatory action on app store fees", "citation": "c-9f2a-0007"}],
    "citations": ["c-9f2a-0003", "c-9f2a-0007"],
}


class ReportInputSerializer(StrictSerializer):
    ticker = StrictCharField(max_length=16, help_text="A company of the company master.")
    template = serializers.ChoiceField(choices=ReportTemplate.choices, default=ReportTemplate.EQUITY_RESEARCH)
    question = StrictCharField(
        max_length=2000,
        required=False,
        allow_blank=True,
        default="",
        help_text="What the report should answer (empty: the template's question).",
    )
    required_indicators = serializers.ListField(
        child=StrictCharField(max_length=60, allow_blank=False),
        required=False,
        default=list,
        max_length=6,
        help_text="Indicators that must appear in key_metrics (a value from the sources or 'insufficient evidence').",
    )
    adapter = StrictCharField(
        max_length=100,
        required=False,
        allow_blank=True,
        default="",
        help_text="A ready LoRA adapter's name (newest version); empty: base model.",
    )
    as_of = serializers.DateField(
        required=False, allow_null=True, default=None, help_text="Only sources published on or before this date."
    )


class ReviewInputSerializer(StrictSerializer):
    decision = serializers.ChoiceField(choices=ReviewDecision.choices)
    comment = StrictCharField(max_length=5000, required=False, allow_blank=True, default="")


class ReportReviewSerializer(serializers.Serializer):
    reviewer = serializers.CharField(source="reviewer.username")
    decision = serializers.CharField()
    comment = serializers.CharField()
    created_at = serializers.DateTimeField()


class ReportCitationSerializer(serializers.Serializer):
    chunk_id = serializers.CharField()
    document_id = serializers.UUIDField(allow_null=True, help_text="Null when the chunk was deleted since.")
    document_url = serializers.CharField(allow_blank=True, help_text="The document in the API.")
    url = serializers.CharField(allow_blank=True, help_text="The chunk's page in the web UI.")
    fields = serializers.ListField(
        child=serializers.CharField(), help_text='The fields citing it: "key_metrics[0]", "target_price", "citations".'
    )


class ReportMismatchSerializer(serializers.Serializer):
    name = serializers.CharField(help_text='The field: a metric name, "target price", "thesis" or "risks[i]".')
    value = serializers.CharField()
    unit = serializers.CharField(allow_blank=True)
    period = serializers.CharField(allow_blank=True)
    citation = serializers.CharField(
        allow_null=True, help_text="The cited chunk (null: none, or the thesis's several)."
    )
    status = serializers.ChoiceField(choices=["mismatch", "not_found", "no_citation"])
    reason = serializers.ChoiceField(choices=["sign", "unit", "scale", "period", "not_found", "no_citation"])
    why = serializers.CharField()


class ReportOutputSerializer(serializers.ModelSerializer):
    ticker = serializers.CharField(source="company.ticker")
    requested_by = serializers.CharField(source="requested_by.username")
    job_id = serializers.UUIDField(allow_null=True)
    progress = serializers.SerializerMethodField(help_text="0-100, from the report's job.")
    message = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()
    status_url = serializers.SerializerMethodField(help_text="The report's job: poll it or this report.")
    page_url = serializers.SerializerMethodField()
    citations = serializers.SerializerMethodField(
        help_text="Every chunk a field cites (metrics, target price, risks, citations), with its document and pages."
    )
    mismatches = serializers.SerializerMethodField(
        help_text="Numbers the cited source does not support, and why; non-empty when status is needs_attention."
    )
    reviews = ReportReviewSerializer(many=True, read_only=True)
    exports = serializers.SerializerMethodField()

    class Meta:
        model = ResearchReport
        fields = [
            "id",
            "ticker",
            "template",
            "question",
            "required_indicators",
            "adapter_name",
            "adapter_label",
            "as_of",
            "status",
            "progress",
            "message",
            "error",
            "output",
            "findings",
            "supported_share",
            "numbers_checked",
            "numbers_unsupported",
            "mismatches",
            "chunk_ids",
            "citations",
            "access_level",
            "model_name",
            "model_version",
            "inference_seqs",
            "requested_by",
            "reviews",
            "created_at",
            "generated_at",
            "job_id",
            "url",
            "status_url",
            "page_url",
            "exports",
        ]

    def get_progress(self, report: ResearchReport) -> int:
        if report.status not in (ReportStatus.QUEUED, ReportStatus.GENERATING):
            return 100
        return report.job.progress if report.job else 0

    def get_message(self, report: ResearchReport) -> str:
        return report.job.message if report.job else ""

    def get_url(self, report: ResearchReport) -> str:
        return f"/api/reports/{report.pk}/"

    def get_status_url(self, report: ResearchReport) -> str:
        return f"/api/jobs/{report.job_id}/" if report.job_id else ""

    def get_page_url(self, report: ResearchReport) -> str:
        return f"/research/reports/{report.pk}/"

    @extend_schema_field(ReportCitationSerializer(many=True))
    def get_citations(self, report: ResearchReport) -> list[dict[str, Any]]:
        return [
            {
                **cited,
                "document_url": document_api_url(cited["document_id"]) if cited["document_id"] else "",
                "url": chunk_page_url(cited["document_id"], cited["chunk_id"]) if cited["document_id"] else "",
            }
            for cited in report_cited_chunks(report)
        ]

    @extend_schema_field(ReportMismatchSerializer(many=True))
    def get_mismatches(self, report: ResearchReport) -> list[dict[str, Any]]:
        return list((report.findings or {}).get("unsupported") or [])

    def get_exports(self, report: ResearchReport) -> dict[str, str]:
        if report.output is None:
            return {}
        return {fmt: f"/api/reports/{report.pk}/export/?as={fmt}" for fmt in ("md", "pdf", "html")}


def _query_flag(params: Any, name: str) -> bool:
    """A boolean query parameter: true/false (or 1/0); anything else is a 400, not a silent false."""
    raw = params.get(name)
    if raw is None:
        return False
    if raw in ("true", "1"):
        return True
    if raw in ("false", "0"):
        return False
    raise ValidationError({name: ["Must be true or false."]})


class ReportListCreateApi(JobThrottledOnWrites, ListAPIView):
    allowed_roles = REPORT_READER_ROLES
    serializer_class = ReportOutputSerializer

    def get_queryset(self):
        params = self.request.query_params
        # Present means one of the statuses: an empty value is refused, as the schema's enum says.
        if "status" in params and params["status"] not in ReportStatus.values:
            raise ValidationError({"status": [f"One of {', '.join(ReportStatus.values)}."]})
        return report_list_filtered(
            report_list_for_user(self.request.user),
            ticker=params.get("ticker", ""),
            status=params.get("status", ""),
            mine=_query_flag(params, "mine"),
            user=self.request.user,
        )

    @extend_schema(
        operation_id="reports_list",
        summary="List research reports",
        description=(
            "Newest first, paginated with `limit`/`offset`. Analysts see their own reports; reviewers (risk "
            "officers) and admins see everyone's. A report built on chunks the caller may not read is never listed."
        ),
        parameters=[
            OpenApiParameter("ticker", str, description="Only this company's reports."),
            OpenApiParameter("status", str, enum=ReportStatus.values),
            OpenApiParameter("mine", bool, description="Only reports the caller requested."),
        ],
        responses={200: ReportOutputSerializer(many=True), **error_responses(400, 401, 403, 429)},
        tags=["reports"],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="reports_create",
        summary="Request a research report",
        description=(
            "Queues a report job and answers 202 at once. The model worker retrieves the company's passages "
            "(the caller's access levels are part of every vector query), generates the report with a LoRA "
            "adapter under a JSON-Schema grammar (citations can only name retrieved chunks; each required "
            "indicator is present, with a value found in a cited source or 'insufficient evidence'), validates "
            "it again, checks every number against its cited chunk (sign, unit, scale, period), and stores it as a "
            "draft for review, or as `needs_attention` with its `mismatches` when a number is not supported. "
            "Poll `url` (or `status_url`) until `status` is `draft`, `needs_attention` or `failed`. "
            "Roles: analyst, risk_officer, admin."
        ),
        request=ReportInputSerializer,
        responses={
            202: OpenApiResponse(ReportOutputSerializer, description="Queued."),
            **error_responses(400, 401, 403, 415, 429),
        },
        examples=[
            OpenApiExample(
                "Equity research with required indicators",
                value={
                    "ticker": "AAPL",
                    "template": "equity_research",
                    "question": "Is the margin trend sustainable?",
                    "required_indicators": ["revenue growth", "gross margin", "net debt/EBITDA"],
                    "adapter": "argus-report-writer",
                    "as_of": "2025-12-31",
                },
                request_only=True,
            ),
            OpenApiExample(
                "Finished draft (GET /api/reports/{id}/)",
                value={
                    "id": REPORT_ID_EXAMPLE,
                    "ticker": "AAPL",
                    "status": "draft",
                    "progress": 100,
                    "output": REPORT_OUTPUT_EXAMPLE,
                    "findings": {"valid": True, "matched_share": 1.0},
                    "supported_share": 1.0,
                    "numbers_checked": 1,
                    "numbers_unsupported": 0,
                    "mismatches": [],
                },
                response_only=True,
                status_codes=["202"],
            ),
        ],
        tags=["reports"],
    )
    def post(self, request: Request) -> Response:
        if not user_has_role(request.user, REPORT_REQUESTER_ROLES):
            raise PermissionDenied("Your role cannot request reports.")
        payload = ReportInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        try:
            report = report_request(
                user=request.user,
                ticker=data["ticker"],
                template=data["template"],
                question=data["question"],
                required_indicators=data["required_indicators"],
                adapter_name=data["adapter"],
                as_of=data["as_of"],
            )
        except ReportRequestError as exc:
            raise ValidationError({exc.field: [str(exc)]}, code=exc.code)
        return Response(ReportOutputSerializer(report).data, status=status.HTTP_202_ACCEPTED)


def _report_or_404(request: Request, report_id: Any) -> ResearchReport:
    report = report_get_for_user(request.user, report_id)
    if report is None:
        raise NotFound("No such report.")  # another user's report id reveals nothing
    return report


class ReportDetailApi(APIView):
    allowed_roles = REPORT_READER_ROLES

    @extend_schema(
        operation_id="reports_retrieve",
        summary="Get one report",
        description="Status, progress and, once generated, the structured output, findings and citations.",
        responses={200: ReportOutputSerializer, **error_responses(401, 403, 404, 429)},
        tags=["reports"],
    )
    def get(self, request: Request, report_id) -> Response:
        return Response(ReportOutputSerializer(_report_or_404(request, report_id)).data)


class ReportReviewApi(APIView):
    allowed_roles = REPORT_READER_ROLES

    @extend_schema(
        operation_id="reports_review",
        summary="Approve or reject a draft report",
        description=(
            "Reviewers (risk officers, admins) decide on other people's drafts; every decision is kept with "
            "its reviewer and comment. A report that `needs_attention` (a number its cited source does not "
            "support, see `mismatches`) can be approved only with a `comment` (400 `comment_required`). "
            "409 when the report is not a draft or needs_attention."
        ),
        request=ReviewInputSerializer,
        responses={200: ReportOutputSerializer, **error_responses(400, 401, 403, 404, 409, 429)},
        tags=["reports"],
    )
    def post(self, request: Request, report_id) -> Response:
        report = _report_or_404(request, report_id)
        if not can_review_report(request.user, report):
            raise PermissionDenied("You may not review this report.")
        payload = ReviewInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            report_review(report=report, reviewer=request.user, **payload.validated_data)
        except ReviewError as exc:
            if exc.code == "not_draft":
                raise ReportConflict(str(exc), code="not_draft")
            if exc.code == "comment_required":
                raise ValidationError({"comment": [str(exc)]}, code="comment_required")
            raise PermissionDenied(str(exc))
        return Response(ReportOutputSerializer(report).data)


class ReportConflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


class ReportExportApi(APIView):
    allowed_roles = REPORT_READER_ROLES

    @extend_schema(
        operation_id="reports_export",
        summary="Export a report",
        description=(
            "The generated report as Markdown (`md`), a standalone HTML page (`html`) or a PDF (`pdf`), as a "
            "download. 409 while the report has no output yet."
        ),
        parameters=[
            OpenApiParameter("as", str, enum=["md", "pdf", "html"], default="md", description="The file format.")
        ],
        responses={
            (200, "text/markdown"): OpenApiTypes.STR,
            (200, "application/pdf"): OpenApiTypes.BINARY,
            **error_responses(400, 401, 403, 404, 409, 429),
        },
        tags=["reports"],
    )
    def get(self, request: Request, report_id) -> HttpResponse:
        report = _report_or_404(request, report_id)
        fmt = request.query_params.get("as", "md")
        if fmt not in ("md", "pdf", "html"):
            raise ValidationError({"as": ["One of md, pdf, html."]})
        if report.output is None:
            raise ReportConflict("The report has no output yet.", code="no_output")
        return report_export(report, fmt)


class AdapterOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    version = serializers.IntegerField()
    label = serializers.CharField()
    base_model = serializers.CharField(source="base_model.name")
    file_hash = serializers.CharField()
    description = serializers.CharField()


class AdapterListApi(APIView):
    allowed_roles = REPORT_READER_ROLES

    @extend_schema(
        operation_id="adapters_list",
        summary="Adapters a report can name",
        description="Ready LoRA adapters of the registered base models; `adapter` in a report request names one.",
        responses={200: AdapterOutputSerializer(many=True), **error_responses(401, 403, 429)},
        tags=["reports"],
    )
    def get(self, request: Request) -> Response:
        return Response(AdapterOutputSerializer(adapter_ready_list(), many=True).data)
