"""Storing pipeline outputs is idempotent: re-processing, re-seeing an edge and re-scoring change nothing twice."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import IntegrityError
from django.utils import timezone

from apps.risk.analysis import (
    article_analysis_store,
    article_mark_failed,
    article_submit,
    relation_edge_record,
    risk_score_store,
)
from apps.risk.models import ArticleCompany, ArticleStatus, RelationEdge, RiskEvent, RiskScore

pytestmark = pytest.mark.django_db


def test_processing_an_article_again_replaces_its_mentions_and_events(companies):
    article, what = article_submit(title="Acme sued by Globex", body="Globex sued Acme Industrial on Monday.")
    assert what == "created" and article.feed is None
    acme, globex = companies["ACME"], companies["GLBX"]
    mentions = [
        {"company_id": acme.pk, "mention_count": 1, "sentiment_score": -0.7, "sentiment_label": "negative"},
        {"company_id": globex.pk, "mention_count": 1, "sentiment_score": 0.0, "sentiment_label": "neutral"},
    ]
    events = [
        {"company_id": acme.pk, "event_type": "litigation", "severity": "medium", "sentence_index": 0,
         "evidence_text": "Globex sued Acme Industrial on Monday.", "confidence": 0.9},
    ]  # fmt: skip
    for _ in range(2):
        article_analysis_store(article_id=article.pk, analysis={"sentences": ["..."]}, mentions=mentions, events=events)
    article.refresh_from_db()
    assert article.status == ArticleStatus.PROCESSED and article.processed_at is not None
    assert ArticleCompany.objects.filter(article=article).count() == 2
    event = RiskEvent.objects.get(article=article)
    assert event.occurred_at == article.published_at and event.source == "text"


def test_a_submitted_duplicate_returns_the_stored_article():
    first, _ = article_submit(title="Acme sued", body="Globex sued Acme.")
    again, what = article_submit(title="Acme  sued", body="globex sued acme.")
    assert what == "duplicate" and again.pk == first.pk


def test_a_failed_article_keeps_its_error():
    article, _ = article_submit(title="Broken", body="x")
    article_mark_failed(article_id=article.pk, error="NER model unavailable")
    article.refresh_from_db()
    assert article.status == ArticleStatus.FAILED and article.error == "NER model unavailable"


def test_an_edge_counts_each_article_once_and_co_mentions_have_one_direction(companies):
    acme, globex = companies["ACME"], companies["GLBX"]
    now = timezone.now()
    a1, _ = article_submit(title="One", body="Acme and Globex.")
    a2, _ = article_submit(title="Two", body="Globex and Acme again.")
    relation_edge_record(source_id=acme.pk, target_id=globex.pk, relation="co_mention", seen_at=now, article_id=a1.pk)
    relation_edge_record(source_id=globex.pk, target_id=acme.pk, relation="co_mention", seen_at=now, article_id=a1.pk)
    edge = relation_edge_record(
        source_id=globex.pk, target_id=acme.pk, relation="co_mention", seen_at=now + timedelta(days=1), article_id=a2.pk
    )
    assert RelationEdge.objects.count() == 1
    assert edge.weight == 2.0 and edge.article_ids == [str(a1.pk), str(a2.pk)]
    assert edge.last_seen == now + timedelta(days=1) and edge.first_seen == now
    # Supplier edges keep their direction.
    relation_edge_record(source_id=acme.pk, target_id=globex.pk, relation="supplier", seen_at=now, article_id=a1.pk)
    assert RelationEdge.objects.get(relation="supplier").source_id == acme.pk
    assert relation_edge_record(source_id=acme.pk, target_id=acme.pk, relation="co_mention", seen_at=now,
                                article_id=a1.pk) is None  # fmt: skip


def test_rescoring_a_day_updates_the_row_in_place(companies):
    acme = companies["ACME"]
    components = [{"kind": "event", "value": 0.3}, {"kind": "sentiment", "value": 0.1}]
    first, created = risk_score_store(company_id=acme.pk, as_of=date(2024, 6, 5), score=0.4, components=components)
    again, created_again = risk_score_store(
        company_id=acme.pk, as_of=date(2024, 6, 5), score=0.45, level="watch", model_version="risk-score/1"
    )
    assert created and not created_again and again.pk == first.pk
    assert RiskScore.objects.count() == 1 and RiskScore.objects.get().score == 0.45
    with pytest.raises(ValueError, match="unknown"):
        risk_score_store(company_id=acme.pk, as_of=date(2024, 6, 5), score=0.1, bogus=1)
    with pytest.raises(IntegrityError):
        RiskScore.objects.create(company=acme, as_of=date(2024, 6, 5), score=0.2)
