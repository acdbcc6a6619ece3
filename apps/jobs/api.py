from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.generics import GenericAPIView, ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle, ScopedRateThrottle, UserRateThrottle
from rest_framework.views import APIView

from apps.accounts.roles import ALL_ROLES, DESK_ROLES
from apps.core.api_errors import error_responses
from apps.core.api_pagination import BoundedLimitOffsetPagination
from apps.jobs.models import Job
from apps.jobs.selectors import job_embedding_vectors, job_get_for_user, job_summaries_for_user
from apps.jobs.services import embedding_job_create

JOB_EXAMPLE = {
    "id": "3f1c9f0e-8a8e-4d55-9a4e-5d2f0b6f9a11",
    "kind": "embed",
    "owner": "ana-analyst",
    "actor_label": "user:ana-analyst",
    "status": "queued",
    "progress": 0,
    "message": "Waiting for a worker",
    "error": "",
    "result": None,
    "result_ref": "",
    "attempts": 0,
    "created_at": "2025-03-04T09:15:00Z",
    "started_at": None,
    "finished_at": None,
    "status_url": "/api/jobs/3f1c9f0e-8a8e-4d55-9a4e-5d2f0b6f9a11/",
}

SUCCEEDED_EMBEDDING_JOB_EXAMPLE = {
    **JOB_EXAMPLE,
    "status": "succeeded",
    "progress": 100,
    "message": "Embedded 2 texts",
    "result": {
        "model": "all-MiniLM-L6-v2",
        "model_version": "sha256:53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
        "dimensions": 384,
        "count": 2,
        "inference_record": 1042,
        "preview": [-0.041357, 0.021932, 0.013541, -0.060781, 0.004319, 0.078414],
        "vectors_url": "/api/jobs/3f1c9f0e-8a8e-4d55-9a4e-5d2f0b6f9a11/vectors/",
    },
    "attempts": 1,
    "started_at": "2025-03-04T09:15:01Z",
    "finished_at": "2025-03-04T09:15:02Z",
}


class JobSummarySerializer(serializers.ModelSerializer):
    """A job as lists show it: everything but the result, which only the detail endpoint returns."""

    owner = serializers.CharField(
        source="owner.username", default=None, allow_null=True, help_text="Username; null for system jobs."
    )
    status_url = serializers.SerializerMethodField(help_text="Poll this URL until status is succeeded or failed.")

    class Meta:
        model = Job
        fields = [
            "id", "kind", "owner", "actor_label", "status", "progress", "message", "error",
            "result_ref", "attempts", "created_at", "started_at", "finished_at", "status_url",
        ]  # fmt: skip

    def get_status_url(self, job: Job) -> str:
        return f"/api/jobs/{job.id}/"


class JobOutputSerializer(JobSummarySerializer):
    class Meta(JobSummarySerializer.Meta):
        fields = [*JobSummarySerializer.Meta.fields[:8], "result", *JobSummarySerializer.Meta.fields[8:]]


class JobThrottledOnWrites:
    """Writes that start a job share the ``jobs`` rate; reads only the per-user one."""

    throttle_scope = "jobs"

    def get_throttles(self) -> list[BaseThrottle]:
        if self.request.method in ("GET", "HEAD", "OPTIONS"):
            return [UserRateThrottle()]
        return [UserRateThrottle(), ScopedRateThrottle()]


class StrictCharField(serializers.CharField):
    """A string, and only a string: DRF's CharField would turn ``12`` into ``"12"``."""

    default_error_messages = {"invalid": "Must be a string, not {type_name}."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid", type_name=type(data).__name__)
        return super().to_internal_value(data)


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know, so a typo is a 400 and not a silent default."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                allowed = ", ".join(sorted(self.fields))
                raise serializers.ValidationError(
                    {name: [f"Unknown field. Allowed fields: {allowed}."] for name in unknown}
                )
        return super().to_internal_value(data)


class EmbeddingJobInputSerializer(StrictSerializer):
    texts = serializers.ListField(
        child=StrictCharField(max_length=settings.ARGUS_EMBED_MAX_TEXT_CHARS, allow_blank=False, trim_whitespace=True),
        allow_empty=False,
        min_length=1,
        max_length=settings.ARGUS_EMBED_MAX_TEXTS,
        help_text=(
            f"1 to {settings.ARGUS_EMBED_MAX_TEXTS} non-blank strings of at most "
            f"{settings.ARGUS_EMBED_MAX_TEXT_CHARS} characters each."
        ),
    )


class EmbeddingJobCreateApi(APIView):
    """Embed texts with the platform's embedding model, as a job on the model queue."""

    allowed_roles = DESK_ROLES
    throttle_classes = [UserRateThrottle, ScopedRateThrottle]
    throttle_scope = "jobs"

    @extend_schema(
        operation_id="embeddings_create",
        summary="Start an embedding job",
        description=(
            "Queues one job that embeds the given texts with the platform's embedding model "
            "(384-dimensional, normalised). Answers 202 at once with the job; poll `status_url`. "
            "The model call is recorded in the audit chain. Roles: analyst, risk_officer, admin. "
            "The body must be a JSON object with `texts` and nothing else; the request is "
            "refused whole (no job, nothing queued) if any text is invalid."
        ),
        request=EmbeddingJobInputSerializer,
        responses={
            202: OpenApiResponse(JobOutputSerializer, description="The job was created and queued."),
            **error_responses(400, 401, 403, 415, 429),
        },
        examples=[
            OpenApiExample(
                "Two sentences",
                value={"texts": ["Revenue grew 12% year over year.", "Net debt fell to 1.2x EBITDA."]},
                request_only=True,
            ),
            OpenApiExample("Queued job", value=JOB_EXAMPLE, response_only=True, status_codes=["202"]),
            OpenApiExample(
                "A number where a string belongs",
                value={
                    "error": {
                        "status": 400,
                        "code": "invalid",
                        "detail": "Invalid input. texts[1]: Must be a string, not int.",
                        "fields": {"texts": {"1": ["Must be a string, not int."]}},
                    }
                },
                response_only=True,
                status_codes=["400"],
            ),
        ],
        tags=["jobs"],
    )
    def post(self, request: Request) -> Response:
        payload = EmbeddingJobInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        job = embedding_job_create(owner=request.user, texts=payload.validated_data["texts"])
        return Response(JobOutputSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class JobListApi(ListAPIView):
    """Jobs visible to the caller: their own; all jobs for auditors and admins."""

    allowed_roles = ALL_ROLES
    serializer_class = JobSummarySerializer

    @extend_schema(
        operation_id="jobs_list",
        summary="List jobs",
        description=(
            "Newest first, paginated with `limit`/`offset`. Analysts and risk officers see their own "
            "jobs and the system's research indexing jobs (no owner, such as the demo corpus); auditors and "
            "admins see every job. Lists carry no `result`: get one job for it."
        ),
        responses={200: JobSummarySerializer(many=True), **error_responses(400, 401, 403, 429)},
        tags=["jobs"],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return job_summaries_for_user(self.request.user)


class JobDetailApi(APIView):
    allowed_roles = ALL_ROLES

    @extend_schema(
        operation_id="jobs_retrieve",
        summary="Get one job",
        description=(
            "Status, progress and, once succeeded, the result. An embedding job's result is a summary "
            "(`count`, `dimensions`, `model`, `model_version`, `inference_record`, a `preview` of the first "
            "vector); the vectors themselves are at `vectors_url`. A job the caller may not see is a 404, "
            "exactly like a job that does not exist."
        ),
        responses={
            200: OpenApiResponse(
                JobOutputSerializer,
                examples=[
                    OpenApiExample("Queued job", value=JOB_EXAMPLE),
                    OpenApiExample("Succeeded embedding job", value=SUCCEEDED_EMBEDDING_JOB_EXAMPLE),
                ],
            ),
            **error_responses(401, 403, 404, 429),
        },
        tags=["jobs"],
    )
    def get(self, request: Request, job_id) -> Response:
        job = job_get_for_user(request.user, job_id)
        if job is None:
            # 404, not 403: another user's job id reveals nothing.
            raise NotFound("No such job.")
        return Response(JobOutputSerializer(job).data)


class JobVectorPagination(BoundedLimitOffsetPagination):
    # 100 vectors of 384 floats are about 400 kB of JSON.
    default_limit = 100
    max_limit = 100


class JobVectorSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the text in the job's `texts`.")
    vector = serializers.ListField(child=serializers.FloatField(), help_text="The normalised embedding.")


class JobVectorListApi(GenericAPIView):
    """The vectors of a succeeded embedding job, in the order of its texts."""

    allowed_roles = ALL_ROLES
    serializer_class = JobVectorSerializer
    pagination_class = JobVectorPagination

    @extend_schema(
        operation_id="jobs_vectors_list",
        summary="Get an embedding job's vectors",
        description=(
            "The vectors of a succeeded embedding job, one per text in the order given, paginated with "
            "`limit` (at most 100) and `offset`. 404 for a job the caller may not see, a job of another "
            "kind, or one that has not succeeded."
        ),
        responses={200: JobVectorSerializer(many=True), **error_responses(400, 401, 403, 404, 429)},
        tags=["jobs"],
    )
    def get(self, request: Request, job_id) -> Response:
        job = job_get_for_user(request.user, job_id)
        vectors = job_embedding_vectors(job) if job is not None else None
        if vectors is None:
            raise NotFound("No such embedding job, or it has no vectors yet.")
        page = self.paginate_queryset(vectors)
        offset = self.paginator.offset
        rows = [
            {"index": offset + position, "vector": [round(float(value), 6) for value in row]}
            for position, row in enumerate(page)
        ]
        return self.get_paginated_response(JobVectorSerializer(rows, many=True).data)
