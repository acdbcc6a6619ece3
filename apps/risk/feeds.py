"""Polling feeds into articles: fetch (conditional, rate-limited per host), parse, deduplicate, store.

``feed_poll(feed)`` is idempotent: an item seen before (same normalised text) creates nothing, a
reworded syndicated copy is stored once more but linked to the first article of its story
(``duplicate_of``) so it counts once. A feed whose document cannot be fetched or read records the
error and backs off exponentially; a malformed item becomes an ``ArticleRejection`` and the rest of
the feed proceeds. ``feeds_poll_due()`` polls every due feed, each in its own transaction, so one
broken feed never stops the others.
"""

from __future__ import annotations

import logging
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.risk.models import Article, ArticleRejection, Feed, FeedKind
from pipelines.feeds import (
    FeedItem,
    FeedMalformed,
    ItemRejection,
    ParsedBatch,
    best_near_duplicate,
    content_hash,
    dedup_text,
    iter_jsonl_folder,
    looks_like_jsonl,
    parse_feed_document,
    parse_jsonl_bytes,
    read_jsonl_file,
    sec_8k_item,
    sec_8k_rows,
)

logger = logging.getLogger(__name__)

USER_AGENT = "Argus risk monitor (feed poller)"


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def feed_limits() -> dict[str, Any]:
    return {
        "timeout": float(_setting("ARGUS_FEED_TIMEOUT_SECONDS", 10.0)),
        "max_items": int(_setting("ARGUS_FEED_MAX_ITEMS_PER_POLL", 200)),
        "max_body_chars": int(_setting("ARGUS_FEED_MAX_BODY_CHARS", 100_000)),
        "max_response_bytes": int(_setting("ARGUS_FEED_MAX_RESPONSE_BYTES", 5_000_000)),
        "max_backoff_seconds": int(_setting("ARGUS_FEED_MAX_BACKOFF_SECONDS", 6 * 3600)),
        "near_duplicate_threshold": float(_setting("ARGUS_NEAR_DUPLICATE_THRESHOLD", 88.0)),
        "near_duplicate_window_days": int(_setting("ARGUS_NEAR_DUPLICATE_WINDOW_DAYS", 3)),
        "near_duplicate_candidates": int(_setting("ARGUS_NEAR_DUPLICATE_CANDIDATES", 500)),
    }


class FeedFetchError(Exception):
    """The source did not deliver (network, HTTP status, size): the poll failed, the feed backs off."""


@dataclass
class PollOutcome:
    feed_id: int
    created: int = 0
    duplicates: int = 0  # exact duplicates: nothing stored
    near_duplicates: int = 0  # stored, linked to the first article of the story
    rejected: int = 0
    not_modified: bool = False
    rate_limited: bool = False
    error: str = ""
    article_ids: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.error


# --- fetching -----------------------------------------------------------------------------------------


def feed_host(feed: Feed) -> str:
    return urlsplit(feed.url_or_path).netloc.lower() if feed.kind == FeedKind.RSS else ""


def _host_recently_requested(feed: Feed, host: str, now: datetime) -> datetime | None:
    """When the host may be asked again, if any feed of the same host was polled too recently."""
    window = timedelta(seconds=feed.min_seconds_between_requests)
    if window <= timedelta(0):
        return None
    recent = Feed.objects.filter(kind=FeedKind.RSS, last_polled_at__gt=now - window).values_list(
        "url_or_path", "last_polled_at"
    )
    latest = max((at for url, at in recent if urlsplit(url).netloc.lower() == host), default=None)
    return latest + window if latest else None


def fetch_url(feed: Feed, *, timeout: float, max_bytes: int) -> tuple[int, bytes, dict[str, str]]:
    """(status, body, validators): 304 means unchanged since the stored ETag/Last-Modified."""
    headers = {"User-Agent": USER_AGENT, "Accept": "application/rss+xml, application/atom+xml, application/xml, */*"}
    if feed.etag:
        headers["If-None-Match"] = feed.etag
    if feed.last_modified:
        headers["If-Modified-Since"] = feed.last_modified
    scheme = urlsplit(feed.url_or_path).scheme
    if scheme not in ("http", "https"):
        raise FeedFetchError(f"unsupported URL scheme {scheme!r}; use http or https")
    request = urllib.request.Request(feed.url_or_path, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read(max_bytes + 1)
            if len(body) > max_bytes:
                raise FeedFetchError(f"response larger than {max_bytes} bytes")
            validators = {
                "etag": response.headers.get("ETag", "") or "",
                "last_modified": response.headers.get("Last-Modified", "") or "",
            }
            return response.status, body, validators
    except urllib.error.HTTPError as exc:
        if exc.code == 304:
            return 304, b"", {}
        raise FeedFetchError(f"HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise FeedFetchError(f"fetch failed: {reason}") from exc


# --- reading each kind of feed -------------------------------------------------------------------------


@dataclass
class Delivery:
    batch: ParsedBatch
    cursor: dict[str, Any] | None = None  # the feed's new cursor, stored only after the items are
    validators: dict[str, str] | None = None
    not_modified: bool = False


def _local_path(feed: Feed) -> Path:
    if feed.kind == FeedKind.SEC_8K and not feed.url_or_path:
        return Path(settings.ARGUS_SHARED_DATA) / "sec_8k_events" / "sec_8k_items.jsonl"
    return Path(feed.url_or_path)


def _deliver_rss(feed: Feed, limits: dict[str, Any]) -> Delivery:
    status, body, validators = fetch_url(feed, timeout=limits["timeout"], max_bytes=limits["max_response_bytes"])
    if status == 304:
        return Delivery(ParsedBatch(), not_modified=True)
    batch = parse_feed_document(
        body, source=feed.name, max_items=limits["max_items"], max_body_chars=limits["max_body_chars"]
    )
    return Delivery(batch, validators=validators)


def _deliver_jsonl_file(feed: Feed, limits: dict[str, Any]) -> Delivery:
    path = _local_path(feed)
    if not path.is_file():
        raise FeedFetchError(f"no such file: {path}")
    state = dict(feed.cursor.get("files", {}).get(path.name, {}))
    if state.get("size", 0) > path.stat().st_size:
        state = {}  # the file was replaced by a shorter one: read it from the start
    chunk = read_jsonl_file(
        path,
        offset=state.get("offset", 0),
        line_number=state.get("line", 0),
        max_items=limits["max_items"],
        source=feed.name,
        max_body_chars=limits["max_body_chars"],
    )
    files = {path.name: {"offset": chunk.offset, "line": chunk.line_number, "size": chunk.offset}}
    return Delivery(chunk.batch, cursor={**feed.cursor, "files": files})


def _deliver_jsonl_folder(feed: Feed, limits: dict[str, Any]) -> Delivery:
    folder = _local_path(feed)
    if not folder.is_dir():
        raise FeedFetchError(f"no such folder: {folder}")
    files = dict(feed.cursor.get("files", {}))
    batch = ParsedBatch()
    budget = limits["max_items"]
    for path in iter_jsonl_folder(folder):
        if budget <= 0:
            break
        state = files.get(path.name, {})
        size = path.stat().st_size
        if state.get("offset", 0) > size:
            state = {}
        if state.get("offset", 0) == size:
            continue
        chunk = read_jsonl_file(
            path,
            offset=state.get("offset", 0),
            line_number=state.get("line", 0),
            max_items=budget,
            source=feed.name,
            max_body_chars=limits["max_body_chars"],
        )
        batch.items += chunk.batch.items
        batch.rejections += chunk.batch.rejections
        budget -= len(chunk.batch.items) + len(chunk.batch.rejections)
        files[path.name] = {"offset": chunk.offset, "line": chunk.line_number}
    return Delivery(batch, cursor={**feed.cursor, "files": files})


def _deliver_sec_8k(feed: Feed, limits: dict[str, Any]) -> Delivery:
    path = _local_path(feed)
    if not path.is_file():
        raise FeedFetchError(f"8-K item file not found: {path} (set ARGUS_SHARED_DATA)")
    rows = sec_8k_rows(path)
    position = int(feed.cursor.get("position", 0))
    batch = ParsedBatch()
    taken = rows[position : position + limits["max_items"]]
    for offset, row in enumerate(taken):
        try:
            batch.items.append(sec_8k_item(row, max_body_chars=limits["max_body_chars"]))
        except (KeyError, ValueError) as exc:
            batch.rejections.append(
                ItemRejection(f"unreadable 8-K row: {exc}", str(row)[:500], item_index=position + offset)
            )
    last_date = taken[-1].get("filing_date", "") if taken else feed.cursor.get("last_filing_date", "")
    cursor = {**feed.cursor, "position": position + len(taken), "total": len(rows), "last_filing_date": last_date}
    return Delivery(batch, cursor=cursor)


DELIVERERS = {
    FeedKind.RSS: _deliver_rss,
    FeedKind.JSONL_FILE: _deliver_jsonl_file,
    FeedKind.DEMO: _deliver_jsonl_file,
    FeedKind.JSONL_FOLDER: _deliver_jsonl_folder,
    FeedKind.SEC_8K: _deliver_sec_8k,
}


# --- storing ------------------------------------------------------------------------------------------


def _near_duplicate_of(item: FeedItem, published: datetime, limits: dict[str, Any]) -> tuple[Article, float] | None:
    window = timedelta(days=limits["near_duplicate_window_days"])
    # Only first-of-story articles are candidates: a copy links to the original, never to another copy.
    candidates = (
        Article.objects.filter(
            duplicate_of__isnull=True, published_at__gte=published - window, published_at__lte=published + window
        )
        .order_by("published_at")
        .only("id", "title", "body")[: limits["near_duplicate_candidates"]]
    )
    text = dedup_text(item.title, item.body)
    found = best_near_duplicate(
        text,
        ((article, dedup_text(article.title, article.body)) for article in candidates),
        limits["near_duplicate_threshold"],
    )
    return found


def article_store(
    *, item: FeedItem, feed: Feed | None, now: datetime, limits: dict[str, Any] | None = None, check_near: bool = True
) -> tuple[Article | None, str]:
    """Store one item: (article, "created" | "near_duplicate"), or (the stored article, "duplicate")."""
    limits = limits or feed_limits()
    digest = content_hash(item.title, item.body, item.identity)
    existing = Article.objects.filter(content_hash=digest).first()
    if existing is not None:
        return existing, "duplicate"
    published = item.published or now
    near = _near_duplicate_of(item, published, limits) if check_near else None
    try:
        with transaction.atomic():
            article = Article.objects.create(
                feed=feed,
                source=item.source or (feed.name if feed else ""),
                url=item.url,
                external_id=item.external_id,
                title=item.title,
                body=item.body,
                published_at=published,
                content_hash=digest,
                duplicate_of=near[0] if near else None,
                duplicate_similarity=round(near[1], 2) if near else None,
                metadata=item.metadata,
            )
    except IntegrityError:
        # A concurrent poll stored the same text between the check and the insert.
        return Article.objects.filter(content_hash=digest).first(), "duplicate"
    return article, ("near_duplicate" if near else "created")


def _store_batch(feed: Feed, batch: ParsedBatch, outcome: PollOutcome, now: datetime, limits: dict[str, Any]) -> None:
    check_near = feed.kind != FeedKind.SEC_8K  # filings are not syndicated; their boilerplate is alike by design
    for item in batch.items:
        article, result = article_store(item=item, feed=feed, now=now, limits=limits, check_near=check_near)
        if result == "duplicate":
            outcome.duplicates += 1
            continue
        outcome.article_ids.append(str(article.pk))
        if result == "near_duplicate":
            outcome.near_duplicates += 1
        else:
            outcome.created += 1
    for rejection in batch.rejections:
        rejection_store(feed=feed, rejection=rejection)
        outcome.rejected += 1


def rejection_store(*, feed: Feed | None, rejection: ItemRejection) -> ArticleRejection:
    return ArticleRejection.objects.create(
        feed=feed,
        reason=rejection.reason[:500],
        line_number=rejection.line_number,
        item_index=rejection.item_index,
        location=rejection.location[:500],
        raw_excerpt=rejection.raw_excerpt[: ArticleRejection.RAW_EXCERPT_MAX],
    )


def backoff_seconds(feed: Feed, errors: int, max_backoff: int) -> int:
    """Interval x 2^(errors-1), capped: 1st failure waits one interval, then 2, 4, 8..."""
    return int(min(max_backoff, feed.poll_interval_seconds * 2 ** max(0, errors - 1)))


# --- polling ------------------------------------------------------------------------------------------


def feed_poll(feed: Feed, *, now: datetime | None = None) -> PollOutcome:
    """Poll one feed once. Never raises for a source problem: the outcome and the feed row carry the error."""
    now = now or timezone.now()
    limits = feed_limits()
    outcome = PollOutcome(feed_id=feed.pk)
    if feed.kind == FeedKind.UPLOAD:
        Feed.objects.filter(pk=feed.pk).update(next_poll_at=None)
        return outcome
    host = feed_host(feed)
    if host:
        allowed_at = _host_recently_requested(feed, host, now)
        if allowed_at is not None and allowed_at > now:
            outcome.rate_limited = True
            Feed.objects.filter(pk=feed.pk).update(next_poll_at=allowed_at)
            feed.next_poll_at = allowed_at
            return outcome
    # Recorded before the request so a concurrent poll of the same host sees it.
    Feed.objects.filter(pk=feed.pk).update(last_polled_at=now)
    feed.last_polled_at = now
    try:
        delivery = DELIVERERS[FeedKind(feed.kind)](feed, limits)
    except (FeedFetchError, FeedMalformed, OSError, ValueError) as exc:
        _record_failure(feed, outcome, str(exc) or exc.__class__.__name__, now, limits)
        return outcome
    with transaction.atomic():
        _store_batch(feed, delivery.batch, outcome, now, limits)
        updates: dict[str, Any] = {
            "last_success_at": now,
            "last_error": "",
            "consecutive_errors": 0,
            "next_poll_at": now + timedelta(seconds=feed.poll_interval_seconds),
            "items_total": F("items_total") + outcome.created + outcome.near_duplicates,
        }
        if delivery.cursor is not None:
            updates["cursor"] = delivery.cursor
        if delivery.validators:
            updates["etag"] = delivery.validators.get("etag", "")[:500]
            updates["last_modified"] = delivery.validators.get("last_modified", "")[:100]
        Feed.objects.filter(pk=feed.pk).update(**updates)
    outcome.not_modified = delivery.not_modified
    feed.refresh_from_db()
    return outcome


def _record_failure(feed: Feed, outcome: PollOutcome, message: str, now: datetime, limits: dict[str, Any]) -> None:
    errors = feed.consecutive_errors + 1
    wait = backoff_seconds(feed, errors, limits["max_backoff_seconds"])
    Feed.objects.filter(pk=feed.pk).update(
        last_error=message[:2000], consecutive_errors=errors, next_poll_at=now + timedelta(seconds=wait)
    )
    feed.refresh_from_db()
    outcome.error = message
    logger.warning("feed %s failed (%d in a row, next try in %ds): %s", feed.pk, errors, wait, message)


def feeds_due(now: datetime) -> list[int]:
    return list(
        Feed.objects.filter(enabled=True)
        .exclude(kind=FeedKind.UPLOAD)
        .filter(Q(next_poll_at__isnull=True) | Q(next_poll_at__lte=now))
        .order_by(F("next_poll_at").asc(nulls_first=True), "pk")
        .values_list("pk", flat=True)
    )


def _claim(feed_id: int, now: datetime) -> Feed | None:
    """Take a due feed so that a second poller running at the same time skips it (conditional update)."""
    feed = Feed.objects.filter(pk=feed_id).first()
    if feed is None:
        return None
    lease = now + timedelta(seconds=max(60, feed.poll_interval_seconds))
    claimed = (
        Feed.objects.filter(pk=feed_id, enabled=True)
        .filter(Q(next_poll_at__isnull=True) | Q(next_poll_at__lte=now))
        .filter(next_poll_at=feed.next_poll_at)
        .update(next_poll_at=lease)
    )
    if claimed != 1:
        return None
    return feed


def feeds_poll_due(*, now: datetime | None = None) -> list[PollOutcome]:
    """Poll every enabled feed whose time has come; each on its own, a failure stays with its feed."""
    now = now or timezone.now()
    outcomes = []
    for feed_id in feeds_due(now):
        feed = _claim(feed_id, now)
        if feed is None:
            continue
        try:
            outcomes.append(feed_poll(feed, now=now))
        except Exception as exc:  # a bug in one feed's data must not starve the others
            logger.exception("feed %s poll crashed", feed_id)
            _record_failure(feed, PollOutcome(feed_id=feed_id), f"internal error: {exc}", now, feed_limits())
            outcomes.append(PollOutcome(feed_id=feed_id, error=f"internal error: {exc}"))
    return outcomes


# --- uploads and single submissions -------------------------------------------------------------------


def feed_upload(*, feed: Feed, data: bytes, filename: str = "", now: datetime | None = None) -> PollOutcome:
    """Ingest an uploaded JSON lines or RSS/Atom file into ``feed`` as one batch."""
    now = now or timezone.now()
    limits = feed_limits()
    outcome = PollOutcome(feed_id=feed.pk)
    if len(data) > limits["max_response_bytes"]:
        outcome.error = f"file larger than {limits['max_response_bytes']} bytes"
        return outcome
    try:
        if filename.lower().endswith((".jsonl", ".ndjson")) or looks_like_jsonl(data):
            batch = parse_jsonl_bytes(
                data, source=feed.name, max_items=limits["max_items"], max_body_chars=limits["max_body_chars"]
            )
        else:
            batch = parse_feed_document(
                data, source=feed.name, max_items=limits["max_items"], max_body_chars=limits["max_body_chars"]
            )
    except FeedMalformed as exc:
        outcome.error = str(exc)
        return outcome
    with transaction.atomic():
        _store_batch(feed, batch, outcome, now, limits)
        Feed.objects.filter(pk=feed.pk).update(
            last_success_at=now, items_total=F("items_total") + outcome.created + outcome.near_duplicates
        )
    return outcome
