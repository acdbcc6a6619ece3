"""Reads of research reports, for the user asking."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import Count, Q, QuerySet, Sum

from apps.accounts.roles import Role, user_roles
from apps.audit.models import InferenceRecord
from apps.reports.access import REPORT_REVIEWER_ROLES
from apps.reports.models import ReportStatus, ResearchReport
from apps.research.selectors import allowed_access_levels, chunk_document_ids, chunks_in_order

if TYPE_CHECKING:
    from apps.research.models import DocumentChunk


def report_list_for_user(user: Any) -> QuerySet[ResearchReport]:
    """Own reports, plus everyone's for reviewers and admins; never one built on chunks the user may not read."""
    levels = allowed_access_levels(user)
    reports = ResearchReport.objects.select_related("company", "requested_by", "job").filter(access_level__in=levels)
    if user_roles(user) & (REPORT_REVIEWER_ROLES | {Role.ADMIN}):
        return reports
    return reports.filter(requested_by=user)


def report_get_for_user(user: Any, report_id: Any) -> ResearchReport | None:
    return report_list_for_user(user).filter(pk=report_id).first()


def report_list_filtered(
    reports: QuerySet[ResearchReport], *, ticker: str = "", status: str = "", mine: bool = False, user: Any = None
) -> QuerySet[ResearchReport]:
    if ticker:
        reports = reports.filter(company__ticker__iexact=ticker.strip())
    if status:
        reports = reports.filter(status=status)
    if mine and user is not None:
        reports = reports.filter(requested_by=user)
    return reports


SUPPORTED_SHARE_BUCKETS: tuple[float, ...] = (0.5, 0.75, 0.9, 0.95, 0.99, 1.0)


def report_number_check_totals() -> dict[str, Any]:
    """Over all generated reports: numbers checked and unsupported, and the supported share's histogram
    (``buckets``: upper bound -> reports at or below it), in one query."""
    buckets = {
        f"le_{i}": Count("id", filter=Q(supported_share__lte=bound)) for i, bound in enumerate(SUPPORTED_SHARE_BUCKETS)
    }
    row = ResearchReport.objects.filter(supported_share__isnull=False).aggregate(
        reports=Count("id"),
        share_sum=Sum("supported_share"),
        checked=Sum("numbers_checked"),
        unsupported=Sum("numbers_unsupported"),
        **buckets,
    )
    return {
        "reports": row["reports"],
        "share_sum": row["share_sum"] or 0.0,
        "checked": row["checked"] or 0,
        "unsupported": row["unsupported"] or 0,
        "buckets": [(bound, row[f"le_{i}"]) for i, bound in enumerate(SUPPORTED_SHARE_BUCKETS)],
    }


def report_status_counts() -> dict[str, int]:
    """Reports by status, every status present (0 when none)."""
    rows = ResearchReport.objects.order_by().values("status").annotate(n=Count("id"))
    counts = {row["status"]: row["n"] for row in rows}
    return {status: counts.get(status, 0) for status in ReportStatus.values}


def report_source_chunks(report: ResearchReport) -> list[DocumentChunk]:
    """The chunks the model saw, in retrieval order (rows that were deleted since are skipped)."""
    return chunks_in_order(report.chunk_ids)


def report_cited_chunks(report: ResearchReport) -> list[dict[str, Any]]:
    """What the report's fields cite: each chunk id once (first citation first), its document, the fields citing it.

    Documents come from the ids stored with the findings at generation; a chunk missing there is
    looked up (an older report), and one deleted since has no document.
    """
    from pipelines.reports.validation import citation_fields

    fields = citation_fields(report.output or {})
    documents = dict((report.findings or {}).get("chunk_documents") or {})
    missing = [c for c in fields if c not in documents]
    if missing:
        documents |= chunk_document_ids(missing)
    return [
        {"chunk_id": chunk_id, "document_id": documents.get(chunk_id), "fields": cited_by}
        for chunk_id, cited_by in fields.items()
    ]


def chunk_passage(chunk: DocumentChunk) -> Any:
    """A chunk row (with its document and company loaded) as the report pipeline's ``Passage``."""
    from pipelines.reports import Passage

    document = chunk.document
    return Passage(
        chunk_id=chunk.chunk_id,
        document_id=str(document.pk),
        title=document.title,
        company=document.company.name if document.company else "",
        ticker=document.company.ticker if document.company else "",
        doc_type=document.doc_type,
        published_on=document.published_on.isoformat() if document.published_on else None,
        page=chunk.page_start,
        section=chunk.section,
        text=chunk.text,
    )


def report_inference_records(report: ResearchReport) -> QuerySet[InferenceRecord]:
    """Every inference behind a report: its retrievals, embeddings and generation."""
    query = Q(seq__in=report.inference_seqs or [])
    if report.job_id:
        query |= Q(job_id=report.job_id)
    return InferenceRecord.objects.filter(query).order_by("seq")


def report_for_generation(report_id: Any) -> ResearchReport:
    """The report row a generation job works on, with what its prompt and filters need."""
    return ResearchReport.objects.select_related("company", "requested_by").get(pk=report_id)
