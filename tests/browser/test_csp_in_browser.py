"""The Content-Security-Policy breaks nothing: pages, htmx polling, the audit console and Swagger UI
run in Chromium with no CSP violation (Chromium reports each one as a console error)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.accounts.roles import Role
from apps.accounts.services import user_create
from apps.jobs.models import Job, JobKind
from tests.browser.test_embed_job_in_browser import CHROMIUM, NO_CHROMIUM, chromium_page, log_in

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM)]

PASSWORD = "argus-demo-2026"


def test_pages_and_swagger_ui_run_under_the_csp(live_server, transactional_db):
    user_create(username="csp-admin", password=PASSWORD, role=Role.ADMIN)
    running = Job.objects.create(kind=JobKind.INGEST, owner=None, actor_label="system:demo-corpus", progress=40)

    with chromium_page(live_server.url) as (page, problems):
        log_in(page, "csp-admin", PASSWORD)
        # A job page polls with htmx (its indicator style carries the nonce).
        page.goto(reverse("jobs:detail", args=[running.pk]))
        page.wait_for_timeout(2500)
        page.goto(reverse("research:upload"))
        page.goto(reverse("admin:audit_inferencerecord_changelist"))
        page.goto("/api/docs/")
        page.wait_for_selector(".opblock", timeout=30_000)  # Swagger UI rendered the operations
        assert page.locator(".opblock").count() > 10
        csp_errors = [text for text in problems["console"] if "Content Security Policy" in text]
        assert not csp_errors, csp_errors
        # The Django admin links no favicon: Chromium's own /favicon.ico request is the one 404 allowed.
        script_errors = [text for text in problems["console"] if not text.startswith("Failed to load resource")]
        assert not script_errors, script_errors
        assert not [entry for entry in problems["http"] if "/static/" in str(entry[1])], problems["http"]
