"""A real worker ingests, indexes and searches documents end to end (PostgreSQL + Redis in CI)."""

from __future__ import annotations

import pytest

from apps.audit.models import InferenceKind, InferenceRecord
from apps.audit.selectors import audit_chain_verify
from apps.jobs.models import Job, JobStatus
from apps.research.models import Company, Document, DocumentChunk, DocumentStatus
from apps.research.selectors import SearchQuery, chunk_search_for_user
from apps.research.services import UploadMetadata, document_delete, documents_upload
from tests.worker import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

BATCH = b"\n".join(
    [
        b'{"title": "Initech liquidity update", "ticker": "INTC1", "type": "news", "date": "2024-03-01", '
        b'"text": "Initech drew the full revolving credit facility as cash burn accelerated. '
        b'Call the treasury desk on +1 212 555 0147."}',
        b'{"title": "Initech board memo", "ticker": "INTC1", "type": "other", "access_level": "restricted", '
        b'"text": "The board discussed a possible sale of the payments unit to a strategic buyer."}',
    ]
)


def finished(job_id):
    job = Job.objects.get(pk=job_id)
    return job if job.status in {JobStatus.SUCCEEDED, JobStatus.FAILED} else None


def test_worker_ingests_indexes_searches_and_deletes(celery_worker_process, analyst, make_user):
    from django.contrib.auth.models import Group

    from apps.accounts.roles import Role
    from apps.research.access import RESTRICTED_READERS_GROUP

    deal_team = make_user("dora-deals", Role.ANALYST)
    deal_team.groups.add(Group.objects.get_or_create(name=RESTRICTED_READERS_GROUP)[0])
    Company.objects.create(ticker="INTC1", name="Initech Holdings")
    upload = documents_upload(
        uploader=deal_team,
        filename="initech.jsonl",
        content_type="application/x-ndjson",
        data=BATCH,
        meta=UploadMetadata(access_level="internal"),
    )
    job = wait_for(
        lambda: finished(upload.job.pk), timeout=240, what=f"ingest; log:\n{celery_worker_process.log()[-3000:]}"
    )
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.progress == 100 and job.result["indexed_documents"] == 2
    documents = Document.objects.order_by("title")
    assert [d.status for d in documents] == [DocumentStatus.INDEXED, DocumentStatus.INDEXED]
    assert [d.access_level for d in documents] == ["restricted", "internal"]
    assert "555 0147" not in " ".join(DocumentChunk.objects.values_list("text", flat=True))

    results = chunk_search_for_user(analyst, SearchQuery(text="Did Initech tap its revolver?"))
    assert [r.document.title for r in results] == ["Initech liquidity update"], "the restricted memo must not appear"
    assert InferenceRecord.objects.filter(kind=InferenceKind.RETRIEVE, actor_user_id=analyst.pk).count() == 1
    assert InferenceRecord.objects.filter(kind=InferenceKind.EMBED, job_id=job.pk).exists()

    deleted = document_delete(user=deal_team, document=results[0].document)
    wait_for(lambda: finished(deleted.pk), timeout=120, what="delete")
    assert not Document.objects.filter(title="Initech liquidity update").exists()
    assert chunk_search_for_user(analyst, SearchQuery(text="Did Initech tap its revolver?")) == []
    assert audit_chain_verify().ok
