"""Writes of what the pipelines found: article analysis, relation edges, risk scores, submitted articles.

The processing and scoring steps (entities, sentiment, events, graph, score) call these with plain
data. Each write is idempotent: processing an article again replaces its mentions and events,
seeing the same article for an edge again changes nothing, and scoring a (company, day) again
updates its one row.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.risk.feeds import article_store
from apps.risk.models import (
    Article,
    ArticleCompany,
    ArticleStatus,
    RelationEdge,
    RelationType,
    RiskEvent,
    RiskScore,
)
from pipelines.feeds import FeedItem, normalise_text

# Co-mentions and partnerships have no direction: one edge per pair, stored lower id -> higher id.
UNDIRECTED_RELATIONS = frozenset({RelationType.CO_MENTION, RelationType.PARTNER})


def article_analysis_store(
    *,
    article_id: Any,
    analysis: dict[str, Any],
    mentions: Sequence[dict[str, Any]] = (),
    events: Sequence[dict[str, Any]] = (),
    processed_at: datetime | None = None,
) -> Article:
    """Store an article's pipeline output and its normalised rows, replacing any earlier processing.

    ``mentions``: ``{"company_id", "mention_count", "sentiment_score", "sentiment_label"}``;
    ``events``: ``{"company_id", "event_type", "severity", "sentence_index", "evidence_text",
    "confidence", "occurred_at" (default: the article's publication), "source" ("text" or "8-K 4.02")}``.
    """
    with transaction.atomic():
        article = Article.objects.select_for_update().get(pk=article_id)
        article.analysis = analysis
        article.status = ArticleStatus.PROCESSED
        article.error = ""
        article.processed_at = processed_at or timezone.now()
        article.save(update_fields=["analysis", "status", "error", "processed_at"])
        ArticleCompany.objects.filter(article=article).delete()
        RiskEvent.objects.filter(article=article).delete()
        ArticleCompany.objects.bulk_create(
            [
                ArticleCompany(
                    article=article,
                    company_id=m["company_id"],
                    mention_count=int(m.get("mention_count", 1)),
                    sentiment_score=m.get("sentiment_score"),
                    sentiment_label=m.get("sentiment_label", ""),
                )
                for m in mentions
            ]
        )
        RiskEvent.objects.bulk_create(
            [
                RiskEvent(
                    article=article,
                    company_id=e["company_id"],
                    event_type=e["event_type"],
                    severity=e["severity"],
                    sentence_index=e.get("sentence_index"),
                    evidence_text=e.get("evidence_text", "")[:5000],
                    confidence=float(e.get("confidence", 1.0)),
                    occurred_at=e.get("occurred_at") or article.published_at,
                    source=e.get("source", "text")[:40],
                )
                for e in events
            ]
        )
    return article


def article_mark_failed(*, article_id: Any, error: str) -> None:
    Article.objects.filter(pk=article_id).update(
        status=ArticleStatus.FAILED, error=error[:5000], processed_at=timezone.now()
    )


def relation_edge_record(
    *,
    source_id: int,
    target_id: int,
    relation: str,
    seen_at: datetime,
    article_id: Any,
    weight: float = 1.0,
) -> RelationEdge | None:
    """Add one article's evidence for an edge; the same article twice adds nothing. None for a self-loop."""
    if source_id == target_id:
        return None
    if relation not in RelationType.values:
        raise ValueError(f"relation must be one of {', '.join(RelationType.values)}")
    if relation in UNDIRECTED_RELATIONS and source_id > target_id:
        source_id, target_id = target_id, source_id
    article_key = str(article_id)
    with transaction.atomic():
        edge, created = RelationEdge.objects.select_for_update().get_or_create(
            source_id=source_id,
            target_id=target_id,
            relation=relation,
            defaults={"weight": weight, "first_seen": seen_at, "last_seen": seen_at, "article_ids": [article_key]},
        )
        if created or article_key in edge.article_ids:
            return edge
        edge.weight += weight
        edge.first_seen = min(edge.first_seen, seen_at)
        edge.last_seen = max(edge.last_seen, seen_at)
        # The most recent supporting articles; the weight still counts all of them.
        edge.article_ids = [*edge.article_ids, article_key][-RelationEdge.ARTICLE_IDS_MAX :]
        edge.save(update_fields=["weight", "first_seen", "last_seen", "article_ids"])
    return edge


SCORE_FIELDS = (
    "score",
    "level",
    "components",
    "counterfactuals",
    "sentiment_level",
    "sentiment_shift",
    "event_subtotal",
    "sentiment_subtotal",
    "volume_subtotal",
    "neighbour_subtotal",
    "article_count",
    "model_version",
    "job_id",
    "inference_record_seq",
)


def risk_score_store(*, company_id: int, as_of: date, score: float, **fields: Any) -> tuple[RiskScore, bool]:
    """Create or overwrite the company's score for ``as_of`` (re-running a window updates in place).

    ``fields``: any of ``SCORE_FIELDS`` besides ``score``. Returns (row, created).
    """
    unknown = set(fields) - set(SCORE_FIELDS)
    if unknown:
        raise ValueError(f"unknown RiskScore fields: {', '.join(sorted(unknown))}")
    return RiskScore.objects.update_or_create(company_id=company_id, as_of=as_of, defaults={"score": score, **fields})


def article_submit(
    *,
    title: str,
    body: str,
    source: str = "api",
    url: str = "",
    published_at: datetime | None = None,
    metadata: dict[str, Any] | None = None,
) -> tuple[Article, str]:
    """An article submitted directly (no feed): (article, "created" | "near_duplicate" | "duplicate")."""
    item = FeedItem(
        title=normalise_text(title)[:1000],
        body=body,
        published=published_at,
        url=url,
        source=source,
        metadata=dict(metadata or {}),
    )
    return article_store(item=item, feed=None, now=timezone.now())
