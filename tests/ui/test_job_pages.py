"""Job pages: live progress by htmx polling, result summaries, the embed form, visibility."""

from __future__ import annotations

import datetime
import uuid
from unittest import mock

import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from apps.core.templatetags.argus_ui import duration_between, role_label, short_id
from apps.jobs.models import Job, JobKind, JobStatus
from apps.jobs.views import VECTOR_PREVIEW_VALUES, job_result_summary
from tests.conftest import client_for
from tests.ui.html import find_all, find_one

pytestmark = pytest.mark.django_db

ACTIVE = [JobStatus.QUEUED, JobStatus.RUNNING]
FINISHED = [JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED]


def make_job(owner, *, status=JobStatus.QUEUED, progress=0, **fields) -> Job:
    now = timezone.now()
    if status != JobStatus.QUEUED:
        fields.setdefault("started_at", now - datetime.timedelta(seconds=2))
    if status in FINISHED:
        fields.setdefault("finished_at", now)
    return Job.objects.create(
        kind=fields.pop("kind", JobKind.EMBED),
        owner=owner,
        actor_label=f"user:{owner.username}",
        status=status,
        progress=progress,
        params=fields.pop("params", {"texts": ["Revenue grew 12%.", "Net debt fell."]}),
        **fields,
    )


def embedding_result(count: int = 2, dimensions: int = 384) -> dict:
    # Distinct, recognisable values: position i of vector v is v + i / 10_000.
    vectors = [[round(v + i / 10_000, 6) for i in range(dimensions)] for v in range(count)]
    return {
        "model": "sentence-transformers/all-MiniLM-L6-v2",
        "model_version": "sha256:abc123",
        "dimensions": dimensions,
        "count": count,
        "vectors": vectors,
        "inference_record": 42,
    }


# --- the progress fragment polls while active and stops when finished -----------------


@pytest.mark.parametrize("status", ACTIVE)
def test_progress_fragment_polls_every_second_while_the_job_is_active(analyst, status):
    job = make_job(analyst, status=status, progress=37, message="7/19 texts")

    response = client_for(analyst).get(reverse("jobs:progress", args=[job.pk]))

    assert response.status_code == 200
    fragment = find_one(response.content, id="job-progress")
    assert fragment.attrs["hx-get"] == reverse("jobs:progress", args=[job.pk])
    assert fragment.attrs["hx-trigger"] == "every 1s"
    assert fragment.attrs["hx-swap"] == "outerHTML"
    assert fragment.attrs["data-status"] == status
    assert find_one(response.content, data_testid="job-progress-value").text == "37%"
    assert find_one(response.content, role="progressbar").attrs["aria-valuenow"] == "37"
    assert "7/19 texts" in fragment.text
    # A fragment, not a page: swapping it in must not nest a second layout.
    assert b"<html" not in response.content


@pytest.mark.parametrize("status", FINISHED)
def test_progress_fragment_of_a_finished_job_stops_the_polling(analyst, status):
    job = make_job(analyst, status=status, progress=100 if status == JobStatus.SUCCEEDED else 40)

    response = client_for(analyst).get(reverse("jobs:progress", args=[job.pk]))

    fragment = find_one(response.content, id="job-progress")
    assert "hx-trigger" not in fragment.attrs
    assert "hx-get" not in fragment.attrs
    assert fragment.attrs["data-status"] == status


def test_job_page_embeds_the_polling_fragment_and_loads_htmx(analyst):
    job = make_job(analyst, status=JobStatus.RUNNING, progress=10)

    response = client_for(analyst).get(reverse("jobs:detail", args=[job.pk]))

    assert response.status_code == 200
    assert find_one(response.content, id="job-progress").attrs["hx-trigger"] == "every 1s"
    assert find_all(response.content, src="/static/vendor/htmx/htmx.min.js")


def test_progress_fragment_follows_the_job_from_queued_to_done(analyst):
    client = client_for(analyst)
    job = make_job(analyst, status=JobStatus.QUEUED)
    url = reverse("jobs:progress", args=[job.pk])

    first = find_one(client.get(url).content, id="job-progress")
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, progress=50, message="1/2 texts")
    middle = client.get(url).content
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.SUCCEEDED, progress=100, message="Embedded 2 texts", result=embedding_result()
    )
    last = client.get(url).content

    assert first.attrs["data-status"] == "queued" and "hx-trigger" in first.attrs
    assert find_one(middle, data_testid="job-progress-value").text == "50%"
    assert find_one(middle, data_testid="job-status").text == "Running"
    assert "hx-trigger" not in find_one(last, id="job-progress").attrs
    assert find_one(last, data_testid="job-status").text == "Succeeded"
    assert find_one(last, data_testid="job-progress-value").text == "100%"


def test_failed_job_shows_its_error_and_attempts(analyst):
    job = make_job(
        analyst, status=JobStatus.FAILED, progress=12, attempts=3, error="RuntimeError: the model file is missing"
    )

    response = client_for(analyst).get(reverse("jobs:detail", args=[job.pk]))

    assert find_one(response.content, data_testid="job-error").text == "RuntimeError: the model file is missing"
    assert find_one(response.content, data_testid="job-status").text == "Failed"
    assert "Attempts 3" in find_one(response.content, id="job-progress").text


# --- result summary ---------------------------------------------------------------


def test_succeeded_embedding_job_shows_a_summary_not_every_vector(analyst):
    job = make_job(analyst, status=JobStatus.SUCCEEDED, progress=100, result=embedding_result())

    response = client_for(analyst).get(reverse("jobs:detail", args=[job.pk]))

    assert find_one(response.content, data_testid="result-count").text == "2"
    assert find_one(response.content, data_testid="result-dimensions").text == "384"
    result = find_one(response.content, data_testid="job-result").text
    assert "sentence-transformers/all-MiniLM-L6-v2" in result
    assert "#42" in result
    preview = find_one(response.content, data_testid="vector-preview").text
    assert preview.startswith("[0.0000, 0.0001, 0.0002")
    assert f"{384 - VECTOR_PREVIEW_VALUES} more" in preview
    # Values from deep inside the vectors never reach the page.
    assert b"0.0300" not in response.content and b"1.0383" not in response.content


def test_result_summary_of_other_job_kinds_shows_sizes_instead_of_contents(analyst):
    job = make_job(
        analyst,
        kind=JobKind.REPORT,
        status=JobStatus.SUCCEEDED,
        progress=100,
        result={"title": "Q3 credit review", "sections": [{"a": 1}] * 30, "score": 0.7},
    )

    summary = job_result_summary(job)

    assert summary == {
        "kind": "generic",
        "fields": [("title", "Q3 credit review"), ("sections", "list of 30"), ("score", 0.7)],
    }


@pytest.mark.parametrize("status", [*ACTIVE, JobStatus.FAILED])
def test_no_result_summary_before_the_job_succeeded(analyst, status):
    assert job_result_summary(make_job(analyst, status=status, result=embedding_result())) is None


# --- job list refreshes its active jobs ----------------------------------------------


def test_job_list_polls_its_table_while_a_job_is_active(analyst):
    make_job(analyst, status=JobStatus.SUCCEEDED, progress=100)
    make_job(analyst, status=JobStatus.RUNNING, progress=30)

    response = client_for(analyst).get(reverse("jobs:list"))

    table = find_one(response.content, id="job-table")
    assert table.attrs["hx-get"] == reverse("jobs:table")
    assert table.attrs["hx-trigger"] == "every 2s"
    assert table.attrs["hx-swap"] == "outerHTML"
    assert len(find_all(response.content, data_testid="job-status")) == 2


def test_job_list_stops_polling_once_every_job_finished(analyst):
    make_job(analyst, status=JobStatus.SUCCEEDED, progress=100)
    make_job(analyst, status=JobStatus.FAILED, progress=20)

    for url in (reverse("jobs:list"), reverse("jobs:table")):
        table = find_one(client_for(analyst).get(url).content, id="job-table")
        assert "hx-trigger" not in table.attrs, url


def test_job_table_fragment_keeps_the_status_filter_while_polling(analyst):
    running = make_job(analyst, status=JobStatus.RUNNING)
    make_job(analyst, status=JobStatus.SUCCEEDED, progress=100)

    response = client_for(analyst).get(reverse("jobs:table"), {"status": "running"})

    table = find_one(response.content, id="job-table")
    assert table.attrs["hx-get"] == f"{reverse('jobs:table')}?status=running"
    rows = [e for e in find_all(response.content, data_status="running") if e.tag == "tr"]
    assert [row.attrs["data-job-id"] for row in rows] == [str(running.pk)]
    assert not [e for e in find_all(response.content, data_status="succeeded") if e.tag == "tr"]


def test_unknown_status_filter_is_ignored(analyst):
    make_job(analyst, status=JobStatus.SUCCEEDED, progress=100)

    response = client_for(analyst).get(reverse("jobs:list"), {"status": "<script>"})

    assert response.status_code == 200
    assert len([e for e in find_all(response.content, data_status="succeeded") if e.tag == "tr"]) == 1


# --- visibility -----------------------------------------------------------------------


@pytest.mark.parametrize("url_name", ["jobs:detail", "jobs:progress"])
def test_another_analysts_job_is_a_404_page(analyst, other_analyst, url_name):
    job = make_job(other_analyst, status=JobStatus.RUNNING)

    response = client_for(analyst).get(reverse(url_name, args=[job.pk]))

    assert response.status_code == 404
    assert find_one(response.content, data_testid="error-page")


def test_missing_job_is_a_404_page(analyst):
    response = client_for(analyst).get(reverse("jobs:detail", args=[uuid.uuid4()]))

    assert response.status_code == 404


def test_job_list_shows_only_own_jobs_to_analysts_and_all_to_auditors(analyst, other_analyst, auditor):
    own = make_job(analyst)
    other = make_job(other_analyst)

    def listed(user):
        content = client_for(user).get(reverse("jobs:list")).content
        return {e.attrs["data-job-id"] for e in find_all(content) if e.tag == "tr" and "data-job-id" in e.attrs}

    assert listed(analyst) == {str(own.pk)}
    assert listed(auditor) == {str(own.pk), str(other.pk)}


def test_dashboard_counts_the_users_jobs_by_status(analyst, other_analyst, auditor):
    make_job(analyst, status=JobStatus.SUCCEEDED, progress=100)
    make_job(analyst, status=JobStatus.SUCCEEDED, progress=100)
    make_job(analyst, status=JobStatus.RUNNING)
    make_job(other_analyst, status=JobStatus.FAILED)

    def counts(user):
        content = client_for(user).get(reverse("core:dashboard")).content
        return {s: int(find_one(content, data_testid=f"count-{s}").text) for s in JobStatus.values}

    assert counts(analyst) == {"queued": 0, "running": 1, "succeeded": 2, "failed": 0, "cancelled": 0}
    assert counts(auditor) == {"queued": 0, "running": 1, "succeeded": 2, "failed": 1, "cancelled": 0}


# --- the embed form -----------------------------------------------------------------


def test_embed_form_starts_a_job_after_commit_and_redirects_to_it(analyst, django_capture_on_commit_callbacks):
    client = client_for(analyst)
    assert find_one(client.get(reverse("jobs:embed")).content, name="texts").tag == "textarea"

    with (
        mock.patch("apps.jobs.services.celery_app.send_task") as send_task,
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        response = client.post(
            reverse("jobs:embed"), {"texts": "\n  Revenue grew 12% year over year.  \n\n Net debt fell. \n"}
        )

    job = Job.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("jobs:detail", args=[job.pk])
    assert job.owner == analyst and job.kind == JobKind.EMBED and job.status == JobStatus.QUEUED
    assert job.params == {"texts": ["Revenue grew 12% year over year.", "Net debt fell."]}
    assert len(callbacks) == 1
    send_task.assert_called_once_with("gpu_workers.tasks.embed_texts", args=[str(job.pk)], task_id=str(job.pk))

    page = client.get(response["Location"])
    assert "Embedding job started for 2 texts." in find_one(page.content, role="status").text


@pytest.mark.parametrize(
    ("texts", "error"),
    [
        ("", "This field is required."),
        ("  \n \n", "Enter at least one line of text."),
        ("one\ntwo\nthree", "At most 2 lines per job; this has 3."),
        ("fine\n\n" + "x" * 41, "at most 40 characters (too long: line 3)"),
    ],
    ids=["empty", "blank-lines", "too-many-lines", "line-too-long"],
)
@override_settings(ARGUS_EMBED_MAX_TEXTS=2, ARGUS_EMBED_MAX_TEXT_CHARS=40)
def test_embed_form_refuses_bad_input_with_a_message_and_starts_nothing(analyst, texts, error):
    response = client_for(analyst).post(reverse("jobs:embed"), {"texts": texts})

    assert response.status_code == 200
    assert error in response.content.decode()
    assert not Job.objects.exists()


def test_auditor_cannot_start_an_embedding_job(auditor):
    response = client_for(auditor).post(reverse("jobs:embed"), {"texts": "Net debt fell."})

    assert response.status_code == 403
    assert not Job.objects.exists()


# --- presentation filters -----------------------------------------------------------------


def test_presentation_filters():
    start = timezone.now()
    assert role_label("risk_officer") == "Risk officer"
    assert role_label("unknown") == "unknown"
    assert short_id(uuid.UUID("12345678-1234-5678-1234-567812345678")) == "12345678"
    assert duration_between(start, None) == ""
    assert duration_between(start, start + datetime.timedelta(milliseconds=250)) == "250 ms"
    assert duration_between(start, start + datetime.timedelta(seconds=12.44)) == "12.4 s"
    assert duration_between(start, start + datetime.timedelta(seconds=185)) == "3 min 05 s"
    assert duration_between(start, start + datetime.timedelta(hours=2, minutes=7)) == "2 h 07 min"
