"""The demo world's feed: planted events over >= 90 days, and syndicated copies that dedup counts once."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, timedelta

import pytest
from django.core.management import call_command

from apps.risk.feeds import feed_poll
from apps.risk.models import Article, Feed, FeedKind
from fixtures.demo_feed import build_demo_feed, ground_truth


@pytest.fixture(scope="module")
def demo_feed():
    return build_demo_feed(seed=7)


def test_the_feed_spans_the_corpus_timeline_with_every_kind_of_event(demo_feed):
    truth = ground_truth(demo_feed)
    types = Counter(e["type"] for e in truth["events"])
    for required in ("default", "fraud", "downgrade", "litigation", "supply_chain_disruption"):
        assert types[required] >= 1, required
    published = sorted(date.fromisoformat(i["published"][:10]) for i in demo_feed.items)
    assert published[-1] - published[0] >= timedelta(days=90)
    assert len(demo_feed.items) >= 300
    assert truth["quiet_tickers"] and not set(truth["quiet_tickers"]) & set(truth["events_by_ticker"])
    # The supplier failure names its customers, so the relation can be read off the text.
    supply = demo_feed.supply_event
    primary = next(i for i in demo_feed.items if i["metadata"]["kind"] == "supplier-failure")
    supplier_name = next(c.name for c in demo_feed.companies if c.ticker == supply["ticker"])
    assert f"{supplier_name}, a key supplier to" in primary["body"]
    assert truth["propagation"] == {supply["ticker"]: supply["customers"]}


def test_the_feed_is_a_pure_function_of_the_seed(demo_feed):
    assert build_demo_feed(seed=7).items == demo_feed.items
    assert build_demo_feed(seed=8).items != demo_feed.items


@pytest.mark.django_db
def test_ingesting_the_demo_feed_counts_each_syndicated_story_once(tmp_path, settings):
    settings.ARGUS_FEED_MAX_ITEMS_PER_POLL = 5000
    call_command("generate_demo_feed", "--out", str(tmp_path), "--register")
    feed = Feed.objects.get(kind=FeedKind.DEMO)
    items = [json.loads(line) for line in (tmp_path / "items.jsonl").read_text().splitlines()]

    outcome = feed_poll(feed)
    again = feed_poll(feed)

    assert outcome.error == "" and outcome.rejected == 0
    assert again.created == again.near_duplicates == 0
    stored = {a.external_id: a for a in Article.objects.select_related("duplicate_of")}
    copies = [i for i in items if i["metadata"]["syndicated_from"]]
    # A copy is counted once when it was an exact duplicate (not stored) or links to its own story.
    linked = [
        i for i in copies
        if i["id"] not in stored
        or (
            stored[i["id"]].duplicate_of is not None
            and stored[i["id"]].duplicate_of.metadata["story_id"] == i["metadata"]["story_id"]
        )
    ]  # fmt: skip
    originals = [i for i in items if not i["metadata"]["syndicated_from"]]
    missing = [i for i in originals if i["id"] not in stored]
    assert not missing, missing[:2]
    wrongly_merged = [i for i in originals if stored[i["id"]].duplicate_of is not None]
    print(
        f"syndicated copies linked to their story: {len(linked)}/{len(copies)}; originals merged: {len(wrongly_merged)}"
    )
    assert len(linked) >= 0.9 * len(copies)
    assert len(wrongly_merged) <= 0.005 * len(items)
    first_of_story = Article.objects.filter(duplicate_of__isnull=True).count()
    stories = len({i["metadata"]["story_id"] for i in items})
    assert abs(first_of_story - stories) <= 0.05 * stories
