"""A report with a number its source does not support: needs attention, shown everywhere, approved only with a comment.

The report is finished through the worker's ``finish_report`` with a model output given as text, so
the status, the stored findings, the job message and what the API, the page and the export show all
come from the real checks; no model runs.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from django.urls import reverse

from apps.jobs.models import Job, JobKind, JobStatus
from apps.jobs.services import claim_of
from apps.reports.models import ReportReview, ReportStatus, ResearchReport
from apps.reports.selectors import chunk_passage
from apps.reports.services import report_record_output
from apps.research.models import Document, DocumentChunk
from gpu_workers.tasks.reports import PreparedReport, finish_report, report_job_message
from pipelines.reports import INSUFFICIENT, ReportRequestSpec, passages_with_handles, report_schema
from tests.conftest import client_for
from tests.ui.html import find_all, find_one

pytestmark = pytest.mark.django_db

NEWS = "Acme revenue fell 2.3% in Q2 2024 to $3.2bn. Gross margin was 38.5% in Q1 2024."
SPEC = ReportRequestSpec("ACME", "Acme Industrial Corp", "", ["revenue growth", "gross margin"], None)


@pytest.fixture
def chunk(analyst, companies):
    document = Document.objects.create(
        title="Acme sales slip", company=companies["ACME"], uploaded_by=analyst, content_hash="c" * 64
    )
    return DocumentChunk.objects.create(
        document=document, ordinal=0, chunk_id="acme-news-0", char_start=0, char_end=len(NEWS), text=NEWS
    )


def model_output(thesis: str, margin_period: str) -> str:
    """What a model might write citing S1 (the news chunk): revenue growth -2.3%, gross margin 38.5%.

    The grammar fixes the key metrics to the chunk's figures (and rating and horizon to "insufficient
    evidence", which the chunk does not state) but allows any thesis sentence: only the check can tell.
    """
    return json.dumps(
        {
            "ticker": "ACME",
            "company": "Acme Industrial Corp",
            "rating": INSUFFICIENT,
            "target_price": INSUFFICIENT,
            "horizon": INSUFFICIENT,
            "thesis": thesis,
            "key_metrics": [
                {"name": "revenue growth", "value": "-2.3", "unit": "%", "period": "Q2 2024", "citation": "S1"},
                {"name": "gross margin", "value": "38.5", "unit": "%", "period": margin_period, "citation": "S1"},
            ],
            "risks": [],
            "citations": [],
        }
    )


SUPPORTED_THESIS = "Revenue fell 2.3% in the quarter as demand weakened."


def generate(
    analyst, companies, chunk, *, thesis: str = SUPPORTED_THESIS, margin_period: str = "Q1 2024"
) -> tuple[ResearchReport, Job, dict]:
    job = Job.objects.create(kind=JobKind.REPORT, owner=analyst, actor_label="user:x", status=JobStatus.RUNNING)
    report = ResearchReport.objects.create(
        requested_by=analyst,
        company=companies["ACME"],
        status=ReportStatus.GENERATING,
        required_indicators=SPEC.required_indicators,
        allowed_access_levels=["internal", "public"],
        job=job,
    )
    passages = [chunk_passage(DocumentChunk.objects.select_related("document", "document__company").get(pk=chunk.pk))]
    handle_passages, handles = passages_with_handles(passages)
    prepared = PreparedReport(
        job=job,
        claim=claim_of(job),
        report=report,
        actor=None,
        passages=passages,
        handle_passages=handle_passages,
        handles=handles,
        spec=SPEC,
        chunk_levels={chunk.chunk_id: "internal"},
        schema=report_schema(SPEC, handle_passages),
        item=None,
    )
    outcome = SimpleNamespace(
        text=model_output(thesis, margin_period), record_seq=None, finish_reason="stop", cache_hit=False, tokens_out=120
    )
    engine = SimpleNamespace(registry_name="tiny", model_name="tiny", model_version="0" * 64)
    result = finish_report(prepared, outcome, engine=engine)
    report.refresh_from_db()
    return report, job, result


@pytest.fixture
def flagged(analyst, companies, chunk):
    """A thesis saying revenue grew 2.3%, citing a chunk where it fell 2.3%."""
    return generate(analyst, companies, chunk, thesis="Revenue grew 2.3% in the quarter as demand held up.")


def test_an_unsupported_number_makes_the_report_need_attention(flagged):
    report, _, result = flagged
    assert report.status == ReportStatus.NEEDS_ATTENTION and report.error == ""
    assert (report.numbers_checked, report.numbers_unsupported) == (3, 1)
    assert report.supported_share == pytest.approx(2 / 3)
    [mismatch] = report.findings["unsupported"]
    assert mismatch["name"] == "thesis" and mismatch["value"] == "2.3" and mismatch["unit"] == "%"
    assert mismatch["citation"] == "acme-news-0" and mismatch["reason"] == "sign"  # real chunk id, not S1
    assert "opposite sign" in mismatch["why"]
    assert result["written"] and result["numbers_unsupported"] == 1
    assert result["supported_share"] == pytest.approx(2 / 3)
    message = report_job_message(result, cache_hit=False)
    assert "ready for review" not in message.lower() and "needs attention" in message.lower()
    assert "1 of 3 numbers" in message


def test_a_metric_for_another_period_than_its_source_states_fails_validation(analyst, companies, chunk):
    # The grammar fixes the period to the one the chunk states for the figure; an output from outside
    # the grammar that changes it is refused, never stored as a draft.
    report, _, _ = generate(analyst, companies, chunk, margin_period="Q2 2024")
    assert report.status == ReportStatus.FAILED
    assert "key_metrics[1].period" in report.error and "Q1 2024" in report.error


def test_a_supported_report_is_a_draft_ready_for_review(analyst, companies, chunk):
    report, _, result = generate(analyst, companies, chunk)
    assert report.status == ReportStatus.DRAFT and report.findings["unsupported"] == []
    assert (report.numbers_checked, report.numbers_unsupported, report.supported_share) == (3, 0, 1.0)
    assert report_job_message(result, cache_hit=True) == "Report ready for review (from cache)"


@pytest.mark.parametrize("settled", [ReportStatus.APPROVED, ReportStatus.REJECTED, ReportStatus.NEEDS_ATTENTION])
def test_a_late_duplicate_never_overwrites_a_settled_report(flagged, analyst, companies, chunk, settled):
    report, _, _ = flagged
    report.status = settled
    report.save(update_fields=["status"])
    before = ResearchReport.objects.filter(pk=report.pk).values().get()
    written = report_record_output(
        report_id=report.pk,
        output={"ticker": "ACME", "rating": "sell"},
        findings={"valid": True, "unsupported": [], "supported_share": 1.0, "numbers_checked": 1},
        rendered_html="<p>late</p>",
        rendered_markdown="late",
        chunk_ids=[],
        chunk_access_levels=[],
        inference_seqs=[99],
        model_name="other",
        model_version="1" * 64,
        adapter_label="",
    )
    assert written is False
    assert ResearchReport.objects.filter(pk=report.pk).values().get() == before
    assert report_job_message({"written": False}, cache_hit=False).startswith("The report was settled")


def test_record_output_writes_a_report_still_in_flight(analyst, companies):
    report = ResearchReport.objects.create(
        requested_by=analyst, company=companies["ACME"], status=ReportStatus.QUEUED, allowed_access_levels=["public"]
    )
    common = {
        "output": {"ticker": "ACME"},
        "rendered_html": "",
        "rendered_markdown": "",
        "chunk_ids": [],
        "chunk_access_levels": [],
        "inference_seqs": [],
        "model_name": "tiny",
        "model_version": "",
        "adapter_label": "",
    }
    unsupported = [{"name": "m", "value": "1", "reason": "not_found"}]
    findings = {"unsupported": unsupported, "supported_share": 0.0, "numbers_checked": 1}
    assert report_record_output(report_id=report.pk, findings=findings, **common) is True
    report.refresh_from_db()
    assert report.status == ReportStatus.NEEDS_ATTENTION and report.generated_at is not None
    # Written once: the second (duplicate) write finds it settled.
    assert report_record_output(report_id=report.pk, findings={}, **common) is False


# --- the API ------------------------------------------------------------------------------------


def as_user(api_client, user):
    api_client.force_authenticate(user)
    return api_client


def test_api_shows_each_mismatch_the_share_and_what_the_fields_cite(api_client, analyst, flagged, chunk):
    report, _, _ = flagged
    body = as_user(api_client, analyst).get(f"/api/reports/{report.pk}/").json()
    assert body["status"] == "needs_attention" and body["progress"] == 100
    assert body["supported_share"] == pytest.approx(2 / 3)
    assert body["numbers_checked"] == 3 and body["numbers_unsupported"] == 1
    [mismatch] = body["mismatches"]
    assert {k: mismatch[k] for k in ("name", "value", "unit", "period", "citation", "reason")} == {
        "name": "thesis",
        "value": "2.3",
        "unit": "%",
        "period": "",
        "citation": "acme-news-0",
        "reason": "sign",
    }
    # The output's own citations list is empty; the metrics cite the chunk all the same.
    assert body["output"]["citations"] == []
    document_id = str(chunk.document_id)
    assert body["citations"] == [
        {
            "chunk_id": "acme-news-0",
            "document_id": document_id,
            "document_url": f"/api/documents/{document_id}/",
            "url": f"/research/documents/{document_id}/?chunk=acme-news-0#chunk-acme-news-0",
            "fields": ["key_metrics[0]", "key_metrics[1]"],
        }
    ]


def test_citations_of_a_report_without_stored_documents_are_looked_up(api_client, analyst, flagged, chunk):
    report, _, _ = flagged
    report.findings = {k: v for k, v in report.findings.items() if k != "chunk_documents"}
    report.save(update_fields=["findings"])
    body = as_user(api_client, analyst).get(f"/api/reports/{report.pk}/").json()
    assert [(c["chunk_id"], c["document_id"]) for c in body["citations"]] == [("acme-news-0", str(chunk.document_id))]


def test_api_refuses_to_approve_without_a_comment(api_client, risk_officer, flagged):
    report, _, _ = flagged
    client = as_user(api_client, risk_officer)
    for comment in ("", "   "):
        response = client.post(
            f"/api/reports/{report.pk}/review/", {"decision": "approved", "comment": comment}, format="json"
        )
        assert response.status_code == 400, response.json()
        error = response.json()["error"]
        assert "comment" in error["fields"] and "needs attention" in json.dumps(error)
    report.refresh_from_db()
    assert report.status == ReportStatus.NEEDS_ATTENTION and not ReportReview.objects.exists()
    response = client.post(
        f"/api/reports/{report.pk}/review/",
        {"decision": "approved", "comment": "Checked: revenue fell; the sign is the model's slip."},
        format="json",
    )
    assert response.status_code == 200 and response.json()["status"] == "approved"


def test_api_rejects_a_report_that_needs_attention_without_a_comment(api_client, risk_officer, flagged):
    report, _, _ = flagged
    response = as_user(api_client, risk_officer).post(
        f"/api/reports/{report.pk}/review/", {"decision": "rejected"}, format="json"
    )
    assert response.status_code == 200 and response.json()["status"] == "rejected"


def test_reports_list_filters_on_needs_attention(api_client, analyst, flagged):
    report, _, _ = flagged
    body = as_user(api_client, analyst).get("/api/reports/?status=needs_attention").json()
    assert [r["id"] for r in body["results"]] == [str(report.pk)]


def test_markdown_export_lists_the_mismatch(api_client, analyst, flagged):
    report, _, _ = flagged
    text = as_user(api_client, analyst).get(f"/api/reports/{report.pk}/export/?as=md").content.decode()
    assert "Needs attention: 1 number(s) not supported" in text
    assert "thesis: 2.3% \\[unit: %\\] (cited acme-news-0): the source states the opposite sign" in text


# --- the pages ----------------------------------------------------------------------------------


def test_page_shows_each_mismatch_and_the_status(analyst, flagged):
    report, _, _ = flagged
    page = client_for(analyst).get(reverse("reports:report-detail", args=[report.pk]))
    assert page.status_code == 200
    assert find_one(page.content, id="report-status").attrs["data-status"] == "needs_attention"
    table = find_one(page.content, **{"data-testid": "report-mismatches"})
    assert table is not None
    rows = find_all(page.content, **{"data-reason": "sign"})
    assert len(rows) == 1
    text = page.content.decode()
    assert "acme-news-0" in text and "thesis" in text and "opposite sign" in text
    assert "Needs attention: 1 number(s)" in text  # the rendered report's own check section


def test_page_review_form_refuses_approval_without_a_comment(risk_officer, flagged):
    report, _, _ = flagged
    reviewer = client_for(risk_officer)
    page = reviewer.get(reverse("reports:report-detail", args=[report.pk]))
    assert find_one(page.content, **{"data-testid": "review-form"})
    response = reviewer.post(reverse("reports:report-review", args=[report.pk]), {"decision": "approved"})
    assert response.status_code == 400 and b"Approving it needs a comment" in response.content
    report.refresh_from_db()
    assert report.status == ReportStatus.NEEDS_ATTENTION
    response = reviewer.post(
        reverse("reports:report-review", args=[report.pk]), {"decision": "approved", "comment": "Sign checked."}
    )
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.status == ReportStatus.APPROVED
