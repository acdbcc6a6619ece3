"""Embedding vectors stay out of the job row; lists never carry results.

A job's ``result`` is read by every poll and every list: 1,000 texts x 384 floats made it
4 MB. The vectors now live in storage and come a page at a time from ``/api/jobs/<id>/vectors/``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.jobs.artifacts import VECTOR_PREVIEW_VALUES, job_vectors_save
from apps.jobs.models import Job, JobKind, JobStatus
from gpu_workers.embedding import EmbeddingBatch
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

DIMENSIONS = 384


@dataclass
class FakeEmbedder:
    """The four hooks of the embedding engine without a model: vector i is i + position / 10,000."""

    model_name: str = "fake-minilm"
    model_version: str = "sha256:fake"
    batch_size: int = 8
    device: str = "cpu"
    dimensions: int = DIMENSIONS

    def decode(self, texts):
        return list(texts)

    def predict(self, texts, progress=None):
        vectors = np.array([[i + p / 10_000 for p in range(DIMENSIONS)] for i in range(len(texts))], dtype=np.float32)
        return EmbeddingBatch(vectors=vectors, tokens=len(texts))

    def encode(self, batch):
        return [[round(float(x), 6) for x in row] for row in batch.vectors]


def run_embedding_job(owner, count: int, monkeypatch) -> Job:
    from gpu_workers.tasks import embedding

    monkeypatch.setattr(embedding, "embedding_engine", FakeEmbedder)
    job = Job.objects.create(
        kind=JobKind.EMBED, owner=owner, actor_label=f"user:{owner.username}", params={"texts": ["t"] * count}
    )
    outcome = embedding.embed_texts.apply(args=[str(job.id)])
    assert outcome.successful(), outcome.traceback
    job.refresh_from_db()
    return job


def test_embedding_result_is_a_bounded_summary_and_the_vectors_come_by_page(analyst, monkeypatch):
    job = run_embedding_job(analyst, 250, monkeypatch)

    assert job.status == JobStatus.SUCCEEDED
    assert "vectors" not in job.result
    assert len(json.dumps(job.result)) < 1_000  # 250 vectors inline were about 1 MB
    assert (job.result["count"], job.result["dimensions"], job.result["model"]) == (250, DIMENSIONS, "fake-minilm")
    assert job.result["preview"] == [round(p / 10_000, 6) for p in range(VECTOR_PREVIEW_VALUES)]
    assert job.result["inference_record"] is not None

    client = client_for(analyst)
    detail = client.get(f"/api/jobs/{job.id}/").json()
    assert detail["result"]["dimensions"] == DIMENSIONS  # the README's example
    first = client.get(detail["result"]["vectors_url"]).json()
    assert first["count"] == 250 and len(first["results"]) == 100 and first["next"]
    assert first["results"][1]["index"] == 1 and first["results"][1]["vector"][:2] == [1.0, 1.0001]

    # A page larger than the stated max_limit is refused, not silently shrunk.
    assert client.get(detail["result"]["vectors_url"], {"offset": 240, "limit": 5_000}).status_code == 400
    last = client.get(detail["result"]["vectors_url"], {"offset": 240, "limit": 100}).json()
    assert [row["index"] for row in last["results"]] == list(range(240, 250))
    assert len(last["results"][-1]["vector"]) == DIMENSIONS


def test_a_redelivered_embedding_job_replaces_its_vectors_under_the_same_name(analyst):
    job = Job.objects.create(kind=JobKind.EMBED, owner=analyst, actor_label="user:x", status=JobStatus.SUCCEEDED)
    first = job_vectors_save(job_id=job.id, vectors=[[1.0, 0.0]])
    again = job_vectors_save(job_id=job.id, vectors=[[0.0, 1.0]])
    assert first == again
    assert client_for(analyst).get(f"/api/jobs/{job.id}/vectors/").json()["results"][0]["vector"] == [0.0, 1.0]


def test_vectors_of_another_users_job_or_an_unfinished_job_are_a_404(analyst, other_analyst, auditor):
    done = Job.objects.create(kind=JobKind.EMBED, owner=analyst, actor_label="user:x", status=JobStatus.SUCCEEDED)
    job_vectors_save(job_id=done.id, vectors=[[0.5, 0.5]])
    queued = Job.objects.create(kind=JobKind.EMBED, owner=analyst, actor_label="user:x")
    report = Job.objects.create(kind=JobKind.REPORT, owner=analyst, actor_label="user:x", status=JobStatus.SUCCEEDED)

    assert client_for(other_analyst).get(f"/api/jobs/{done.id}/vectors/").status_code == 404
    assert client_for(auditor).get(f"/api/jobs/{done.id}/vectors/").status_code == 200
    for job in (queued, report):
        assert client_for(analyst).get(f"/api/jobs/{job.id}/vectors/").status_code == 404


def test_jobs_that_kept_their_vectors_inline_still_serve_them(analyst):
    job = Job.objects.create(
        kind=JobKind.EMBED,
        owner=analyst,
        actor_label="user:x",
        status=JobStatus.SUCCEEDED,
        result={"count": 2, "dimensions": 2, "vectors": [[0.6, 0.8], [1.0, 0.0]]},
    )
    body = client_for(analyst).get(f"/api/jobs/{job.id}/vectors/").json()
    assert [row["vector"] for row in body["results"]] == [[0.6, 0.8], [1.0, 0.0]]


def test_job_lists_carry_no_results_and_do_not_read_them(analyst):
    big = {"count": 1, "blob": "x" * 100_000}
    job = Job.objects.create(
        kind=JobKind.EMBED,
        owner=analyst,
        actor_label="user:x",
        status=JobStatus.SUCCEEDED,
        params={"texts": ["y" * 50_000]},
        result=big,
    )
    client = client_for(analyst)
    with CaptureQueriesContext(connection) as queries:
        listed = client.get("/api/jobs/")
        page = client.get("/jobs/")
        table = client.get("/jobs/table/")
        dashboard = client.get("/")
    assert listed.status_code == page.status_code == table.status_code == dashboard.status_code == 200
    assert [set(item) & {"result", "params"} for item in listed.json()["results"]] == [set()]
    assert len(listed.content) < 2_000
    job_selects = [
        q["sql"] for q in queries.captured_queries if 'FROM "jobs_job"' in q["sql"] and "COUNT" not in q["sql"]
    ]
    assert job_selects and not [
        sql for sql in job_selects if '"jobs_job"."result"' in sql or '"jobs_job"."params"' in sql
    ]
    # The detail endpoint still returns the result.
    assert client.get(f"/api/jobs/{job.id}/").json()["result"] == big


def test_job_page_shows_the_preview_and_where_the_vectors_are(analyst, monkeypatch):
    job = run_embedding_job(analyst, 3, monkeypatch)
    html = client_for(analyst).get(f"/jobs/{job.id}/").content.decode()
    assert "[0.0000, 0.0001, 0.0002" in html and f"{DIMENSIONS - VECTOR_PREVIEW_VALUES} more" in html
    assert f"/api/jobs/{job.id}/vectors/" in html
