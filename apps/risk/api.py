"""Risk API (/api/risk/): feeds, articles, watchlists, alerts and the alert actions.

Analysts, risk officers, auditors and admins read; risk officers and admins create feeds and act on alerts.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, NotFound
from rest_framework.exceptions import ValidationError as DrfValidationError
from rest_framework.generics import GenericAPIView, ListAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.roles import Role
from apps.core.api_errors import error_responses
from apps.core.api_fields import StrictNumberField
from apps.jobs.api import StrictCharField, StrictSerializer
from apps.jobs.selectors import job_wait
from apps.research.selectors import company_get_by_ticker
from apps.risk import selectors, services
from apps.risk.feeds import feed_upload
from apps.risk.models import (
    Alert,
    AlertAction,
    AlertLevel,
    AlertStatus,
    Article,
    ArticleRejection,
    ArticleStatus,
    Feed,
    FeedKind,
    RiskScore,
    Watchlist,
)

RISK_READER_ROLES: frozenset[Role] = frozenset({Role.ANALYST, Role.RISK_OFFICER, Role.AUDITOR, Role.ADMIN})
RISK_ACTOR_ROLES = services.RISK_ACTOR_ROLES
# A web thread waits at most this long for a submitted article's scoring.
ARTICLE_WAIT_MAX_SECONDS = 10.0

ALERT_ID_EXAMPLE = 42
ARTICLE_ID_EXAMPLE = "9d7c6b5a-4e3f-4a1b-8c2d-0e9f8a7b6c5d"
FEED_EXAMPLE = {
    "id": 3,
    "name": "Demo world news",
    "kind": "demo",
    "url_or_path": "var/demo_feed/items.jsonl",
    "poll_interval_seconds": 900,
    "enabled": True,
    "next_poll_at": "2026-03-04T09:30:00Z",
    "last_polled_at": "2026-03-04T09:15:00Z",
    "last_success_at": "2026-03-04T09:15:00Z",
    "last_error": "",
    "consecutive_errors": 0,
    "min_seconds_between_requests": 1.0,
    "items_total": 412,
    "article_count": 412,
    "rejection_count": 2,
    "owner": "rita-risk",
    "created_at": "2026-03-01T08:00:00Z",
}
ARTICLE_EXAMPLE = {
    "id": ARTICLE_ID_EXAMPLE,
    "feed": 3,
    "source": "Wire One",
    "url": "https://news.example/acme-supplier-halt",
    "external_id": "demo-0412",
    "title": "Acme Components halts production; a key supplier to Globex",
    "published_at": "2026-02-27T07:00:00Z",
    "fetched_at": "2026-03-04T09:15:00Z",
    "content_hash": "4f1c...e2",
    "duplicate_of": None,
    "duplicate_similarity": None,
    "status": "new",
    "error": "",
    "processed_at": None,
    "metadata": {"ticker": "ACME"},
}
ALERT_EXAMPLE = {
    "id": ALERT_ID_EXAMPLE,
    "watchlist": 1,
    "watchlist_name": "Credit book",
    "company": {"ticker": "ACME", "name": "Acme Industrial Corp"},
    "level": "critical",
    "status": "open",
    "dedup_key": "ACME:supply_chain_disruption:2026-02-27",
    "score": 81.0,
    "risk_score": 1207,
    "assigned_to": None,
    "raised_at": "2026-03-04T09:16:02Z",
    "updated_at": "2026-03-04T09:16:02Z",
    "resolved_at": None,
}


def _readers_or_actors(view: Any) -> frozenset[Role]:
    return RISK_READER_ROLES if view.request.method in SAFE_METHODS else RISK_ACTOR_ROLES


class AlertConflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "alert_conflict"


def _call(fn: Any, **kwargs: Any) -> Any:
    """Run a service; its input and transition errors become 400 and 409."""
    try:
        return fn(**kwargs)
    except services.AlertTransitionError as exc:
        raise AlertConflict(str(exc)) from exc
    except DjangoValidationError as exc:
        raise DrfValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages) from exc


# --- serializers --------------------------------------------------------------------------------------


class CompanyRefSerializer(serializers.Serializer):
    ticker = serializers.CharField()
    name = serializers.CharField()


class FeedSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", default=None, allow_null=True)
    article_count = serializers.IntegerField(read_only=True, default=0)
    rejection_count = serializers.IntegerField(read_only=True, default=0)

    class Meta:
        model = Feed
        fields = [
            "id", "name", "kind", "url_or_path", "poll_interval_seconds", "enabled", "next_poll_at",
            "last_polled_at", "last_success_at", "last_error", "consecutive_errors", "min_seconds_between_requests",
            "items_total", "article_count", "rejection_count", "owner", "created_at",
        ]  # fmt: skip


class RejectionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ArticleRejection
        fields = ["id", "received_at", "reason", "line_number", "item_index", "location", "raw_excerpt"]


class FeedDetailSerializer(FeedSerializer):
    cursor = serializers.JSONField()
    recent_rejections = serializers.SerializerMethodField()

    class Meta(FeedSerializer.Meta):
        fields = [*FeedSerializer.Meta.fields, "cursor", "recent_rejections"]

    def get_recent_rejections(self, feed: Feed) -> list[dict[str, Any]]:
        return RejectionSerializer(selectors.feed_rejections(feed, limit=20), many=True).data


class FeedCreateInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=FeedKind.choices)
    url_or_path = serializers.CharField(max_length=2000, allow_blank=True, default="")
    poll_interval_seconds = serializers.IntegerField(min_value=60, max_value=7 * 86400, default=900)
    min_seconds_between_requests = serializers.FloatField(min_value=0, max_value=3600, default=1.0)
    enabled = serializers.BooleanField(default=True)


class ArticleSerializer(serializers.ModelSerializer):
    # What the source gave, as it gave it: a feed's link is not always a well-formed URI.
    url = serializers.CharField(read_only=True, help_text="The article's link at its source.")

    class Meta:
        model = Article
        fields = [
            "id", "feed", "source", "url", "external_id", "title", "published_at", "fetched_at", "content_hash",
            "duplicate_of", "duplicate_similarity", "status", "error", "processed_at", "metadata",
        ]  # fmt: skip


class ArticleMentionSerializer(serializers.Serializer):
    ticker = serializers.CharField(source="company.ticker")
    name = serializers.CharField(source="company.name")
    mention_count = serializers.IntegerField()
    sentiment_score = serializers.FloatField(allow_null=True)
    sentiment_label = serializers.CharField()


class ArticleEventSerializer(serializers.Serializer):
    ticker = serializers.CharField(source="company.ticker")
    event_type = serializers.CharField()
    severity = serializers.CharField()
    sentence_index = serializers.IntegerField(allow_null=True)
    evidence_text = serializers.CharField()
    confidence = serializers.FloatField()
    occurred_at = serializers.DateTimeField()
    source = serializers.CharField()


class ArticleDetailSerializer(ArticleSerializer):
    companies = ArticleMentionSerializer(source="company_mentions", many=True, read_only=True)
    events = ArticleEventSerializer(source="risk_events", many=True, read_only=True)
    syndicated_copies = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta(ArticleSerializer.Meta):
        fields = [*ArticleSerializer.Meta.fields, "body", "analysis", "companies", "events", "syndicated_copies"]


class ArticleFilterInputSerializer(serializers.Serializer):
    feed = serializers.IntegerField(required=False)
    ticker = serializers.CharField(required=False, allow_blank=True, max_length=16)
    status = serializers.ChoiceField(choices=ArticleStatus.choices, required=False, allow_blank=True)
    include_duplicates = serializers.BooleanField(required=False, default=True)


class WatchlistSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username")
    company_count = serializers.IntegerField(read_only=True, default=0)
    open_alert_count = serializers.IntegerField(read_only=True, default=0)

    class Meta:
        model = Watchlist
        fields = [
            "id", "name", "owner", "watch_threshold", "warning_threshold", "critical_threshold", "hysteresis",
            "notify_emails", "company_count", "open_alert_count", "created_at", "updated_at",
        ]  # fmt: skip


class WatchlistDetailSerializer(WatchlistSerializer):
    companies = CompanyRefSerializer(many=True, read_only=True)

    class Meta(WatchlistSerializer.Meta):
        fields = [*WatchlistSerializer.Meta.fields, "companies"]


class AlertSerializer(serializers.ModelSerializer):
    watchlist_name = serializers.CharField(source="watchlist.name")
    company = CompanyRefSerializer()
    assigned_to = serializers.CharField(source="assigned_to.username", default=None, allow_null=True)

    class Meta:
        model = Alert
        fields = [
            "id", "watchlist", "watchlist_name", "company", "level", "status", "dedup_key", "score", "risk_score",
            "assigned_to", "raised_at", "updated_at", "resolved_at",
        ]  # fmt: skip


class AlertActionSerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()

    class Meta:
        model = AlertAction
        fields = ["id", "action", "actor", "note", "details", "at"]

    def get_actor(self, action: AlertAction) -> str:
        return action.actor.username if action.actor else action.actor_label


class AlertDetailSerializer(AlertSerializer):
    attribution = serializers.JSONField()
    history = AlertActionSerializer(source="actions", many=True, read_only=True)

    class Meta(AlertSerializer.Meta):
        fields = [*AlertSerializer.Meta.fields, "attribution", "history"]


class AlertFilterInputSerializer(serializers.Serializer):
    watchlist = serializers.IntegerField(required=False)
    status = serializers.RegexField(
        rf"^({'|'.join([*AlertStatus.values, 'unresolved'])})$",
        required=False,
        allow_blank=True,
        help_text="open, acknowledged, escalated, resolved, or unresolved (the first three).",
    )
    level = serializers.ChoiceField(choices=AlertLevel.choices, required=False, allow_blank=True)
    ticker = serializers.CharField(required=False, allow_blank=True, max_length=16)


class AlertNoteInputSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=5000, allow_blank=True, required=False, default="")


class AlertAssignInputSerializer(AlertNoteInputSerializer):
    assignee = serializers.CharField(
        max_length=150, allow_null=True, help_text="Username of a risk officer or admin; null unassigns."
    )


# --- feeds --------------------------------------------------------------------------------------------


class FeedListCreateApi(GenericAPIView):
    serializer_class = FeedSerializer

    @property
    def allowed_roles(self) -> frozenset[Role]:
        return _readers_or_actors(self)

    def get_queryset(self):
        return selectors.feed_list()

    @extend_schema(
        tags=["risk"],
        operation_id="risk_feeds_list",
        summary="List feeds",
        description="Every feed with its polling state: last success, last error and the backoff count.",
        responses={200: FeedSerializer(many=True), **error_responses(400, 401, 403, 429)},
        examples=[OpenApiExample("Feeds", value=[FEED_EXAMPLE], response_only=True, status_codes=["200"])],
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(FeedSerializer(page, many=True).data)

    @extend_schema(
        tags=["risk"],
        operation_id="risk_feeds_create",
        summary="Create a feed (risk officers, admins)",
        description="An RSS/Atom URL, a JSON lines file or folder, an upload target, the demo world or the 8-K replay.",
        request=FeedCreateInputSerializer,
        responses={201: FeedSerializer, **error_responses(400, 401, 403, 429)},
        examples=[
            OpenApiExample(
                "RSS feed",
                value={"name": "Wire One", "kind": "rss", "url_or_path": "https://news.example/rss.xml"},
                request_only=True,
            ),
            OpenApiExample("Created", value=FEED_EXAMPLE, response_only=True, status_codes=["201"]),
        ],
    )
    def post(self, request: Request) -> Response:
        params = FeedCreateInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        feed = _call(services.feed_create, actor=request.user, **params.validated_data)
        return Response(FeedSerializer(selectors.feed_get(feed.pk)).data, status=status.HTTP_201_CREATED)


class FeedDetailApi(GenericAPIView):
    allowed_roles = RISK_READER_ROLES
    serializer_class = FeedDetailSerializer

    @extend_schema(
        tags=["risk"],
        operation_id="risk_feeds_retrieve",
        summary="A feed, its cursor and recent rejected items",
        description="The polling state, where a replay or file feed continues (cursor), and the last 20 rejected items "
        "with their reason and a bounded raw excerpt.",
        responses={200: FeedDetailSerializer, **error_responses(401, 403, 404, 429)},
        examples=[
            OpenApiExample(
                "Feed",
                value={
                    **FEED_EXAMPLE,
                    "cursor": {"files": {"items.jsonl": {"offset": 81234, "line": 412}}},
                    "recent_rejections": [
                        {
                            "id": 7,
                            "received_at": "2026-03-04T09:15:00Z",
                            "reason": "missing title",
                            "line_number": 17,
                            "item_index": None,
                            "location": "items.jsonl",
                            "raw_excerpt": '{"body": "..."}',
                        }
                    ],
                },
                response_only=True,
                status_codes=["200"],
            )
        ],
    )
    def get(self, request: Request, feed_id: int) -> Response:
        feed = selectors.feed_get(feed_id)
        if feed is None:
            raise NotFound("No such feed.")
        return Response(FeedDetailSerializer(feed).data)


class FeedUploadInputSerializer(serializers.Serializer):
    file = serializers.FileField(
        allow_empty_file=False,
        use_url=False,
        help_text="A JSON lines file (one object per line: title, body or summary, url, published, source, id) "
        "or an RSS/Atom document.",
    )


class FeedUploadOutputSerializer(serializers.Serializer):
    created = serializers.IntegerField(help_text="New articles.")
    near_duplicates = serializers.IntegerField(help_text="Syndicated copies stored and linked to their first article.")
    duplicates = serializers.IntegerField(help_text="Items already stored: nothing written.")
    rejected = serializers.IntegerField(help_text="Malformed items, recorded with their reason on the feed.")
    article_ids = serializers.ListField(child=serializers.CharField())


class FeedUploadApi(GenericAPIView):
    """Items posted as a file into a feed (any kind; an ``upload`` feed receives nothing else)."""

    allowed_roles = RISK_ACTOR_ROLES
    parser_classes = [MultiPartParser]
    serializer_class = FeedUploadInputSerializer

    @extend_schema(
        tags=["risk"],
        operation_id="risk_feeds_upload",
        summary="Upload a JSON lines or RSS/Atom file into a feed (risk officers, admins)",
        description="Each item becomes an article unless it is already stored; a syndicated copy is linked to the "
        "first article of its story; a malformed item is rejected with its reason and the rest proceed. A file "
        "that is not JSON lines, RSS or Atom at all is a 400 and stores nothing.",
        request={"multipart/form-data": FeedUploadInputSerializer},
        responses={200: FeedUploadOutputSerializer, **error_responses(400, 401, 403, 404, 429)},
        examples=[
            OpenApiExample(
                "Uploaded",
                value={
                    "created": 41,
                    "near_duplicates": 6,
                    "duplicates": 2,
                    "rejected": 1,
                    "article_ids": [ARTICLE_ID_EXAMPLE],
                },
                response_only=True,
                status_codes=["200"],
            )
        ],
    )
    def post(self, request: Request, feed_id: int) -> Response:
        feed = selectors.feed_get(feed_id)
        if feed is None:
            raise NotFound("No such feed.")
        params = FeedUploadInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        upload = params.validated_data["file"]
        outcome = feed_upload(feed=feed, data=upload.read(), filename=upload.name)
        if outcome.error:
            raise DrfValidationError({"file": [f"Nothing was stored: {outcome.error}"]})
        return Response(
            FeedUploadOutputSerializer(
                {
                    "created": outcome.created,
                    "near_duplicates": outcome.near_duplicates,
                    "duplicates": outcome.duplicates,
                    "rejected": outcome.rejected,
                    "article_ids": outcome.article_ids,
                }
            ).data
        )


# --- articles -----------------------------------------------------------------------------------------


class ArticleSubmitInputSerializer(StrictSerializer):
    title = StrictCharField(max_length=1000)
    body = StrictCharField(max_length=100_000, allow_blank=True, default="")
    source = StrictCharField(max_length=200, default="api")
    url = serializers.RegexField(
        r"^(https?://[A-Za-z0-9._~:/?#\[\]@!$&'()*+,;=%-]+)?$",
        max_length=2000,
        required=False,
        allow_blank=True,
        default="",
        help_text="http(s) link",
    )
    published_at = serializers.DateTimeField(required=False, help_text="Default: now.")
    wait = StrictNumberField(
        min_value=0,
        max_value=ARTICLE_WAIT_MAX_SECONDS,
        default=0,
        help_text=f"Seconds to wait for the scoring (at most {ARTICLE_WAIT_MAX_SECONDS:g}); 0 answers 202 at once.",
    )


class ArticleSubmitOutputSerializer(serializers.Serializer):
    article = ArticleSerializer()
    outcome = serializers.ChoiceField(choices=["created", "near_duplicate", "duplicate"])
    job_id = serializers.UUIDField(allow_null=True)
    job_status = serializers.CharField(allow_null=True)
    status_url = serializers.CharField(allow_null=True)
    analysis_url = serializers.CharField()
    scores = serializers.ListField(child=serializers.DictField(), help_text="The mentioned companies' scores that day")


class ArticleListApi(ListAPIView):
    serializer_class = ArticleSerializer

    @property
    def allowed_roles(self) -> frozenset[Role]:
        return _readers_or_actors(self)

    def get_queryset(self):
        params = ArticleFilterInputSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        return selectors.article_list(
            selectors.ArticleFilters(
                feed_id=data.get("feed"),
                ticker=data.get("ticker", ""),
                status=data.get("status", ""),
                include_duplicates=data.get("include_duplicates", True),
            )
        )

    @extend_schema(
        tags=["risk"],
        operation_id="risk_articles_list",
        summary="List articles",
        description="Newest first. `include_duplicates=false` leaves out syndicated copies (they count once).",
        parameters=[ArticleFilterInputSerializer],
        responses={200: ArticleSerializer(many=True), **error_responses(400, 401, 403, 429)},
        examples=[OpenApiExample("Articles", value=[ARTICLE_EXAMPLE], response_only=True, status_codes=["200"])],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=["risk"],
        operation_id="risk_articles_submit",
        summary="Submit an article and score it now (risk officers, admins)",
        description=(
            "The real-time path: the article is stored (exact and near duplicates of a stored story are not "
            "processed again) and a monitoring job runs entities, sentiment, events and relations on it and "
            "rescores the day it was published. **202** with the job at once, or after `wait` seconds "
            "(at most 10) **200** with the scores when it finished. `analysis_url` gives its entities and "
            "sentiment; `status_url` the job."
        ),
        request=ArticleSubmitInputSerializer,
        responses={
            200: ArticleSubmitOutputSerializer,
            202: ArticleSubmitOutputSerializer,
            **error_responses(400, 401, 403, 429),
        },
        examples=[
            OpenApiExample(
                "A supplier halts production",
                value={
                    "title": "Acme Components halts production",
                    "body": "Acme Components, a key supplier to Globex, halted production after a fire.",
                    "source": "Wire One",
                    "wait": 5,
                },
                request_only=True,
            ),
        ],
    )
    def post(self, request: Request) -> Response:
        params = ArticleSubmitInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        article, outcome, job = _call(
            services.article_submit_and_score,
            actor=request.user,
            title=data["title"],
            body=data["body"],
            source=data["source"],
            url=data["url"],
            published_at=data.get("published_at"),
        )
        if job is not None and data["wait"]:
            job = job_wait(job, seconds=data["wait"])
        finished = job is None or job.is_finished
        article.refresh_from_db()
        body = {
            "article": article,
            "outcome": outcome,
            "job_id": job.pk if job else None,
            "job_status": job.status if job else None,
            "status_url": reverse("api-job-detail", args=[job.pk]) if job else None,
            "analysis_url": reverse("api-risk-article-analysis", args=[article.pk]),
            "scores": selectors.article_company_scores(article) if finished else [],
        }
        return Response(
            ArticleSubmitOutputSerializer(body).data,
            status=status.HTTP_200_OK if finished else status.HTTP_202_ACCEPTED,
        )


class ArticleDetailApi(GenericAPIView):
    allowed_roles = RISK_READER_ROLES
    serializer_class = ArticleDetailSerializer

    @extend_schema(
        tags=["risk"],
        operation_id="risk_articles_retrieve",
        summary="An article with its companies, sentiment and risk events",
        description="The text, the source facts (e.g. the 8-K item code), the pipelines' analysis, the linked "
        "companies "
        "with their sentiment, the risk events with evidence sentences, and the syndicated copies of the story.",
        responses={200: ArticleDetailSerializer, **error_responses(401, 403, 404, 429)},
        examples=[
            OpenApiExample(
                "Article",
                value={
                    **ARTICLE_EXAMPLE,
                    "body": "Acme Components, a key supplier to Globex, halted...",
                    "analysis": {},
                    "companies": [],
                    "events": [],
                    "syndicated_copies": [],
                },
                response_only=True,
                status_codes=["200"],
            )
        ],
    )
    def get(self, request: Request, article_id: Any) -> Response:
        article = selectors.article_get(article_id)
        if article is None:
            raise NotFound("No such article.")
        return Response(ArticleDetailSerializer(article).data)


# --- watchlists ---------------------------------------------------------------------------------------


class WatchlistListApi(ListAPIView):
    allowed_roles = RISK_READER_ROLES
    serializer_class = WatchlistSerializer

    def get_queryset(self):
        return selectors.watchlist_list()

    @extend_schema(
        tags=["risk"],
        operation_id="risk_watchlists_list",
        summary="List watchlists",
        description="Every watchlist with its thresholds (watch < warning < critical), hysteresis and open alerts.",
        responses={200: WatchlistSerializer(many=True), **error_responses(400, 401, 403, 429)},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class WatchlistDetailApi(GenericAPIView):
    allowed_roles = RISK_READER_ROLES
    serializer_class = WatchlistDetailSerializer

    @extend_schema(
        tags=["risk"],
        operation_id="risk_watchlists_retrieve",
        summary="A watchlist and its companies",
        description="The watchlist, its companies and who receives its critical alerts.",
        responses={200: WatchlistDetailSerializer, **error_responses(401, 403, 404, 429)},
    )
    def get(self, request: Request, watchlist_id: int) -> Response:
        watchlist = selectors.watchlist_get(watchlist_id)
        if watchlist is None:
            raise NotFound("No such watchlist.")
        return Response(WatchlistDetailSerializer(watchlist).data)


# --- alerts -------------------------------------------------------------------------------------------


class AlertListApi(ListAPIView):
    allowed_roles = RISK_READER_ROLES
    serializer_class = AlertSerializer

    def get_queryset(self):
        params = AlertFilterInputSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        return selectors.alert_list(
            selectors.AlertFilters(
                watchlist_id=data.get("watchlist"),
                status=data.get("status", ""),
                level=data.get("level", ""),
                ticker=data.get("ticker", ""),
            )
        )

    @extend_schema(
        tags=["risk"],
        operation_id="risk_alerts_list",
        summary="List alerts",
        description="Newest first; `status=unresolved` gives open, acknowledged and escalated alerts.",
        parameters=[AlertFilterInputSerializer],
        responses={200: AlertSerializer(many=True), **error_responses(400, 401, 403, 429)},
        examples=[OpenApiExample("Alerts", value=[ALERT_EXAMPLE], response_only=True, status_codes=["200"])],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


def _alert_or_404(alert_id: int) -> Alert:
    alert = selectors.alert_get(alert_id)
    if alert is None:
        raise NotFound("No such alert.")
    return alert


ALERT_DETAIL_EXAMPLE = {
    **ALERT_EXAMPLE,
    "attribution": [
        {
            "kind": "event",
            "amount": 52.0,
            "event_type": "supply_chain_disruption",
            "article_id": ARTICLE_ID_EXAMPLE,
            "sentence_index": 0,
            "evidence": "Acme Components, a key supplier to Globex, halted production.",
        },
        {"kind": "sentiment_level", "amount": 21.0},
        {"kind": "volume", "amount": 8.0},
    ],
    "history": [
        {
            "id": 1,
            "action": "raised",
            "actor": "schedule:risk-scan",
            "note": "",
            "details": {"level": "critical", "score": 81.0},
            "at": "2026-03-04T09:16:02Z",
        },
    ],
}


class AlertDetailApi(GenericAPIView):
    allowed_roles = RISK_READER_ROLES
    serializer_class = AlertDetailSerializer

    @extend_schema(
        tags=["risk"],
        operation_id="risk_alerts_retrieve",
        summary="An alert, its attribution and its history",
        description="The contributions that made the score (each with its evidence) as they stood when the alert was "
        "raised or last updated, and every action taken on it.",
        responses={200: AlertDetailSerializer, **error_responses(401, 403, 404, 429)},
        examples=[OpenApiExample("Alert", value=ALERT_DETAIL_EXAMPLE, response_only=True, status_codes=["200"])],
    )
    def get(self, request: Request, alert_id: int) -> Response:
        return Response(AlertDetailSerializer(_alert_or_404(alert_id)).data)


class _AlertActionApi(GenericAPIView):
    allowed_roles = RISK_ACTOR_ROLES
    serializer_class = AlertNoteInputSerializer
    service: Any = None

    def post(self, request: Request, alert_id: int) -> Response:
        alert = _alert_or_404(alert_id)
        params = self.serializer_class(data=request.data)
        params.is_valid(raise_exception=True)
        _call(type(self).service, alert=alert, actor=request.user, **self.service_kwargs(params.validated_data))
        return Response(AlertDetailSerializer(_alert_or_404(alert_id)).data)

    def service_kwargs(self, data: dict[str, Any]) -> dict[str, Any]:
        return {"note": data.get("note", "")}


_ACTION_RESPONSES = {200: AlertDetailSerializer, **error_responses(400, 401, 403, 404, 409, 429)}


class AlertAcknowledgeApi(_AlertActionApi):
    service = staticmethod(services.alert_acknowledge)

    @extend_schema(
        tags=["risk"],
        operation_id="risk_alerts_acknowledge",
        summary="Acknowledge an alert (risk officers, admins)",
        description="Open or escalated -> acknowledged; the note goes into the history. 409 for a resolved alert.",
        request=AlertNoteInputSerializer,
        responses=_ACTION_RESPONSES,
        examples=[
            OpenApiExample("Note", value={"note": "Called the relationship manager."}, request_only=True),
            OpenApiExample(
                "Acknowledged",
                value={**ALERT_DETAIL_EXAMPLE, "status": "acknowledged"},
                response_only=True,
                status_codes=["200"],
            ),
        ],
    )
    def post(self, request: Request, alert_id: int) -> Response:
        return super().post(request, alert_id)


class AlertResolveApi(_AlertActionApi):
    service = staticmethod(services.alert_resolve)

    @extend_schema(
        tags=["risk"],
        operation_id="risk_alerts_resolve",
        summary="Resolve an alert (risk officers, admins)",
        description="Any unresolved alert -> resolved; a later crossing of the same story raises a new alert.",
        request=AlertNoteInputSerializer,
        responses=_ACTION_RESPONSES,
        examples=[
            OpenApiExample("Note", value={"note": "Exposure reduced; covered by collateral."}, request_only=True)
        ],
    )
    def post(self, request: Request, alert_id: int) -> Response:
        return super().post(request, alert_id)


class AlertAssignApi(_AlertActionApi):
    serializer_class = AlertAssignInputSerializer
    service = staticmethod(services.alert_assign)

    def service_kwargs(self, data: dict[str, Any]) -> dict[str, Any]:
        username = data.get("assignee")
        assignee = None
        if username:
            assignee = get_user_model().objects.filter(username=username, is_active=True).first()
            if assignee is None:
                raise DrfValidationError({"assignee": [f"No active user {username!r}."]})
        return {"assignee": assignee, "note": data.get("note", "")}

    @extend_schema(
        tags=["risk"],
        operation_id="risk_alerts_assign",
        summary="Assign an alert to a risk officer (risk officers, admins)",
        description="The assignee must be a risk officer or an admin; null unassigns. 409 for a resolved alert.",
        request=AlertAssignInputSerializer,
        responses=_ACTION_RESPONSES,
        examples=[OpenApiExample("Assign", value={"assignee": "rita-risk", "note": "Yours."}, request_only=True)],
    )
    def post(self, request: Request, alert_id: int) -> Response:
        return super().post(request, alert_id)


class AlertEscalateApi(_AlertActionApi):
    service = staticmethod(services.alert_escalate)

    @extend_schema(
        tags=["risk"],
        operation_id="risk_alerts_escalate",
        summary="Escalate an alert (risk officers, admins)",
        description="Open or acknowledged -> escalated; the note (say to whom) goes into the history. 409 for a "
        "resolved or already escalated alert.",
        request=AlertNoteInputSerializer,
        responses=_ACTION_RESPONSES,
        examples=[
            OpenApiExample("Note", value={"note": "Raised with the credit committee."}, request_only=True),
            OpenApiExample(
                "Escalated",
                value={**ALERT_DETAIL_EXAMPLE, "status": "escalated"},
                response_only=True,
                status_codes=["200"],
            ),
        ],
    )
    def post(self, request: Request, alert_id: int) -> Response:
        return super().post(request, alert_id)


# --- scores, attribution, article analysis -------------------------------------------------------------

SCORE_ID_EXAMPLE = 1207
SCORE_EXAMPLE = {
    "id": SCORE_ID_EXAMPLE,
    "as_of": "2026-03-04",
    "score": 81.03,
    "level": "critical",
    "sentiment_level": 0.42,
    "sentiment_shift": 0.27,
    "event_subtotal": 52.1,
    "sentiment_subtotal": 20.4,
    "volume_subtotal": 8.53,
    "neighbour_subtotal": 0.0,
    "article_count": 9,
    "model_version": "risk-score-1;sentiment=minilm-ft-3",
    "attribution_url": f"/api/risk/scores/{SCORE_ID_EXAMPLE}/attribution/",
}


class RiskScoreSerializer(serializers.ModelSerializer):
    attribution_url = serializers.SerializerMethodField()

    class Meta:
        model = RiskScore
        fields = [
            "id", "as_of", "score", "level", "sentiment_level", "sentiment_shift", "event_subtotal",
            "sentiment_subtotal", "volume_subtotal", "neighbour_subtotal", "article_count", "model_version",
            "attribution_url",
        ]  # fmt: skip

    def get_attribution_url(self, score: RiskScore) -> str:
        return reverse("api-risk-score-attribution", args=[score.pk])


class ScoreRangeInputSerializer(serializers.Serializer):
    # ``from`` is a Python keyword: declared under other names and mapped in ``get_fields``.
    date_from = serializers.DateField(required=False, help_text="First day (YYYY-MM-DD), included.")
    date_to = serializers.DateField(required=False, help_text="Last day (YYYY-MM-DD), included.")

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        return {"from": fields.pop("date_from"), "to": fields.pop("date_to")}

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("from") and attrs.get("to") and attrs["from"] > attrs["to"]:
            raise DrfValidationError({"to": ["Must not be before 'from'."]})
        return attrs


class CompanyScoresApi(ListAPIView):
    """A company's score time series, oldest first."""

    allowed_roles = RISK_READER_ROLES
    serializer_class = RiskScoreSerializer

    def get_queryset(self):
        ticker = self.kwargs["ticker"]
        company = company_get_by_ticker(ticker)
        if company is None:
            raise DrfValidationError({"ticker": [f"Unknown ticker {ticker[:16]!r}: not in the company master."]})
        params = ScoreRangeInputSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        return selectors.company_risk_scores(
            company, date_from=params.validated_data.get("from"), date_to=params.validated_data.get("to")
        )

    @extend_schema(
        tags=["risk"],
        operation_id="risk_company_scores",
        summary="A company's risk score time series",
        description="One score per day (0-100) with its level against the default thresholds and its subtotals, "
        "oldest first, optionally between `from` and `to` (both included). Each links to its attribution. "
        "An unknown ticker is a 400 that names it.",
        parameters=[
            OpenApiParameter("from", OpenApiTypes.DATE, OpenApiParameter.QUERY, description="First day, included."),
            OpenApiParameter("to", OpenApiTypes.DATE, OpenApiParameter.QUERY, description="Last day, included."),
        ],
        responses={200: RiskScoreSerializer(many=True), **error_responses(400, 401, 403, 429)},
        examples=[
            OpenApiExample(
                "Scores",
                value={"count": 1, "next": None, "previous": None, "results": [SCORE_EXAMPLE]},
                response_only=True,
                status_codes=["200"],
            ),
            OpenApiExample(
                "Unknown ticker",
                value={
                    "error": {
                        "status": 400,
                        "code": "invalid",
                        "detail": "Unknown ticker 'ZZZZ': not in the company master.",
                        "fields": {"ticker": ["Unknown ticker 'ZZZZ': not in the company master."]},
                    }
                },
                response_only=True,
                status_codes=["400"],
            ),
        ],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class ContributionSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["sentiment_level", "sentiment_shift", "event", "volume", "neighbour"])
    amount = serializers.FloatField(help_text="Points of the score (0-100) this contribution makes.")
    share = serializers.FloatField(help_text="amount / score (0-1).")
    article_id = serializers.CharField(allow_null=True)
    article_title = serializers.CharField(allow_blank=True)
    sentence_index = serializers.IntegerField(allow_null=True)
    evidence_text = serializers.CharField(allow_blank=True)
    event_type = serializers.CharField(allow_null=True)
    neighbour = serializers.CharField(allow_null=True, help_text="Ticker the risk propagated from (kind neighbour).")
    detail = serializers.DictField()


class AttributionCheckSerializer(serializers.Serializer):
    contributions_total = serializers.FloatField()
    score = serializers.FloatField()
    sums_to_score = serializers.BooleanField()


class CounterfactualSerializer(serializers.Serializer):
    article_id = serializers.CharField()
    article_title = serializers.CharField(allow_blank=True)
    score_without = serializers.FloatField(help_text="The score of an exact rerun without this article.")
    difference = serializers.FloatField(help_text="score - score_without.")


class AttributionSerializer(serializers.Serializer):
    risk_score = serializers.IntegerField()
    company = CompanyRefSerializer()
    as_of = serializers.DateField()
    score = serializers.FloatField()
    level = serializers.CharField()
    sentiment_level = serializers.FloatField()
    sentiment_shift = serializers.FloatField()
    article_count = serializers.IntegerField()
    model_version = serializers.CharField(allow_blank=True)
    job = serializers.CharField(allow_null=True)
    inference_record_seq = serializers.IntegerField(allow_null=True)
    contributions = ContributionSerializer(many=True)
    subtotals = serializers.DictField(child=serializers.FloatField())
    by_kind = serializers.DictField(child=serializers.FloatField())
    check = AttributionCheckSerializer()
    counterfactuals = CounterfactualSerializer(many=True)


ATTRIBUTION_EXAMPLE = {
    "risk_score": SCORE_ID_EXAMPLE,
    "company": {"ticker": "ACME", "name": "Acme Industrial Corp"},
    "as_of": "2026-03-04",
    "score": 68.25,
    "level": "warning",
    "sentiment_level": 0.42,
    "sentiment_shift": 0.27,
    "article_count": 3,
    "model_version": "risk-score-1",
    "job": None,
    "inference_record_seq": 5531,
    "contributions": [
        {
            "kind": "event",
            "amount": 52.0,
            "share": 0.7619,
            "article_id": ARTICLE_ID_EXAMPLE,
            "article_title": "Acme Industrial files for Chapter 11",
            "sentence_index": 0,
            "evidence_text": "Acme Industrial filed for Chapter 11 protection on Monday.",
            "event_type": "default_bankruptcy",
            "neighbour": None,
            "detail": {"severity": 4, "confidence": 0.95, "age_days": 1.0},
        },
        {
            "kind": "sentiment_level",
            "amount": 16.25,
            "share": 0.2381,
            "article_id": ARTICLE_ID_EXAMPLE,
            "article_title": "Acme Industrial files for Chapter 11",
            "sentence_index": 0,
            "evidence_text": "Acme Industrial filed for Chapter 11 protection on Monday.",
            "event_type": None,
            "neighbour": None,
            "detail": {"sentiment_score": -0.93},
        },
    ],
    "subtotals": {
        "event_subtotal": 52.0,
        "sentiment_subtotal": 16.25,
        "volume_subtotal": 0.0,
        "neighbour_subtotal": 0.0,
    },
    "by_kind": {"event": 52.0, "sentiment_level": 16.25},
    "check": {"contributions_total": 68.25, "score": 68.25, "sums_to_score": True},
    "counterfactuals": [
        {
            "article_id": ARTICLE_ID_EXAMPLE,
            "article_title": "Acme Industrial files for Chapter 11",
            "score_without": 0.0,
            "difference": 68.25,
        }
    ],
}


class ScoreAttributionApi(GenericAPIView):
    allowed_roles = RISK_READER_ROLES
    serializer_class = AttributionSerializer

    @extend_schema(
        tags=["risk"],
        operation_id="risk_score_attribution",
        summary="Why a score is what it is",
        description="Every contribution the scoring code produced (kind, amount, share, evidence sentence, event "
        "type, neighbour), the stored subtotals, a check that the contributions sum to the score, and per article "
        "the score an exact rerun without it gives. The same data as the JSON export of the attribution page.",
        responses={200: AttributionSerializer, **error_responses(401, 403, 404, 429)},
        examples=[OpenApiExample("Attribution", value=ATTRIBUTION_EXAMPLE, response_only=True, status_codes=["200"])],
    )
    def get(self, request: Request, score_id: int) -> Response:
        risk_score = selectors.risk_score_get(score_id)
        if risk_score is None:
            raise NotFound("No such risk score.")
        return Response(AttributionSerializer(selectors.attribution_report(risk_score).as_dict()).data)


class EntitySerializer(serializers.Serializer):
    text = serializers.CharField()
    label = serializers.CharField(allow_blank=True)
    sentence_index = serializers.IntegerField(allow_null=True)
    start = serializers.IntegerField(allow_null=True)
    end = serializers.IntegerField(allow_null=True)
    ticker = serializers.CharField(allow_null=True)
    link_method = serializers.CharField(allow_blank=True)
    link_score = serializers.FloatField(allow_null=True)


class SentenceSerializer(serializers.Serializer):
    index = serializers.IntegerField(allow_null=True)
    text = serializers.CharField(allow_blank=True)
    tickers = serializers.ListField(child=serializers.CharField())
    sentiment_label = serializers.CharField(allow_blank=True)
    sentiment_score = serializers.FloatField(allow_null=True)
    events = serializers.ListField(child=serializers.DictField())


class ArticleAnalysisSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    title = serializers.CharField()
    status = serializers.CharField()
    processed = serializers.BooleanField(help_text="False until the processing step stored its analysis.")
    models = serializers.DictField(child=serializers.CharField())
    entities = EntitySerializer(many=True, help_text="Mentions, linked to a company where the linker found one.")
    candidates = serializers.ListField(
        child=serializers.DictField(), help_text="Organisations not linked to the company master (for review)."
    )
    sentences = SentenceSerializer(many=True)
    companies = ArticleMentionSerializer(many=True, help_text="Per company: mentions and aggregated sentiment.")


class ArticleAnalysisApi(GenericAPIView):
    allowed_roles = RISK_READER_ROLES
    serializer_class = ArticleAnalysisSerializer

    @extend_schema(
        tags=["risk"],
        operation_id="risk_articles_analysis",
        summary="Entities and sentiment of an article",
        description="The entity mentions (with the company each links to, and how), unlinked candidates, each "
        "sentence with its sentiment and the risk events found in it, and per company the sentiment of the "
        "sentences that mention it. Empty lists while the article is not processed.",
        responses={200: ArticleAnalysisSerializer, **error_responses(401, 403, 404, 429)},
        examples=[
            OpenApiExample(
                "Analysis",
                value={
                    "id": ARTICLE_ID_EXAMPLE,
                    "title": "Acme Components halts production; a key supplier to Globex",
                    "status": "processed",
                    "processed": True,
                    "models": {"ner": "en_core_web_sm-3.8.0+ruler-2", "sentiment": "minilm-ft-3"},
                    "entities": [
                        {
                            "text": "Acme Components",
                            "label": "ORG",
                            "sentence_index": 0,
                            "start": 0,
                            "end": 15,
                            "ticker": "ACME",
                            "link_method": "alias",
                            "link_score": 1.0,
                        }
                    ],
                    "candidates": [{"text": "Northwind Logistics", "label": "ORG", "sentence_index": 1}],
                    "sentences": [
                        {
                            "index": 0,
                            "text": "Acme Components, a key supplier to Globex, halted production.",
                            "tickers": ["ACME", "GLBX"],
                            "sentiment_label": "negative",
                            "sentiment_score": -0.91,
                            "events": [
                                {
                                    "event_type": "supply_chain_disruption",
                                    "severity": 3,
                                    "sentence_index": 0,
                                    "trigger_text": "halted production",
                                    "confidence": 0.9,
                                    "tickers": ["ACME"],
                                }
                            ],
                        }
                    ],
                    "companies": [
                        {
                            "ticker": "ACME",
                            "name": "Acme Industrial Corp",
                            "mention_count": 2,
                            "sentiment_score": -0.91,
                            "sentiment_label": "negative",
                        }
                    ],
                },
                response_only=True,
                status_codes=["200"],
            )
        ],
    )
    def get(self, request: Request, article_id: Any) -> Response:
        article = selectors.article_get(article_id)
        if article is None:
            raise NotFound("No such article.")
        analysis = selectors.article_analysis(article)
        data = {
            "id": article.pk,
            "title": article.title,
            "status": article.status,
            **{key: analysis[key] for key in ("processed", "models", "entities", "candidates", "sentences")},
            "companies": list(article.company_mentions.all()),
        }
        return Response(ArticleAnalysisSerializer(data).data)
