"""The demo world's risk desk: its news feed imported, a watchlist, and a backfill queued for the workers.

Run by the set-up after ``load_demo_corpus``. Idempotent: the feed's items are content-hashed, the
watchlist is updated in place, and a backfill is not queued again while one is active or done.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

from apps.jobs.models import Job, JobKind, JobStatus
from apps.research.selectors import company_ids_by_ticker
from apps.risk.feeds import feed_poll
from apps.risk.models import Feed, FeedKind, Watchlist
from apps.risk.services import risk_monitor_job_create

WATCHLIST_NAME = "Demo credit book"
DEMO_OWNER = "demo-risk"
MAX_POLLS = 50


class Command(BaseCommand):
    help = "Import the demo risk feed, create the demo watchlist and queue the backfill that scores it."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--no-backfill", action="store_true", help="import only; queue no monitoring run")

    def handle(self, *args: Any, **options: Any) -> None:
        out = Path(settings.VAR_DIR) / "demo_feed"
        call_command("generate_demo_feed", out=str(out), register=True, stdout=self.stdout)
        truth = json.loads((out / "truth.json").read_text())
        feed = Feed.objects.get(kind=FeedKind.DEMO, name="Demo world news")
        created = 0
        for _ in range(MAX_POLLS):
            outcome = feed_poll(feed)
            feed.refresh_from_db()
            if outcome.error:
                self.stderr.write(f"demo feed poll failed: {outcome.error}")
                break
            created += outcome.created
            if not (outcome.created or outcome.near_duplicates or outcome.duplicates):
                break
        self.stdout.write(f"demo feed: {created} new articles")

        tickers = _watchlist_tickers(truth)
        companies = company_ids_by_ticker(tickers)
        owner = get_user_model().objects.filter(username=DEMO_OWNER).first()
        if owner is None:
            self.stderr.write(f"no {DEMO_OWNER} user (run seed_demo first): no watchlist")
        else:
            watchlist, _ = Watchlist.objects.get_or_create(name=WATCHLIST_NAME, defaults={"owner": owner})
            watchlist.companies.set(companies.values())
            self.stdout.write(f"watchlist '{WATCHLIST_NAME}': {len(companies)} companies")

        if options["no_backfill"]:
            return
        already = Job.objects.filter(
            kind=JobKind.RISK_SCAN,
            params__date_from=truth["window"]["start"],
            status__in=[JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.SUCCEEDED],
        ).exists()
        if already:
            self.stdout.write("demo backfill already queued or done")
            return
        job = risk_monitor_job_create(
            date_from=date.fromisoformat(truth["window"]["start"]),
            date_to=date.fromisoformat(truth["window"]["end"]),
            actor_label="system:demo-backfill",
        )
        window = truth["window"]
        self.stdout.write(f"demo backfill queued as job {job.pk} ({window['start']} .. {window['end']})")


def _watchlist_tickers(truth: dict[str, Any]) -> set[str]:
    """The companies with planted events, the customers a supplier failure should reach, and quiet ones."""
    tickers = set(truth.get("events_by_ticker", {}))
    for customers in truth.get("propagation", {}).values():
        tickers.update(customers)
    tickers.update(truth.get("quiet_tickers", [])[:10])
    return tickers
