from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from apps.accounts.decorators import role_required
from apps.accounts.roles import ALL_ROLES, DESK_ROLES
from apps.jobs.forms import EmbeddingJobForm
from apps.jobs.selectors import job_get_for_user, job_list_for_user
from apps.jobs.services import embedding_job_create


@role_required(ALL_ROLES)
def job_list(request: HttpRequest) -> HttpResponse:
    return render(request, "jobs/job_list.html", {"jobs": job_list_for_user(request.user)[:100]})


@role_required(ALL_ROLES)
def job_detail(request: HttpRequest, job_id) -> HttpResponse:
    job = job_get_for_user(request.user, job_id)
    if job is None:
        raise Http404("No such job.")
    return render(request, "jobs/job_detail.html", {"job": job})


@role_required(ALL_ROLES)
def job_progress(request: HttpRequest, job_id) -> HttpResponse:
    """The fragment htmx polls; it stops polling itself once the job finished."""
    job = job_get_for_user(request.user, job_id)
    if job is None:
        raise Http404("No such job.")
    return render(request, "jobs/_job_progress.html", {"job": job})


@role_required(DESK_ROLES)
def embed_start(request: HttpRequest) -> HttpResponse:
    form = EmbeddingJobForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        job = embedding_job_create(owner=request.user, texts=form.cleaned_data["texts"])
        return redirect("jobs:detail", job_id=job.id)
    return render(request, "jobs/embed_form.html", {"form": form})
