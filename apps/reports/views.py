"""Report pages: request a report, watch it being generated, read it with its sources, review, export."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.accounts.decorators import role_required
from apps.accounts.roles import Role, user_has_role, user_roles
from apps.registry.selectors import adapter_names_ready
from apps.reports.access import REPORT_READER_ROLES, REPORT_REQUESTER_ROLES, can_review_report
from apps.reports.exports import report_export
from apps.reports.forms import ReportRequestForm, ReportReviewForm
from apps.reports.models import ReportStatus, ResearchReport
from apps.reports.selectors import (
    report_get_for_user,
    report_inference_records,
    report_list_filtered,
    report_list_for_user,
    report_source_chunks,
)
from apps.reports.services import (
    REVIEWABLE,
    ReportRequestError,
    ReviewError,
    report_request,
    report_review,
)
from apps.research.selectors import chunk_page_url

REPORTS_PER_PAGE = 25
IN_FLIGHT = (ReportStatus.QUEUED, ReportStatus.GENERATING)


def _report_or_404(request: HttpRequest, report_id: Any) -> ResearchReport:
    report = report_get_for_user(request.user, report_id)
    if report is None:
        raise Http404("No such report.")
    return report


def _may_request(user: Any) -> bool:
    return user_has_role(user, REPORT_REQUESTER_ROLES)


@role_required(REPORT_READER_ROLES)
def report_list(request: HttpRequest) -> HttpResponse:
    """The reports the user may read, and the form to request a new one."""
    adapters = adapter_names_ready()
    form = ReportRequestForm(request.POST or None, adapter_names=adapters)
    status = 200
    if request.method == "POST":
        if not _may_request(request.user):
            raise Http404
        if form.is_valid():
            data = form.cleaned_data
            try:
                report = report_request(
                    user=request.user,
                    ticker=data["ticker"],
                    template=data["template"],
                    question=data["question"],
                    required_indicators=data["required_indicators"],
                    adapter_name=data["adapter"],
                    as_of=data["as_of"],
                )
            except ReportRequestError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, str(exc))
            else:
                return redirect("reports:report-detail", report_id=report.pk)
        status = 400
    reports = report_list_filtered(
        report_list_for_user(request.user),
        ticker=request.GET.get("ticker", ""),
        status=request.GET.get("status", "") if request.GET.get("status") in ReportStatus.values else "",
    )
    page = Paginator(reports, REPORTS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "report_page": page,
        "statuses": ReportStatus.choices,
        "can_request": _may_request(request.user),
    }
    return render(request, "reports/report_list.html", context, status=status)


def _mismatches(report: ResearchReport) -> list[dict[str, Any]]:
    """The numbers the check did not find supported, each with a link to the chunk it cites."""
    findings = report.findings or {}
    documents = findings.get("chunk_documents") or {}
    return [
        {**m, "url": chunk_page_url(documents[m["citation"]], m["citation"]) if m.get("citation") in documents else ""}
        for m in findings.get("unsupported") or []
        if isinstance(m, dict)
    ]


def _detail_context(
    request: HttpRequest, report: ResearchReport, review_form: ReportReviewForm | None = None
) -> dict[str, Any]:
    return {
        "report": report,
        "job": report.job,
        "in_flight": report.status in IN_FLIGHT,
        "sources": report_source_chunks(report) if report.chunk_ids else [],
        "metric_checks": (report.findings or {}).get("metric_checks", []),
        "mismatches": _mismatches(report),
        "can_review": report.status in REVIEWABLE and can_review_report(request.user, report),
        "review_form": review_form or ReportReviewForm(),
        "reviews": report.reviews.select_related("reviewer"),
        "records": report_inference_records(report) if Role.ADMIN in user_roles(request.user) else None,
    }


@role_required(REPORT_READER_ROLES)
def report_detail(request: HttpRequest, report_id) -> HttpResponse:
    report = _report_or_404(request, report_id)
    return render(request, "reports/report_detail.html", _detail_context(request, report))


@role_required(REPORT_READER_ROLES)
def report_status(request: HttpRequest, report_id) -> HttpResponse:
    """The progress card htmx polls; once the report settles the page reloads to show it."""
    report = _report_or_404(request, report_id)
    # Polled every second while generating: only what the status card shows.
    context = {"report": report, "job": report.job, "in_flight": report.status in IN_FLIGHT}
    response = render(request, "reports/_report_status.html", context)
    if request.headers.get("HX-Request") == "true" and report.status not in IN_FLIGHT:
        response["HX-Refresh"] = "true"
    return response


@require_POST
@role_required(REPORT_READER_ROLES)
def report_review_view(request: HttpRequest, report_id) -> HttpResponse:
    report = _report_or_404(request, report_id)
    if not can_review_report(request.user, report):
        raise PermissionDenied("Reviewers review other people's reports.")
    form = ReportReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose approve or reject.")
        return redirect("reports:report-detail", report_id=report.pk)
    try:
        review = report_review(report=report, reviewer=request.user, **form.cleaned_data)
    except ReviewError as exc:
        if exc.code == "comment_required":
            # Shown on the form itself, with what the reviewer typed, rather than after a redirect.
            form.add_error("comment", str(exc))
            return render(request, "reports/report_detail.html", _detail_context(request, report, form), status=400)
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Report {review.get_decision_display().lower()}.")
    return redirect("reports:report-detail", report_id=report.pk)


@role_required(REPORT_READER_ROLES)
def report_export_view(request: HttpRequest, report_id) -> HttpResponse:
    report = _report_or_404(request, report_id)
    fmt = request.GET.get("as", "md")
    if fmt not in ("md", "pdf", "html") or report.output is None:
        raise Http404("Nothing to export in that format.")
    return report_export(report, fmt)
