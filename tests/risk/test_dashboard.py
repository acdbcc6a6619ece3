"""The risk dashboard, the company risk page, the attribution page and its exports, the article analysis."""

from __future__ import annotations

import io
import json

import pytest
from bs4 import BeautifulSoup
from django.urls import reverse

from apps.risk import selectors
from tests.conftest import client_for
from tests.risk.dashboard_world import (
    ACME_SCORE,
    ACME_WITHOUT_DEFAULT,
    AS_OF,
    EVIDENCE,
    NEIGHBOUR_AMOUNT,
    build_scored_world,
)

pytestmark = pytest.mark.django_db


def parse(content: bytes) -> BeautifulSoup:
    return BeautifulSoup(content, "html.parser")


def find_all(content: bytes, **attrs: str) -> list:
    return parse(content).find_all(attrs={name.replace("_", "-"): value for name, value in attrs.items()})


def find_one(content: bytes, **attrs: str):
    found = find_all(content, **attrs)
    assert len(found) == 1, f"expected one element with {attrs}, found {len(found)}"
    return found[0]


@pytest.fixture
def world(watchlist, companies):
    return build_scored_world(watchlist, companies)


# --- dashboard ----------------------------------------------------------------------------------------


def test_dashboard_shows_the_watchlist_companies_with_score_level_change_and_alerts(world, watchlist, analyst):
    response = client_for(analyst).get(reverse("risk:home"))

    assert response.status_code == 200
    rows = {row.attrs["data-ticker"]: row for row in find_all(response.content, data_testid="company-row")}
    assert list(rows) == ["GLBX", "ACME", "INIT"]  # highest score first; INIT has none
    assert rows["GLBX"].attrs["data-level"] == "critical"
    assert rows["ACME"].attrs["data-level"] == "warning"  # 68.875 against the watchlist's 40/60/80
    assert rows["INIT"].attrs["data-level"] == "none"
    acme_text = " ".join(rows["ACME"].text.split())
    assert "68.9" in acme_text and "+48.9" in acme_text  # 68.875 - 20.0 seven days before
    assert " 1 " in f" {acme_text} "  # one open alert on ACME


def test_dashboard_shows_a_critical_banner_at_once_and_polls_for_new_ones(world, auditor):
    response = client_for(auditor).get(reverse("risk:home"))

    assert response.status_code == 200
    banner = find_one(response.content, data_testid="critical-banner")
    assert "GLBX" in banner.text and "1 critical alert open" in " ".join(banner.text.split())
    poller = find_one(response.content, id="critical-banner")
    assert poller.attrs["hx-get"] == reverse("risk:critical-alerts")
    assert poller.attrs["hx-trigger"] == "every 30s"
    # Open alerts: the critical one first, highlighted.
    alerts = find_all(response.content, data_testid="open-alert")
    assert [a.attrs["data-level"] for a in alerts] == ["critical", "warning"]
    assert "alert-row--critical" in alerts[0].attrs["class"]


def test_critical_banner_fragment_lists_a_new_critical_alert(world, watchlist, companies, analyst):
    from apps.risk import services

    client = client_for(analyst)
    services.alert_raise(
        watchlist=watchlist, company=companies["INIT"], level="critical", score=91.0, dedup_key="INIT:fraud"
    )
    response = client.get(reverse("risk:critical-alerts"))

    assert response.status_code == 200
    items = find_all(response.content, data_testid="critical-alert")
    assert {("INIT" in i.text) or ("GLBX" in i.text) for i in items} == {True} and len(items) == 2
    assert find_one(response.content, id="critical-banner").attrs["hx-trigger"] == "every 30s"


def test_dashboard_chart_and_graph_data_are_json_scripts_and_scripts_are_static_files(world, analyst):
    response = client_for(analyst).get(reverse("risk:home"))
    page = parse(response.content)

    charts = json.loads(page.find(id="risk-chart-data").text)
    graph = json.loads(page.find(id="risk-graph-data").text)
    assert charts["to"] == AS_OF.isoformat()
    acme = next(d for d in charts["scores"]["datasets"] if d["label"] == "ACME")
    assert dict(zip(charts["scores"]["labels"], acme["data"], strict=True))[AS_OF.isoformat()] == ACME_SCORE
    assert {n["id"] for n in graph["nodes"]} == {"ACME", "GLBX", "INIT", "NWND"}
    # No inline script: the CSP allows scripts from our own static files only.
    scripts = page.find_all("script")
    assert all(s.get("src", "").startswith("/static/") for s in scripts if s.get("type") != "application/json")
    sources = {s.get("src") for s in scripts}
    assert {"/static/risk/dashboard.js", "/static/vendor/chartjs/chart.umd.min.js"} <= sources
    assert "/static/vendor/cytoscape/cytoscape.min.js" in sources
    assert "cdn" not in response.content.decode().lower()


def test_chart_sentiment_is_the_daily_mean_of_first_of_story_articles(world):
    charts = selectors.watchlist_chart_data(world.critical_alert.watchlist)
    acme = next(d for d in charts["sentiment"]["datasets"] if d["label"] == "ACME")
    by_day = dict(zip(charts["sentiment"]["labels"], acme["data"], strict=True))
    assert by_day[AS_OF.isoformat()] == -0.92  # the syndicated copy's +0.8 does not count


def test_graph_has_watched_companies_their_neighbours_and_typed_weighted_edges(world, watchlist):
    graph = selectors.watchlist_graph(watchlist)

    nodes = {n["id"]: n for n in graph["nodes"]}
    assert nodes["NWND"]["watched"] is False and nodes["ACME"]["watched"] is True
    assert (nodes["GLBX"]["level"], nodes["NWND"]["level"]) == ("critical", "watch")
    assert nodes["ACME"]["url"] == reverse("risk:company", args=["ACME"])
    edges = {(e["source"], e["target"], e["relation"]): e for e in graph["edges"]}
    assert set(edges) == {("ACME", "GLBX", "supplier"), ("INIT", "NWND", "co_mention")}
    supplier, co_mention = edges[("ACME", "GLBX", "supplier")], edges[("INIT", "NWND", "co_mention")]
    assert supplier["weight"] == 3 and supplier["width"] > co_mention["width"]


def test_dashboard_defaults_to_the_users_own_watchlist_and_404s_an_unknown_one(world, watchlist, risk_officer):
    from apps.risk.services import watchlist_create

    other = watchlist_create(actor=risk_officer, name="AAA other book", owner=risk_officer)
    client = client_for(risk_officer)
    assert selectors.dashboard_watchlist(risk_officer).pk in {watchlist.pk, other.pk}
    response = client.get(reverse("risk:home"), {"watchlist": other.pk})
    assert response.status_code == 200 and response.context["watchlist"].pk == other.pk
    assert client.get(reverse("risk:home"), {"watchlist": 999999}).status_code == 404


def test_dashboard_without_any_watchlist_says_so(analyst):
    response = client_for(analyst).get(reverse("risk:home"))
    assert response.status_code == 200 and b"No watchlist exists yet" in response.content


# --- company page -------------------------------------------------------------------------------------


def test_company_page_shows_history_attribution_events_and_articles(world, analyst):
    response = client_for(analyst).get(reverse("risk:company", args=["acme"]))

    assert response.status_code == 200
    assert find_one(response.content, data_testid="latest-score").text == "68.9"
    history = find_one(response.content, data_testid="score-history")
    assert len(history.find_all("tr")) == 1 + 4
    assert "default_bankruptcy" in find_one(response.content, data_testid="company-events").text
    articles = find_one(response.content, data_testid="company-articles").text
    assert "Acme Industrial files for Chapter 11" in articles and "negative" in articles
    chart = json.loads(parse(response.content).find(id="company-chart-data").text)
    assert chart["score"][-1] == ACME_SCORE and len(chart["labels"]) == len(chart["sentiment"])
    assert chart["thresholds"] == world.critical_alert.watchlist.thresholds()


def test_company_chart_draws_the_levels_of_the_watchlist_that_alerts_first(world, risk_officer):
    from apps.research.models import Company
    from apps.risk.models import Watchlist
    from apps.risk.services import watchlist_create

    acme = Company.objects.get(ticker="ACME")
    strict = watchlist_create(
        actor=risk_officer,
        name="Tight book",
        companies=[acme],
        watch_threshold=25,
        warning_threshold=50,
        critical_threshold=70,
    )
    assert selectors.company_alert_thresholds(acme) == strict.thresholds()
    Watchlist.objects.filter(pk=strict.pk).delete()
    assert selectors.company_alert_thresholds(acme) == world.critical_alert.watchlist.thresholds()


def test_company_page_of_an_unknown_ticker_is_404(analyst, db):
    assert client_for(analyst).get(reverse("risk:company", args=["ZZZZ"])).status_code == 404


# --- attribution --------------------------------------------------------------------------------------


def test_attribution_page_shows_every_contribution_the_sum_check_and_counterfactuals(world, auditor):
    response = client_for(auditor).get(reverse("risk:score-attribution", args=[world.acme_score.pk]))

    assert response.status_code == 200
    check = " ".join(find_one(response.content, data_testid="sum-check").text.split())
    assert "contributions sum to 68.875000 = score 68.875000" in check
    lines = find_all(response.content, data_testid="contribution")
    assert [line.attrs["data-kind"] for line in lines] == ["event", "sentiment_level", "neighbour"]
    assert "58.8%" in lines[0].text  # 40.5 / 68.875
    evidence = lines[0].find(attrs={"data-testid": "evidence-link"})
    assert evidence.attrs["href"] == reverse("risk:article-detail", args=[world.article.pk]) + "#sentence-0"
    assert lines[2].find("a", href=reverse("risk:company", args=["NWND"])) is not None
    counterfactuals = [" ".join(c.text.split()) for c in find_all(response.content, data_testid="counterfactual")]
    assert "without this article the score would be 12.50" in counterfactuals[0]
    assert "Acme Industrial files for Chapter 11" in counterfactuals[0]
    assert f"would be {ACME_SCORE - NEIGHBOUR_AMOUNT:.2f}" in counterfactuals[1]
    subtotals = find_one(response.content, data_testid="subtotals").text
    assert "40.500" in subtotals and "8.125" in subtotals


def test_attribution_report_flags_contributions_that_do_not_sum_to_the_score(world):
    world.acme_score.score = ACME_SCORE + 1.0
    report = selectors.attribution_report(world.acme_score)
    assert report.contributions_total == ACME_SCORE and report.sums_to_score is False


def test_alert_page_explains_with_the_snapshot_and_links_the_attribution(world, analyst):
    response = client_for(analyst).get(reverse("risk:alert-detail", args=[world.warning_alert.pk]))

    assert response.status_code == 200
    link = find_one(response.content, data_testid="attribution-link")
    assert link.attrs["href"] == reverse("risk:score-attribution", args=[world.acme_score.pk])
    table = find_one(response.content, data_testid="alert-attribution").text
    assert "40.500" in table and EVIDENCE in table


def test_json_export_is_the_attribution_data(world, analyst):
    client = client_for(analyst)
    url = reverse("risk:score-attribution-export", args=[world.acme_score.pk])
    response = client.get(url, {"as": "json"})

    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert "attachment" in response["Content-Disposition"] and ".json" in response["Content-Disposition"]
    data = json.loads(response.content)
    api = client.get(reverse("api-risk-score-attribution", args=[world.acme_score.pk])).json()
    assert data == api
    assert data["check"] == {"contributions_total": ACME_SCORE, "score": ACME_SCORE, "sums_to_score": True}
    assert sum(c["amount"] for c in data["contributions"]) == data["score"]


def test_pdf_export_is_a_pdf_with_the_check_line(world, analyst):
    response = client_for(analyst).get(
        reverse("risk:score-attribution-export", args=[world.acme_score.pk]), {"as": "pdf"}
    )

    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-") and response.content.rstrip().endswith(b"%%EOF")
    from pypdf import PdfReader

    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    text = " ".join(text.split())
    assert "contributions sum to 68.875000 = score 68.875000" in text
    assert f"the score would be {ACME_WITHOUT_DEFAULT:.2f}" in text


def test_html_export_is_a_standalone_printable_page(world, analyst):
    response = client_for(analyst).get(
        reverse("risk:score-attribution-export", args=[world.acme_score.pk]), {"as": "html"}
    )

    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    page = parse(response.content)
    assert page.find("link") is None and page.find("script") is None  # nothing to fetch: standalone
    assert "@media print" in page.find("style").text
    text = " ".join(page.text.split())
    assert "contributions sum to 68.875000 = score 68.875000" in text and "the score would be 12.50" in text


def test_unknown_export_format_is_404(world, analyst):
    url = reverse("risk:score-attribution-export", args=[world.acme_score.pk])
    assert client_for(analyst).get(url, {"as": "docx"}).status_code == 404


# --- article detail -----------------------------------------------------------------------------------


def test_article_page_shows_entities_candidates_and_sentence_sentiment_and_events(world, analyst):
    response = client_for(analyst).get(reverse("risk:article-detail", args=[world.article.pk]))

    assert response.status_code == 200
    entities = find_all(response.content, data_testid="entity")
    assert entities[0].find("a").attrs["href"] == reverse("risk:company", args=["ACME"])
    assert "alias" in entities[0].text and "fuzzy" in entities[1].text
    assert "Northwind Logistics" in find_one(response.content, data_testid="candidate").text
    sentences = find_all(response.content, data_testid="sentence")
    assert [s.attrs["id"] for s in sentences] == ["sentence-0", "sentence-1"]
    assert [s.attrs["data-sentiment"] for s in sentences] == ["negative", "neutral"]
    assert sentences[0].find(attrs={"data-testid": "sentence-event"}).text == "default_bankruptcy"


def test_article_page_without_analysis_still_renders(world, analyst):
    response = client_for(analyst).get(reverse("risk:article-detail", args=[world.other_article.pk]))
    assert response.status_code == 200 and not find_all(response.content, data_testid="sentence")


def test_malformed_stored_analysis_is_skipped_not_an_error(world):
    world.other_article.analysis = {"sentences": ["not a dict", {"index": 0, "text": "ok"}], "mentions": 5}
    shaped = selectors.article_analysis(world.other_article)
    assert [s["text"] for s in shaped["sentences"]] == ["ok"] and shaped["entities"] == []
