from django.contrib.auth.decorators import login_not_required
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.authtoken.views import ObtainAuthToken

from apps.jobs import api as jobs_api

urlpatterns = [
    path("auth/token/", login_not_required(ObtainAuthToken.as_view()), name="api-token"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("jobs/", jobs_api.JobListApi.as_view(), name="api-job-list"),
    path("jobs/<uuid:job_id>/", jobs_api.JobDetailApi.as_view(), name="api-job-detail"),
    path("embeddings/", jobs_api.EmbeddingJobCreateApi.as_view(), name="api-embeddings"),
]
