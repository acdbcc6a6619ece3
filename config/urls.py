from django.contrib import admin
from django.urls import include, path

from apps.core.metrics_views import metrics

urlpatterns = [
    path("", include("apps.core.urls")),
    path("accounts/", include("apps.accounts.urls")),
    path("jobs/", include("apps.jobs.urls")),
    # Reports are their own app; their pages keep the /research/reports/ paths clients and docs link to.
    path("research/reports/", include("apps.reports.urls")),
    path("research/", include("apps.research.urls")),
    path("risk/", include("apps.risk.urls")),
    path("admin/", admin.site.urls),
    path("api/", include("config.api_urls")),
    path("metrics", metrics, name="metrics"),
]

handler400 = "apps.core.views.bad_request"
handler403 = "apps.core.views.permission_denied"
handler404 = "apps.core.views.page_not_found"
handler500 = "apps.core.views.server_error"
