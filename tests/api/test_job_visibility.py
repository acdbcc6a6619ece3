"""Research readers follow the system's research indexing jobs (the demo corpus), read-only."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.jobs.models import Job, JobKind
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_corpus_job():
    return Job.objects.create(kind=JobKind.INGEST, owner=None, actor_label="system:demo-corpus")


@pytest.fixture
def system_scan_job():
    return Job.objects.create(kind=JobKind.RISK_SCAN, owner=None, actor_label="system:beat")


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.mark.parametrize("persona", ["analyst", "risk_officer"])
def test_research_readers_see_the_demo_indexing_job(personas, persona, demo_corpus_job, system_scan_job):
    client = _api(personas[persona])
    listed = [row["id"] for row in client.get("/api/jobs/").json()["results"]]
    assert listed == [str(demo_corpus_job.pk)]
    detail = client.get(f"/api/jobs/{demo_corpus_job.pk}/").json()
    assert detail["owner"] is None and detail["actor_label"] == "system:demo-corpus"
    assert client_for(personas[persona]).get(f"/jobs/{demo_corpus_job.pk}/").status_code == 200
    assert client_for(personas[persona]).get(f"/jobs/{demo_corpus_job.pk}/progress/").status_code == 200


def test_users_without_a_research_role_do_not(outsider, demo_corpus_job):
    assert _api(outsider).get(f"/api/jobs/{demo_corpus_job.pk}/").status_code == 403


def test_another_users_job_stays_hidden(analyst, other_analyst, demo_corpus_job):
    own = Job.objects.create(kind=JobKind.EMBED, owner=other_analyst, actor_label="user:oscar-analyst")
    assert _api(analyst).get(f"/api/jobs/{own.pk}/").status_code == 404
