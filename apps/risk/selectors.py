"""Risk reads: feeds, articles, watchlists, alerts and their history.

Every role that may see the risk pages (analysts, risk officers, auditors, admins) sees all of it:
risk data is not split by access level the way research documents are. The role check is at the
view; these functions shape querysets.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet

from apps.risk.models import (
    LEVEL_RANK,
    UNRESOLVED_STATUSES,
    Alert,
    AlertAction,
    AlertLevel,
    Article,
    ArticleRejection,
    Feed,
    RiskScore,
    Watchlist,
)


def feed_list() -> QuerySet[Feed]:
    return Feed.objects.select_related("owner").annotate(
        article_count=Count("articles", distinct=True), rejection_count=Count("rejections", distinct=True)
    )


def feed_get(feed_id: Any) -> Feed | None:
    return feed_list().filter(pk=feed_id).first()


def feed_rejections(feed: Feed, *, limit: int = 50) -> list[ArticleRejection]:
    return list(feed.rejections.order_by("-received_at", "-id")[:limit])


@dataclass(frozen=True)
class ArticleFilters:
    feed_id: int | None = None
    ticker: str = ""
    status: str = ""
    source: str = ""
    include_duplicates: bool = True
    published_from: datetime | None = None
    published_to: datetime | None = None


def article_list(filters: ArticleFilters | None = None) -> QuerySet[Article]:
    filters = filters or ArticleFilters()
    articles = Article.objects.select_related("feed", "duplicate_of").defer("body", "analysis")
    if filters.feed_id is not None:
        articles = articles.filter(feed_id=filters.feed_id)
    if filters.ticker:
        articles = articles.filter(company_mentions__company__ticker=filters.ticker.upper())
    if filters.status:
        articles = articles.filter(status=filters.status)
    if filters.source:
        articles = articles.filter(source=filters.source)
    if not filters.include_duplicates:
        articles = articles.filter(duplicate_of__isnull=True)
    if filters.published_from:
        articles = articles.filter(published_at__gte=filters.published_from)
    if filters.published_to:
        articles = articles.filter(published_at__lt=filters.published_to)
    return articles.distinct()


def article_get(article_id: Any) -> Article | None:
    return (
        Article.objects.select_related("feed", "duplicate_of")
        .prefetch_related("company_mentions__company", "risk_events__company", "syndicated_copies")
        .filter(pk=article_id)
        .first()
    )


def articles_to_process(*, limit: int = 500) -> QuerySet[Article]:
    """New first-of-story articles, oldest first: what the processing step takes next (copies count once)."""
    return Article.objects.filter(status="new", duplicate_of__isnull=True).order_by("published_at", "fetched_at")[
        :limit
    ]


def watchlist_list() -> QuerySet[Watchlist]:
    return Watchlist.objects.select_related("owner").annotate(
        company_count=Count("companies", distinct=True),
        open_alert_count=Count("alerts", filter=Q(alerts__status__in=UNRESOLVED_STATUSES), distinct=True),
    )


def watchlist_get(watchlist_id: Any) -> Watchlist | None:
    return watchlist_list().prefetch_related("companies").filter(pk=watchlist_id).first()


def watchlists_watching(company: Any) -> QuerySet[Watchlist]:
    """The watchlists that hold ``company``: where a new score of it is evaluated."""
    return Watchlist.objects.filter(companies=company).select_related("owner")


@dataclass(frozen=True)
class AlertFilters:
    watchlist_id: int | None = None
    status: str = ""  # a status, or "unresolved"
    level: str = ""
    ticker: str = ""
    assigned_to_id: int | None = None


def alert_list(filters: AlertFilters | None = None) -> QuerySet[Alert]:
    filters = filters or AlertFilters()
    alerts = Alert.objects.select_related("watchlist", "company", "assigned_to").defer("attribution")
    if filters.watchlist_id is not None:
        alerts = alerts.filter(watchlist_id=filters.watchlist_id)
    if filters.status == "unresolved":
        alerts = alerts.filter(status__in=UNRESOLVED_STATUSES)
    elif filters.status:
        alerts = alerts.filter(status=filters.status)
    if filters.level:
        alerts = alerts.filter(level=filters.level)
    if filters.ticker:
        alerts = alerts.filter(company__ticker=filters.ticker.upper())
    if filters.assigned_to_id is not None:
        alerts = alerts.filter(assigned_to_id=filters.assigned_to_id)
    return alerts


def alert_get(alert_id: Any) -> Alert | None:
    return (
        Alert.objects.select_related("watchlist", "company", "assigned_to", "risk_score")
        .prefetch_related(Prefetch("actions", queryset=AlertAction.objects.select_related("actor")))
        .filter(pk=alert_id)
        .first()
    )


def alert_history(alert: Alert) -> list[AlertAction]:
    return list(alert.actions.select_related("actor").order_by("at", "id"))


def alert_current_level(*, watchlist: Watchlist, company: Any) -> str:
    """The highest level among the company's unresolved alerts on the watchlist ("none" without one).

    What hysteresis starts from when a new score of the company is evaluated.
    """
    levels = Alert.objects.filter(watchlist=watchlist, company=company, status__in=UNRESOLVED_STATUSES).values_list(
        "level", flat=True
    )
    return max(levels, key=lambda level: LEVEL_RANK[level], default=AlertLevel.NONE.value)


def critical_alerts_open(*, limit: int = 20) -> list[Alert]:
    """Unresolved critical alerts, newest first: the banner every risk page shows at once."""
    return list(
        alert_list(AlertFilters(status="unresolved", level=AlertLevel.CRITICAL)).order_by("-updated_at")[:limit]
    )


def risk_scores_for_company(company: Any, *, limit: int = 365) -> QuerySet[RiskScore]:
    return RiskScore.objects.filter(company=company).order_by("-as_of")[:limit]
