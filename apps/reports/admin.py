"""Research reports in the Django admin, for admins only, read-only.

Reports are requested, generated and reviewed through the report pages and API (a job, the
number check, four eyes on review); an edit here would bypass all three, so the admin only shows them.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from apps.accounts.roles import Role, user_roles
from apps.reports.models import ReportReview, ResearchReport


class ReadOnlyForAdmins:
    """Visible to the admin role only (auditors are staff too, but report content is not theirs)."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return Role.ADMIN in user_roles(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return Role.ADMIN in user_roles(request.user)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReportReviewInline(ReadOnlyForAdmins, admin.TabularInline):
    model = ReportReview
    fields = ("created_at", "reviewer", "decision", "comment")
    readonly_fields = fields
    extra = 0


@admin.register(ResearchReport)
class ResearchReportAdmin(ReadOnlyForAdmins, admin.ModelAdmin):
    list_display = ("company", "template", "status", "numbers_unsupported", "requested_by", "created_at")
    list_filter = ("status", "template", "access_level")
    search_fields = ("company__ticker", "company__name", "question", "requested_by__username")
    list_select_related = ("company", "requested_by")
    date_hierarchy = "created_at"
    exclude = ("rendered_html",)
    readonly_fields = ("report_page",)
    inlines = [ReportReviewInline]

    @admin.display(description="In the research UI")
    def report_page(self, report: ResearchReport) -> str:
        return format_html('<a href="{}">Open the report page</a>', reverse("reports:report-detail", args=[report.pk]))
