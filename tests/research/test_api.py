"""The research API: uploads (each format, each refusal), document reads, re-index, delete, search and ask.

Tests that need the ingest and the model run them in this process (``eager_models_worker``)
and let what a request enqueued run when the request's transaction would commit
(``on_commit`` callbacks captured and executed), which keeps them free of a slow flush.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from unittest import mock

import pytest
from celery.exceptions import TimeoutError as CeleryTimeout
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from apps.jobs.models import Job, JobKind, JobStatus
from apps.research.models import Document, DocumentChunk, DocumentStatus
from apps.research.services import UploadFile, UploadMetadata, UploadRefused, documents_upload_many
from gpu_workers.tasks.common import vector_store
from tests.conftest import client_for
from tests.pipelines.pdf_factory import encrypt_pdf, make_pdf
from tests.research.asking import ask_api

pytestmark = pytest.mark.django_db

DOCUMENTS = "/api/documents/"

ACME_MD = b"""# Acme Industrial Q3 review

## Results
Acme Industrial reported third-quarter revenue of $4.2 billion, up 12% year over year, on aerospace demand.

## Balance sheet
Net debt fell to $1.1 billion and net debt to EBITDA improved to 1.4 times.
Questions to jane.doe@acme-research.example or +44 20 7946 0958.
"""
ACME_HTML = b"""<!doctype html><html><head><title>Acme plant visit</title></head><body>
<h1>Acme plant visit</h1><p>The Toulouse turbine plant runs three shifts and plans a fourth line for 2026.</p>
</body></html>"""
ACME_TEXT = b"""Acme call notes

Management guided free cash flow conversion above ninety percent for the full year.
"""
GLBX_MEMO = b"""# Globex credit committee memo

Globex Capital is negotiating a covenant waiver with its lenders after liquidity fell below the minimum.
The committee recommends a downgrade of the internal rating to watch.
"""
BATCH = (
    b'{"title": "Globex wins rail contract", "ticker": "GLBX", "type": "news", "date": "2025-09-01", '
    b'"text": "Globex Capital financed a rail signalling contract worth 300 million euros in Poland."}\n'
    b'{"title": "Acme dividend", "ticker": "ACME", "type": "news", "date": "2025-09-03", '
    b'"text": "Acme Industrial raised its quarterly dividend by eight percent after strong orders."}\n'
)


def acme_pdf() -> bytes:
    return make_pdf(
        [
            [
                "Acme Industrial annual report",
                "Segment review",
                "Aerospace orders rose to a record backlog of 19 months.",
            ],
            ["Outlook", "Capital expenditure will stay near 400 million dollars in the coming year."],
        ],
        title="Acme annual report",
    )


def as_file(name: str, data: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def upload(client, *files: SimpleUploadedFile, **meta):
    return client.post(DOCUMENTS, {"files": list(files), **meta})


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.content[:800]
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["status"] == status and error["code"] and error["detail"]
    return error


def stored_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings


@pytest.fixture
def send_task():
    """The broker, replaced: a refused upload must not enqueue anything."""
    with mock.patch("apps.jobs.services.celery_app.send_task") as patched:
        yield patched


@pytest.fixture
def worker(eager_models_worker, django_capture_on_commit_callbacks):
    """Runs a request, then what it enqueued (ingest, index, delete) in this process."""

    def run(call):
        with django_capture_on_commit_callbacks(execute=True):
            return call()

    return run


def assert_nothing_stored(settings) -> None:
    assert Document.objects.count() == 0
    assert not Job.objects.filter(kind=JobKind.INGEST).exists()
    assert stored_files(settings) == []


def make_document(owner, *, title="Note", access_level="internal", status=DocumentStatus.INDEXED, **fields):
    return Document.objects.create(
        title=title,
        uploaded_by=owner,
        access_level=access_level,
        status=status,
        content_hash=hashlib.sha256(f"{title}-{access_level}-{fields}".encode()).hexdigest(),
        **fields,
    )


# --- uploads that are indexed ---------------------------------------------------------------


def test_markdown_html_text_and_pdf_in_one_upload_are_all_indexed_by_one_job(worker, analyst, companies):
    client = client_for(analyst)
    response = worker(
        lambda: upload(
            client,
            as_file("acme-q3.md", ACME_MD, "text/markdown"),
            as_file("visit.html", ACME_HTML, "text/html"),
            as_file("call-notes.txt", ACME_TEXT, "text/plain"),
            as_file("annual.pdf", acme_pdf(), "application/pdf"),
            ticker="acme",
            doc_type="report",
            access_level="internal",
            published_on="2025-10-28",
        )
    )

    assert response.status_code == 202, response.content
    body = response.json()
    assert body["job"]["kind"] == "ingest" and body["job"]["status_url"] == f"/api/jobs/{body['job']['id']}/"
    assert [d["original_name"] for d in body["documents"]] == [
        "acme-q3.md",
        "visit.html",
        "call-notes.txt",
        "annual.pdf",
    ]
    assert Job.objects.get(pk=body["job"]["id"]).status == JobStatus.SUCCEEDED
    store = vector_store()
    formats = {}
    for item in body["documents"]:
        assert item["url"] == f"/api/documents/{item['id']}/"
        assert item["page_url"] == f"/research/documents/{item['id']}/"
        document = Document.objects.get(pk=item["id"])
        assert document.status == DocumentStatus.INDEXED, document.status_reason
        assert document.company.ticker == "ACME" and document.published_on == dt.date(2025, 10, 28)
        assert document.chunk_count > 0
        assert store.count_by_document(item["id"]) == document.chunk_count == document.chunks.count()
        formats[document.original_name] = document.file_format
    assert formats == {"acme-q3.md": "markdown", "visit.html": "html", "call-notes.txt": "text", "annual.pdf": "pdf"}
    assert Document.objects.get(original_name="annual.pdf").page_count == 2
    # Titles come from the files themselves when none is given.
    titles = set(Document.objects.values_list("title", flat=True))
    assert {"Acme Industrial Q3 review", "Acme plant visit", "Acme annual report"} <= titles


def test_json_lines_file_is_a_batch_of_documents_with_their_own_metadata(worker, analyst, companies):
    response = worker(lambda: upload(client_for(analyst), as_file("news.jsonl", BATCH, "application/x-ndjson")))

    assert response.status_code == 202, response.content
    documents = Document.objects.filter(pk__in=[d["id"] for d in response.json()["documents"]])
    by_title = {d.title: d for d in documents}
    assert set(by_title) == {"Globex wins rail contract", "Acme dividend"}
    assert by_title["Globex wins rail contract"].company.ticker == "GLBX"
    assert by_title["Acme dividend"].published_on == dt.date(2025, 9, 3)
    assert all(d.doc_type == "news" and d.status == DocumentStatus.INDEXED for d in documents)
    assert all(vector_store().count_by_document(d.pk) == d.chunk_count > 0 for d in documents)


def test_search_returns_ranked_chunks_with_document_page_highlights_and_scores(worker, analyst, companies):
    client = client_for(analyst)
    worker(lambda: upload(client, as_file("acme-q3.md", ACME_MD), ticker="ACME", doc_type="report"))
    worker(lambda: upload(client, as_file("annual.pdf", acme_pdf()), ticker="ACME", doc_type="filing"))
    worker(lambda: upload(client, as_file("memo.md", GLBX_MEMO), ticker="GLBX", doc_type="other"))

    response = client.post("/api/search/", {"query": "net debt to EBITDA", "limit": 5}, content_type="application/json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["mode"] == "hybrid" and body["count"] == len(body["results"]) >= 1
    top = body["results"][0]
    chunk = DocumentChunk.objects.get(chunk_id=top["chunk_id"])
    assert top["rank"] == 1 and "1.4 times" in top["text"] and top["text"] == chunk.text
    assert top["document"]["title"] == "Acme Industrial Q3 review"
    assert top["document"]["ticker"] == "ACME" and top["document"]["access_level"] == "internal"
    assert top["section"] == chunk.section and top["page"] is None
    assert top["score"] > 0 and set(top["ranks"]) <= {"dense", "keyword"}
    marked = {top["text"][h["start"] : h["end"]].lower() for h in top["highlights"]}
    assert {"net", "debt", "ebitda"} <= marked
    assert top["chunk_url"].endswith(f"#chunk-{top['chunk_id']}")
    assert [r["rank"] for r in body["results"]] == list(range(1, len(body["results"]) + 1))

    # Filters: only filings, and the PDF's page comes back.
    response = client.post(
        "/api/search/",
        {"query": "capital expenditure", "doc_types": ["filing"], "tickers": ["acme"], "mode": "keyword"},
        content_type="application/json",
    )
    results = response.json()["results"]
    assert results and {r["document"]["doc_type"] for r in results} == {"filing"}
    assert results[0]["page"] == 2


def test_ask_answers_with_sentences_citing_retrieved_chunks(worker, analyst, companies):
    client = client_for(analyst)
    worker(lambda: upload(client, as_file("acme-q3.md", ACME_MD), ticker="ACME", doc_type="report"))

    response = ask_api(client, {"question": "What was Acme's net debt to EBITDA?"}, worker)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["insufficient_evidence"] is False and body["method"] == "extractive"
    assert any("1.4 times" in s["text"] for s in body["answer"])
    source_ids = {s["chunk_id"] for s in body["sources"]}
    for sentence in body["answer"]:
        citation = sentence["citation"]
        chunk = DocumentChunk.objects.get(chunk_id=citation["chunk_id"])
        assert citation["chunk_id"] in source_ids
        assert sentence["text"] in " ".join(chunk.text.split())
        assert citation["document_id"] == str(chunk.document_id) and citation["title"] == chunk.document.title
        assert (
            citation["url"] == f"/research/documents/{chunk.document_id}/?chunk={chunk.chunk_id}#chunk-{chunk.chunk_id}"
        )

    unrelated = ask_api(client, {"question": "Zebra migration Serengeti?"}, worker)
    assert unrelated.status_code == 200
    assert unrelated.json()["insufficient_evidence"] is True and unrelated.json()["answer"] == []


def test_off_topic_question_abstains_without_calling_a_model_and_says_why(worker, analyst, companies):
    from apps.audit.models import InferenceKind, InferenceRecord

    client = client_for(analyst)
    worker(lambda: upload(client, as_file("acme-q3.md", ACME_MD), ticker="ACME", doc_type="report"))

    with mock.patch("gpu_workers.tasks.answers.generation_engine") as engine:
        response = ask_api(client, {"question": "Who won the 1998 football world cup?"}, worker)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["insufficient_evidence"] is True and body["answer"] == [] and body["method"] == "abstained"
    assert body["abstention"]["sufficient"] is False and "similarity" in body["abstention"]["reason"]
    assert body["abstention"]["best_dense"] < body["abstention"]["thresholds"]["min_dense"]
    engine.assert_not_called()
    # The search is still audited; no generation was.
    kinds = set(InferenceRecord.objects.filter(job_id=body["job_id"]).values_list("kind", flat=True))
    assert InferenceKind.RETRIEVE in kinds and InferenceKind.GENERATE not in kinds


def test_abstention_thresholds_are_settings(worker, analyst, companies, settings):
    client = client_for(analyst)
    worker(lambda: upload(client, as_file("acme-q3.md", ACME_MD), ticker="ACME", doc_type="report"))

    settings.ARGUS_ABSTAIN_MIN_DENSE = 0.0
    settings.ARGUS_ABSTAIN_MIN_COVERAGE = 0.0
    loose = ask_api(client, {"question": "Who won the 1998 football world cup?"}, worker).json()
    assert loose["method"] == "extractive" and loose["abstention"]["sufficient"] is True

    settings.ARGUS_ABSTAIN_MIN_DENSE = 0.99
    strict = ask_api(client, {"question": "What was Acme's net debt to EBITDA?"}, worker).json()
    assert strict["method"] == "abstained" and strict["insufficient_evidence"] is True
    assert strict["abstention"]["thresholds"]["min_dense"] == 0.99


def test_sources_that_disagree_are_shown_as_a_conflict_with_both_citations(worker, analyst, companies):
    client = client_for(analyst)
    filing = (
        b"# Acme Industrial annual report\n\nAcme Industrial gross margin was 26.7% in fiscal 2024, on higher "
        b"freight costs.\n"
    )
    note = b"# Acme quick take\n\nOur view: Acme Industrial gross margin was 88.8% in fiscal 2024, a record.\n"
    # "filing", not "10-K": the upload lower-cases doc_type, so the new upper-case forms are refused
    # (apps.research.services._choice; left to the metadata work).
    for name, data, doc_type in (("acme-10k.md", filing, "filing"), ("acme-note.md", note, "note")):
        uploaded = worker(lambda: upload(client, as_file(name, data), ticker="ACME", doc_type=doc_type))  # noqa: B023
        assert uploaded.status_code == 202, uploaded.content

    body = ask_api(client, {"question": "What was Acme Industrial's gross margin in fiscal 2024?"}, worker).json()

    assert body["insufficient_evidence"] is False, body
    [conflict] = [c for c in body["conflicts"] if c["metric"] == "gross_profit"]
    assert conflict["period"] == "2024"
    assert [q["doc_type"] for q in conflict["quotes"]] == ["filing", "note"]
    assert conflict["preferred_chunk_id"] == conflict["quotes"][0]["citation"]["chunk_id"]
    assert "26.7%" in conflict["quotes"][0]["figures"] and "88.8%" in conflict["quotes"][1]["figures"]
    cited = {s["citation"]["chunk_id"] for s in body["answer"]}
    assert {q["citation"]["chunk_id"] for q in conflict["quotes"]} <= cited


# --- refused uploads: the reason, and nothing stored ------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("setup.exe", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" * 8, "unsupported_type"),
        ("empty.txt", b"", "empty_document"),
        ("blank.md", b"   \n\n  \n", "empty_document"),
        ("locked.pdf", encrypt_pdf(make_pdf([["Secret numbers"]]), user_password=""), "encrypted_pdf"),
        ("scan.pdf", make_pdf([[]]), "no_text_layer"),
        ("broken.jsonl", b'{"title": "ok", "text": "fine"}\n{not json}\n', "malformed_jsonl"),
    ],
    ids=["exe", "empty", "whitespace", "encrypted-pdf", "no-text-pdf", "malformed-jsonl"],
)
def test_bad_file_is_refused_with_its_reason_and_nothing_is_stored(media, send_task, analyst, name, data, reason):
    response = upload(client_for(analyst), as_file(name, data))

    error = error_of(response, 400)
    assert error["code"] == "upload_rejected"
    entry = error["fields"]["files"]["0"]
    assert entry["reason"] == reason and entry["filename"] == name and entry["message"]
    assert name in error["detail"] and "Nothing was stored" in error["detail"]
    assert_nothing_stored(media)
    send_task.assert_not_called()


def test_file_over_the_size_limit_is_400_file_too_large(media, send_task, analyst):
    media.ARGUS_MAX_UPLOAD_BYTES = 1000

    response = upload(client_for(analyst), as_file("big.md", b"# Big\n\n" + b"word " * 400))

    entry = error_of(response, 400)["fields"]["files"]["0"]
    assert entry["reason"] == "file_too_large"
    assert "limit" in entry["message"]
    assert_nothing_stored(media)


def test_oversized_file_is_refused_without_being_read(media, analyst):
    media.ARGUS_MAX_UPLOAD_BYTES = 100

    def must_not_read() -> bytes:
        raise AssertionError("an oversized file was read")

    big = UploadFile(filename="big.pdf", content_type="application/pdf", size=101, read=must_not_read)
    with pytest.raises(UploadRefused) as refused:
        documents_upload_many(uploader=analyst, files=[big], meta=UploadMetadata())
    assert refused.value.refusals[0].reason_code == "file_too_large"


def test_one_bad_file_among_several_refuses_all_and_lists_each_reason(media, send_task, analyst, companies):
    response = upload(
        client_for(analyst),
        as_file("good.md", ACME_MD),
        as_file("setup.exe", b"MZ" + b"\x00\xff" * 64),
        as_file("also-good.txt", ACME_TEXT),
        as_file("empty.txt", b""),
        ticker="ACME",
    )

    error = error_of(response, 400)
    assert set(error["fields"]["files"]) == {"1", "3"}
    assert error["fields"]["files"]["1"]["reason"] == "unsupported_type"
    assert error["fields"]["files"]["3"]["reason"] == "empty_document"
    assert error["detail"].startswith("2 of 4 files were refused.")
    assert_nothing_stored(media)
    send_task.assert_not_called()


def test_duplicate_is_409_pointing_at_the_stored_document(media, send_task, analyst, other_analyst):
    existing = make_document(other_analyst, title="Acme Q3 review")
    Document.objects.filter(pk=existing.pk).update(content_hash=hashlib.sha256(ACME_MD).hexdigest())

    response = upload(client_for(analyst), as_file("copy-of-acme.md", ACME_MD))

    error = error_of(response, 409)
    assert error["code"] == "duplicate"
    assert error["existing_document"] == {
        "id": str(existing.pk),
        "url": f"/api/documents/{existing.pk}/",
        "page_url": f"/research/documents/{existing.pk}/",
    }
    assert error["fields"]["files"]["0"]["reason"] == "duplicate"
    assert Document.objects.count() == 1 and not Job.objects.exists()
    assert stored_files(media) == []


def test_duplicate_of_a_document_the_uploader_may_not_read_reveals_nothing_about_it(
    media, send_task, analyst, restricted_reader
):
    secret = make_document(restricted_reader, title="Project Falcon term sheet", access_level="restricted")
    Document.objects.filter(pk=secret.pk).update(content_hash=hashlib.sha256(GLBX_MEMO).hexdigest())

    response = upload(client_for(analyst), as_file("memo.md", GLBX_MEMO))

    error = error_of(response, 409)
    assert "existing_document" not in error and "existing_document" not in error["fields"]["files"]["0"]
    assert "Falcon" not in response.content.decode() and str(secret.pk) not in response.content.decode()


def test_same_file_twice_in_one_upload_is_refused(media, send_task, analyst):
    response = upload(client_for(analyst), as_file("a.md", ACME_MD), as_file("b.md", ACME_MD))

    entry = error_of(response, 400)["fields"]["files"]["1"]
    assert entry["reason"] == "duplicate" and "a.md" in entry["message"]
    assert_nothing_stored(media)


def test_upload_metadata_is_validated_before_the_files(media, send_task, analyst, companies):
    client = client_for(analyst)

    unknown_ticker = error_of(upload(client, as_file("a.md", ACME_MD), ticker="NOPE"), 400)
    assert "ticker" in unknown_ticker["fields"]
    bad_type = error_of(upload(client, as_file("a.md", ACME_MD), doc_type="rumour"), 400)
    assert "doc_type" in bad_type["fields"]
    title_for_two = error_of(upload(client, as_file("a.md", ACME_MD), as_file("b.txt", ACME_TEXT), title="X"), 400)
    assert "title" in title_for_two["fields"]
    unknown_field = error_of(upload(client, as_file("a.md", ACME_MD), tiker="ACME"), 400)
    assert "tiker" in unknown_field["fields"]
    no_files = error_of(client.post(DOCUMENTS, {"ticker": "ACME"}), 400)
    assert "files" in no_files["fields"]
    too_many = error_of(upload(client, *[as_file(f"{i}.txt", b"note %d" % i) for i in range(21)]), 400)
    assert "files" in too_many["fields"]
    assert_nothing_stored(media)


def test_analyst_may_not_upload_at_a_level_they_cannot_read(media, send_task, analyst, restricted_reader):
    error = error_of(upload(client_for(analyst), as_file("memo.md", GLBX_MEMO), access_level="restricted"), 400)
    assert "access_level" in error["fields"]
    line = b'{"title": "Deal", "access_level": "restricted", "text": "A confidential deal note about a merger."}\n'
    batch = error_of(upload(client_for(analyst), as_file("deal.jsonl", line)), 400)
    assert batch["fields"]["files"]["0"]["reason"] == "access_level_not_allowed"
    assert_nothing_stored(media)

    accepted = upload(client_for(restricted_reader), as_file("memo.md", GLBX_MEMO), access_level="restricted")
    assert accepted.status_code == 202, accepted.content


def test_upload_takes_multipart_only_and_other_endpoints_json_only(media, send_task, analyst):
    client = client_for(analyst)
    as_json = client.post(DOCUMENTS, {"files": []}, content_type="application/json")
    assert error_of(as_json, 415)["code"] == "unsupported_media_type"
    search_as_form = client.post("/api/search/", {"query": "debt"})
    assert error_of(search_as_form, 415)["code"] == "unsupported_media_type"


@pytest.mark.parametrize("persona", ["auditor", "outsider"])
def test_auditors_and_outsiders_are_refused_everywhere(media, send_task, personas, persona):
    client = client_for(personas[persona])
    document = make_document(personas["analyst"])
    for response in [
        client.get(DOCUMENTS),
        upload(client, as_file("a.md", ACME_MD)),
        client.get(f"{DOCUMENTS}{document.pk}/"),
        client.get(f"{DOCUMENTS}{document.pk}/chunks/"),
        client.post(f"{DOCUMENTS}{document.pk}/reindex/"),
        client.delete(f"{DOCUMENTS}{document.pk}/"),
        client.post("/api/search/", {"query": "debt"}, content_type="application/json"),
        client.post("/api/ask/", {"question": "debt?"}, content_type="application/json"),
    ]:
        assert error_of(response, 403)["code"] == "permission_denied"
    assert Document.objects.count() == 1 and not Job.objects.exists()


# --- reading documents ------------------------------------------------------------------------


def test_list_filters_combine_and_unknown_values_are_400(analyst, companies):
    acme, glbx = companies["ACME"], companies["GLBX"]
    make_document(analyst, title="Acme Q3 review", company=acme, doc_type="report", published_on=dt.date(2025, 10, 1))
    make_document(analyst, title="Acme 10-K", company=acme, doc_type="filing", published_on=dt.date(2025, 2, 1))
    make_document(analyst, title="Globex waiver", company=glbx, doc_type="news", status=DocumentStatus.FAILED)
    make_document(analyst, title="Public macro note", access_level="public", status=DocumentStatus.QUEUED)
    client = client_for(analyst)

    def titles(**params) -> set[str]:
        response = client.get(DOCUMENTS, params)
        assert response.status_code == 200, response.content
        return {d["title"] for d in response.json()["results"]}

    assert titles() == {"Acme Q3 review", "Acme 10-K", "Globex waiver", "Public macro note"}
    assert titles(ticker="acme") == {"Acme Q3 review", "Acme 10-K"}
    assert titles(ticker="ACME", doc_type="filing") == {"Acme 10-K"}
    assert titles(status="failed") == {"Globex waiver"}
    assert titles(access_level="public") == {"Public macro note"}
    assert titles(published_from="2025-03-01") == {"Acme Q3 review"}
    assert titles(published_to="2025-03-01") == {"Acme 10-K"}
    assert titles(q="acme review") == {"Acme Q3 review"}
    assert client.get(DOCUMENTS, {"limit": 1}).json()["count"] == 4
    assert error_of(client.get(DOCUMENTS, {"status": "lost"}), 400)["fields"]["status"]
    assert error_of(client.get(DOCUMENTS, {"colour": "red"}), 400)["fields"]["colour"]
    assert error_of(client.get(DOCUMENTS, {"published_from": "2025-05-01", "published_to": "2025-01-01"}), 400)


def test_detail_shows_status_reason_and_redaction_counts_but_never_the_values(analyst, companies):
    log = [
        {"kind": "email", "start": 10, "end": 30, "replacement": "[EMAIL]", "value_hash": "ab12"},
        {"kind": "phone", "start": 40, "end": 55, "replacement": "[PHONE]", "value_hash": "cd34"},
        {"kind": "email", "start": 70, "end": 90, "replacement": "[EMAIL]", "value_hash": "ef56"},
    ]
    document = make_document(
        analyst,
        title="Failed memo",
        company=companies["ACME"],
        status=DocumentStatus.FAILED,
        status_reason="no_text_layer: The PDF has no text.",
        redaction_log=log,
    )

    response = client_for(analyst).get(f"{DOCUMENTS}{document.pk}/")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "failed" and body["status_reason"].startswith("no_text_layer")
    assert body["redactions"] == {"email": 2, "phone": 1}
    assert body["ticker"] == "ACME" and body["chunk_count"] == 0 and body["can_delete"] is True
    assert body["chunks_url"] == f"/api/documents/{document.pk}/chunks/"
    assert "redaction_log" not in body and "value_hash" not in response.content.decode()


def test_chunks_are_listed_in_order_and_paginated(analyst):
    document = make_document(analyst)
    for ordinal in (2, 0, 1):
        DocumentChunk.objects.create(
            document=document,
            ordinal=ordinal,
            chunk_id=f"{document.pk}-{ordinal}",
            section="Results",
            char_start=ordinal * 10,
            char_end=ordinal * 10 + 9,
            text=f"chunk number {ordinal}",
        )

    response = client_for(analyst).get(f"{DOCUMENTS}{document.pk}/chunks/", {"limit": 2})

    body = response.json()
    assert body["count"] == 3 and body["next"]
    assert [c["ordinal"] for c in body["results"]] == [0, 1]
    assert body["results"][0]["text"] == "chunk number 0"
    assert body["results"][0]["page_url"].endswith(f"#chunk-{document.pk}-0")


def test_chunk_list_pages_are_bounded_and_a_larger_limit_is_refused(analyst):
    document = make_document(analyst)
    DocumentChunk.objects.bulk_create(
        DocumentChunk(
            document=document,
            ordinal=ordinal,
            chunk_id=f"{document.pk}-{ordinal}",
            section="Results",
            char_start=ordinal * 10,
            char_end=ordinal * 10 + 9,
            text=f"chunk number {ordinal}",
        )
        for ordinal in range(230)
    )

    client = client_for(analyst)
    for limit in (1_000, 99_999_999):
        response = client.get(f"{DOCUMENTS}{document.pk}/chunks/", {"limit": limit})
        assert response.status_code == 400 and "limit" in response.json()["error"]["fields"]
    body = client.get(f"{DOCUMENTS}{document.pk}/chunks/", {"limit": 200}).json()
    assert body["count"] == 230 and len(body["results"]) == 200 and body["next"]


def test_restricted_document_is_a_404_for_an_analyst_and_readable_by_the_restricted_reader(analyst, restricted_reader):
    secret = make_document(restricted_reader, title="Project Falcon", access_level="restricted")
    analyst_client, reader_client = client_for(analyst), client_for(restricted_reader)

    assert "Project Falcon" not in {d["title"] for d in analyst_client.get(DOCUMENTS).json()["results"]}
    for path in (f"{DOCUMENTS}{secret.pk}/", f"{DOCUMENTS}{secret.pk}/chunks/"):
        assert error_of(analyst_client.get(path), 404)["code"] == "not_found"
    assert error_of(analyst_client.post(f"{DOCUMENTS}{secret.pk}/reindex/"), 404)
    assert error_of(analyst_client.delete(f"{DOCUMENTS}{secret.pk}/"), 404)

    assert "Project Falcon" in {d["title"] for d in reader_client.get(DOCUMENTS).json()["results"]}
    assert reader_client.get(f"{DOCUMENTS}{secret.pk}/").status_code == 200


def test_restricted_document_is_invisible_to_an_analyst_in_search_and_ask(
    worker, analyst, restricted_reader, companies
):
    worker(
        lambda: upload(
            client_for(restricted_reader), as_file("memo.md", GLBX_MEMO), ticker="GLBX", access_level="restricted"
        )
    )
    worker(lambda: upload(client_for(analyst), as_file("acme.md", ACME_MD), ticker="ACME", access_level="public"))
    secret = Document.objects.get(access_level="restricted")
    secret_chunks = set(secret.chunks.values_list("chunk_id", flat=True))
    question = "Which company asked its lenders for a covenant waiver?"

    def chunk_ids(client, endpoint: str, body: dict) -> set[str]:
        if endpoint == "/api/ask/":
            response = ask_api(client, body, worker)
        else:
            response = client.post(endpoint, body, content_type="application/json")
        assert response.status_code == 200, response.content
        data = response.json()
        found = {r["chunk_id"] for r in data.get("results", data.get("sources", []))}
        return found | {s["citation"]["chunk_id"] for s in data.get("answer", [])}

    for mode in ("hybrid", "dense", "keyword"):
        assert not chunk_ids(client_for(analyst), "/api/search/", {"query": question, "mode": mode}) & secret_chunks
    assert not chunk_ids(client_for(analyst), "/api/ask/", {"question": question}) & secret_chunks
    assert chunk_ids(client_for(restricted_reader), "/api/search/", {"query": question}) & secret_chunks
    assert chunk_ids(client_for(restricted_reader), "/api/ask/", {"question": question}) & secret_chunks


# --- re-index and delete ----------------------------------------------------------------------


def test_only_the_uploader_or_an_admin_may_delete_and_the_document_is_then_gone(
    worker, analyst, other_analyst, admin_user, companies
):
    response = worker(lambda: upload(client_for(analyst), as_file("acme.md", ACME_MD), ticker="ACME"))
    document_id = response.json()["documents"][0]["id"]
    path = f"{DOCUMENTS}{document_id}/"
    assert vector_store().count_by_document(document_id) > 0

    refused = client_for(other_analyst).delete(path)
    assert error_of(refused, 403)["code"] == "permission_denied"
    assert client_for(other_analyst).get(path).json()["can_delete"] is False

    deleted = worker(lambda: client_for(analyst).delete(path))
    assert deleted.status_code == 202, deleted.content
    job = Job.objects.get(pk=deleted.json()["id"])
    assert job.kind == JobKind.DELETE and job.status == JobStatus.SUCCEEDED
    assert error_of(client_for(analyst).get(path), 404)
    assert vector_store().count_by_document(document_id) == 0
    assert not DocumentChunk.objects.filter(document_id=document_id).exists()

    other = make_document(analyst, title="Someone else's")
    assert client_for(admin_user).delete(f"{DOCUMENTS}{other.pk}/").status_code == 202
    assert Document.objects.get(pk=other.pk).status == DocumentStatus.DELETING


def test_a_risk_officer_may_reindex_and_the_vectors_are_replaced(worker, analyst, risk_officer, companies):
    response = worker(lambda: upload(client_for(analyst), as_file("acme.md", ACME_MD), ticker="ACME"))
    document_id = response.json()["documents"][0]["id"]
    before = set(DocumentChunk.objects.filter(document_id=document_id).values_list("chunk_id", flat=True))

    reindexed = worker(lambda: client_for(risk_officer).post(f"{DOCUMENTS}{document_id}/reindex/"))

    assert reindexed.status_code == 202, reindexed.content
    job = Job.objects.get(pk=reindexed.json()["id"])
    assert job.kind == JobKind.REINDEX and job.owner == risk_officer and job.status == JobStatus.SUCCEEDED
    document = Document.objects.get(pk=document_id)
    assert document.status == DocumentStatus.INDEXED and document.job_id == job.pk
    assert set(document.chunks.values_list("chunk_id", flat=True)) == before
    assert vector_store().count_by_document(document_id) == len(before)


def test_reindex_or_delete_while_a_job_works_on_the_document_is_409(send_task, analyst):
    job = Job.objects.create(kind=JobKind.INGEST, owner=analyst, actor_label="user:ana-analyst", params={})
    document = make_document(analyst, status=DocumentStatus.PARSING, job=job)
    client = client_for(analyst)

    assert error_of(client.post(f"{DOCUMENTS}{document.pk}/reindex/"), 409)["code"] == "document_busy"
    assert error_of(client.delete(f"{DOCUMENTS}{document.pk}/"), 409)["code"] == "document_busy"

    # A job that died leaves the document "parsing": re-indexing is how it gets unstuck.
    Job.objects.filter(pk=job.pk).update(status=JobStatus.FAILED)
    assert client.post(f"{DOCUMENTS}{document.pk}/reindex/").status_code == 202


def test_unknown_document_is_404(analyst):
    response = client_for(analyst).get(f"{DOCUMENTS}00000000-0000-0000-0000-000000000000/")
    assert error_of(response, 404)["detail"] == "No such document."


# --- search and ask input -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "query"),
        ({"query": "  "}, "query"),
        ({"query": 12}, "query"),
        ({"query": "debt", "limit": 0}, "limit"),
        ({"query": "debt", "limit": 51}, "limit"),
        ({"query": "debt", "mode": "fuzzy"}, "mode"),
        ({"query": "debt", "doc_types": ["rumour"]}, "doc_types"),
        ({"query": "debt", "tickers": "ACME"}, "tickers"),
        ({"query": "debt", "published_from": "2025-05-01", "published_to": "2025-01-01"}, "published_to"),
        ({"query": "debt", "colour": "red"}, "colour"),
    ],
)
def test_bad_search_input_is_400_on_the_field(analyst, body, field):
    with mock.patch("apps.research.selectors.models_call") as models_call:
        response = client_for(analyst).post("/api/search/", json.dumps(body), content_type="application/json")
    assert field in error_of(response, 400)["fields"]
    models_call.assert_not_called()


def test_ask_answers_202_with_the_job_at_once_and_never_waits_on_the_model(analyst, companies):
    with mock.patch("apps.research.selectors.models_call") as models_call:
        response = client_for(analyst).post("/api/ask/", {"question": "debt?"}, content_type="application/json")
    models_call.assert_not_called()
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "queued" and body["status_url"] == f"/api/ask/{body['job_id']}/"
    job = Job.objects.get(pk=body["job_id"])
    assert job.kind == JobKind.ANSWER and job.owner == analyst
    pending = client_for(analyst).get(body["status_url"])
    assert pending.status_code == 202 and pending.json()["status"] == "queued"


def test_an_ask_job_is_private_to_who_asked(analyst, other_analyst, companies):
    body = client_for(analyst).post("/api/ask/", {"question": "debt?"}, content_type="application/json").json()
    assert error_of(client_for(other_analyst).get(body["status_url"]), 404)


def test_ask_wait_is_bounded(analyst, companies):
    response = client_for(analyst).post(
        "/api/ask/", {"question": "debt?", "wait": 600}, content_type="application/json"
    )
    assert "wait" in error_of(response, 400)["fields"]


def test_search_model_worker_timeout_is_503_with_a_clear_message(analyst):
    endpoint, body = "/api/search/", {"query": "debt"}
    with mock.patch("apps.research.selectors.models_call", side_effect=CeleryTimeout("timed out")):
        response = client_for(analyst).post(endpoint, body, content_type="application/json")

    error = error_of(response, 503)
    assert error["code"] == "model_worker_unavailable"
    assert "did not answer within 30 seconds" in error["detail"]


@override_settings(ARGUS_SEARCH_TIMEOUT=2.5)
def test_search_passes_filters_and_access_levels_to_the_model_worker(analyst, companies):
    with mock.patch("apps.research.selectors.models_call", return_value=[]) as models_call:
        response = client_for(analyst).post(
            "/api/search/",
            {
                "query": "net debt",
                "tickers": ["acme", "glbx"],
                "doc_types": ["report"],
                "published_from": "2025-01-01",
                "mode": "dense",
                "limit": 3,
            },
            content_type="application/json",
        )

    body = response.json()
    assert response.status_code == 200 and {k: body[k] for k in ("query", "mode", "count", "results")} == {
        "query": "net debt",
        "mode": "dense",
        "count": 0,
        "results": [],
    }
    assert body["query_understanding"]["applied_filters"] == {"tickers": [], "fiscal_years": [], "published_to": None}
    kwargs = models_call.call_args.kwargs
    assert kwargs["timeout"] == 2.5
    sent = kwargs["kwargs"]
    assert sent["allowed_access_levels"] == ["internal", "public"] and sent["mode"] == "dense" and sent["limit"] == 3
    assert sent["filters"] == {
        "tickers": ["ACME", "GLBX"],
        "doc_types": ["report"],
        "fiscal_years": [],
        "published_from": "2025-01-01",
        "published_to": None,
    }
    assert sent["relaxed_filters"] == []  # the caller's own filters are never relaxed


# --- OpenAPI ------------------------------------------------------------------------------------


def test_openapi_documents_multipart_upload_refusals_and_worker_timeouts(analyst):
    schema = client_for(analyst).get("/api/schema/", HTTP_ACCEPT="application/json").json()
    upload_op = schema["paths"]["/api/documents/"]["post"]
    assert set(upload_op["requestBody"]["content"]) == {"multipart/form-data"}
    assert {"202", "400", "409", "415"} <= set(upload_op["responses"])
    assert upload_op["responses"]["400"]["content"]["application/json"]["examples"]
    files = schema["components"]["schemas"]["DocumentUploadInputRequest"]["properties"]["files"]
    assert files["items"]["format"] == "binary" and files["maxItems"] == 20
    for path, pending in (("/api/search/", "503"), ("/api/ask/", "202")):
        operation = schema["paths"][path]["post"]
        assert pending in operation["responses"]
        assert operation["requestBody"]["content"]["application/json"]["examples"]
        assert operation["responses"]["200"]["content"]["application/json"]["examples"]
    assert "delete" in schema["paths"]["/api/documents/{document_id}/"]
