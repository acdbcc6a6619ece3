"""Research pages: the document library with live status, upload, detail with chunks, re-index and delete,
search with highlighted terms and answers whose citations open the cited chunk."""

from __future__ import annotations

import hashlib
import re
from unittest import mock

import pytest
from celery.exceptions import TimeoutError as CeleryTimeout
from django.urls import reverse

from apps.jobs.models import Job, JobKind
from apps.research import views
from apps.research.models import Document, DocumentChunk, DocumentStatus
from apps.research.views import highlight_segments
from tests.conftest import client_for
from tests.research.test_api import ACME_MD, ACME_TEXT, GLBX_MEMO, as_file, stored_files, upload
from tests.ui.html import find_all, find_one, parse

pytestmark = pytest.mark.django_db

READERS = {"analyst", "risk_officer", "admin"}
SECTION = "Results \u203a Segments"  # headings joined as the chunker joins them


def make_document(owner, *, title="Acme Q3 review", access_level="internal", status=DocumentStatus.INDEXED, **fields):
    return Document.objects.create(
        title=title,
        uploaded_by=owner,
        access_level=access_level,
        status=status,
        content_hash=hashlib.sha256(f"{title}{access_level}{status}".encode()).hexdigest(),
        **fields,
    )


def add_chunks(document, count: int) -> list[DocumentChunk]:
    chunks = [
        DocumentChunk.objects.create(
            document=document,
            ordinal=i,
            chunk_id=f"{document.pk.hex[:8]}-{i}",
            section=SECTION,
            page_start=i + 1,
            page_end=i + 1,
            char_start=i * 100,
            char_end=i * 100 + 99,
            text=f"Passage {i}: revenue grew in segment {i}. <b>not markup</b>",
        )
        for i in range(count)
    ]
    Document.objects.filter(pk=document.pk).update(chunk_count=count)
    return chunks


@pytest.fixture
def worker(eager_models_worker, django_capture_on_commit_callbacks):
    def run(call):
        with django_capture_on_commit_callbacks(execute=True):
            return call()

    return run


# --- who may open what ------------------------------------------------------------------------


def test_research_pages_render_for_readers_and_refuse_auditors_and_outsiders(personas):
    document = make_document(personas["analyst"])
    urls = [
        reverse("research:home"),
        reverse("research:upload"),
        reverse("research:search"),
        reverse("research:ask"),
        reverse("research:document-detail", args=[document.pk]),
    ]
    for persona, user in personas.items():
        client = client_for(user)
        for url in urls:
            response = client.get(url)
            expected = 200 if persona in READERS else 403
            assert response.status_code == expected, f"{persona} {url}: {response.status_code}"
            if expected == 200:
                # The research tabs and the research stylesheet, served by us.
                assert [e.attrs["data-tab"] for e in find_all(response.content, **{"class": "tabs__link"})] == [
                    "documents",
                    "upload",
                    "search",
                    "ask",
                    "reports",
                ]
                assert find_all(response.content, rel="stylesheet", href="/static/research/research.css")


# --- the document list ---------------------------------------------------------------------------


def test_list_shows_status_badges_reasons_and_polls_only_while_documents_are_in_flight(analyst):
    make_document(analyst, title="Indexed note")
    make_document(analyst, title="Broken scan", status=DocumentStatus.FAILED, status_reason="no_text_layer: no text")
    client = client_for(analyst)

    settled = client.get(reverse("research:home"))
    table = find_one(settled.content, id="document-table")
    assert table.attrs["data-active"] == "false" and "hx-trigger" not in table.attrs
    badges = {e.attrs["data-status"]: e.text for e in find_all(settled.content, data_testid="document-status")}
    assert badges == {"indexed": "Indexed", "failed": "Failed"}
    assert "no_text_layer: no text" in settled.content.decode()

    make_document(analyst, title="New upload", status=DocumentStatus.PARSING)
    active = client.get(reverse("research:home"), {"doc_type": "other"})
    table = find_one(active.content, id="document-table")
    assert table.attrs["data-active"] == "true" and table.attrs["hx-trigger"] == "every 2s"
    # The poll keeps the filters of the page.
    assert table.attrs["hx-get"] == reverse("research:table") + "?doc_type=other"
    fragment = client.get(reverse("research:table"), {"doc_type": "other"})
    assert fragment.status_code == 200 and b"<html" not in fragment.content
    assert find_one(fragment.content, id="document-table").attrs["data-active"] == "true"


def test_list_filters_by_ticker_type_status_access_dates_and_title(analyst, companies):
    import datetime as dt

    make_document(analyst, title="Acme Q3 review", company=companies["ACME"], doc_type="report")
    make_document(analyst, title="Globex waiver", company=companies["GLBX"], doc_type="news")
    make_document(analyst, title="Old public note", access_level="public", published_on=dt.date(2020, 1, 1))
    client = client_for(analyst)

    def titles(**params) -> list[str]:
        response = client.get(reverse("research:home"), params)
        assert response.status_code == 200
        return sorted(
            e.text
            for e in parse(response.content)
            if e.tag == "a" and "/research/documents/" in e.attrs.get("href", "")
        )

    assert titles() == ["Acme Q3 review", "Globex waiver", "Old public note"]
    assert titles(ticker="glbx") == ["Globex waiver"]
    assert titles(doc_type="report") == ["Acme Q3 review"]
    assert titles(access_level="public") == ["Old public note"]
    assert titles(published_to="2021-01-01") == ["Old public note"]
    assert titles(q="waiver") == ["Globex waiver"]
    assert titles(status="failed") == []
    # A bad value is shown as an error and filters nothing out.
    response = client.get(reverse("research:home"), {"status": "lost"})
    assert find_all(response.content, **{"class": "field field--invalid"})
    assert len(find_all(response.content, data_testid="document-status")) == 3


def test_restricted_document_is_neither_listed_nor_openable_for_an_analyst(analyst, restricted_reader):
    secret = make_document(restricted_reader, title="Project Falcon", access_level="restricted")

    listing = client_for(analyst).get(reverse("research:home"))
    assert "Project Falcon" not in listing.content.decode()
    for name in ("research:document-detail", "research:document-status", "research:document-delete"):
        assert client_for(analyst).get(reverse(name, args=[secret.pk])).status_code == 404
    assert client_for(analyst).post(reverse("research:document-reindex", args=[secret.pk])).status_code == 404

    assert "Project Falcon" in client_for(restricted_reader).get(reverse("research:home")).content.decode()


# --- the document page ------------------------------------------------------------------------------


def test_detail_shows_metadata_redactions_chunks_and_the_actions_of_the_role(analyst, other_analyst, admin_user):
    document = make_document(
        analyst,
        source="Broker note",
        redaction_log=[{"kind": "email", "value_hash": "x"}, {"kind": "email", "value_hash": "y"}],
    )
    chunks = add_chunks(document, 3)
    path = reverse("research:document-detail", args=[document.pk])

    page = client_for(analyst).get(path)
    html = page.content.decode()
    assert find_one(page.content, data_testid="document-title").text == "Acme Q3 review"
    for chunk in chunks:
        item = find_one(page.content, id=f"chunk-{chunk.chunk_id}")
        assert "Passage" in item.text and SECTION in item.text
    assert "&lt;b&gt;not markup&lt;/b&gt;" in html  # chunk text is escaped
    assert "email" in find_one(page.content, data_testid="redactions").text
    assert find_all(page.content, data_testid="reindex") and find_all(page.content, data_testid="delete")
    status = find_one(page.content, id="document-status")
    assert status.attrs["data-status"] == "indexed" and "hx-trigger" not in status.attrs

    # Another analyst reads it but may neither re-index nor delete it; an admin may do both.
    other = client_for(other_analyst).get(path)
    assert not find_all(other.content, data_testid="reindex") and not find_all(other.content, data_testid="delete")
    admin_page = client_for(admin_user).get(path).content
    assert find_all(admin_page, data_testid="delete") and find_all(admin_page, data_testid="reindex")


def test_citation_link_opens_the_page_of_chunks_holding_the_cited_chunk_and_marks_it(analyst, monkeypatch):
    monkeypatch.setattr(views, "CHUNKS_PER_PAGE", 2)
    document = make_document(analyst)
    chunks = add_chunks(document, 5)
    cited = chunks[3]

    response = client_for(analyst).get(
        reverse("research:document-detail", args=[document.pk]), {"chunk": cited.chunk_id}
    )

    shown = [e.attrs["data-chunk-id"] for e in find_all(response.content, **{"class": "chunk"})]
    marked = find_one(response.content, id=f"chunk-{cited.chunk_id}")
    assert marked.attrs["class"] == "chunk chunk--cited"
    assert shown == [chunks[2].chunk_id]  # the other chunk on page 2, unmarked
    assert "Chunks 3\u20134 of 5" in response.content.decode()


def test_status_fragment_polls_while_in_flight_then_reloads_the_page_and_leaves_when_deleted(analyst):
    job = Job.objects.create(kind=JobKind.INGEST, owner=analyst, actor_label="user:ana-analyst", params={})
    document = make_document(analyst, status=DocumentStatus.INDEXING, job=job)
    client = client_for(analyst)
    path = reverse("research:document-status", args=[document.pk])

    page = client.get(reverse("research:document-detail", args=[document.pk]))
    card = find_one(page.content, id="document-status")
    assert card.attrs["hx-get"] == path and card.attrs["hx-trigger"] == "every 2s"
    assert not find_all(page.content, data_testid="reindex")  # a job is working on it

    polled = client.get(path, HTTP_HX_REQUEST="true")
    assert polled.status_code == 200 and "HX-Refresh" not in polled

    Document.objects.filter(pk=document.pk).update(status=DocumentStatus.INDEXED)
    settled = client.get(path, HTTP_HX_REQUEST="true")
    assert settled["HX-Refresh"] == "true"
    assert "hx-trigger" not in find_one(settled.content, id="document-status").attrs

    Document.objects.filter(pk=document.pk).delete()
    gone = client.get(path, HTTP_HX_REQUEST="true")
    assert gone.status_code == 200 and gone["HX-Redirect"] == reverse("research:home")


def test_reindex_button_starts_a_job_and_shows_it(send_task_patch, risk_officer, analyst):
    document = make_document(analyst, status=DocumentStatus.FAILED)

    response = client_for(risk_officer).post(reverse("research:document-reindex", args=[document.pk]))

    job = Job.objects.get(kind=JobKind.REINDEX)
    assert response.status_code == 302 and response["Location"] == reverse("jobs:detail", args=[job.pk])
    assert job.owner == risk_officer
    assert Document.objects.get(pk=document.pk).status == DocumentStatus.QUEUED
    assert client_for(risk_officer).get(reverse("research:document-reindex", args=[document.pk])).status_code == 405


def test_reindex_of_a_busy_document_goes_back_with_a_message(analyst):
    job = Job.objects.create(kind=JobKind.INGEST, owner=analyst, actor_label="user:ana-analyst", params={})
    document = make_document(analyst, status=DocumentStatus.PARSING, job=job)

    response = client_for(analyst).post(reverse("research:document-reindex", args=[document.pk]), follow=True)

    assert response.redirect_chain[-1][0] == reverse("research:document-detail", args=[document.pk])
    assert "still working on this document" in response.content.decode()
    assert not Job.objects.filter(kind=JobKind.REINDEX).exists()


def test_delete_asks_for_confirmation_then_runs_a_job_for_the_uploader_only(analyst, other_analyst):
    document = make_document(analyst)
    path = reverse("research:document-delete", args=[document.pk])

    assert client_for(other_analyst).get(path).status_code == 403
    assert client_for(other_analyst).post(path).status_code == 403
    confirm = client_for(analyst).get(path)
    assert find_one(confirm.content, data_testid="delete-confirmation")
    assert find_all(confirm.content, method="post", action=path)
    assert Document.objects.get(pk=document.pk).status == DocumentStatus.INDEXED  # GET changed nothing

    response = client_for(analyst).post(path)

    job = Job.objects.get(kind=JobKind.DELETE)
    assert response.status_code == 302 and response["Location"] == reverse("jobs:detail", args=[job.pk])
    assert Document.objects.get(pk=document.pk).status == DocumentStatus.DELETING


@pytest.fixture
def send_task_patch():
    with mock.patch("apps.jobs.services.celery_app.send_task") as patched:
        yield patched


# --- upload --------------------------------------------------------------------------------------------


def test_upload_page_carries_what_the_script_needs_and_only_readable_access_levels(
    analyst, restricted_reader, companies
):
    response = client_for(analyst).get(reverse("research:upload"))

    form = find_one(response.content, id="upload-form")
    assert form.attrs["data-api-url"] == "/api/documents/"
    assert form.attrs["enctype"] == "multipart/form-data" and form.attrs["action"] == reverse("research:upload")
    assert int(form.attrs["data-max-files"]) == 20 and int(form.attrs["data-max-bytes"]) == 20 * 1024 * 1024
    assert find_all(response.content, name="csrfmiddlewaretoken")
    assert find_all(response.content, src="/static/research/upload.js")
    assert "multiple" in find_one(response.content, name="files").attrs
    levels = [
        e.attrs["value"]
        for e in parse(response.content)
        if e.tag == "option" and e.attrs.get("value") in {"public", "internal", "restricted"}
    ]
    assert levels == ["public", "internal"]
    assert "ACME" in {e.attrs.get("value") for e in parse(response.content) if e.tag == "option"}

    reader_page = client_for(restricted_reader).get(reverse("research:upload"))
    assert "restricted" in {e.attrs.get("value") for e in parse(reader_page.content) if e.tag == "option"}


def test_upload_without_javascript_stores_all_files_with_one_job(
    settings, tmp_path, send_task_patch, analyst, companies
):
    settings.MEDIA_ROOT = tmp_path / "media"

    response = client_for(analyst).post(
        reverse("research:upload"),
        {"files": [as_file("a.md", ACME_MD), as_file("b.txt", ACME_TEXT)], "ticker": "acme", "doc_type": "report",
         "access_level": "internal"},
    )  # fmt: skip

    job = Job.objects.get(kind=JobKind.INGEST)
    assert response.status_code == 302 and response["Location"] == reverse("jobs:detail", args=[job.pk])
    assert set(Document.objects.values_list("original_name", flat=True)) == {"a.md", "b.txt"}
    assert set(job.params["document_ids"]) == {str(pk) for pk in Document.objects.values_list("pk", flat=True)}


def test_upload_without_javascript_lists_each_refused_file_and_stores_nothing(
    settings, tmp_path, send_task_patch, analyst
):
    settings.MEDIA_ROOT = tmp_path / "media"

    response = client_for(analyst).post(
        reverse("research:upload"),
        {"files": [as_file("a.md", ACME_MD), as_file("tool.exe", b"MZ" + b"\x00" * 200), as_file("e.txt", b"")],
         "doc_type": "report", "access_level": "internal"},
    )  # fmt: skip

    assert response.status_code == 400
    refused = find_one(response.content, data_testid="refused-files")
    assert "Nothing was stored" in refused.text and "tool.exe" in refused.text and "e.txt" in refused.text
    reasons = [e.attrs["data-reason"] for e in parse(response.content) if e.tag == "li" and "data-reason" in e.attrs]
    assert reasons == ["unsupported_type", "empty_document"]
    assert not Document.objects.exists() and not Job.objects.exists() and stored_files(settings) == []


def test_upload_form_errors_are_shown_on_their_fields(analyst):
    response = client_for(analyst).post(
        reverse("research:upload"),
        {"files": [as_file("a.md", ACME_MD), as_file("b.md", GLBX_MEMO)], "ticker": "NOPE", "title": "One title",
         "doc_type": "report", "access_level": "restricted"},
    )  # fmt: skip

    assert response.status_code == 400
    html = response.content.decode()
    assert "No company with ticker NOPE" in html and "A title applies to a single file" in html
    assert "Select a valid choice" in html  # restricted is not offered to this analyst
    assert not Document.objects.exists()


# --- search and ask ------------------------------------------------------------------------------------


def test_highlight_segments_cut_text_at_the_spans_and_ignore_overlaps():
    text = "Net debt fell; debt <b>"
    assert highlight_segments(text, [(4, 8), (0, 3), (15, 19), (5, 7)]) == [
        ("Net", True),
        (" ", False),
        ("debt", True),
        (" fell; ", False),
        ("debt", True),
        (" <b>", False),
    ]
    assert highlight_segments("abc", []) == [("abc", False)]


def test_search_and_ask_pages_without_a_query_show_just_the_form(analyst):
    with mock.patch("apps.research.selectors.models_call") as models_call:
        for name in ("research:search", "research:ask"):
            response = client_for(analyst).get(reverse(name))
            assert response.status_code == 200
            assert not find_all(response.content, data_testid="search-results")
            assert not find_all(response.content, data_testid="answer")
    models_call.assert_not_called()


def test_search_page_shows_ranked_chunks_with_marked_terms_and_links_to_them(worker, analyst, companies):
    client = client_for(analyst)
    worker(lambda: upload(client, as_file("acme-q3.md", ACME_MD), ticker="ACME", doc_type="report"))
    worker(lambda: upload(client, as_file("memo.md", GLBX_MEMO), ticker="GLBX"))

    response = client.get(reverse("research:search"), {"query": "net debt EBITDA", "mode": "hybrid", "limit": "5"})

    assert response.status_code == 200
    results = find_all(response.content, data_testid="search-result")
    assert results and "Acme Industrial Q3 review" in results[0].text
    top = DocumentChunk.objects.get(chunk_id=results[0].attrs["data-chunk-id"])
    link = f"/research/documents/{top.document_id}/?chunk={top.chunk_id}#chunk-{top.chunk_id}"
    assert find_all(response.content, href=link)
    marked = {e.text.lower() for e in parse(response.content) if e.tag == "mark"}
    assert {"net", "debt", "ebitda"} <= marked
    assert re.search(r"score \d\.\d{4}", find_all(response.content, data_testid="score")[0].text)

    # The link opens the document page on that chunk, marked.
    page = client.get(link.split("#")[0])
    assert find_one(page.content, id=f"chunk-{top.chunk_id}").attrs["class"] == "chunk chunk--cited"


def test_ask_page_shows_cited_sentences_and_sources_or_says_evidence_is_insufficient(worker, analyst, companies):
    client = client_for(analyst)
    worker(lambda: upload(client, as_file("acme-q3.md", ACME_MD), ticker="ACME", doc_type="report"))

    response = ask_page(client, {"question": "What was Acme's net debt to EBITDA?"}, worker)

    answer = find_one(response.content, data_testid="answer")
    assert answer.attrs["data-insufficient"] == "false"
    sentences = find_all(response.content, data_testid="answer-sentence")
    assert any("1.4 times" in s.text for s in sentences)
    citations = find_all(response.content, data_testid="citation")
    assert len(citations) == len(sentences)
    for citation in citations:
        chunk = DocumentChunk.objects.get(chunk_id=citation.attrs["data-chunk-id"])
        assert (
            citation.attrs["href"]
            == f"/research/documents/{chunk.document_id}/?chunk={chunk.chunk_id}#chunk-{chunk.chunk_id}"
        )
    assert find_all(response.content, data_testid="sources")

    nothing = ask_page(client, {"question": "Zebra migration Serengeti?"}, worker)
    assert find_one(nothing.content, data_testid="answer").attrs["data-insufficient"] == "true"
    assert "Insufficient evidence" in find_one(nothing.content, data_testid="insufficient-evidence").text
    assert not find_all(nothing.content, data_testid="citation")


def ask_page(client, params: dict, run):
    """The Ask page queues the answer job and redirects to the page that shows it; ``run`` runs the job."""
    response = run(lambda: client.get(reverse("research:ask"), params))
    assert response.status_code == 302 and "job=" in response["Location"]
    return client.get(response["Location"])


def test_ask_page_queues_a_job_and_polls_it_without_waiting_on_the_model(analyst, companies):
    client = client_for(analyst)
    with mock.patch("apps.research.selectors.models_call") as models_call:
        response = client.get(reverse("research:ask"), {"question": "debt?"})
        page = client.get(response["Location"])
    models_call.assert_not_called()
    pending = find_one(page.content, data_testid="answer-job")
    assert pending.attrs["data-status"] == "queued" and "hx-get" in pending.attrs
    poll = client.get(pending.attrs["hx-get"])
    assert poll.status_code == 200 and find_one(poll.content, data_testid="answer-pending")
    assert client_for_other(analyst, pending.attrs["hx-get"]) == 404


def client_for_other(owner, url: str) -> int:
    from apps.accounts.roles import Role
    from apps.accounts.services import user_create

    other = user_create(username=f"not-{owner.username}", password="x" * 20, role=Role.ANALYST)
    return client_for(other).get(url).status_code


@pytest.mark.parametrize(("name", "params"), [("research:search", {"query": "debt"})])
def test_search_page_says_when_the_model_worker_does_not_answer(analyst, name, params):
    with mock.patch("apps.research.selectors.models_call", side_effect=CeleryTimeout("timed out")):
        response = client_for(analyst).get(reverse(name), params)

    assert response.status_code == 503
    assert "did not answer within 30 seconds" in find_one(response.content, data_testid="worker-timeout").text


def test_bad_search_parameters_are_shown_on_the_form(analyst):
    with mock.patch("apps.research.selectors.models_call") as models_call:
        response = client_for(analyst).get(
            reverse("research:search"),
            {"query": "debt", "limit": "500", "published_from": "2025-05-01", "published_to": "2025-01-01"},
        )
    assert response.status_code == 400
    html = response.content.decode()
    assert "less than or equal to 50" in html and "Must not be before the start date" in html
    models_call.assert_not_called()


# --- the admin: company master editable, documents read-only with job actions ----------------------------


def test_admin_sees_companies_and_documents_read_only_and_auditors_do_not(admin_user, auditor, analyst, companies):
    document = make_document(analyst)
    admin_client = client_for(admin_user)

    assert admin_client.get(reverse("admin:research_company_changelist")).status_code == 200
    assert admin_client.get(reverse("admin:research_company_change", args=[companies["ACME"].pk])).status_code == 200
    assert admin_client.get(reverse("admin:research_document_changelist")).status_code == 200
    change = admin_client.get(reverse("admin:research_document_change", args=[document.pk]))
    assert change.status_code == 200 and b'name="_save"' not in change.content  # view only
    assert admin_client.get(reverse("admin:research_document_add")).status_code == 403
    assert admin_client.get(reverse("admin:research_document_delete", args=[document.pk])).status_code == 403

    assert client_for(auditor).get(reverse("admin:research_document_changelist")).status_code == 403
    assert client_for(auditor).get(reverse("admin:research_company_changelist")).status_code == 403


def test_admin_delete_action_runs_the_delete_job_instead_of_dropping_rows(send_task_patch, admin_user, analyst):
    document = make_document(analyst)

    response = client_for(admin_user).post(
        reverse("admin:research_document_changelist"),
        {"action": "delete_documents", "_selected_action": [str(document.pk)]},
    )

    assert response.status_code == 302
    assert Document.objects.get(pk=document.pk).status == DocumentStatus.DELETING
    assert Job.objects.get(kind=JobKind.DELETE).owner == admin_user
