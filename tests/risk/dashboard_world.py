"""A small scored world for the read side: articles with analysis, scores with attribution, edges, alerts.

Rows are written with the same store functions the monitoring job uses (``apps.risk.analysis``), so the
pages and the API read what that job writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from apps.research.services import company_upsert
from apps.risk import services
from apps.risk.analysis import article_analysis_store, relation_edge_record, risk_score_store
from apps.risk.models import Article, RiskScore

AS_OF = date(2026, 3, 4)
# Dyadic amounts: their float sum is exact, as the scoring code guarantees for its own amounts.
EVENT_AMOUNT = 40.5
LEVEL_AMOUNT = 20.25
NEIGHBOUR_AMOUNT = 8.125
ACME_SCORE = EVENT_AMOUNT + LEVEL_AMOUNT + NEIGHBOUR_AMOUNT  # 68.875
ACME_WITHOUT_DEFAULT = 12.5
EVIDENCE = "Acme Industrial filed for Chapter 11 protection on Monday."


@dataclass
class ScoredWorld:
    companies: dict[str, Any]
    article: Article
    copy: Article
    other_article: Article
    acme_score: RiskScore
    critical_alert: Any
    warning_alert: Any


def _at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def _article(title: str, body: str, day: date, key: str, **extra: Any) -> Article:
    return Article.objects.create(
        title=title, body=body, published_at=_at(day), content_hash=key * 64, source="Wire One", **extra
    )


ANALYSIS = {
    "sentences": [
        {"index": 0, "text": EVIDENCE, "tickers": ["ACME"], "sentiment_label": "negative", "sentiment_score": -0.92},
        {
            "index": 1,
            "text": "Globex, a customer of Acme, said deliveries continue.",
            "tickers": ["GLBX", "ACME"],
            "sentiment_label": "neutral",
            "sentiment_score": 0.0,
        },
    ],
    "mentions": [
        {
            "text": "Acme Industrial",
            "label": "ORG",
            "start": 0,
            "end": 15,
            "sentence_index": 0,
            "ticker": "ACME",
            "link_method": "alias",
            "link_score": 1.0,
        },
        {
            "text": "Globex",
            "label": "ORG",
            "start": 0,
            "end": 6,
            "sentence_index": 1,
            "ticker": "GLBX",
            "link_method": "fuzzy",
            "link_score": 0.93,
        },
    ],
    "candidates": [{"text": "Northwind Logistics", "label": "ORG", "sentence_index": 1}],
    "events": [
        {
            "event_type": "default_bankruptcy",
            "severity": 4,
            "sentence_index": 0,
            "trigger_text": "Chapter 11",
            "confidence": 0.95,
            "tickers": ["ACME"],
        }
    ],
    "relations": [],
    "models": {"ner": "en_core_web_sm+ruler-2", "sentiment": "minilm-ft-3"},
}


def build_scored_world(watchlist, companies) -> ScoredWorld:
    companies = dict(companies)
    companies["NWND"] = company_upsert(ticker="NWND", name="Northwind Traders", aliases=[])
    acme, glbx, init = companies["ACME"], companies["GLBX"], companies["INIT"]
    article = _article("Acme Industrial files for Chapter 11", EVIDENCE, AS_OF, "a")
    copy = _article("Acme files for Chapter 11 (syndicated)", EVIDENCE + " More.", AS_OF, "b", duplicate_of=article)
    other = _article("Initech beats estimates", "Initech beat estimates.", AS_OF - timedelta(days=3), "c")
    article_analysis_store(
        article_id=article.pk,
        analysis=ANALYSIS,
        mentions=[
            {"company_id": acme.pk, "mention_count": 2, "sentiment_score": -0.92, "sentiment_label": "negative"},
            {"company_id": glbx.pk, "mention_count": 1, "sentiment_score": 0.0, "sentiment_label": "neutral"},
        ],
        events=[
            {
                "company_id": acme.pk,
                "event_type": "default_bankruptcy",
                "severity": "critical",
                "sentence_index": 0,
                "evidence_text": EVIDENCE,
                "confidence": 0.95,
            }
        ],
    )
    # A syndicated copy with a different sentiment: it must not move the daily mean (a story counts once).
    article_analysis_store(
        article_id=copy.pk,
        analysis={},
        mentions=[{"company_id": acme.pk, "sentiment_score": 0.8, "sentiment_label": "positive"}],
    )
    article_analysis_store(
        article_id=other.pk,
        analysis={},
        mentions=[{"company_id": init.pk, "sentiment_score": 0.5, "sentiment_label": "positive"}],
    )
    components = [
        {
            "kind": "event",
            "amount": EVENT_AMOUNT,
            "article_id": str(article.pk),
            "sentence_index": 0,
            "evidence_text": EVIDENCE,
            "event_type": "default_bankruptcy",
            "neighbour": None,
            "detail": {"severity": 4, "confidence": 0.95},
        },
        {
            "kind": "sentiment_level",
            "amount": LEVEL_AMOUNT,
            "article_id": str(article.pk),
            "sentence_index": 0,
            "evidence_text": EVIDENCE,
            "event_type": None,
            "neighbour": None,
            "detail": {"sentiment_score": -0.92},
        },
        {
            "kind": "neighbour",
            "amount": NEIGHBOUR_AMOUNT,
            "article_id": str(other.pk),
            "sentence_index": 0,
            "evidence_text": "Initech beat estimates.",
            "event_type": None,
            "neighbour": "NWND",
            "detail": {"hops": 1},
        },
    ]
    # A history for the charts and the 7-day change: ACME rose from 20.0 a week before.
    for days_back, score in ((10, 15.0), (7, 20.0), (3, 30.0)):
        risk_score_store(company_id=acme.pk, as_of=AS_OF - timedelta(days=days_back), score=score, level="none")
    acme_score, _ = risk_score_store(
        company_id=acme.pk,
        as_of=AS_OF,
        score=ACME_SCORE,
        level="warning",
        components=components,
        event_subtotal=EVENT_AMOUNT,
        sentiment_subtotal=LEVEL_AMOUNT,
        neighbour_subtotal=NEIGHBOUR_AMOUNT,
        sentiment_level=0.92,
        article_count=2,
        model_version="risk-score-1",
    )
    RiskScore.objects.filter(pk=acme_score.pk).update(
        counterfactuals={str(article.pk): ACME_WITHOUT_DEFAULT, str(other.pk): ACME_SCORE - NEIGHBOUR_AMOUNT}
    )
    acme_score.refresh_from_db()
    risk_score_store(company_id=glbx.pk, as_of=AS_OF, score=85.0, level="critical")
    risk_score_store(company_id=companies["NWND"].pk, as_of=AS_OF, score=45.0, level="watch")
    relation_edge_record(
        source_id=acme.pk, target_id=glbx.pk, relation="supplier", seen_at=_at(AS_OF), article_id=article.pk, weight=3
    )
    relation_edge_record(
        source_id=init.pk,
        target_id=companies["NWND"].pk,
        relation="co_mention",
        seen_at=_at(AS_OF),
        article_id=other.pk,
    )
    critical, _ = services.alert_raise(
        watchlist=watchlist,
        company=glbx,
        level="critical",
        score=85.0,
        dedup_key="GLBX:supplier:2026-03-04",
        attribution=[{"kind": "neighbour", "amount": 85.0, "neighbour": "ACME"}],
    )
    warning, _ = services.alert_raise(
        watchlist=watchlist,
        company=acme,
        level="warning",
        score=ACME_SCORE,
        dedup_key="ACME:default_bankruptcy:2026-03-04",
        attribution=components,
        risk_score=acme_score,
    )
    return ScoredWorld(companies, article, copy, other, acme_score, critical, warning)
