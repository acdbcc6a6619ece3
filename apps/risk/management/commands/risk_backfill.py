"""Queue monitoring runs over a date range: every day scored again, new articles processed first.

Idempotent: a day already scored is overwritten with the same figures, and a story that alerted once
does not alert again. The runs show on the jobs page with their progress.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from apps.risk.services import RISK_BACKFILL_MAX_DAYS, risk_monitor_job_create


class Command(BaseCommand):
    help = "Backfill risk scores and alerts over a date range (one monitoring job per window of at most 800 days)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--from", dest="date_from", type=date.fromisoformat, required=True, help="YYYY-MM-DD")
        parser.add_argument("--to", dest="date_to", type=date.fromisoformat, required=True, help="YYYY-MM-DD")
        parser.add_argument("--poll", action="store_true", help="poll due feeds first")

    def handle(self, *args: Any, **options: Any) -> None:
        first, last = options["date_from"], options["date_to"]
        if last < first:
            raise CommandError("--to is before --from")
        start = first
        while start <= last:
            end = min(last, start + timedelta(days=RISK_BACKFILL_MAX_DAYS))
            try:
                job = risk_monitor_job_create(
                    date_from=start, date_to=end, poll=options["poll"] and start == first, actor_label="system:backfill"
                )
            except ValidationError as exc:
                raise CommandError("; ".join(exc.messages)) from exc
            self.stdout.write(f"queued job {job.pk}: {start.isoformat()} .. {end.isoformat()}")
            start = end + timedelta(days=1)
