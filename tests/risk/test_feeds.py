"""Feed polling: idempotent, conditional, rate-limited per host, backing off, and tolerant of bad items."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from apps.risk.feeds import feed_poll, feed_upload, feeds_poll_due
from apps.risk.models import Article, ArticleRejection, Feed, FeedKind
from tests.risk.conftest import Route, atom, atom_entry, rss, rss_item

pytestmark = pytest.mark.django_db

T0 = timezone.now().replace(microsecond=0)


def rss_feed(url: str, **fields) -> Feed:
    defaults = {"name": "Wire One", "kind": FeedKind.RSS, "url_or_path": url, "poll_interval_seconds": 900}
    return Feed.objects.create(**{**defaults, **fields})


STORY = rss(
    rss_item("a1", "Acme Industrial cuts guidance", "Acme Industrial cut its full-year guidance by 12% on Monday."),
    rss_item("a2", "Globex opens a plant in Ohio", "Globex Corporation opened its third plant, adding 400 jobs."),
)


def test_polling_the_same_items_again_creates_nothing(feed_server):
    feed_server.routes["/rss"] = Route(STORY)
    feed = rss_feed(feed_server.url("/rss"))

    first = feed_poll(feed, now=T0)
    second = feed_poll(feed, now=T0 + timedelta(minutes=20))

    assert (first.created, first.duplicates) == (2, 0)
    assert (second.created, second.near_duplicates, second.duplicates) == (0, 0, 2)
    assert Article.objects.count() == 2
    feed.refresh_from_db()
    assert feed.items_total == 2 and feed.last_error == "" and feed.last_success_at == T0 + timedelta(minutes=20)
    article = Article.objects.get(external_id="a1")
    assert article.source == "Wire One" and article.url.endswith("/a1")
    assert article.published_at.isoformat().startswith("2024-12-02T09:00:00")


def test_atom_entries_become_articles(feed_server):
    feed_server.routes["/atom"] = Route(
        atom(atom_entry("urn:1", "Initech restates 2023 accounts", "Initech Inc restated revenue after an audit.")),
        content_type="application/atom+xml",
    )
    outcome = feed_poll(rss_feed(feed_server.url("/atom")), now=T0)
    assert outcome.created == 1
    assert Article.objects.get().title == "Initech restates 2023 accounts"


def test_conditional_get_sends_validators_and_a_304_changes_nothing(feed_server):
    feed_server.routes["/rss"] = Route(STORY, etag='"v1"', last_modified="Mon, 02 Dec 2024 09:00:00 GMT")
    feed = rss_feed(feed_server.url("/rss"))

    feed_poll(feed, now=T0)
    outcome = feed_poll(feed, now=T0 + timedelta(minutes=20))

    first, second = feed_server.hits("/rss")
    assert "if-none-match" not in first
    assert second["if-none-match"] == '"v1"'
    assert second["if-modified-since"] == "Mon, 02 Dec 2024 09:00:00 GMT"
    assert outcome.not_modified and outcome.ok and outcome.created == 0
    feed.refresh_from_db()
    assert feed.etag == '"v1"' and feed.consecutive_errors == 0


def test_a_second_feed_on_the_same_host_waits_for_the_host_interval(feed_server):
    feed_server.routes["/one"] = Route(STORY)
    feed_server.routes["/two"] = Route(rss(rss_item("b1", "Initech hires a CFO", "Initech Inc named a new CFO.")))
    one = rss_feed(feed_server.url("/one"), min_seconds_between_requests=60)
    two = rss_feed(feed_server.url("/two"), name="Wire One markets", min_seconds_between_requests=60)

    outcomes = {o.feed_id: o for o in feeds_poll_due(now=T0)}

    assert outcomes[one.pk].created == 2
    assert outcomes[two.pk].rate_limited and outcomes[two.pk].created == 0
    assert feed_server.hits("/two") == []
    two.refresh_from_db()
    assert two.next_poll_at == T0 + timedelta(seconds=60)
    # Not yet due before the host interval passed; polled once it has.
    assert feeds_poll_due(now=T0 + timedelta(seconds=30)) == []
    later = {o.feed_id: o for o in feeds_poll_due(now=T0 + timedelta(seconds=61))}
    assert later[two.pk].created == 1 and len(feed_server.hits("/two")) == 1


def test_server_errors_back_off_exponentially_and_a_success_resets(feed_server):
    feed_server.routes["/rss"] = Route(b"oops", status=500)
    feed = rss_feed(feed_server.url("/rss"), poll_interval_seconds=600)

    waits = []
    now = T0
    for _ in range(3):
        outcome = feed_poll(feed, now=now)
        assert "HTTP 500" in outcome.error
        feed.refresh_from_db()
        waits.append((feed.next_poll_at - now).total_seconds())
        now = feed.next_poll_at
    assert waits == [600, 1200, 2400]
    assert feed.consecutive_errors == 3 and "HTTP 500" in feed.last_error

    feed_server.routes["/rss"] = Route(STORY)
    outcome = feed_poll(feed, now=now)
    feed.refresh_from_db()
    assert outcome.created == 2
    assert (feed.consecutive_errors, feed.last_error) == (0, "")
    assert feed.next_poll_at == now + timedelta(seconds=600)


def test_backoff_is_capped(feed_server, settings):
    settings.ARGUS_FEED_MAX_BACKOFF_SECONDS = 1800
    feed_server.routes["/rss"] = Route(b"", status=503)
    feed = rss_feed(feed_server.url("/rss"), poll_interval_seconds=600, consecutive_errors=9)
    feed_poll(feed, now=T0)
    feed.refresh_from_db()
    assert feed.next_poll_at == T0 + timedelta(seconds=1800)


def test_a_slow_server_is_an_error_not_a_hang(feed_server, settings):
    settings.ARGUS_FEED_TIMEOUT_SECONDS = 0.3
    feed_server.routes["/slow"] = Route(STORY, delay=1.5)
    feed = rss_feed(feed_server.url("/slow"))
    outcome = feed_poll(feed, now=T0)
    assert "timed out" in outcome.error
    assert Article.objects.count() == 0


def test_a_malformed_feed_is_marked_broken_and_the_others_proceed(feed_server):
    feed_server.routes["/broken"] = Route(b"not xml at all {")
    feed_server.routes["/html"] = Route(b"<html><body>Oops</body></html>", content_type="text/html")
    feed_server.routes["/good"] = Route(STORY)
    broken = rss_feed(feed_server.url("/broken"), min_seconds_between_requests=0)
    html = rss_feed(feed_server.url("/html"), name="HTML page", min_seconds_between_requests=0)
    good = rss_feed(feed_server.url("/good"), name="Good", min_seconds_between_requests=0)

    outcomes = {o.feed_id: o for o in feeds_poll_due(now=T0)}

    assert outcomes[good.pk].created == 2
    assert "not a readable RSS/Atom document" in outcomes[broken.pk].error
    assert "not an RSS or Atom document" in outcomes[html.pk].error
    broken.refresh_from_db()
    assert broken.consecutive_errors == 1 and broken.last_error
    assert Article.objects.filter(feed=broken).count() == 0


def test_a_malformed_item_is_rejected_with_its_reason_and_the_rest_proceed(feed_server):
    feed_server.routes["/rss"] = Route(
        rss(
            rss_item("ok1", "Acme wins a contract", "Acme Industrial won a $2bn defence contract."),
            rss_item("bad1", "", "A story without a headline."),
            rss_item("bad2", "Globex sued", "Globex was sued.", published="the day after tomorrow"),
            rss_item("ok2", "Initech lists bonds", "Initech Inc listed new bonds in Dublin."),
        )
    )
    feed = rss_feed(feed_server.url("/rss"))
    outcome = feed_poll(feed, now=T0)

    assert (outcome.created, outcome.rejected, outcome.error) == (2, 2, "")
    reasons = {r.item_index: r.reason for r in ArticleRejection.objects.filter(feed=feed)}
    assert reasons[1] == "item has no title"
    assert reasons[2].startswith("unparseable published date")
    assert all(r.raw_excerpt for r in ArticleRejection.objects.all())


def test_bodies_are_bounded(feed_server, settings):
    settings.ARGUS_FEED_MAX_BODY_CHARS = 100
    settings.ARGUS_FEED_MAX_ITEMS_PER_POLL = 1
    feed_server.routes["/rss"] = Route(rss(rss_item("x", "Long", "word " * 500), rss_item("y", "Second", "Next.")))
    outcome = feed_poll(rss_feed(feed_server.url("/rss")), now=T0)
    article = Article.objects.get()
    assert outcome.created == 1
    assert len(article.body) == 100 and article.metadata["truncated_from_chars"] > 100


# --- syndication ------------------------------------------------------------------------------------


def _jsonl(path: Path, records: list[dict], *, mode: str = "w") -> None:
    with path.open(mode, encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record) + "\n")


ORIGINAL = {
    "id": "w1-17",
    "source": "Wire One",
    "title": "Acme Components halts production at its Dayton plant",
    "body": "Acme Components, a key supplier to Globex Corporation, halted production at its Dayton plant on "
    "Tuesday after a fire. The company said deliveries of 40,000 control units would slip by six weeks.",
    "published": "2024-11-12T08:00:00Z",
}
COPY = {
    "id": "w2-88",
    "source": "Wire Two",
    "title": "Acme Components stops production at Dayton plant",
    "body": "Acme Components, a key supplier to Globex Corporation, stopped production at its Dayton plant on "
    "Tuesday following a fire. Deliveries of 40,000 control units would slip by six weeks, the company said.",
    "published": "2024-11-12T11:30:00Z",
}
# The same template about another company and other figures: a different story.
TEMPLATE_TWIN = {
    "id": "w1-18",
    "source": "Wire One",
    "title": "Initech Systems halts production at its Austin plant",
    "body": "Initech Systems, a key supplier to Umbrella Health, halted production at its Austin plant on "
    "Tuesday after a flood. The company said deliveries of 12,500 server racks would slip by three weeks.",
    "published": "2024-11-12T09:00:00Z",
}


def test_a_syndicated_story_counts_once_and_links_to_the_first(tmp_path):
    path = tmp_path / "news.jsonl"
    _jsonl(path, [ORIGINAL, TEMPLATE_TWIN, COPY])
    feed = Feed.objects.create(name="Files", kind=FeedKind.JSONL_FILE, url_or_path=str(path))

    outcome = feed_poll(feed, now=T0)

    assert (outcome.created, outcome.near_duplicates) == (2, 1)
    original = Article.objects.get(external_id="w1-17")
    copy = Article.objects.get(external_id="w2-88")
    twin = Article.objects.get(external_id="w1-18")
    assert copy.duplicate_of == original and copy.duplicate_similarity >= settings.ARGUS_NEAR_DUPLICATE_THRESHOLD
    assert twin.duplicate_of is None and original.duplicate_of is None
    from apps.risk.selectors import ArticleFilters, article_list, articles_to_process

    assert article_list(ArticleFilters(include_duplicates=False)).count() == 2
    assert {a.pk for a in articles_to_process()} == {original.pk, twin.pk}


def test_a_copy_outside_the_window_is_a_new_story(tmp_path):
    path = tmp_path / "news.jsonl"
    _jsonl(path, [ORIGINAL, {**COPY, "published": "2024-12-20T08:00:00Z"}])
    feed = Feed.objects.create(name="Files", kind=FeedKind.JSONL_FILE, url_or_path=str(path))
    assert feed_poll(feed, now=T0).created == 2


# --- JSON lines files and folders ---------------------------------------------------------------------


def test_a_jsonl_folder_remembers_each_files_offset(tmp_path):
    folder = tmp_path / "drop"
    folder.mkdir()
    _jsonl(folder / "2024-11-01.jsonl", [ORIGINAL])
    feed = Feed.objects.create(name="Drop", kind=FeedKind.JSONL_FOLDER, url_or_path=str(folder))

    assert feed_poll(feed, now=T0).created == 1

    # More lines in the first file, a second file, and a line still being written (no newline yet).
    _jsonl(folder / "2024-11-01.jsonl", [TEMPLATE_TWIN], mode="a")
    _jsonl(
        folder / "2024-11-02.jsonl",
        [{**ORIGINAL, "id": "n1", "title": "Globex names CEO", "body": "Globex named Jane Roe."}],
    )
    with (folder / "2024-11-02.jsonl").open("a") as handle:
        handle.write('{"title": "half a line"')
    second = feed_poll(feed, now=T0 + timedelta(minutes=20))
    feed.refresh_from_db()

    assert (second.created, second.rejected) == (2, 0)
    assert feed.cursor["files"]["2024-11-01.jsonl"]["line"] == 2
    assert feed.cursor["files"]["2024-11-02.jsonl"]["line"] == 1

    # The writer finishes the line: it is read once, nothing else again.
    with (folder / "2024-11-02.jsonl").open("a") as handle:
        handle.write(', "body": "now complete", "published": "2024-11-02"}\n')
    third = feed_poll(feed, now=T0 + timedelta(minutes=40))
    assert (third.created, third.duplicates) == (1, 0)
    assert Article.objects.count() == 4


def test_malformed_jsonl_lines_are_rejected_with_their_line_numbers(tmp_path):
    path = tmp_path / "items.jsonl"
    path.write_text(
        json.dumps(ORIGINAL) + "\n"
        "{not json\n"
        "[1, 2]\n"
        + json.dumps({"body": "no title", "published": "2024-11-12"})
        + "\n"
        + json.dumps({"title": "Bad date", "body": "x", "published": "soon"})
        + "\n"
        + json.dumps(TEMPLATE_TWIN)
        + "\n",
        encoding="utf-8",
    )
    feed = Feed.objects.create(name="Files", kind=FeedKind.JSONL_FILE, url_or_path=str(path))
    outcome = feed_poll(feed, now=T0)
    assert (outcome.created, outcome.rejected) == (2, 4)
    reasons = dict(ArticleRejection.objects.values_list("line_number", "reason"))
    assert reasons[2].startswith("invalid JSON")
    assert reasons[3] == "a line must hold a JSON object"
    assert reasons[4] == "missing title"
    assert reasons[5].startswith("unparseable published date")


def test_a_missing_file_is_a_feed_error(tmp_path):
    feed = Feed.objects.create(name="Gone", kind=FeedKind.JSONL_FILE, url_or_path=str(tmp_path / "none.jsonl"))
    outcome = feed_poll(feed, now=T0)
    assert "no such file" in outcome.error
    feed.refresh_from_db()
    assert feed.consecutive_errors == 1


def test_disabled_and_upload_feeds_are_not_polled(tmp_path):
    path = tmp_path / "items.jsonl"
    _jsonl(path, [ORIGINAL])
    Feed.objects.create(name="Paused", kind=FeedKind.JSONL_FILE, url_or_path=str(path), enabled=False)
    Feed.objects.create(name="Uploads", kind=FeedKind.UPLOAD)
    assert feeds_poll_due(now=T0) == []


def test_an_uploaded_file_is_ingested_once(tmp_path):
    feed = Feed.objects.create(name="Uploads", kind=FeedKind.UPLOAD)
    data = (json.dumps(ORIGINAL) + "\n" + "{broken\n").encode()
    first = feed_upload(feed=feed, data=data, filename="batch.jsonl")
    again = feed_upload(feed=feed, data=data, filename="batch.jsonl")
    assert (first.created, first.rejected) == (1, 1)
    assert (again.created, again.duplicates) == (0, 1)
    rss_outcome = feed_upload(feed=feed, data=STORY, filename="wire.xml")
    assert rss_outcome.created == 2


# --- the real 8-K stream ------------------------------------------------------------------------------

SEC_8K = Path(settings.ARGUS_SHARED_DATA) / "sec_8k_events" / "sec_8k_items.jsonl"


@pytest.mark.shared_data
@pytest.mark.skipif(not SEC_8K.is_file(), reason=f"shared 8-K data absent: {SEC_8K}")
def test_the_8k_stream_replays_in_date_order_with_item_codes(settings):
    settings.ARGUS_FEED_MAX_ITEMS_PER_POLL = 150
    feed = Feed.objects.create(name="SEC 8-K", kind=FeedKind.SEC_8K)

    first = feed_poll(feed, now=T0)
    second = feed_poll(feed, now=T0 + timedelta(minutes=20))
    feed.refresh_from_db()

    assert first.created + first.duplicates == 150
    assert feed.cursor["position"] == 300 and feed.cursor["total"] == 1150
    ordered = [Article.objects.get(pk=pk).published_at for pk in first.article_ids + second.article_ids]
    assert ordered == sorted(ordered)
    article = Article.objects.get(pk=second.article_ids[-1])
    assert article.metadata["item_code"] and "risk_relevant" in article.metadata
    assert article.source == "SEC EDGAR 8-K" and article.duplicate_of is None
    # Replaying from the start again stores nothing twice.
    Feed.objects.filter(pk=feed.pk).update(cursor={})
    feed.refresh_from_db()
    again = feed_poll(feed, now=T0 + timedelta(minutes=40))
    assert again.created == 0 and again.duplicates == 150


def test_the_beat_schedule_polls_feeds_every_minute_on_the_ingest_queue():
    from config.celery import TASK_ROUTES
    from config.schedule import BEAT_SCHEDULE

    entry = BEAT_SCHEDULE["risk-feeds-poll"]
    assert entry["task"] == "apps.risk.tasks.risk_feeds_poll_scheduled"
    assert entry["schedule"] == timedelta(minutes=1) and entry["options"]["expires"] < 60
    assert TASK_ROUTES["apps.*"]["queue"] == "ingest"


def test_the_scheduled_task_reports_what_it_polled(tmp_path):
    from apps.risk.tasks import risk_feeds_poll_scheduled

    path = tmp_path / "items.jsonl"
    _jsonl(path, [ORIGINAL, COPY])
    Feed.objects.create(name="Files", kind=FeedKind.JSONL_FILE, url_or_path=str(path))
    summary = risk_feeds_poll_scheduled()
    assert summary["feeds"] == 1 and summary["created"] == 1 and summary["near_duplicates"] == 1
    assert len(summary["article_ids"]) == 2


def test_similarity_keeps_template_twins_apart_and_reworded_copies_together():
    from pipelines.feeds import dedup_text, near_duplicate_similarity

    original = dedup_text(ORIGINAL["title"], ORIGINAL["body"])
    assert near_duplicate_similarity(original, dedup_text(COPY["title"], COPY["body"])) >= 88
    assert near_duplicate_similarity(original, dedup_text("UPDATE 1 - " + ORIGINAL["title"], ORIGINAL["body"])) >= 88
    assert near_duplicate_similarity(original, dedup_text(TEMPLATE_TWIN["title"], TEMPLATE_TWIN["body"])) < 88
    # Same template, other company; same company, other figures.
    a = "PayPal to present at Global Industrials Summit. PayPal will present in Boston on October 30."
    b = (
        "International Paper to present at Global Industrials Summit. "
        "International Paper will present in Boston on October 30."
    )
    assert near_duplicate_similarity(a, b) < 88
    c = "Walmart announces $13,270 million share buyback. The board of Walmart approved up to $13,270 million."
    d = "Walmart announces $18,620 million share buyback. The board of Walmart approved up to $18,620 million."
    assert near_duplicate_similarity(c, d) < 88


def test_uploading_a_file_through_the_api(risk_officer, analyst, api_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    feed = Feed.objects.create(name="Uploads", kind=FeedKind.UPLOAD)
    data = (json.dumps(ORIGINAL) + "\n" + json.dumps(COPY) + "\n{broken\n").encode()
    api_client.force_authenticate(analyst)
    denied = api_client.post(f"/api/risk/feeds/{feed.pk}/upload/", {"file": SimpleUploadedFile("a.jsonl", data)})
    assert denied.status_code == 403
    api_client.force_authenticate(risk_officer)
    response = api_client.post(f"/api/risk/feeds/{feed.pk}/upload/", {"file": SimpleUploadedFile("a.jsonl", data)})
    assert response.status_code == 200
    assert {k: response.json()[k] for k in ("created", "near_duplicates", "rejected")} == {
        "created": 1,
        "near_duplicates": 1,
        "rejected": 1,
    }
    junk = api_client.post(
        f"/api/risk/feeds/{feed.pk}/upload/", {"file": SimpleUploadedFile("a.xml", b"<html><p>no</p></html>")}
    )
    assert junk.status_code == 400 and "Nothing was stored" in json.dumps(junk.json())


def test_the_feed_page_shows_the_error_and_the_rejected_items(feed_server, analyst):
    from tests.conftest import client_for

    feed_server.routes["/rss"] = Route(rss(rss_item("bad", "", "no title")))
    feed = rss_feed(feed_server.url("/rss"))
    feed_poll(feed, now=T0)
    feed_server.routes["/rss"] = Route(b"", status=502)
    feed_poll(feed, now=T0 + timedelta(hours=1))
    page = client_for(analyst).get(f"/risk/feeds/{feed.pk}/").content.decode()
    assert "HTTP 502" in page and "item has no title" in page
