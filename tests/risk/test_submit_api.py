"""POST /api/risk/articles/: the real-time path stores one article and scores it through a job."""

from __future__ import annotations

import pytest

from apps.jobs.models import Job, JobStatus
from apps.risk.models import Article, RiskEvent
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

URL = "/api/risk/articles/"
STORY = {
    "title": "Acme Industrial files for Chapter 11",
    "body": "Acme Industrial Corp, a key supplier to Globex Corporation, filed for Chapter 11 bankruptcy protection.",
    "source": "Wire One",
    "published_at": "2024-11-12T09:00:00Z",
}


@pytest.fixture(autouse=True)
def _no_registered_sentiment_model(tmp_path, monkeypatch):
    monkeypatch.setenv("ARGUS_MODELS_DIR", str(tmp_path / "models"))
    from pipelines import sentiment

    sentiment.reset_cache()


@pytest.fixture
def eager_tasks():
    from config.celery import app

    was_eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = was_eager


def test_a_submitted_article_is_processed_and_scored_by_its_job(
    risk_officer, companies, eager_tasks, django_capture_on_commit_callbacks
):
    client = client_for(risk_officer)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, STORY, content_type="application/json")

    assert response.status_code == 202, response.content
    body = response.json()
    assert body["outcome"] == "created" and body["job_id"] and body["status_url"].endswith(f"{body['job_id']}/")
    job = Job.objects.get(pk=body["job_id"])
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.params["article_ids"] == [body["article"]["id"]]
    assert RiskEvent.objects.filter(article_id=body["article"]["id"], company__ticker="ACME").exists()

    analysis = client.get(body["analysis_url"]).json()
    assert {"ACME", "GLBX"} <= {e["ticker"] for e in analysis["entities"] if e.get("ticker")}


def test_a_duplicate_story_is_not_scored_again(risk_officer, companies):
    client = client_for(risk_officer)
    first = client.post(URL, STORY, content_type="application/json").json()
    again = client.post(URL, STORY, content_type="application/json")

    assert again.status_code == 200
    assert again.json()["outcome"] == "duplicate" and again.json()["job_id"] is None
    assert again.json()["article"]["id"] == first["article"]["id"]
    assert Article.objects.count() == 1 and Job.objects.filter(kind="risk_scan").count() == 1


@pytest.mark.parametrize(
    "payload",
    [{"body": "no title"}, {**STORY, "wait": 11}, {**STORY, "published_at": "yesterday"}, {**STORY, "url": "nope"}],
)
def test_a_bad_payload_is_a_400_and_stores_nothing(risk_officer, companies, payload):
    response = client_for(risk_officer).post(URL, payload, content_type="application/json")

    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid"
    assert not Article.objects.exists()


def test_analysts_and_auditors_read_but_do_not_submit(analyst, auditor, companies):
    for user in (analyst, auditor):
        client = client_for(user)
        assert client.post(URL, STORY, content_type="application/json").status_code == 403
        assert client.get(URL).status_code == 200
    assert not Article.objects.exists()
