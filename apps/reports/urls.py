"""Report pages, mounted at /research/reports/ (config/urls.py): the path predates this app and stays."""

from django.urls import path

from apps.reports import views

app_name = "reports"

urlpatterns = [
    path("", views.report_list, name="report-list"),
    path("<uuid:report_id>/", views.report_detail, name="report-detail"),
    path("<uuid:report_id>/status/", views.report_status, name="report-status"),
    path("<uuid:report_id>/review/", views.report_review_view, name="report-review"),
    path("<uuid:report_id>/export/", views.report_export_view, name="report-export"),
]
