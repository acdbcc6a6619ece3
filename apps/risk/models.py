"""Risk monitoring: feeds and their articles, what the pipelines found in them, scores, watchlists and alerts.

The pipelines (entities, sentiment, risk events, relation graph, scoring) are plain Python; these
tables hold what they produce so the dashboard, the alert workflow and a regulatory review read
one place. ``Article.analysis`` keeps the full pipeline output of an article (sentences, mentions,
sentiment, events); ``ArticleCompany`` and ``RiskEvent`` are the normalised slices the dashboard
queries.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q


class FeedKind(models.TextChoices):
    RSS = "rss", "RSS/Atom URL"
    JSONL_FILE = "jsonl_file", "JSON lines file"
    JSONL_FOLDER = "jsonl_folder", "JSON lines folder"
    UPLOAD = "upload", "Upload"
    DEMO = "demo", "Demo world"
    SEC_8K = "sec_8k", "SEC 8-K replay"


class Feed(models.Model):
    """A source of articles, polled on its own interval; it backs off on errors and never stops the others."""

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=FeedKind.choices)
    # A URL for RSS/Atom; a path for files, folders, the demo world and the 8-K replay; empty for uploads.
    url_or_path = models.CharField(max_length=2000, blank=True)
    poll_interval_seconds = models.PositiveIntegerField(default=900)
    enabled = models.BooleanField(default=True)
    next_poll_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    consecutive_errors = models.PositiveIntegerField(default=0)
    # Conditional GET: the validators of the last 200 answer.
    etag = models.CharField(max_length=500, blank=True)
    last_modified = models.CharField(max_length=100, blank=True)
    # Replays and file feeds: where the next poll continues (per-file byte offsets, the last replayed row).
    cursor = models.JSONField(default=dict, blank=True)
    # Politeness towards a host: at least this long between two requests to it, across all its feeds.
    min_seconds_between_requests = models.FloatField(default=1.0)
    items_total = models.PositiveIntegerField(default=0)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="risk_feeds"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"


class ArticleStatus(models.TextChoices):
    NEW = "new", "New"
    PROCESSED = "processed", "Processed"
    FAILED = "failed", "Failed"


class Article(models.Model):
    """One news item, filing item or submitted text; exact duplicates are refused, near-duplicates linked."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    feed = models.ForeignKey(Feed, null=True, blank=True, on_delete=models.SET_NULL, related_name="articles")
    source = models.CharField(max_length=200, blank=True, db_index=True)
    url = models.URLField(max_length=2000, blank=True)
    external_id = models.CharField(max_length=500, blank=True, db_index=True)
    title = models.CharField(max_length=1000)
    body = models.TextField(blank=True)
    published_at = models.DateTimeField(db_index=True)
    fetched_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # sha256 of the normalised title and body: the same story fetched twice is one row.
    content_hash = models.CharField(max_length=64, unique=True)
    # A syndicated copy points at the first article of its story and counts once in scoring.
    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="syndicated_copies"
    )
    duplicate_similarity = models.FloatField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=ArticleStatus.choices, default=ArticleStatus.NEW, db_index=True)
    error = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    # Source-specific facts kept as received (8-K item code, CIK, ticker, risk_relevant flag...).
    metadata = models.JSONField(default=dict, blank=True)
    # The pipelines' full output: sentences, mentions, sentiment, events, relations.
    analysis = models.JSONField(default=dict, blank=True)
    companies = models.ManyToManyField(
        "research.Company", through="ArticleCompany", related_name="risk_articles", blank=True
    )

    class Meta:
        ordering = ["-published_at", "-fetched_at"]
        indexes = [models.Index(fields=["feed", "external_id"], name="risk_article_feed_extid")]

    def __str__(self) -> str:
        return self.title[:80]

    @property
    def is_duplicate(self) -> bool:
        return self.duplicate_of_id is not None


class ArticleCompany(models.Model):
    """A company an article mentions, with the sentiment of the sentences that mention it."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="company_mentions")
    company = models.ForeignKey("research.Company", on_delete=models.CASCADE, related_name="risk_mentions")
    mention_count = models.PositiveIntegerField(default=1)
    sentiment_score = models.FloatField(null=True, blank=True)  # -1 .. 1
    sentiment_label = models.CharField(max_length=12, blank=True)  # positive / negative / neutral

    class Meta:
        constraints = [models.UniqueConstraint(fields=["article", "company"], name="risk_articlecompany_unique")]

    def __str__(self) -> str:
        return f"{self.article_id} mentions {self.company_id} x{self.mention_count}"


class EventSeverity(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


class RiskEvent(models.Model):
    """A risk event found in an article (a sentence of its text, or an 8-K item code) about one company."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="risk_events")
    company = models.ForeignKey("research.Company", on_delete=models.CASCADE, related_name="risk_events")
    # The taxonomy lives in pipelines.risk; free text here so a new type needs no migration.
    event_type = models.CharField(max_length=60, db_index=True)
    severity = models.CharField(max_length=10, choices=EventSeverity.choices)
    sentence_index = models.IntegerField(null=True, blank=True)
    evidence_text = models.TextField(blank=True)
    confidence = models.FloatField(default=1.0)
    occurred_at = models.DateTimeField(db_index=True)
    source = models.CharField(max_length=40, default="text")  # "text" or "8-K 4.02"

    class Meta:
        ordering = ["-occurred_at"]
        indexes = [models.Index(fields=["company", "occurred_at"], name="risk_event_company_time")]

    def __str__(self) -> str:
        return f"{self.event_type} ({self.severity}) on {self.company_id}"


class ArticleRejection(models.Model):
    """An item a feed delivered that could not become an article, and why; the rest of the feed proceeded."""

    RAW_EXCERPT_MAX = 2000

    feed = models.ForeignKey(Feed, null=True, blank=True, on_delete=models.CASCADE, related_name="rejections")
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    reason = models.CharField(max_length=500)
    line_number = models.PositiveIntegerField(null=True, blank=True)  # JSON lines: 1-based line
    item_index = models.PositiveIntegerField(null=True, blank=True)  # RSS/Atom: 0-based entry
    location = models.CharField(max_length=500, blank=True)  # the file of a folder feed
    raw_excerpt = models.TextField(blank=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"rejected item of feed {self.feed_id}: {self.reason}"


class RelationType(models.TextChoices):
    CO_MENTION = "co_mention", "Mentioned together"
    SUPPLIER = "supplier", "Supplier of"
    CUSTOMER = "customer", "Customer of"
    SUBSIDIARY = "subsidiary", "Subsidiary of"
    PARTNER = "partner", "Partner of"


class RelationEdge(models.Model):
    """source --relation--> target, e.g. TSMC --supplier--> Apple; co-mentions are stored once per ordered pair."""

    ARTICLE_IDS_MAX = 50

    source = models.ForeignKey("research.Company", on_delete=models.CASCADE, related_name="relations_out")
    target = models.ForeignKey("research.Company", on_delete=models.CASCADE, related_name="relations_in")
    relation = models.CharField(max_length=20, choices=RelationType.choices)
    weight = models.FloatField(default=1.0)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField(db_index=True)
    # The most recent supporting articles (ids as strings), at most ARTICLE_IDS_MAX.
    article_ids = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "target", "relation"], name="risk_relation_unique"),
            models.CheckConstraint(condition=~Q(source=models.F("target")), name="risk_relation_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.source_id} {self.relation} {self.target_id}"


class AlertLevel(models.TextChoices):
    NONE = "none", "None"
    WATCH = "watch", "Watch"
    WARNING = "warning", "Warning"
    CRITICAL = "critical", "Critical"


LEVEL_RANK: dict[str, int] = {AlertLevel.NONE: 0, AlertLevel.WATCH: 1, AlertLevel.WARNING: 2, AlertLevel.CRITICAL: 3}


class RiskScore(models.Model):
    """A company's score on one day; re-running the day's window overwrites it (one row per company and day)."""

    company = models.ForeignKey("research.Company", on_delete=models.CASCADE, related_name="risk_scores")
    as_of = models.DateField(db_index=True)
    score = models.FloatField()
    # The level against the default thresholds; watchlists apply their own when they raise alerts.
    level = models.CharField(max_length=10, choices=AlertLevel.choices, default=AlertLevel.NONE)
    # pipelines.risk.scoring contributions as dicts: [{"kind": "sentiment_level"|"sentiment_shift"|"event"|
    #   "volume"|"neighbour", "amount": float, "article_id", "sentence_index", "evidence_text", "event_type",
    #   "neighbour", "detail": {...}}] — produced by the scoring code itself; the amounts sum to ``score``.
    components = models.JSONField(default=list, blank=True)
    # {article_id: the score this company would have without that article} — exact leave-one-out reruns.
    counterfactuals = models.JSONField(default=dict, blank=True)
    sentiment_level = models.FloatField(default=0.0)
    sentiment_shift = models.FloatField(default=0.0)
    event_subtotal = models.FloatField(default=0.0)
    sentiment_subtotal = models.FloatField(default=0.0)
    volume_subtotal = models.FloatField(default=0.0)
    neighbour_subtotal = models.FloatField(default=0.0)
    article_count = models.PositiveIntegerField(default=0)
    model_version = models.CharField(max_length=200, blank=True)
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="risk_scores")
    # apps.audit InferenceRecord.seq of the scoring call (a number, not an FK: the chain is append-only).
    inference_record_seq = models.PositiveBigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["company", "-as_of"]
        constraints = [models.UniqueConstraint(fields=["company", "as_of"], name="risk_score_company_day")]

    def __str__(self) -> str:
        return f"{self.company_id} {self.as_of}: {self.score:.2f}"


class Watchlist(models.Model):
    """Companies a risk officer watches, with the three thresholds that raise alerts."""

    name = models.CharField(max_length=200)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="risk_watchlists")
    companies = models.ManyToManyField("research.Company", related_name="watchlists", blank=True)
    watch_threshold = models.FloatField(default=40.0)
    warning_threshold = models.FloatField(default=60.0)
    critical_threshold = models.FloatField(default=80.0)
    # A level is left only once the score falls this far below its threshold (no flapping at the line).
    hysteresis = models.FloatField(default=5.0)
    notify_emails = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(watch_threshold__lt=models.F("warning_threshold"))
                & Q(warning_threshold__lt=models.F("critical_threshold")),
                name="risk_watchlist_thresholds_ordered",
            ),
            models.CheckConstraint(condition=Q(hysteresis__gte=0), name="risk_watchlist_hysteresis_positive"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if not (self.watch_threshold < self.warning_threshold < self.critical_threshold):
            raise ValidationError("Thresholds must rise: watch < warning < critical.")
        if self.hysteresis < 0:
            raise ValidationError({"hysteresis": "Hysteresis cannot be negative."})
        if self.hysteresis >= self.warning_threshold - self.watch_threshold:
            raise ValidationError({"hysteresis": "Hysteresis must be smaller than the gap between two thresholds."})

    def thresholds(self) -> dict[str, float]:
        return {
            AlertLevel.WATCH.value: self.watch_threshold,
            AlertLevel.WARNING.value: self.warning_threshold,
            AlertLevel.CRITICAL.value: self.critical_threshold,
        }


class AlertStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    ESCALATED = "escalated", "Escalated"
    RESOLVED = "resolved", "Resolved"


UNRESOLVED_STATUSES = (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED, AlertStatus.ESCALATED)


class Alert(models.Model):
    """A company crossed a watchlist threshold; one story raises one alert (dedup key), with its history."""

    watchlist = models.ForeignKey(Watchlist, on_delete=models.CASCADE, related_name="alerts")
    company = models.ForeignKey("research.Company", on_delete=models.CASCADE, related_name="risk_alerts")
    level = models.CharField(max_length=10, choices=AlertLevel.choices)
    status = models.CharField(max_length=14, choices=AlertStatus.choices, default=AlertStatus.OPEN, db_index=True)
    dedup_key = models.CharField(max_length=300)
    score = models.FloatField()
    risk_score = models.ForeignKey(RiskScore, null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts")
    # The score's contributions when the alert was raised or last updated: explains it even after a rescore.
    attribution = models.JSONField(default=list, blank=True)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="risk_alerts_assigned"
    )
    raised_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-raised_at"]
        constraints = [
            # One unresolved alert per story and watchlist; resolved ones may repeat the key.
            models.UniqueConstraint(
                fields=["watchlist", "dedup_key"],
                condition=~Q(status="resolved"),
                name="risk_alert_unresolved_dedup",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_level_display()} alert on {self.company_id} ({self.get_status_display()})"

    @property
    def is_resolved(self) -> bool:
        return self.status == AlertStatus.RESOLVED


class AlertActionKind(models.TextChoices):
    RAISED = "raised", "Raised"
    UPDATED = "updated", "Updated"
    LEVEL_CHANGED = "level_changed", "Level changed"
    ASSIGNED = "assigned", "Assigned"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    ESCALATED = "escalated", "Escalated"
    RESOLVED = "resolved", "Resolved"
    REOPENED = "reopened", "Reopened"
    COMMENTED = "commented", "Commented"
    NOTIFIED = "notified", "Notified"


class AlertAction(models.Model):
    """One entry of an alert's history: who did what, when, and why. Never edited."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="actions")
    # Null for the scheduler (``actor_label`` then says which job).
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=200, blank=True)
    action = models.CharField(max_length=20, choices=AlertActionKind.choices)
    note = models.TextField(blank=True)
    # Level and status before -> after, the score, an assignee: whatever the action changed.
    details = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.action} on alert {self.alert_id}"
