from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template import loader

from apps.accounts.decorators import role_required
from apps.accounts.roles import ALL_ROLES, user_roles
from apps.jobs.models import JobStatus
from apps.jobs.selectors import OVERSIGHT_ROLES, job_status_counts_for_user, job_summaries_for_user

RECENT_JOBS = 8


@role_required(ALL_ROLES)
def dashboard(request: HttpRequest) -> HttpResponse:
    jobs = job_summaries_for_user(request.user)
    counted = job_status_counts_for_user(request.user)
    status_counts = [(status, label, counted.get(status, 0)) for status, label in JobStatus.choices]
    return render(
        request,
        "core/dashboard.html",
        {
            "recent_jobs": list(jobs[:RECENT_JOBS]),
            "status_counts": status_counts,
            "job_total": sum(counted.values()),
            "sees_all_jobs": bool(user_roles(request.user) & OVERSIGHT_ROLES),
        },
    )


@login_not_required
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for the orchestrator: says nothing about data."""
    return JsonResponse({"status": "ok"})


# --- error pages ------------------------------------------------------------


def _error(request: HttpRequest, status: int, title: str, text: str) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"error": {"status": status, "code": title.lower().replace(" ", "_"), "detail": text}}, status=status
        )
    context = {"status": status, "title": title, "text": text, "request_id": getattr(request, "request_id", "")}
    return render(request, "error.html", context, status=status)


@login_not_required
def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 400, "Bad request", "The request could not be understood. Check the form and try again.")


@login_not_required
def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(
        request, 403, "Forbidden", "Your role does not allow this page. Ask an administrator if you need access."
    )


@login_not_required
def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 404, "Not found", "There is nothing at this address, or it is not visible to you.")


@login_not_required
def server_error(request: HttpRequest) -> HttpResponse:
    status, title, text = 500, "Server error", "Something went wrong on our side; it has been logged."
    request_id = getattr(request, "request_id", "")
    if request.path.startswith("/api/"):
        body = {"error": {"status": status, "code": "server_error", "detail": text}}
        return JsonResponse(body, status=status)
    # No request context: the failure may be the database, which the session, the user and
    # the role context processor all need. The page must render without them.
    html = loader.get_template("error.html").render(
        {"status": status, "title": title, "text": text, "request_id": request_id}
    )
    return HttpResponseServerError(html)
