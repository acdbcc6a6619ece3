from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from apps.accounts.decorators import role_required
from apps.accounts.roles import ALL_ROLES
from apps.jobs.selectors import job_list_for_user


@role_required(ALL_ROLES)
def dashboard(request: HttpRequest) -> HttpResponse:
    jobs = job_list_for_user(request.user)[:10]
    return render(request, "core/dashboard.html", {"recent_jobs": jobs})


@login_not_required
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for the orchestrator: says nothing about data."""
    return JsonResponse({"status": "ok"})


def _error(request: HttpRequest, status: int, title: str, text: str) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"error": {"status": status, "code": title.lower().replace(" ", "_"), "detail": text}},
                            status=status)
    return render(request, "error.html", {"status": status, "title": title, "text": text}, status=status)


@login_not_required
def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 400, "Bad request", "The request could not be understood.")


@login_not_required
def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 403, "Forbidden", "Your role does not allow this page.")


@login_not_required
def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 404, "Not found", "There is nothing at this address.")


@login_not_required
def server_error(request: HttpRequest) -> HttpResponse:
    return _error(request, 500, "Server error", "Something went wrong on our side; it has been logged.")
