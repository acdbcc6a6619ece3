"""Upload -> ingest -> index -> search -> delete, with the real pipelines, model and embedded store."""

from __future__ import annotations

import pytest

from apps.audit.models import InferenceKind, InferenceRecord
from apps.jobs.models import JobStatus
from apps.research.models import Document, DocumentChunk, DocumentStatus
from apps.research.selectors import SearchQuery, chunk_search_for_user
from apps.research.services import (
    DuplicateDocument,
    UploadMetadata,
    document_delete,
    document_reindex,
    documents_upload,
)
from gpu_workers.tasks.common import vector_store
from tests.research.asking import ask_now

pytestmark = pytest.mark.django_db(transaction=True)

ACME_NOTE = b"""# Acme Industrial Q3 review

## Results
Acme Industrial reported third-quarter revenue of $4.2 billion, up 12% year over year, on aerospace demand.
Gross margin widened to 38.5% on pricing.

## Balance sheet
Net debt fell to $1.1 billion and net debt to EBITDA improved to 1.4 times.
Contact the desk at jane.doe@acme-research.example or +44 20 7946 0958 for the model.
"""

GLBX_MEMO = b"""# Globex credit committee memo

Globex Capital is negotiating a covenant waiver with its lenders after liquidity fell below the minimum.
The committee recommends a downgrade of the internal rating to watch.
"""


def upload(user, name, data, **meta):
    return documents_upload(
        uploader=user, filename=name, content_type="text/markdown", data=data, meta=UploadMetadata(**meta)
    )


def test_uploaded_document_is_redacted_chunked_indexed_and_searchable(eager_models_worker, analyst, companies):
    result = upload(analyst, "acme-q3.md", ACME_NOTE, ticker="ACME", doc_type="report", access_level="internal")
    document = Document.objects.get(pk=result.documents[0].pk)
    job = result.job
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert document.status == DocumentStatus.INDEXED and document.chunk_count >= 1
    assert vector_store().count_by_document(str(document.pk)) == document.chunk_count
    stored_text = " ".join(DocumentChunk.objects.filter(document=document).values_list("text", flat=True))
    assert "jane.doe@acme-research.example" not in stored_text and "[EMAIL]" in stored_text
    assert "7946 0958" not in stored_text and "$4.2 billion" in stored_text and "38.5%" in stored_text
    kinds = {r["kind"] for r in document.redaction_log}
    assert {"email", "phone"} <= kinds
    # What reached the vector store: every stored chunk payload of the document, PII-free.
    from pipelines.retrieval import SearchFilters

    in_store = vector_store().search(
        allowed_access_levels=["internal"],
        query_text="contact desk model jane doe acme research",
        filters=SearchFilters(document_ids=[str(document.pk)]),
        mode="keyword",
        limit=50,
    )
    assert len(in_store) == document.chunk_count
    stored_payloads = " ".join(hit.text for hit in in_store)
    assert "[EMAIL]" in stored_payloads and "[PHONE]" in stored_payloads
    assert "jane.doe" not in stored_payloads and "7946" not in stored_payloads

    results = chunk_search_for_user(analyst, SearchQuery(text="How much did Acme's sales grow last quarter?"))
    assert results and results[0].document == document
    answer = ask_now(analyst, SearchQuery(text="What was Acme's net debt to EBITDA?"))
    assert not answer.insufficient_evidence
    assert any("1.4 times" in s.text for s in answer.sentences)
    assert all(s.citation.chunk_id in {c.chunk_id for c in document.chunks.all()} for s in answer.sentences)

    embeds = InferenceRecord.objects.filter(kind=InferenceKind.EMBED, job_id=job.pk)
    assert embeds.count() == 1 and str(document.pk) in embeds.get().document_ids
    retrievals = InferenceRecord.objects.filter(kind=InferenceKind.RETRIEVE, actor=f"user:{analyst.username}")
    assert retrievals.count() == 2 and results[0].chunk.chunk_id in retrievals.first().chunk_ids


def test_restricted_document_is_invisible_to_analyst_without_access(
    eager_models_worker, analyst, restricted_reader, companies
):
    upload(restricted_reader, "memo.md", GLBX_MEMO, ticker="GLBX", doc_type="other", access_level="restricted")
    upload(analyst, "acme.md", ACME_NOTE, ticker="ACME", doc_type="report", access_level="public")
    question = SearchQuery(text="Which company asked its lenders for a covenant waiver?")

    seen_by_reader = chunk_search_for_user(restricted_reader, question)
    assert seen_by_reader[0].document.title == "Globex credit committee memo"
    seen_by_analyst = chunk_search_for_user(analyst, question)
    assert all(r.document.access_level != "restricted" for r in seen_by_analyst)
    answer = ask_now(analyst, question)
    assert "covenant waiver" not in " ".join(s.text for s in answer.sentences)
    # The access filter is part of the vector query: the audit record shows what was asked for.
    record = InferenceRecord.objects.filter(kind=InferenceKind.RETRIEVE, actor=f"user:{analyst.username}").first()
    assert record.parameters["allowed_access_levels"] == ["internal", "public"]


def test_duplicate_upload_is_refused_with_a_pointer(eager_models_worker, analyst, companies):
    first = upload(analyst, "acme.md", ACME_NOTE, ticker="ACME")
    with pytest.raises(DuplicateDocument) as refused:
        upload(analyst, "acme-copy.md", ACME_NOTE, ticker="ACME")
    assert refused.value.details["existing_document_id"] == str(first.documents[0].pk)
    assert Document.objects.count() == 1


def test_reindex_and_delete_leave_store_and_database_consistent(eager_models_worker, analyst, companies):
    document = upload(analyst, "acme.md", ACME_NOTE, ticker="ACME").documents[0]
    store = vector_store()
    before = store.count_by_document(str(document.pk))
    assert before == DocumentChunk.objects.filter(document=document).count() > 0

    document_reindex(user=analyst, document=document)
    assert store.count_by_document(str(document.pk)) == before
    assert DocumentChunk.objects.filter(document=document).count() == before

    job = document_delete(user=analyst, document=document)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert store.count_by_document(str(document.pk)) == 0
    assert not Document.objects.filter(pk=document.pk).exists()
    assert not DocumentChunk.objects.filter(document_id=document.pk).exists()


def test_upload_racing_a_duplicate_is_refused_as_duplicate(analyst, companies, monkeypatch, settings, tmp_path):
    """Two uploads of the same bytes pass the duplicate check together; the second insert must say duplicate."""
    settings.MEDIA_ROOT = tmp_path
    from apps.research import services

    first = upload(analyst, "acme.md", ACME_NOTE, ticker="ACME").documents[0]
    # Make the early duplicate check miss, as it does when both uploads check before either commits.
    real_filter = Document.objects.filter

    def blind_filter(*args, **kwargs):
        if "content_hash__in" in kwargs:
            return Document.objects.none()
        return real_filter(*args, **kwargs)

    monkeypatch.setattr(services.Document.objects, "filter", blind_filter)
    with pytest.raises(DuplicateDocument) as refused:
        upload(analyst, "acme-again.md", ACME_NOTE, ticker="ACME")
    assert refused.value.details["existing_document_id"] == str(first.pk)
    assert Document.objects.count() == 1
    assert len(list((tmp_path / "documents").iterdir())) == 1, "the refused upload's file was removed"
