"""Report pages: request form, live status, the rendered report with citation links, review, exports."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.jobs.models import Job, JobKind
from apps.registry.models import BaseModel
from apps.reports.models import ReportStatus, ResearchReport
from apps.research.models import Document, DocumentChunk
from pipelines.reports import ReportFindings, render_report_html
from tests.conftest import client_for
from tests.ui.html import find_all, find_one, parse

pytestmark = pytest.mark.django_db


@pytest.fixture
def base_model(db):
    return BaseModel.objects.create(name="tiny", path="/x", source="t", content_hash="0" * 64, is_default=True)


@pytest.fixture
def cited_report(analyst, companies):
    document = Document.objects.create(title="Acme Q3 review", uploaded_by=analyst, content_hash="a" * 64)
    chunk = DocumentChunk.objects.create(
        document=document, ordinal=0, chunk_id="chunk-1", char_start=0, char_end=40, text="Gross margin was 38.5%."
    )
    output = {
        "ticker": "ACME",
        "company": "Acme Industrial Corp",
        "rating": "hold",
        "target_price": "insufficient evidence",
        "horizon": "insufficient evidence",
        "thesis": "Margins held up in the quarter.",
        "key_metrics": [
            {"name": "gross margin", "value": "38.5", "unit": "%", "period": "Q3", "citation": "chunk-1"},
        ],
        "risks": [],
        "citations": ["chunk-1"],
    }
    url = f"{reverse('research:document-detail', args=[document.pk])}?chunk=chunk-1#chunk-chunk-1"
    html = render_report_html(output, ReportFindings.from_dict({}), [], chunk_url=lambda c: url)
    job = Job.objects.create(kind=JobKind.REPORT, owner=analyst, actor_label="user:x", status="succeeded")
    return ResearchReport.objects.create(
        requested_by=analyst,
        company=companies["ACME"],
        status=ReportStatus.DRAFT,
        output=output,
        findings={"valid": True, "matched_share": 1.0, "chunk_documents": {"chunk-1": str(document.pk)}},
        rendered_html=html,
        rendered_markdown="# ACME",
        chunk_ids=[chunk.chunk_id],
        allowed_access_levels=["internal", "public"],
        job=job,
    ), url


def test_form_requests_a_report_and_opens_its_page(analyst, companies, base_model):
    client = client_for(analyst)
    page = client.get(reverse("reports:report-list"))
    assert page.status_code == 200 and find_one(page.content, **{"data-testid": "report-form"})
    response = client.post(
        reverse("reports:report-list"),
        {"ticker": "acme", "template": "equity_research", "required_indicators": "gross margin, EBITDA"},
    )
    report = ResearchReport.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("reports:report-detail", args=[report.pk])
    assert report.required_indicators == ["gross margin", "EBITDA"] and report.company.ticker == "ACME"
    detail = client.get(response["Location"])
    status = find_one(detail.content, id="report-status")
    # Still queued: the status card polls itself.
    assert status.attrs["data-status"] == "queued" and status.attrs["hx-trigger"] == "every 1s"


def test_form_refuses_an_unknown_ticker_with_a_message(analyst, companies, base_model):
    response = client_for(analyst).post(
        reverse("reports:report-list"), {"ticker": "NOPE", "template": "equity_research"}
    )
    assert response.status_code == 400 and b"Unknown ticker" in response.content
    assert not ResearchReport.objects.exists()


def test_rendered_report_links_citations_to_the_cited_chunk(analyst, cited_report):
    report, url = cited_report
    page = client_for(analyst).get(reverse("reports:report-detail", args=[report.pk]))
    assert page.status_code == 200
    body = find_one(page.content, **{"data-testid": "report-body"})
    assert body is not None
    assert url in [e.attrs.get("href") for e in parse(page.content) if e.tag == "a"]
    # A settled report does not poll.
    assert "hx-trigger" not in find_one(page.content, id="report-status").attrs


def test_status_fragment_asks_for_a_refresh_once_the_report_settles(analyst, cited_report):
    report, _ = cited_report
    response = client_for(analyst).get(reverse("reports:report-status", args=[report.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and response["HX-Refresh"] == "true"


def test_reviewer_approves_from_the_page_and_the_requester_cannot(analyst, risk_officer, cited_report):
    report, _ = cited_report
    assert not find_all(
        client_for(analyst).get(reverse("reports:report-detail", args=[report.pk])).content,
        **{"data-testid": "review-form"},
    )
    reviewer = client_for(risk_officer)
    page = reviewer.get(reverse("reports:report-detail", args=[report.pk]))
    assert find_one(page.content, **{"data-testid": "review-form"})
    response = reviewer.post(reverse("reports:report-review", args=[report.pk]), {"decision": "approved"})
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.status == ReportStatus.APPROVED
    assert (
        client_for(analyst)
        .post(reverse("reports:report-review", args=[report.pk]), {"decision": "rejected"})
        .status_code
        == 403
    )


def test_exports_markdown_and_pdf(analyst, cited_report):
    report, _ = cited_report
    client = client_for(analyst)
    markdown = client.get(reverse("reports:report-export", args=[report.pk]) + "?as=md")
    assert markdown.status_code == 200 and markdown.content == b"# ACME"
    pdf = client.get(reverse("reports:report-export", args=[report.pk]) + "?as=pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF") and pdf["Content-Type"] == "application/pdf"
    html = client.get(reverse("reports:report-export", args=[report.pk]) + "?as=html")
    assert html.status_code == 200 and b"<!doctype html>" in html.content
