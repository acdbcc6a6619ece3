"""Headless Chromium: the risk dashboard draws its charts and graph under the CSP, shows critical alerts
at once and picks up a new one by polling, and a click on a graph node opens that company's risk page."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from apps.accounts.roles import Role
from apps.accounts.services import user_create
from tests.browser.test_embed_job_in_browser import CHROMIUM, NO_CHROMIUM, chromium_page, in_thread, log_in, screenshot
from tests.risk.dashboard_world import build_scored_world

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM)]

USERNAME = "dash-auditor"
PASSWORD = "argus-dash-2026"
# The banner polls every 30 s; a new critical alert must show within one more poll.
POLL_WAIT_MS = 45_000

RENDERED = """() => ['score-chart', 'sentiment-chart', 'risk-graph'].every(
    (id) => document.getElementById(id)?.dataset.rendered === 'true')"""
NODE_POSITION = """(ticker) => {
    const container = document.getElementById('risk-graph');
    const position = container.cy.getElementById(ticker).renderedPosition();
    const box = container.getBoundingClientRect();
    return {x: box.left + position.x, y: box.top + position.y};
}"""


def test_auditor_reads_the_dashboard_sees_critical_alerts_and_follows_the_graph(
    live_server, transactional_db, risk_officer
):
    from apps.research.services import company_upsert
    from apps.risk.services import watchlist_create

    # An auditor: the dashboard is for every reader role, and auditors act on nothing.
    user_create(username=USERNAME, password=PASSWORD, role=Role.AUDITOR)
    companies = {
        "ACME": company_upsert(ticker="ACME", name="Acme Industrial Corp", aliases=["Acme"]),
        "GLBX": company_upsert(ticker="GLBX", name="Globex Corporation", aliases=["Globex"]),
        "INIT": company_upsert(ticker="INIT", name="Initech Inc", aliases=["Initech"]),
    }
    watchlist = watchlist_create(actor=risk_officer, name="Credit book", companies=companies.values())
    world = build_scored_world(watchlist, companies)

    with chromium_page(live_server.url) as (page, problems):
        log_in(page, USERNAME, PASSWORD)
        page.click("a[data-nav=risk]")
        page.wait_for_url(lambda url: urlsplit(url).path == reverse("risk:home"))

        banner = page.locator("[data-testid=critical-banner]")
        assert banner.is_visible() and "GLBX" in banner.inner_text()
        assert page.locator("[data-testid=company-row]").count() == 3
        page.wait_for_function(RENDERED, timeout=15_000)
        # The watch, warning and critical lines are drawn on the score chart, not on sentiment.
        assert page.locator("#score-chart").get_attribute("data-threshold-lines") == "3"
        assert page.locator("#sentiment-chart").get_attribute("data-threshold-lines") == "0"
        graph = page.locator("#risk-graph")
        assert (graph.get_attribute("data-node-count"), graph.get_attribute("data-edge-count")) == ("4", "2")
        screenshot(page, "risk-dashboard")

        # A new critical alert shows without a reload: the banner polls.
        in_thread(lambda: _raise_critical(watchlist, companies["INIT"]))
        page.wait_for_function(
            "() => document.getElementById('critical-banner')?.dataset.count === '2'", timeout=POLL_WAIT_MS
        )
        assert "INIT" in page.locator("[data-testid=critical-banner]").inner_text()

        # A click on a node opens that company's risk page.
        # Scroll as a user would (wheel events): Cytoscape re-reads where its container is on scroll.
        page.mouse.move(600, 400)
        page.mouse.wheel(0, 2000)
        page.wait_for_function(
            "() => document.getElementById('risk-graph').getBoundingClientRect().bottom <= innerHeight"
        )
        page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
        point = page.evaluate(NODE_POSITION, "ACME")
        page.mouse.click(point["x"], point["y"])
        page.wait_for_url(lambda url: urlsplit(url).path == reverse("risk:company", args=["ACME"]))
        page.wait_for_function("() => document.getElementById('company-chart')?.dataset.rendered === 'true'")
        assert page.locator("#company-chart").get_attribute("data-threshold-lines") == "3"
        assert page.locator("[data-testid=latest-score]").inner_text() == "68.9"

        page.goto(reverse("risk:score-attribution", args=[world.acme_score.pk]))
        assert "68.875000 = score 68.875000" in page.locator("[data-testid=sum-check]").inner_text()

        csp_errors = [text for text in problems["console"] if "Content Security Policy" in text]
        assert not csp_errors, csp_errors
        script_errors = [text for text in problems["console"] if not text.startswith("Failed to load resource")]
        assert not script_errors, script_errors
        assert not [entry for entry in problems["http"] if "/static/" in str(entry[1])], problems["http"]


def _raise_critical(watchlist, company) -> None:
    from apps.risk import services

    services.alert_raise(
        watchlist=watchlist, company=company, level="critical", score=92.0, dedup_key="INIT:fraud:2026-03-04"
    )
