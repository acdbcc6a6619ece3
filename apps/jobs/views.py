"""Job pages. Progress is polled by htmx: the fragments below re-render one job or the job
table, and stop asking to be polled once nothing on them can change any more."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from apps.accounts.decorators import role_required
from apps.accounts.roles import ALL_ROLES, DESK_ROLES, Role, user_roles
from apps.jobs.artifacts import VECTOR_PREVIEW_VALUES
from apps.jobs.forms import EmbeddingJobForm
from apps.jobs.models import Job, JobKind, JobStatus
from apps.jobs.selectors import OVERSIGHT_ROLES, job_get_for_user, job_summaries_for_user
from apps.jobs.services import embedding_job_create, inference_replay_job_create

JOB_LIST_LIMIT = 100
TEXT_PREVIEW_COUNT = 5


@role_required(ALL_ROLES)
def job_list(request: HttpRequest) -> HttpResponse:
    return render(request, "jobs/job_list.html", _job_table_context(request))


@role_required(ALL_ROLES)
def job_table(request: HttpRequest) -> HttpResponse:
    """The job table alone, polled by the job list while some of its jobs are still active."""
    return render(request, "jobs/_job_table.html", _job_table_context(request))


@role_required(ALL_ROLES)
def job_detail(request: HttpRequest, job_id) -> HttpResponse:
    job = _job_or_404(request, job_id)
    texts = job.params.get("texts", []) if job.kind == JobKind.EMBED else []
    return render(
        request,
        "jobs/job_detail.html",
        {
            "job": job,
            "result_summary": job_result_summary(job),
            "text_count": len(texts),
            "text_preview": texts[:TEXT_PREVIEW_COUNT],
        },
    )


@role_required(ALL_ROLES)
def job_progress(request: HttpRequest, job_id) -> HttpResponse:
    """The fragment htmx polls; it stops polling itself once the job finished."""
    job = _job_or_404(request, job_id)
    return render(request, "jobs/_job_progress.html", {"job": job, "result_summary": job_result_summary(job)})


@role_required(DESK_ROLES)
def embed_start(request: HttpRequest) -> HttpResponse:
    form = EmbeddingJobForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        texts = form.cleaned_data["texts"]
        job = embedding_job_create(owner=request.user, texts=texts)
        messages.success(request, f"Embedding job started for {len(texts)} text{'s' if len(texts) != 1 else ''}.")
        return redirect("jobs:detail", job_id=job.id)
    limits = {"max_texts": settings.ARGUS_EMBED_MAX_TEXTS, "max_text_chars": settings.ARGUS_EMBED_MAX_TEXT_CHARS}
    return render(request, "jobs/embed_form.html", {"form": form, **limits})


def job_result_summary(job: Job) -> dict[str, Any] | None:
    """What the page shows of a finished job's result: scalars as they are, big lists as a size.

    Embedding results carry the first values of the first vector (the vectors themselves are in
    storage, served by the API); results of jobs that finished before then carry every vector.
    """
    result = job.result
    if job.status != JobStatus.SUCCEEDED or not isinstance(result, dict):
        return None
    if job.kind == JobKind.EMBED:
        vectors = result.get("vectors") or []
        first = vectors[0] if vectors and isinstance(vectors[0], list) else result.get("preview") or []
        dimensions = result.get("dimensions", len(first))
        return {
            "kind": "embed",
            "count": result.get("count", len(vectors)),
            "dimensions": dimensions,
            "model": result.get("model", ""),
            "model_version": result.get("model_version", ""),
            "inference_record": result.get("inference_record"),
            "first_values": [float(v) for v in first[:VECTOR_PREVIEW_VALUES]],
            "more_values": max(dimensions - min(len(first), VECTOR_PREVIEW_VALUES), 0),
            "vectors_url": result.get("vectors_url") or reverse("api-job-vectors", args=[job.pk]),
        }
    fields = []
    for key, value in result.items():
        if isinstance(value, list | dict):
            fields.append((key, f"{type(value).__name__} of {len(value)}"))
        else:
            fields.append((key, value))
    return {"kind": "generic", "fields": fields}


def _job_or_404(request: HttpRequest, job_id) -> Job:
    job = job_get_for_user(request.user, job_id)
    if job is None:
        # 404, not 403: another user's job id reveals nothing.
        raise Http404("No such job.")
    return job


def _job_table_context(request: HttpRequest) -> dict[str, Any]:
    status = request.GET.get("status", "")
    if status not in JobStatus.values:
        status = ""
    jobs = job_summaries_for_user(request.user)
    if status:
        jobs = jobs.filter(status=status)
    jobs = list(jobs[:JOB_LIST_LIMIT])
    return {
        "jobs": jobs,
        "status_filter": status,
        "status_choices": JobStatus.choices,
        "has_active_jobs": any(not job.is_finished for job in jobs),
        "sees_all_jobs": bool(user_roles(request.user) & OVERSIGHT_ROLES),
    }


@require_POST
@role_required({Role.AUDITOR, Role.ADMIN})
def inference_replay_start(request: HttpRequest, seq: int) -> HttpResponse:
    """Replay and compare (audit console): a job on the model worker; the job page shows the verdict."""
    from apps.audit.selectors import generation_record_replayable

    if not generation_record_replayable(seq):
        raise Http404("No recorded generation with that number.")
    job = inference_replay_job_create(requester=request.user, seq=seq)
    messages.info(request, f"Replay of #{seq} queued; this page shows the verdict when the model worker is done.")
    return redirect("jobs:detail", job_id=job.pk)
