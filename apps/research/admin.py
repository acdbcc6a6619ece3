"""The research desk in the Django admin, for admins only.

The company master is maintained here. Documents are read-only: uploads go through the
upload page or API (validation, duplicates, one job), and re-index and delete run as jobs
through the services, because a row deleted here directly would leave its vectors behind.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from apps.accounts.roles import Role, user_roles
from apps.research.models import Company, Document, DocumentStatus
from apps.research.selectors import document_is_busy, redaction_counts
from apps.research.services import document_delete, document_reindex


class AdminsOnly:
    """Visible to the admin role only (auditors are staff too, but the research content is not theirs)."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return Role.ADMIN in user_roles(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return Role.ADMIN in user_roles(request.user)


@admin.register(Company)
class CompanyAdmin(AdminsOnly, admin.ModelAdmin):
    list_display = ("ticker", "name", "sector", "cik", "document_count")
    search_fields = ("ticker", "name", "cik")
    list_filter = ("sector",)
    ordering = ("ticker",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Company]:
        return super().get_queryset(request).annotate(document_count=Count("documents"))

    @admin.display(description="Documents", ordering="document_count")
    def document_count(self, company: Company) -> int:
        return company.document_count  # type: ignore[attr-defined]


@admin.register(Document)
class DocumentAdmin(AdminsOnly, admin.ModelAdmin):
    list_display = ("title", "ticker", "doc_type", "access_level", "status", "chunk_count", "uploaded_by", "created_at")
    list_filter = ("status", "doc_type", "access_level")
    search_fields = ("title", "original_name", "company__ticker", "company__name", "content_hash")
    list_select_related = ("company", "uploaded_by")
    date_hierarchy = "created_at"
    actions = ["reindex_documents", "delete_documents"]
    exclude = ("redaction_log", "file")
    readonly_fields = ("redactions", "research_page")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Django's own delete would drop the rows and leave the vectors: the action below runs the job.
        return False

    @admin.display(description="Ticker", ordering="company__ticker")
    def ticker(self, document: Document) -> str:
        return document.company.ticker if document.company else "—"

    @admin.display(description="Redactions (count by kind)")
    def redactions(self, document: Document) -> str:
        counts = redaction_counts(document)
        return ", ".join(f"{kind}: {count}" for kind, count in counts.items()) or "none"

    @admin.display(description="In the research UI")
    def research_page(self, document: Document) -> str:
        return format_html(
            '<a href="{}">Open the document page</a>', reverse("research:document-detail", args=[document.pk])
        )

    def _run(self, request: HttpRequest, queryset: QuerySet[Document], action: Any, verb: str) -> None:
        started, skipped = 0, 0
        for document in queryset.select_related("job"):
            if document_is_busy(document):
                skipped += 1
                continue
            action(user=request.user, document=document)
            started += 1
        if started:
            self.message_user(request, f"{verb} {started} document(s) as jobs (see Jobs).", messages.SUCCESS)
        if skipped:
            self.message_user(request, f"Skipped {skipped} document(s) a job is still working on.", messages.WARNING)

    @admin.action(description="Re-index selected documents")
    def reindex_documents(self, request: HttpRequest, queryset: QuerySet[Document]) -> None:
        self._run(request, queryset, document_reindex, "Re-indexing")

    @admin.action(description="Delete selected documents (vectors, chunks and files)")
    def delete_documents(self, request: HttpRequest, queryset: QuerySet[Document]) -> None:
        self._run(request, queryset.exclude(status=DocumentStatus.DELETING), document_delete, "Deleting")
