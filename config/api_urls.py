from django.contrib.auth.decorators import login_not_required
from django.urls import include, path

from apps.accounts import api as accounts_api
from apps.core.api_docs import DocsView, SchemaApi
from apps.jobs import api as jobs_api
from apps.reports import api as reports_api
from apps.research import api as research_api

urlpatterns = [
    path("auth/token/", login_not_required(accounts_api.TokenObtainApi.as_view()), name="api-token"),
    path("auth/token/revoke/", accounts_api.TokenRevokeApi.as_view(), name="api-token-revoke"),
    path("me/", accounts_api.MeApi.as_view(), name="api-me"),
    path("schema/", SchemaApi.as_view(), name="api-schema"),
    path("docs/", DocsView.as_view(url_name="api-schema"), name="api-docs"),
    path("jobs/", jobs_api.JobListApi.as_view(), name="api-job-list"),
    path("jobs/<uuid:job_id>/", jobs_api.JobDetailApi.as_view(), name="api-job-detail"),
    path("jobs/<uuid:job_id>/vectors/", jobs_api.JobVectorListApi.as_view(), name="api-job-vectors"),
    path("embeddings/", jobs_api.EmbeddingJobCreateApi.as_view(), name="api-embeddings"),
    path("documents/", research_api.DocumentListCreateApi.as_view(), name="api-document-list"),
    path("documents/<uuid:document_id>/", research_api.DocumentDetailApi.as_view(), name="api-document-detail"),
    path(
        "documents/<uuid:document_id>/chunks/", research_api.DocumentChunkListApi.as_view(), name="api-document-chunks"
    ),
    path(
        "documents/<uuid:document_id>/reindex/", research_api.DocumentReindexApi.as_view(), name="api-document-reindex"
    ),
    path("companies/", research_api.CompanyListCreateApi.as_view(), name="api-company-list"),
    path("companies/<str:ticker>/", research_api.CompanyDetailApi.as_view(), name="api-company-detail"),
    path("search/", research_api.SearchApi.as_view(), name="api-search"),
    path("ask/", research_api.AskApi.as_view(), name="api-ask"),
    path("ask/<uuid:job_id>/", research_api.AskResultApi.as_view(), name="api-ask-result"),
    path("reports/", reports_api.ReportListCreateApi.as_view(), name="api-report-list"),
    path("reports/<uuid:report_id>/", reports_api.ReportDetailApi.as_view(), name="api-report-detail"),
    path("reports/<uuid:report_id>/review/", reports_api.ReportReviewApi.as_view(), name="api-report-review"),
    path("reports/<uuid:report_id>/export/", reports_api.ReportExportApi.as_view(), name="api-report-export"),
    path("adapters/", reports_api.AdapterListApi.as_view(), name="api-adapter-list"),
    path("risk/", include("apps.risk.api_urls")),
]
