"""Headless Chromium: drag-and-drop upload with per-file progress and results, then the library and a citation.

The broker is replaced (nothing is ingested): these tests are about the page, the script
and the API it posts to. Database work happens before the browser starts, after it
closed, or in ``in_thread`` (Django's ORM refuses Playwright's event loop thread).
"""

from __future__ import annotations

import base64
from unittest import mock

import pytest
from django.urls import reverse

from apps.accounts.roles import Role
from apps.accounts.services import user_create
from apps.research.models import Company, Document, DocumentChunk, DocumentStatus
from tests.browser.test_embed_job_in_browser import CHROMIUM, NO_CHROMIUM, chromium_page, log_in, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM)]

USERNAME = "drop-analyst"
PASSWORD = "argus-upload-2026"
NOTE = b"# Acme Q3 note\n\nNet debt fell to $1.1 billion and leverage improved to 1.4 times.\n"
MEMO = b"Globex call notes\n\nManagement expects the covenant waiver to be signed next week.\n"
EXE = b"MZ\x90\x00" + b"\x00\xff" * 300

# Builds File objects in the page and drops them on the drop zone, as a user's drag would.
DROP_FILES = """([files]) => {
    const transfer = new DataTransfer();
    for (const f of files) {
        const bytes = Uint8Array.from(atob(f.data), (c) => c.charCodeAt(0));
        transfer.items.add(new File([bytes], f.name, {type: f.type}));
    }
    const zone = document.getElementById('dropzone');
    for (const type of ['dragenter', 'dragover', 'drop']) {
        zone.dispatchEvent(new DragEvent(type, {bubbles: true, cancelable: true, dataTransfer: transfer}));
    }
}"""


def dropped(name: str, data: bytes, mime: str) -> dict[str, str]:
    return {"name": name, "data": base64.b64encode(data).decode(), "type": mime}


@pytest.fixture
def uploader(transactional_db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    Company.objects.create(ticker="ACME", name="Acme Industrial Corp")
    return user_create(username=USERNAME, password=PASSWORD, role=Role.ANALYST)


def test_dropped_and_chosen_files_upload_with_their_own_progress_and_result(live_server, uploader):
    with (
        mock.patch("apps.jobs.services.celery_app.send_task") as send_task,
        chromium_page(live_server.url) as (page, problems),
    ):
        log_in(page, USERNAME, PASSWORD)
        page.goto(reverse("research:upload"))
        assert page.locator("#upload-form").get_attribute("data-enhanced") == "true"

        page.set_input_files("input[name=files]", [
            {"name": "acme-note.md", "mimeType": "text/markdown", "buffer": NOTE},
            {"name": "setup.exe", "mimeType": "application/octet-stream", "buffer": EXE},
        ])  # fmt: skip
        page.evaluate(DROP_FILES, [[dropped("globex-call.txt", MEMO, "text/plain")]])
        items = page.locator("[data-testid=upload-item]")
        assert items.count() == 3
        # Several files: the title field would name only one, so it is off.
        assert page.locator("input[name=title]").is_disabled()
        assert page.locator("#upload-submit").inner_text() == "Upload 3 files"

        page.fill("input[name=ticker]", "ACME")
        page.select_option("select[name=doc_type]", "report")
        page.click("#upload-submit")
        page.wait_for_selector("#upload-summary[data-done=true]", timeout=30_000)

        assert page.locator("#upload-summary").inner_text() == "2 of 3 files accepted."
        states = {
            items.nth(i).get_attribute("data-filename"): items.nth(i).get_attribute("data-state") for i in range(3)
        }
        assert states == {"acme-note.md": "accepted", "setup.exe": "refused", "globex-call.txt": "accepted"}
        note = page.locator("[data-filename='acme-note.md']")
        assert note.locator(".progress").get_attribute("aria-valuenow") == "100"
        assert note.locator(".progress__value").inner_text() == "100%"
        exe = page.locator("[data-filename='setup.exe']")
        assert exe.get_attribute("data-reason") == "unsupported_type"
        assert "not supported" in exe.locator(".upload-item__result").inner_text()
        document_link = note.locator("[data-testid=uploaded-document]").get_attribute("href")
        job_link = note.locator("[data-testid=upload-job]").get_attribute("href")
        shot = screenshot(page, "research-upload-results")

        # The library lists the new documents, queued, and polls while they are in flight.
        page.goto(reverse("research:home"))
        assert page.locator("#document-table").get_attribute("hx-trigger") == "every 2s"
        assert page.locator("[data-testid=document-status][data-status=queued]").count() == 2
        page.goto(document_link)
        assert page.locator("[data-testid=document-title]").inner_text() == "Acme Q3 note"
        # The only 4xx is the refused file's answer.
        assert problems["http"] == [(400, f"{live_server.url}/api/documents/")], problems["http"]
        assert not [m for m in problems["console"] if "400" not in m], problems["console"]

    assert shot.stat().st_size > 10_000
    assert send_task.call_count == 2  # one ingest job per accepted file
    documents = Document.objects.filter(uploaded_by=uploader)
    assert {d.original_name for d in documents} == {"acme-note.md", "globex-call.txt"}
    assert all(d.company.ticker == "ACME" and d.doc_type == "report" for d in documents)
    assert job_link == reverse("jobs:detail", args=[Document.objects.get(original_name="acme-note.md").job_id])


def test_citation_link_scrolls_to_the_cited_chunk_and_highlights_it(live_server, uploader):
    document = Document.objects.create(
        title="Long filing", uploaded_by=uploader, status=DocumentStatus.INDEXED, content_hash="f" * 64
    )
    for ordinal in range(40):
        DocumentChunk.objects.create(
            document=document,
            ordinal=ordinal,
            chunk_id=f"c{ordinal:03d}",
            section="Item 7",
            char_start=ordinal * 500,
            char_end=ordinal * 500 + 499,
            text=f"Paragraph {ordinal}. " + "Liquidity and capital resources remained adequate. " * 8,
        )
    link = f"{reverse('research:document-detail', args=[document.pk])}?chunk=c031#chunk-c031"

    with chromium_page(live_server.url) as (page, problems):
        log_in(page, USERNAME, PASSWORD)
        page.goto(link)
        cited = page.locator("#chunk-c031")
        assert cited.is_visible()
        assert page.evaluate("document.querySelector(':target').id") == "chunk-c031"
        background = cited.evaluate("el => getComputedStyle(el).backgroundColor")
        plain = page.locator("#chunk-c030").evaluate("el => getComputedStyle(el).backgroundColor")
        assert background != plain
        # Scrolled there: the cited chunk is in the viewport, the first one is not.
        assert page.evaluate("document.getElementById('chunk-c031').getBoundingClientRect().top") < 900
        assert page.evaluate("document.getElementById('chunk-c000').getBoundingClientRect().bottom") < 0
        screenshot(page, "research-cited-chunk")
        assert not problems["console"] and not problems["http"], problems
