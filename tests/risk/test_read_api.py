"""/api/risk/: score time series, attribution, article analysis, escalate."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from apps.risk.models import AlertStatus
from tests.conftest import client_for
from tests.risk.dashboard_world import ACME_SCORE, ACME_WITHOUT_DEFAULT, AS_OF, EVIDENCE, build_scored_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(watchlist, companies):
    return build_scored_world(watchlist, companies)


def scores_url(ticker: str) -> str:
    return reverse("api-risk-company-scores", args=[ticker])


def test_scores_are_a_time_series_oldest_first_with_links_to_attribution(world, auditor):
    response = client_for(auditor).get(scores_url("ACME"))

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 4
    days = [row["as_of"] for row in body["results"]]
    assert days == sorted(days) and days[-1] == AS_OF.isoformat()
    latest = body["results"][-1]
    assert latest["score"] == ACME_SCORE and latest["level"] == "warning" and latest["event_subtotal"] == 40.5
    assert latest["attribution_url"] == reverse("api-risk-score-attribution", args=[world.acme_score.pk])


def test_scores_between_from_and_to_include_both_ends(world, analyst):
    params = {"from": (AS_OF - timedelta(days=7)).isoformat(), "to": (AS_OF - timedelta(days=3)).isoformat()}
    body = client_for(analyst).get(scores_url("acme"), params).json()
    assert [row["score"] for row in body["results"]] == [20.0, 30.0]


def test_scores_are_paginated_within_bounds(world, analyst):
    client = client_for(analyst)
    page = client.get(scores_url("ACME"), {"limit": 2}).json()
    assert len(page["results"]) == 2 and page["next"]
    too_many = client.get(scores_url("ACME"), {"limit": 5000})
    assert too_many.status_code == 400 and "limit" in too_many.json()["error"]["fields"]


def test_unknown_ticker_is_a_400_that_names_it(world, analyst):
    response = client_for(analyst).get(scores_url("ZZZZ"))

    assert response.status_code == 400
    error = response.json()["error"]
    assert "ZZZZ" in error["detail"] and "ZZZZ" in error["fields"]["ticker"][0]


@pytest.mark.parametrize(
    "params", [{"from": "2026-13-01"}, {"to": "yesterday"}, {"from": "2026-03-04", "to": "2026-03-01"}]
)
def test_bad_date_range_is_a_400(world, analyst, params):
    response = client_for(analyst).get(scores_url("ACME"), params)
    assert response.status_code == 400 and response.json()["error"]["fields"]


def test_attribution_has_components_subtotals_check_and_counterfactuals(world, analyst):
    response = client_for(analyst).get(reverse("api-risk-score-attribution", args=[world.acme_score.pk]))

    assert response.status_code == 200
    body = response.json()
    assert body["company"] == {"ticker": "ACME", "name": "Acme Industrial Corp"}
    assert [c["kind"] for c in body["contributions"]] == ["event", "sentiment_level", "neighbour"]
    event = body["contributions"][0]
    assert event["evidence_text"] == EVIDENCE and event["article_id"] == str(world.article.pk)
    assert event["share"] == pytest.approx(40.5 / ACME_SCORE)
    assert body["subtotals"]["neighbour_subtotal"] == 8.125
    assert body["by_kind"] == {"event": 40.5, "sentiment_level": 20.25, "neighbour": 8.125}
    assert body["check"]["sums_to_score"] is True and body["check"]["contributions_total"] == ACME_SCORE
    first = body["counterfactuals"][0]
    assert first["article_id"] == str(world.article.pk) and first["score_without"] == ACME_WITHOUT_DEFAULT
    assert first["difference"] == ACME_SCORE - ACME_WITHOUT_DEFAULT


def test_attribution_of_an_unknown_score_is_404(world, analyst):
    response = client_for(analyst).get(reverse("api-risk-score-attribution", args=[999999]))
    assert response.status_code == 404 and response.json()["error"]["status"] == 404


def test_article_analysis_gives_entities_candidates_sentences_and_company_sentiment(world, auditor):
    response = client_for(auditor).get(reverse("api-risk-article-analysis", args=[world.article.pk]))

    assert response.status_code == 200
    body = response.json()
    assert body["processed"] is True and body["models"]["sentiment"] == "minilm-ft-3"
    assert [(e["text"], e["ticker"], e["link_method"]) for e in body["entities"]] == [
        ("Acme Industrial", "ACME", "alias"),
        ("Globex", "GLBX", "fuzzy"),
    ]
    assert body["candidates"][0]["text"] == "Northwind Logistics"
    assert [(s["index"], s["sentiment_label"]) for s in body["sentences"]] == [(0, "negative"), (1, "neutral")]
    assert body["sentences"][0]["events"][0]["event_type"] == "default_bankruptcy"
    companies = {c["ticker"]: c for c in body["companies"]}
    assert companies["ACME"]["sentiment_score"] == -0.92 and companies["ACME"]["mention_count"] == 2


def test_article_analysis_of_an_unprocessed_article_is_empty(world, analyst):
    body = client_for(analyst).get(reverse("api-risk-article-analysis", args=[world.other_article.pk])).json()
    assert body["processed"] is False and body["entities"] == [] and body["sentences"] == []


def test_risk_officer_escalates_an_alert_with_a_note_in_its_history(world, risk_officer):
    url = reverse("api-risk-alert-escalate", args=[world.warning_alert.pk])
    response = client_for(risk_officer).post(url, {"note": "Credit committee."}, content_type="application/json")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == AlertStatus.ESCALATED
    assert body["history"][-1]["action"] == "escalated" and body["history"][-1]["note"] == "Credit committee."
    again = client_for(risk_officer).post(url, {}, content_type="application/json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "alert_conflict"


@pytest.mark.parametrize("persona", ["analyst", "auditor"])
def test_readers_cannot_escalate(world, request, persona):
    user = request.getfixturevalue(persona)
    url = reverse("api-risk-alert-escalate", args=[world.warning_alert.pk])
    assert client_for(user).post(url, {}, content_type="application/json").status_code == 403
    world.warning_alert.refresh_from_db()
    assert world.warning_alert.status == AlertStatus.OPEN
