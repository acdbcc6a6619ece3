"""Write the demo world's news feed (items.jsonl + truth.json) under var/ and, optionally, register it as a feed."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from fixtures.demo_feed import build_demo_feed, write_demo_feed


class Command(BaseCommand):
    help = "Generate the demo news feed from the demo corpus timeline (var/demo_feed by default)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--out", default=str(Path(settings.VAR_DIR) / "demo_feed"))
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--start", type=date.fromisoformat, default=date(2023, 1, 1))
        parser.add_argument("--end", type=date.fromisoformat, default=date(2024, 12, 31))
        parser.add_argument(
            "--register", action="store_true", help="create (or update) the 'Demo world news' feed pointing at it"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        out = Path(options["out"])
        feed = build_demo_feed(seed=options["seed"], start=options["start"], end=options["end"])
        truth = write_demo_feed(feed, out)
        counts = truth["counts"]
        self.stdout.write(
            f"wrote {counts['items']} items ({counts['stories']} stories, {counts['syndicated_copies']} syndicated "
            f"copies, {counts['events']} planted events) to {out}"
        )
        if options["register"]:
            from apps.risk.models import Feed, FeedKind

            path = str((out / "items.jsonl").resolve())
            row, created = Feed.objects.update_or_create(
                kind=FeedKind.DEMO, name="Demo world news", defaults={"url_or_path": path, "enabled": True}
            )
            self.stdout.write(f"{'created' if created else 'updated'} feed {row.pk} ({path})")
