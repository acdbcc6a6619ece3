"""Headless Chromium against a live server: the job page follows a job to the end without a reload.

Playwright drives Debian's system Chromium (``/usr/bin/chromium``); its own browser
download cannot work offline. Django's ORM refuses to run while Playwright's event
loop is active in this thread, so database work happens before the browser starts,
after it closed, or in a short-lived helper thread.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.db import connection
from django.urls import reverse

from apps.accounts.roles import Role
from apps.accounts.services import user_create
from apps.jobs.models import Job, JobKind, JobStatus
from apps.jobs.services import claim_of, job_claim, job_progress, job_succeed

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DEMO_USERNAME = "demo-analyst"
DEMO_PASSWORD = "argus-demo-2026"
JOB_TIMEOUT_MS = 120_000
UUID_PATH = r"/jobs/[0-9a-f-]{36}/$"

NO_CHROMIUM = "needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)"

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM)]

FINISHED_ON_PAGE = """() => {
    const el = document.querySelector('#job-progress');
    return el !== null && ['succeeded', 'failed', 'cancelled'].includes(el.dataset.status);
}"""


@contextmanager
def chromium_page(base_url: str) -> Iterator[tuple[Any, dict[str, list]]]:
    """A fresh page, plus what went wrong on it (console errors, failed or 4xx/5xx requests)."""
    from playwright.sync_api import sync_playwright

    problems: dict[str, list] = {"console": [], "http": [], "progress_requests": []}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": 1360, "height": 900}, base_url=base_url).new_page()
            page.on("console", lambda m: m.type == "error" and problems["console"].append(m.text))
            page.on("response", lambda r: r.status >= 400 and problems["http"].append((r.status, r.url)))
            # ERR_ABORTED is the browser dropping a load because the test navigated on.
            page.on(
                "requestfailed",
                lambda r: "ERR_ABORTED" not in (r.failure or "") and problems["http"].append((r.failure, r.url)),
            )
            page.on(
                "request", lambda r: r.url.rstrip("/").endswith("/progress") and problems["progress_requests"].append(r)
            )
            yield page, problems
        finally:
            browser.close()


def in_thread(work: Callable[[], Any]) -> Any:
    """Run ORM work outside Playwright's event loop; close the thread's connection afterwards."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = work()
        except BaseException as exc:  # re-raised in the test thread
            outcome["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def screenshot(page, name: str) -> Path:
    # Beside, not inside, the per-run var folder, which is removed when the run ends.
    folder = Path(settings.BASE_DIR) / "var" / "test" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def log_in(page, username: str, password: str) -> None:
    page.goto(reverse("accounts:login"))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: urlsplit(url).path == reverse("core:dashboard"))


@pytest.mark.integration
def test_demo_analyst_starts_an_embedding_job_and_watches_it_finish_without_reloading(
    live_server, celery_worker_process, transactional_db
):
    user_create(username=DEMO_USERNAME, password=DEMO_PASSWORD, role=Role.ANALYST, display_name="Demo Analyst")
    texts = ["Revenue grew 12% year over year.", "The company breached a covenant on its term loan."]

    with chromium_page(live_server.url) as (page, problems):
        log_in(page, DEMO_USERNAME, DEMO_PASSWORD)
        assert page.locator("[data-testid=user-name]").inner_text() == "Demo Analyst"
        # htmx came from our own static files (no CDN): without it nothing would poll.
        assert page.evaluate("typeof window.htmx") == "object"

        page.click("[data-nav=embed]")
        page.fill("textarea[name=texts]", "\n".join(texts))
        assert page.locator("#text-count").inner_text() == "2 texts"
        page.click("#content form button[type=submit]")
        page.wait_for_url(re.compile(UUID_PATH))
        job_url = page.url

        # Anything that replaced the document (a reload, a navigation) would drop this.
        page.evaluate("window.__argusSamePage = true")
        status_on_arrival = page.locator("#job-progress").get_attribute("data-status")
        page.wait_for_function(FINISHED_ON_PAGE, timeout=JOB_TIMEOUT_MS)

        assert page.evaluate("window.__argusSamePage === true"), "the job page reloaded or navigated"
        assert page.url == job_url
        status = page.locator("[data-testid=job-status]")
        assert status.get_attribute("data-status") == "succeeded", (
            f"{status.inner_text()}: {page.locator('#job-progress').inner_text()}\n"
            f"worker log:\n{celery_worker_process.log()[-3000:]}"
        )
        assert status.inner_text() == "Succeeded"
        assert page.locator("[data-testid=job-progress-value]").inner_text() == "100%"
        assert page.locator("[data-testid=result-count]").inner_text() == "2"
        assert page.locator("[data-testid=result-dimensions]").inner_text() == "384"
        assert page.locator("#job-progress").get_attribute("hx-trigger") is None
        if status_on_arrival in {"queued", "running"}:
            # The page arrived before the job finished, so the result came through polling.
            assert problems["progress_requests"]
        shot = screenshot(page, "embed-job-succeeded")
        assert not problems["console"], problems["console"]
        assert not problems["http"], problems["http"]

    assert shot.stat().st_size > 10_000
    job = Job.objects.get(pk=job_url.rstrip("/").rsplit("/", 1)[-1])
    assert job.status == JobStatus.SUCCEEDED and job.params["texts"] == texts
    assert job.owner.username == DEMO_USERNAME


def test_job_page_follows_progress_written_elsewhere_and_stops_polling_when_done(live_server, transactional_db):
    """The same page mechanics, with the job driven step by step from the test (no worker)."""
    user = user_create(username=DEMO_USERNAME, password=DEMO_PASSWORD, role=Role.ANALYST)
    job = Job.objects.create(kind=JobKind.EMBED, owner=user, actor_label="user:demo", params={"texts": ["a", "b"]})
    claim = claim_of(job_claim(job_id=job.pk, worker="browser-test"))
    job_progress(claim=claim, progress=30, message="Embedding 2 texts")

    def value_on_page(page) -> str:
        return page.locator("[data-testid=job-progress-value]").inner_text()

    with chromium_page(live_server.url) as (page, problems):
        log_in(page, DEMO_USERNAME, DEMO_PASSWORD)
        page.goto(reverse("jobs:detail", args=[job.pk]))
        page.evaluate("window.__argusSamePage = true")
        assert value_on_page(page) == "30%"

        in_thread(lambda: job_progress(claim=claim, progress=70, message="1/2 texts"))
        page.wait_for_function(
            "() => document.querySelector('[data-testid=job-progress-value]').textContent.trim() === '70%'",
            timeout=15_000,
        )
        assert page.locator("[data-testid=job-message]").inner_text() == "1/2 texts"

        result = {"model": "m", "dimensions": 3, "count": 2, "vectors": [[0.5, 0.25, 0.125], [1.0, 0.0, 0.0]]}
        in_thread(lambda: job_succeed(claim=claim, result=result, message="Embedded 2 texts"))
        page.wait_for_function(FINISHED_ON_PAGE, timeout=15_000)
        assert value_on_page(page) == "100%"
        assert page.locator("[data-testid=vector-preview]").inner_text() == "[0.5000, 0.2500, 0.1250]"

        # Finished: the fragment no longer asks to be polled, so requests stop.
        polled_when_done = len(problems["progress_requests"])
        page.wait_for_timeout(2_500)
        assert len(problems["progress_requests"]) == polled_when_done
        assert polled_when_done >= 2
        assert page.evaluate("window.__argusSamePage === true")
        screenshot(page, "job-progress-driven")
        assert not problems["console"], problems["console"]
        assert not problems["http"], problems["http"]


def test_job_page_whose_session_expires_while_polling_goes_to_the_login_page(live_server, transactional_db):
    user = user_create(username=DEMO_USERNAME, password=DEMO_PASSWORD, role=Role.ANALYST)
    job = Job.objects.create(kind=JobKind.EMBED, owner=user, actor_label="user:demo", params={"texts": ["a"]})
    job_path = reverse("jobs:detail", args=[job.pk])

    with chromium_page(live_server.url) as (page, _problems):
        log_in(page, DEMO_USERNAME, DEMO_PASSWORD)
        page.goto(job_path)
        page.context.clear_cookies()

        # The next poll is redirected to the login page; the page follows instead of
        # swapping a login form into the progress card.
        page.wait_for_url(lambda url: urlsplit(url).path == reverse("accounts:login"), timeout=15_000)
        assert parse_qs(urlsplit(page.url).query)["next"] == [job_path]
        assert page.locator("#job-progress").count() == 0
