"""web -> broker -> worker -> model -> audit, with a real worker process."""

from __future__ import annotations

import pytest

from apps.audit.hashing import content_hash
from apps.audit.models import InferenceKind, InferenceRecord, InferenceStatus
from apps.audit.selectors import audit_chain_verify
from apps.jobs.models import Job, JobStatus
from tests.worker import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_analyst_embeds_texts_through_the_api_and_the_worker_records_the_inference(
    celery_worker_process, analyst, api_client
):
    from django.conf import settings

    assert settings.DJANGO_ENV == "test"
    texts = ["Revenue grew 12% year over year.", "The company breached a covenant on its term loan."]
    api_client.force_authenticate(analyst)

    created = api_client.post("/api/embeddings/", {"texts": texts}, format="json")
    assert created.status_code == 202, created.content
    job_id = created.json()["id"]

    def finished():
        body = api_client.get(f"/api/jobs/{job_id}/").json()
        return body if body["status"] in {"succeeded", "failed"} else None

    body = wait_for(finished, timeout=180, what=f"job {job_id}; worker log:\n{celery_worker_process.log()[-3000:]}")
    assert body["status"] == "succeeded", body
    assert body["progress"] == 100
    result = body["result"]
    assert result["count"] == 2 and result["dimensions"] == 384
    assert "vectors" not in result, "vectors are served by page, not kept in the job row"
    vectors = [row["vector"] for row in api_client.get(result["vectors_url"]).json()["results"]]
    assert len(vectors) == 2 and len(vectors[0]) == 384
    # Normalised embeddings: the two finance sentences are related but not identical.
    dot = sum(a * b for a, b in zip(*vectors, strict=True))
    assert 0.0 < dot < 0.95

    record = InferenceRecord.objects.get(job_id=job_id)
    assert record.kind == InferenceKind.EMBED
    assert record.status == InferenceStatus.OK
    assert record.actor == f"user:{analyst.username}" and record.actor_user_id == analyst.pk
    assert record.model_name == "sentence-transformers/all-MiniLM-L6-v2"
    assert record.model_version == result["model_version"]
    assert record.input_hash == content_hash(texts)
    assert len(record.output_hash) == 64
    assert record.tokens_in > 10
    assert audit_chain_verify().ok
    assert Job.objects.get(pk=job_id).status == JobStatus.SUCCEEDED
