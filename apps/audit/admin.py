"""The auditors' console: the audit log in the Django admin, read-only for everyone.

Auditors (``audit.view_inferencerecord``) and admins filter records, open one,
see whether the hash chain holds, and export the filtered set as CSV or JSON
lines. Nobody can add, change or delete a record here, superusers included:
the model refuses it too, this only keeps the buttons away.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
    QueryDict,
    StreamingHttpResponse,
)
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.html import format_html
from kombu.exceptions import OperationalError as BrokerUnreachable

from apps.audit.hashing import GENESIS_HASH, canonical_json, chain_hash
from apps.audit.models import AuditChainHead, InferenceKind, InferenceRecord
from apps.audit.selectors import audit_chain_last_verification, inference_records_referencing
from apps.audit.tasks import audit_chain_verify_scheduled

EXPORT_CHUNK_SIZE = 500
# Every stored column, hashes included, under the names an offline verifier expects.
EXPORT_FIELDS: tuple[str, ...] = tuple(field.attname for field in InferenceRecord._meta.concrete_fields)


# --- list filters ----------------------------------------------------------------


class InputFilter(admin.ListFilter):
    """A sidebar filter made of text inputs (a small GET form) rather than a list of links."""

    template = "admin/audit/inferencerecord/input_filter.html"
    # (query parameter, label, HTML input type)
    inputs: tuple[tuple[str, str, str], ...] = ()

    def __init__(self, request: HttpRequest, params: dict[str, list[str]], model: Any, model_admin: Any) -> None:
        super().__init__(request, params, model, model_admin)
        for name in self.expected_parameters():
            if name in params:
                # Popped even when empty: anything left in params becomes a field lookup.
                value = params.pop(name)[-1].strip()
                if value:
                    self.used_parameters[name] = value

    def has_output(self) -> bool:
        return True

    def expected_parameters(self) -> list[str]:
        return [name for name, _label, _type in self.inputs]

    def choices(self, changelist: Any) -> Iterator[dict[str, Any]]:
        own = set(self.expected_parameters())
        yield {
            "inputs": [
                {"name": name, "label": label, "type": input_type, "value": self.used_parameters.get(name, "")}
                for name, label, input_type in self.inputs
            ],
            # The other filters, the search and the ordering stay as they are.
            "hidden": [
                (name, value)
                for name, values in changelist.filter_params.items()
                if name not in own
                for value in values
            ],
            "clear_query_string": changelist.get_query_string(remove=list(own)) if self.used_parameters else "",
        }


class CreatedAtRangeFilter(InputFilter):
    title = "date range"
    inputs = (("created_from", "From", "date"), ("created_to", "To (inclusive)", "date"))

    def queryset(self, request: HttpRequest, queryset: QuerySet[InferenceRecord]) -> QuerySet[InferenceRecord]:
        start = self._bound("created_from", end_of_day=False)
        end = self._bound("created_to", end_of_day=True)
        if start is not None:
            queryset = queryset.filter(created_at__gte=start)
        if end is not None:
            queryset = queryset.filter(created_at__lt=end)
        return queryset

    def _bound(self, name: str, *, end_of_day: bool) -> dt.datetime | None:
        """A date means the whole day (in the site's time zone); a date-time is taken as given."""
        raw = self.used_parameters.get(name)
        if not raw:
            return None
        try:
            # Date first: parse_datetime reads a bare date as midnight.
            day = parse_date(raw)
            moment = None if day else parse_datetime(raw)
        except ValueError as exc:
            raise IncorrectLookupParameters(f"{name}: {exc}") from exc
        if moment is not None:
            if timezone.is_naive(moment):
                moment = timezone.make_aware(moment)
            return moment + dt.timedelta(microseconds=1) if end_of_day else moment
        if day is None:
            raise IncorrectLookupParameters(f"{name}: {raw!r} is not a date (YYYY-MM-DD) or date-time")
        if end_of_day:
            day += dt.timedelta(days=1)
        return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


class DocumentIdFilter(InputFilter):
    title = "document or chunk id"
    inputs = (("document_id", "Id", "text"),)

    def queryset(self, request: HttpRequest, queryset: QuerySet[InferenceRecord]) -> QuerySet[InferenceRecord]:
        document_id = self.used_parameters.get("document_id")
        if not document_id:
            return queryset
        return inference_records_referencing(queryset, document_id=document_id)


# --- exports -----------------------------------------------------------------------


def _export_row(record: InferenceRecord) -> dict[str, Any]:
    return {name: getattr(record, name) for name in EXPORT_FIELDS}


def _csv_cell(value: Any) -> str:
    """The stored value, unaltered, in the chain's canonical spelling (so an export can be re-hashed)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list | bool):
        return canonical_json(value)
    if isinstance(value, int | float):
        return str(value)
    return json.loads(canonical_json(value))  # datetimes and UUIDs: their canonical string


class _Echo:
    """A write-only file whose write() returns the line, so csv.writer can feed a streaming response."""

    def write(self, value: str) -> str:
        return value


def _csv_lines(records: Iterable[InferenceRecord]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(EXPORT_FIELDS)
    for record in records:
        yield writer.writerow([_csv_cell(value) for value in _export_row(record).values()])


def _jsonl_lines(records: Iterable[InferenceRecord]) -> Iterator[str]:
    for record in records:
        yield canonical_json(_export_row(record)) + "\n"


# --- admin -------------------------------------------------------------------------


@admin.register(InferenceRecord)
class InferenceRecordAdmin(admin.ModelAdmin):
    list_display = (
        "seq",
        "created",
        "actor",
        "kind",
        "model_name",
        "adapter_name",
        "status",
        "latency_ms",
        "tokens",
        "cache_hit",
    )
    list_display_links = ("seq",)
    list_filter = (
        "kind",
        "status",
        "model_name",
        "adapter_name",
        "actor",
        "cache_hit",
        CreatedAtRangeFilter,
        DocumentIdFilter,
    )
    date_hierarchy = "created_at"
    search_fields = ("=record_hash", "=input_hash", "=output_hash", "=task_id")
    search_help_text = "Exact record hash, input or output hash, or Celery task id."
    ordering = ("-seq",)
    list_per_page = 50
    # Counting the whole (large, ever-growing) table on every page adds nothing for an auditor.
    show_full_result_count = False
    # No bulk actions at all: the only built-in one is "delete selected".
    actions = None
    fieldsets = (
        ("Chain", {"fields": ("seq", "created_at_utc", "prev_hash", "record_hash", "chain_check", "chain_neighbours")}),
        ("Who", {"fields": ("actor", "actor_user", "job_link", "task_id")}),
        ("Model", {"fields": ("kind", "model_name", "model_version", "adapter_name", "adapter_version", "parameters")}),
        (
            "Input and output",
            {
                "fields": (
                    "input_redacted",
                    "input_messages",
                    "input_hash",
                    "output_text",
                    "output_hash",
                    "document_ids",
                    "chunk_ids",
                )
            },
        ),
        ("Outcome", {"fields": ("status", "error", "tokens_in", "tokens_out", "latency_ms", "cache_hit", "details")}),
    )
    readonly_fields = tuple(name for _title, options in fieldsets for name in options["fields"])

    # Read-only for everyone, superusers included.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: InferenceRecord | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: InferenceRecord | None = None) -> bool:
        return False

    # --- columns and detail fields

    # Audit times in UTC and to the second (the list) or microsecond (the record, as hashed).
    @admin.display(description="created (UTC)", ordering="created_at")
    def created(self, obj: InferenceRecord) -> str:
        return obj.created_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")

    @admin.display(description="created at (UTC)")
    def created_at_utc(self, obj: InferenceRecord) -> str:
        return obj.created_at.astimezone(dt.UTC).isoformat(timespec="microseconds")

    @admin.display(description="tokens in / out")
    def tokens(self, obj: InferenceRecord) -> str:
        return f"{obj.tokens_in} / {obj.tokens_out}"

    @admin.display(description="job")
    def job_link(self, obj: InferenceRecord) -> str:
        if obj.job_id is None:
            return "-"
        return format_html('<a href="{}">{}</a>', reverse("jobs:detail", args=[obj.job_id]), obj.job_id)

    @admin.display(description="hash check")
    def chain_check(self, obj: InferenceRecord) -> str:
        """This record on its own: does its content still give its hash, and does it link to its predecessor?"""
        content_ok = chain_hash(obj.prev_hash, obj.hashed_content()) == obj.record_hash
        if obj.seq == 1:
            link_ok, link_text = obj.prev_hash == GENESIS_HASH, "starts from the genesis hash"
        else:
            predecessor_hash = (
                InferenceRecord.objects.filter(seq=obj.seq - 1).values_list("record_hash", flat=True).first()
            )
            link_ok = predecessor_hash == obj.prev_hash
            link_text = f"prev_hash matches record #{obj.seq - 1}"
        content = "content matches record_hash" if content_ok else "CONTENT DOES NOT MATCH record_hash (altered)"
        link = link_text if link_ok else f"BROKEN LINK: prev_hash does not match record #{obj.seq - 1}"
        return f"{content}; {link}"

    @admin.display(description="neighbours")
    def chain_neighbours(self, obj: InferenceRecord) -> str:
        neighbours = InferenceRecord.objects.filter(seq__in=[obj.seq - 1, obj.seq + 1]).values_list("seq", "pk")
        links = {
            seq: format_html('<a href="{}">#{}</a>', reverse("admin:audit_inferencerecord_change", args=[pk]), seq)
            for seq, pk in neighbours
        }
        previous = links.get(obj.seq - 1, "none")
        following = links.get(obj.seq + 1, "none")
        return format_html("previous: {} &middot; next: {}", previous, following)

    # --- pages

    def get_urls(self) -> list[URLPattern]:
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        wrap: Callable[..., Any] = self.admin_site.admin_view
        return [
            path("export.csv", wrap(self.export_csv_view), name=f"{prefix}_export_csv"),
            path("export.jsonl", wrap(self.export_jsonl_view), name=f"{prefix}_export_jsonl"),
            path("verify/", wrap(self.verify_chain_view), name=f"{prefix}_verify"),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        if self.has_view_permission(request):
            # The last recorded verification: the console never walks the chain in a request.
            extra_context = {
                **(extra_context or {}),
                "show_chain_status": True,
                "chain_status": audit_chain_last_verification(),
            }
        return super().changelist_view(request, extra_context)

    def verify_chain_view(self, request: HttpRequest) -> HttpResponse:
        """Queue an incremental verification (POST) and come back to the same filtered list.

        A worker hashes the records appended since the last checkpoint; the page shows
        its verdict once recorded. Nothing is walked in this request.
        """
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            # Expires like the scheduled runs: a click while workers are down does not pile up.
            audit_chain_verify_scheduled.apply_async(expires=240)
        except BrokerUnreachable as exc:
            self.message_user(request, f"Verification could not be queued: {type(exc).__name__}.", messages.ERROR)
        else:
            self.message_user(
                request,
                "Verification queued: a worker checks the records appended since the last checkpoint; "
                "reload this page for its verdict.",
                messages.INFO,
            )
        # Re-encoded from parsed pairs: only a query string can come back, never another URL.
        query = QueryDict(request.POST.get("changelist_query", "").lstrip("?")).urlencode()
        changelist_url = reverse("admin:audit_inferencerecord_changelist")
        return HttpResponseRedirect(f"{changelist_url}?{query}" if query else changelist_url)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        record = InferenceRecord.objects.filter(pk=object_id).only("kind", "status").first()
        replayable = record is not None and record.kind == InferenceKind.GENERATE and record.status == "ok"
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), "replayable": replayable})

    def export_csv_view(self, request: HttpRequest) -> HttpResponse:
        return self._export(request, _csv_lines, "text/csv; charset=utf-8", "csv")

    def export_jsonl_view(self, request: HttpRequest) -> HttpResponse:
        return self._export(request, _jsonl_lines, "application/x-ndjson; charset=utf-8", "jsonl")

    def _export(
        self,
        request: HttpRequest,
        render_lines: Callable[[Iterable[InferenceRecord]], Iterator[str]],
        content_type: str,
        extension: str,
    ) -> HttpResponse:
        """Stream exactly the set the changelist shows for the same query string, in chain order."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            queryset = self.get_changelist_instance(request).get_queryset(request)
        except IncorrectLookupParameters as exc:
            return HttpResponseBadRequest(f"Invalid filter: {exc}")
        records = queryset.order_by("seq").iterator(chunk_size=EXPORT_CHUNK_SIZE)
        response = StreamingHttpResponse(render_lines(records), content_type=content_type)
        stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
        response["Content-Disposition"] = f'attachment; filename="argus-audit-{stamp}.{extension}"'
        return response


@admin.register(AuditChainHead)
class AuditChainHeadAdmin(admin.ModelAdmin):
    """The chain's tip, for the record; only the append service ever writes it."""

    list_display = ("id", "last_seq", "last_hash", "updated_at")
    readonly_fields = ("id", "last_seq", "last_hash", "updated_at")
    actions = None

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditChainHead | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditChainHead | None = None) -> bool:
        return False
