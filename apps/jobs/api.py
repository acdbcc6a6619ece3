from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from apps.accounts.roles import ALL_ROLES, DESK_ROLES
from apps.jobs.models import Job
from apps.jobs.selectors import job_get_for_user, job_list_for_user
from apps.jobs.services import embedding_job_create


class JobOutputSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", default=None)
    status_url = serializers.SerializerMethodField()

    class Meta:
        model = Job
        fields = [
            "id", "kind", "owner", "actor_label", "status", "progress", "message", "error", "result",
            "result_ref", "attempts", "created_at", "started_at", "finished_at", "status_url",
        ]  # fmt: skip

    def get_status_url(self, job: Job) -> str:
        return f"/api/jobs/{job.id}/"


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know, so a typo is a 400 and not a silent default."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


class EmbeddingJobInputSerializer(StrictSerializer):
    texts = serializers.ListField(
        child=serializers.CharField(max_length=settings.ARGUS_EMBED_MAX_TEXT_CHARS, allow_blank=False, trim_whitespace=True),
        min_length=1,
        max_length=settings.ARGUS_EMBED_MAX_TEXTS,
    )


class EmbeddingJobCreateApi(APIView):
    """Embed texts with the platform's embedding model, as a job on the model queue."""

    allowed_roles = DESK_ROLES
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "jobs"

    @extend_schema(
        request=EmbeddingJobInputSerializer,
        responses={202: JobOutputSerializer},
        examples=[OpenApiExample("Two sentences", value={"texts": ["Revenue grew 12%.", "Net debt fell."]})],
    )
    def post(self, request: Request) -> Response:
        payload = EmbeddingJobInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        job = embedding_job_create(owner=request.user, texts=payload.validated_data["texts"])
        return Response(JobOutputSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class JobListApi(ListAPIView):
    """Jobs visible to the caller: their own; all jobs for auditors and admins."""

    allowed_roles = ALL_ROLES
    serializer_class = JobOutputSerializer

    def get_queryset(self):
        return job_list_for_user(self.request.user)


class JobDetailApi(APIView):
    allowed_roles = ALL_ROLES

    @extend_schema(responses={200: JobOutputSerializer})
    def get(self, request: Request, job_id) -> Response:
        job = job_get_for_user(request.user, job_id)
        if job is None:
            # 404, not 403: another user's job id reveals nothing.
            return Response(
                {"error": {"status": 404, "code": "not_found", "detail": "No such job."}},
                status=status.HTTP_404_NOT_FOUND,
            )
        return Response(JobOutputSerializer(job).data)
