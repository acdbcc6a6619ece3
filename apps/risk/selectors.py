"""Risk reads: feeds, articles, watchlists, alerts and their history.

Every role that may see the risk pages (analysts, risk officers, auditors, admins) sees all of it:
risk data is not split by access level the way research documents are. The role check is at the
view; these functions shape querysets.
"""

from __future__ import annotations

import math
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db.models import Avg, Case, Count, IntegerField, Max, Prefetch, Q, QuerySet, Value, When
from django.db.models.functions import TruncDate
from django.urls import reverse

from apps.research.models import Company
from apps.risk.models import (
    LEVEL_RANK,
    UNRESOLVED_STATUSES,
    Alert,
    AlertAction,
    AlertLevel,
    Article,
    ArticleCompany,
    ArticleRejection,
    Feed,
    RelationEdge,
    RiskEvent,
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


# --- dashboard ----------------------------------------------------------------------------------------

# How far back the dashboard's charts reach, counted back from the newest score of the watchlist (not
# from today: a replayed or demo timeline is dated in the past).
DASHBOARD_DAYS = 90
CHANGE_DAYS = 7
# A dense co-mention graph would be unreadable and heavy to send: the strongest edges only.
GRAPH_MAX_EDGES = 150
GRAPH_MIN_EDGE_WIDTH = 1.0
GRAPH_MAX_EDGE_WIDTH = 8.0


def level_for_thresholds(score: float | None, thresholds: dict[str, float]) -> str:
    """The level a score reaches against a watchlist's thresholds, without history (equality reaches it)."""
    if score is None:
        return AlertLevel.NONE.value
    for level in (AlertLevel.CRITICAL, AlertLevel.WARNING, AlertLevel.WATCH):
        if score >= thresholds[level.value]:
            return level.value
    return AlertLevel.NONE.value


def dashboard_watchlist(user: Any, watchlist_id: Any = None) -> Watchlist | None:
    """The watchlist asked for; by default the user's own first, else the first of all."""
    watchlists = watchlist_list().prefetch_related("companies")
    if watchlist_id not in (None, ""):
        try:
            return watchlists.filter(pk=int(watchlist_id)).first()
        except (TypeError, ValueError):
            return None
    return watchlists.filter(owner=user).order_by("name", "pk").first() or watchlists.order_by("name", "pk").first()


@dataclass(frozen=True)
class CompanyRiskRow:
    """One company of a watchlist on the dashboard."""

    company: Company
    score: float | None
    as_of: date | None
    level: str
    change: float | None  # latest score minus the score CHANGE_DAYS before it (the latest one on or before)
    open_alerts: int
    risk_score_id: int | None


def _score_points(company_ids: Sequence[int], *, days: int) -> tuple[dict[int, list[tuple[date, float, int]]], date]:
    """Per company, (as_of, score, id) in date order over the window ending at the newest score among them."""
    anchor = RiskScore.objects.filter(company_id__in=company_ids).aggregate(newest=Max("as_of"))["newest"]
    points: dict[int, list[tuple[date, float, int]]] = defaultdict(list)
    if anchor is None:
        return points, date.today()
    # Reach CHANGE_DAYS further back so that the first day of the window still has a 7-day change.
    rows = (
        RiskScore.objects.filter(company_id__in=company_ids, as_of__gte=anchor - timedelta(days=days + CHANGE_DAYS))
        .order_by("as_of")
        .values_list("company_id", "as_of", "score", "id")
    )
    for company_id, as_of, score, score_id in rows:
        points[company_id].append((as_of, score, score_id))
    return points, anchor


def _score_before(points: list[tuple[date, float, int]], day: date) -> float | None:
    earlier = [score for as_of, score, _ in points if as_of <= day]
    return earlier[-1] if earlier else None


def watchlist_company_rows(watchlist: Watchlist) -> list[CompanyRiskRow]:
    """The watchlist's companies, highest latest score first, with level, 7-day change and open alerts."""
    companies = list(watchlist.companies.all())
    company_ids = [c.pk for c in companies]
    newest: dict[int, dict[str, Any]] = {}
    for row in (
        RiskScore.objects.filter(company_id__in=company_ids)
        .order_by("company_id", "-as_of")
        .values("company_id", "as_of", "score", "id")
    ):
        newest.setdefault(row["company_id"], row)
    earlier = {
        company_id: dict(
            RiskScore.objects.filter(company_id=company_id, as_of__lte=row["as_of"] - timedelta(days=CHANGE_DAYS))
            .order_by("-as_of")
            .values("score")[:1]
            .first()
            or {}
        ).get("score")
        for company_id, row in newest.items()
    }
    alert_counts = dict(
        Alert.objects.filter(watchlist=watchlist, status__in=UNRESOLVED_STATUSES)
        .values("company_id")
        .annotate(n=Count("id"))
        .values_list("company_id", "n")
    )
    thresholds = watchlist.thresholds()
    rows = []
    for company in companies:
        row = newest.get(company.pk)
        score = row["score"] if row else None
        before = earlier.get(company.pk)
        rows.append(
            CompanyRiskRow(
                company=company,
                score=score,
                as_of=row["as_of"] if row else None,
                level=level_for_thresholds(score, thresholds),
                change=None if score is None or before is None else score - before,
                open_alerts=alert_counts.get(company.pk, 0),
                risk_score_id=row["id"] if row else None,
            )
        )
    return sorted(rows, key=lambda r: (-(r.score if r.score is not None else -1.0), r.company.ticker))


def sentiment_daily_means(
    company_ids: Sequence[int], *, date_from: date, date_to: date
) -> dict[int, dict[date, float]]:
    """Mean sentiment (-1..1) of the articles that mention each company, per publication day.

    Syndicated copies are left out: a story counts once, as in scoring.
    """
    rows = (
        ArticleCompany.objects.filter(
            company_id__in=company_ids,
            sentiment_score__isnull=False,
            article__duplicate_of__isnull=True,
            article__published_at__date__gte=date_from,
            article__published_at__date__lte=date_to,
        )
        .annotate(day=TruncDate("article__published_at"))
        .values("company_id", "day")
        .annotate(mean=Avg("sentiment_score"))
        .values_list("company_id", "day", "mean")
    )
    means: dict[int, dict[date, float]] = defaultdict(dict)
    for company_id, day, mean in rows:
        means[company_id][day] = mean
    return means


def _category_chart(labels: list[date], series: dict[str, dict[date, float]]) -> dict[str, Any]:
    """Chart.js data on a category axis of ISO dates; a day without a value is null (a gap)."""
    return {
        "labels": [day.isoformat() for day in labels],
        "datasets": [
            {"label": ticker, "data": [None if values.get(d) is None else round(values[d], 4) for d in labels]}
            for ticker, values in series.items()
        ],
    }


def watchlist_chart_data(watchlist: Watchlist, *, days: int = DASHBOARD_DAYS) -> dict[str, Any]:
    """Score and mean sentiment per company and day over the last ``days`` up to the newest score."""
    companies = sorted(watchlist.companies.all(), key=lambda c: c.ticker)
    company_ids = [c.pk for c in companies]
    points, anchor = _score_points(company_ids, days=days)
    start = anchor - timedelta(days=days)
    scores = {c.ticker: {as_of: s for as_of, s, _ in points.get(c.pk, []) if as_of >= start} for c in companies}
    means = sentiment_daily_means(company_ids, date_from=start, date_to=anchor)
    sentiment = {c.ticker: means.get(c.pk, {}) for c in companies}
    score_days = sorted({d for values in scores.values() for d in values})
    sentiment_days = sorted({d for values in sentiment.values() for d in values})
    return {
        "from": start.isoformat(),
        "to": anchor.isoformat(),
        "thresholds": watchlist.thresholds(),
        "scores": _category_chart(score_days, scores),
        "sentiment": _category_chart(sentiment_days, sentiment),
    }


def company_alert_thresholds(company: Any) -> dict[str, float]:
    """The levels that alert first for this company: those of its watchlist with the lowest watch line.

    A company on no watchlist is drawn against the default levels, which a new watchlist starts with.
    """
    watchlists = sorted(Watchlist.objects.filter(companies=company), key=lambda w: (w.watch_threshold, w.name))
    return (watchlists[0] if watchlists else Watchlist()).thresholds()


def company_chart_data(company: Any, *, days: int = DASHBOARD_DAYS) -> dict[str, Any]:
    """One company's score and mean sentiment per day (the company risk page's chart)."""
    points, anchor = _score_points([company.pk], days=days)
    start = anchor - timedelta(days=days)
    scores = {as_of: s for as_of, s, _ in points.get(company.pk, []) if as_of >= start}
    sentiment = sentiment_daily_means([company.pk], date_from=start, date_to=anchor).get(company.pk, {})
    days_all = sorted(set(scores) | set(sentiment))
    return {
        "from": start.isoformat(),
        "to": anchor.isoformat(),
        "thresholds": company_alert_thresholds(company),
        "labels": [d.isoformat() for d in days_all],
        "score": [scores.get(d) for d in days_all],
        "sentiment": [None if sentiment.get(d) is None else round(sentiment[d], 4) for d in days_all],
    }


def _latest_scores(company_ids: Iterable[int]) -> dict[int, float]:
    newest: dict[int, float] = {}
    for company_id, score in (
        RiskScore.objects.filter(company_id__in=list(company_ids))
        .order_by("company_id", "-as_of")
        .values_list("company_id", "score")
    ):
        newest.setdefault(company_id, score)
    return newest


def watchlist_graph(watchlist: Watchlist, *, max_edges: int = GRAPH_MAX_EDGES) -> dict[str, Any]:
    """The watchlist's companies and their RelationEdge neighbours, as Cytoscape.js elements.

    Nodes: ``{"id": ticker, "label", "name", "score", "level", "watched", "url"}``; edges:
    ``{"id", "source", "target", "relation", "weight", "width", "last_seen"}``. The strongest
    ``max_edges`` edges touching a watched company; levels against the watchlist's thresholds.
    """
    watched_ids = set(watchlist.companies.values_list("pk", flat=True))
    edges = list(
        RelationEdge.objects.filter(Q(source_id__in=watched_ids) | Q(target_id__in=watched_ids))
        .select_related("source", "target")
        .order_by("-weight", "pk")[:max_edges]
    )
    companies = {c.pk: c for c in watchlist.companies.all()}
    for edge in edges:
        companies.setdefault(edge.source_id, edge.source)
        companies.setdefault(edge.target_id, edge.target)
    latest = _latest_scores(companies)
    thresholds = watchlist.thresholds()
    heaviest = max((edge.weight for edge in edges), default=1.0) or 1.0
    nodes = [
        {
            "id": company.ticker,
            "label": company.ticker,
            "name": company.name,
            "score": None if latest.get(pk) is None else round(latest[pk], 2),
            "level": level_for_thresholds(latest.get(pk), thresholds),
            "watched": pk in watched_ids,
            "url": reverse("risk:company", args=[company.ticker]),
        }
        for pk, company in sorted(companies.items(), key=lambda item: item[1].ticker)
    ]
    span = GRAPH_MAX_EDGE_WIDTH - GRAPH_MIN_EDGE_WIDTH
    links = [
        {
            "id": f"e{edge.pk}",
            "source": edge.source.ticker,
            "target": edge.target.ticker,
            "relation": edge.relation,
            "weight": round(edge.weight, 3),
            "width": round(GRAPH_MIN_EDGE_WIDTH + span * max(edge.weight, 0.0) / heaviest, 2),
            "last_seen": edge.last_seen.date().isoformat(),
        }
        for edge in edges
    ]
    return {"nodes": nodes, "edges": links}


def alerts_open_for_watchlist(watchlist: Watchlist, *, limit: int = 100) -> list[Alert]:
    """Unresolved alerts of the watchlist: critical first, then warning, watch; newest first within a level."""
    rank = Case(
        *[When(level=level, then=Value(value)) for level, value in LEVEL_RANK.items()],
        default=Value(0),
        output_field=IntegerField(),
    )
    alerts = alert_list(AlertFilters(watchlist_id=watchlist.pk, status="unresolved"))
    return list(alerts.annotate(level_rank=rank).order_by("-level_rank", "-updated_at", "-pk")[:limit])


# --- a company's risk ---------------------------------------------------------------------------------


def company_risk_scores(company: Any, *, date_from: date | None = None, date_to: date | None = None) -> QuerySet:
    """The company's scores in date order (oldest first), optionally bounded (both ends included)."""
    scores = RiskScore.objects.filter(company=company).defer("components", "counterfactuals").order_by("as_of")
    if date_from is not None:
        scores = scores.filter(as_of__gte=date_from)
    if date_to is not None:
        scores = scores.filter(as_of__lte=date_to)
    return scores


def company_latest_score(company: Any) -> RiskScore | None:
    return RiskScore.objects.filter(company=company).order_by("-as_of").first()


def company_risk_events(company: Any, *, limit: int = 50) -> list[RiskEvent]:
    return list(RiskEvent.objects.filter(company=company).select_related("article").order_by("-occurred_at")[:limit])


def company_recent_articles(company: Any, *, limit: int = 30) -> list[ArticleCompany]:
    """The company's latest mentions, each with its article and the sentiment of the sentences about it."""
    return list(
        ArticleCompany.objects.filter(company=company)
        .select_related("article")
        .defer("article__body", "article__analysis")
        .order_by("-article__published_at")[:limit]
    )


# --- attribution --------------------------------------------------------------------------------------

# The sum check allows for amounts that were rounded by a writer other than the scoring code; the
# scoring code's own amounts are dyadic and add up exactly.
SUM_TOLERANCE = 1e-6
SUBTOTAL_FIELDS = ("event_subtotal", "sentiment_subtotal", "volume_subtotal", "neighbour_subtotal")


def risk_score_get(score_id: Any) -> RiskScore | None:
    return RiskScore.objects.select_related("company", "job").filter(pk=score_id).first()


def _article_ids(values: Iterable[Any]) -> list[uuid.UUID]:
    ids = []
    for value in values:
        try:
            ids.append(uuid.UUID(str(value)))
        except (TypeError, ValueError, AttributeError):
            continue  # stored JSON: an id that is not an article's is shown without a link
    return ids


def _articles_by_id(values: Iterable[Any]) -> dict[str, Article]:
    articles = Article.objects.filter(pk__in=_article_ids(values)).only("id", "title", "source", "published_at")
    return {str(article.pk): article for article in articles}


@dataclass(frozen=True)
class AttributionLine:
    kind: str
    amount: float
    share: float  # of the score, 0..1
    article_id: str | None
    article_title: str
    article_url: str
    sentence_index: int | None
    evidence_text: str
    event_type: str | None
    neighbour: str | None
    neighbour_url: str
    detail: dict[str, Any]

    @property
    def share_percent(self) -> float:
        return 100.0 * self.share


@dataclass(frozen=True)
class CounterfactualLine:
    article_id: str
    article_title: str
    article_url: str
    score_without: float
    difference: float  # score - score_without: what the article adds


@dataclass(frozen=True)
class AttributionReport:
    """A score explained: every contribution with its evidence, the sum check and the leave-one-out scores."""

    risk_score: RiskScore
    lines: list[AttributionLine]
    counterfactuals: list[CounterfactualLine]
    subtotals: dict[str, float]  # as stored with the score
    by_kind: dict[str, float]  # summed from the contributions
    contributions_total: float
    sums_to_score: bool

    @property
    def company(self) -> Any:
        return self.risk_score.company

    def as_dict(self) -> dict[str, Any]:
        score = self.risk_score
        return {
            "risk_score": score.pk,
            "company": {"ticker": score.company.ticker, "name": score.company.name},
            "as_of": score.as_of.isoformat(),
            "score": score.score,
            "level": score.level,
            "sentiment_level": score.sentiment_level,
            "sentiment_shift": score.sentiment_shift,
            "article_count": score.article_count,
            "model_version": score.model_version,
            "job": str(score.job_id) if score.job_id else None,
            "inference_record_seq": score.inference_record_seq,
            "contributions": [
                {
                    "kind": line.kind,
                    "amount": line.amount,
                    "share": line.share,
                    "article_id": line.article_id,
                    "article_title": line.article_title,
                    "sentence_index": line.sentence_index,
                    "evidence_text": line.evidence_text,
                    "event_type": line.event_type,
                    "neighbour": line.neighbour,
                    "detail": line.detail,
                }
                for line in self.lines
            ],
            "subtotals": self.subtotals,
            "by_kind": self.by_kind,
            "check": {
                "contributions_total": self.contributions_total,
                "score": score.score,
                "sums_to_score": self.sums_to_score,
            },
            "counterfactuals": [
                {
                    "article_id": line.article_id,
                    "article_title": line.article_title,
                    "score_without": line.score_without,
                    "difference": line.difference,
                }
                for line in self.counterfactuals
            ],
        }


def _article_url(article_id: str | None, articles: dict[str, Article], sentence_index: int | None = None) -> str:
    if not article_id or article_id not in articles:
        return ""
    url = reverse("risk:article-detail", args=[article_id])
    return f"{url}#sentence-{sentence_index}" if sentence_index is not None else url


def attribution_lines(
    components: Sequence[Any], *, score: float, articles: dict[str, Article] | None = None
) -> list[AttributionLine]:
    """Stored contributions as display lines, largest first. Tolerates older snapshots (``value``/``evidence``)."""
    items = [c for c in components if isinstance(c, dict)]
    if articles is None:
        articles = _articles_by_id(c.get("article_id") for c in items)
    neighbours = {
        c.ticker for c in Company.objects.filter(ticker__in=[str(i["neighbour"]) for i in items if i.get("neighbour")])
    }
    lines = []
    for item in items:
        amount = float(item.get("amount", item.get("value", 0.0)) or 0.0)
        article_id = str(item["article_id"]) if item.get("article_id") else None
        sentence_index = item.get("sentence_index")
        neighbour = item.get("neighbour")
        lines.append(
            AttributionLine(
                kind=str(item.get("kind", "")),
                amount=amount,
                share=amount / score if score else 0.0,
                article_id=article_id,
                article_title=articles[article_id].title if article_id in articles else "",
                article_url=_article_url(article_id, articles, sentence_index),
                sentence_index=sentence_index,
                evidence_text=str(item.get("evidence_text", item.get("evidence", "")) or ""),
                event_type=item.get("event_type"),
                neighbour=neighbour,
                neighbour_url=reverse("risk:company", args=[neighbour]) if neighbour in neighbours else "",
                detail=item.get("detail") if isinstance(item.get("detail"), dict) else {},
            )
        )
    return sorted(lines, key=lambda line: -line.amount)


def attribution_report(risk_score: RiskScore) -> AttributionReport:
    components = [c for c in risk_score.components or [] if isinstance(c, dict)]
    counterfactuals = risk_score.counterfactuals or {}
    articles = _articles_by_id([*(c.get("article_id") for c in components), *counterfactuals])
    lines = attribution_lines(components, score=risk_score.score, articles=articles)
    total = math.fsum(line.amount for line in lines)
    by_kind: dict[str, float] = defaultdict(float)
    for line in lines:
        by_kind[line.kind] += line.amount
    what_if = sorted(
        (
            CounterfactualLine(
                article_id=str(article_id),
                article_title=articles[str(article_id)].title if str(article_id) in articles else "",
                article_url=_article_url(str(article_id), articles),
                score_without=float(without),
                difference=risk_score.score - float(without),
            )
            for article_id, without in counterfactuals.items()
            if isinstance(without, int | float)
        ),
        key=lambda line: (-line.difference, line.article_id),
    )
    return AttributionReport(
        risk_score=risk_score,
        lines=lines,
        counterfactuals=what_if,
        subtotals={name: getattr(risk_score, name) for name in SUBTOTAL_FIELDS},
        by_kind=dict(by_kind),
        contributions_total=total,
        sums_to_score=abs(total - risk_score.score) <= SUM_TOLERANCE,
    )


# --- an article's analysis ----------------------------------------------------------------------------


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def article_analysis(article: Article) -> dict[str, Any]:
    """The pipelines' output of an article shaped for reading: sentences with their sentiment, events and
    mentions; linked entities (with the company they link to) and unlinked candidates.

    Empty lists when the article is not processed yet; anything malformed in the stored JSON is skipped.
    """
    analysis = article.analysis if isinstance(article.analysis, dict) else {}
    sentences = _dicts(analysis.get("sentences"))
    mentions = _dicts(analysis.get("mentions"))
    events = _dicts(analysis.get("events"))
    raw_candidates = analysis.get("candidates")
    candidates = [
        c if isinstance(c, dict) else {"text": str(c)}
        for c in (raw_candidates if isinstance(raw_candidates, list) else [])
    ]
    tickers = {m.get("ticker") for m in mentions if m.get("ticker")}
    for sentence in sentences:
        sentence_tickers = sentence.get("tickers")
        if isinstance(sentence_tickers, list):
            tickers.update(t for t in sentence_tickers if isinstance(t, str))
    known = {c.ticker: c for c in Company.objects.filter(ticker__in=[t for t in tickers if isinstance(t, str)])}

    def company_ref(ticker: Any) -> dict[str, Any] | None:
        company = known.get(ticker) if isinstance(ticker, str) else None
        if company is None:
            return None
        return {"ticker": company.ticker, "name": company.name, "url": reverse("risk:company", args=[company.ticker])}

    entities = [
        {
            "text": m.get("text", ""),
            "label": m.get("label", ""),
            "sentence_index": m.get("sentence_index"),
            "start": m.get("start"),
            "end": m.get("end"),
            "ticker": m.get("ticker"),
            "company": company_ref(m.get("ticker")),
            "link_method": m.get("link_method", ""),
            "link_score": m.get("link_score"),
        }
        for m in mentions
    ]
    by_sentence: dict[Any, dict[str, list]] = defaultdict(lambda: {"events": [], "mentions": []})
    for event in events:
        by_sentence[event.get("sentence_index")]["events"].append(event)
    for entity in entities:
        by_sentence[entity["sentence_index"]]["mentions"].append(entity)
    shaped = [
        {
            "index": s.get("index"),
            "text": s.get("text", ""),
            "tickers": [t for t in s.get("tickers") or [] if isinstance(t, str)]
            if isinstance(s.get("tickers"), list)
            else [],
            "sentiment_label": s.get("sentiment_label", ""),
            "sentiment_score": s.get("sentiment_score"),
            "events": by_sentence[s.get("index")]["events"],
            "mentions": by_sentence[s.get("index")]["mentions"],
        }
        for s in sorted(sentences, key=lambda s: (s.get("index") is None, s.get("index") or 0))
    ]
    return {
        "processed": bool(analysis),
        "models": analysis.get("models") if isinstance(analysis.get("models"), dict) else {},
        "entities": entities,
        "candidates": candidates,
        "sentences": shaped,
        "events": events,
    }


def article_company_scores(article: Article) -> list[dict[str, Any]]:
    """The scores, on the article's day, of the companies it mentions: what a submitter wants back."""
    day = article.published_at.astimezone(UTC).date()
    company_ids = list(ArticleCompany.objects.filter(article=article).values_list("company_id", flat=True))
    scores = RiskScore.objects.filter(company_id__in=company_ids, as_of=day).select_related("company")
    return [
        {
            "ticker": row.company.ticker,
            "as_of": row.as_of.isoformat(),
            "score": row.score,
            "level": row.level,
            "attribution_url": reverse("api-risk-score-attribution", args=[row.pk]),
        }
        for row in scores.order_by("-score", "company__ticker")
    ]
