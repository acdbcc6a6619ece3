"""Headless Chromium: request a report, watch it being generated, read it, open a citation.

The model worker is played by the test (the report's job is driven step by step and its
output recorded with the same service the worker uses): these tests are about the pages.
"""

from __future__ import annotations

from unittest import mock

import pytest
from django.urls import reverse

from apps.accounts.roles import Role
from apps.accounts.services import user_create
from apps.jobs.services import claim_of, job_claim, job_progress, job_succeed
from apps.registry.models import BaseModel
from apps.reports.models import ResearchReport
from apps.reports.services import report_record_output
from apps.research.models import Company, Document, DocumentChunk, DocumentStatus
from pipelines.reports import ReportFindings, render_report_html, render_report_markdown
from tests.browser.test_embed_job_in_browser import CHROMIUM, NO_CHROMIUM, chromium_page, in_thread, log_in, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM)]

USERNAME = "report-analyst"
PASSWORD = "argus-report-2026"
OUTPUT = {
    "ticker": "ACME",
    "company": "Acme Industrial Corp",
    "rating": "hold",
    "target_price": "insufficient evidence",
    "horizon": "insufficient evidence",
    "thesis": "Margins widened on pricing while leverage fell.",
    "key_metrics": [
        {"name": "gross margin", "value": "38.5", "unit": "%", "period": "Q3 2025", "citation": "c031"},
        {
            "name": "dividend yield",
            "value": "insufficient evidence",
            "unit": "",
            "period": "insufficient evidence",
            "citation": None,
        },
    ],
    "risks": [],
    "citations": ["c031"],
}


@pytest.fixture
def desk(transactional_db):
    user = user_create(username=USERNAME, password=PASSWORD, role=Role.ANALYST)
    Company.objects.create(ticker="ACME", name="Acme Industrial Corp")
    BaseModel.objects.create(name="smollm2", path="/x", source="t", content_hash="0" * 64, is_default=True)
    document = Document.objects.create(
        title="Acme Q3 review", uploaded_by=user, status=DocumentStatus.INDEXED, content_hash="e" * 64
    )
    for ordinal in range(40):
        DocumentChunk.objects.create(
            document=document,
            ordinal=ordinal,
            chunk_id=f"c{ordinal:03d}",
            char_start=ordinal * 100,
            char_end=ordinal * 100 + 99,
            text=f"Paragraph {ordinal}. Gross margin widened to 38.5% on pricing. " * 4,
        )
    return user, document


def finish(report_id, document) -> None:
    report = ResearchReport.objects.get(pk=report_id)
    claim = claim_of(job_claim(job_id=report.job_id, worker="browser-test"))
    job_progress(claim=claim, progress=30, message="Generating (batch of 1)")
    passages = [{"chunk_id": "c031", "document_id": str(document.pk), "title": document.title, "text": "38.5%"}]
    findings = ReportFindings.from_dict({"valid": True, "matched_share": 1.0})
    url = f"{reverse('research:document-detail', args=[document.pk])}?chunk=c031#chunk-c031"
    report_record_output(
        report_id=report.pk,
        output=OUTPUT,
        findings={"valid": True, "matched_share": 1.0, "chunk_documents": {"c031": str(document.pk)}},
        rendered_html=render_report_html(OUTPUT, findings, passages, chunk_url=lambda c: url),
        rendered_markdown=render_report_markdown(OUTPUT, findings, passages),
        chunk_ids=["c031"],
        chunk_access_levels=["internal"],
        inference_seqs=[],
        model_name="smollm2",
        model_version="0" * 64,
        adapter_label="",
    )
    job_succeed(claim=claim, result={"report_id": str(report.pk)}, message="Report ready for review")


def test_analyst_requests_a_report_watches_it_finish_and_opens_a_citation(live_server, desk):
    user, document = desk
    with (
        mock.patch("apps.jobs.services.celery_app.send_task") as send_task,
        chromium_page(live_server.url) as (page, problems),
    ):
        log_in(page, USERNAME, PASSWORD)
        page.goto(reverse("reports:report-list"))
        page.fill("input[name=ticker]", "ACME")
        page.fill("input[name=required_indicators]", "gross margin, dividend yield")
        page.click("[data-testid=report-form] button[type=submit]")
        page.wait_for_selector("#report-status[data-status=queued]")
        report_id = page.url.rstrip("/").rsplit("/", 1)[-1]
        assert page.locator("#report-status").get_attribute("hx-trigger") == "every 1s"

        in_thread(lambda: finish(report_id, document))
        # The status card notices, and the page reloads itself to show the report.
        page.wait_for_selector("[data-testid=report-body]", timeout=20_000)
        assert page.locator("#report-status").get_attribute("data-status") == "draft"
        body = page.locator("[data-testid=report-body]").inner_text()
        assert "gross margin" in body and "insufficient evidence" in body
        shot = screenshot(page, "research-report")

        page.locator("[data-testid=report-body] a[href*='chunk=c031']").first.click()
        page.wait_for_url("**/research/documents/**")
        assert page.evaluate("document.querySelector(':target').id") == "chunk-c031"
        assert page.locator("#chunk-c031").is_visible()
        assert not problems["console"] and not problems["http"], problems

    assert shot.stat().st_size > 10_000
    assert send_task.call_count == 1
    report = ResearchReport.objects.get(pk=report_id)
    assert report.requested_by == user and report.required_indicators == ["gross margin", "dividend yield"]
