"""Scheduled feed polling (ingest queue: ``apps.*`` tasks route there, see config/celery.py)."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from apps.risk.feeds import feeds_poll_due

logger = logging.getLogger(__name__)


@shared_task(name="apps.risk.tasks.risk_feeds_poll_scheduled")
def risk_feeds_poll_scheduled() -> dict[str, Any]:
    """Poll every due feed (each honours its own interval and backoff); a broken feed stays with its row."""
    outcomes = feeds_poll_due()
    summary = {
        "feeds": len(outcomes),
        "created": sum(o.created for o in outcomes),
        "near_duplicates": sum(o.near_duplicates for o in outcomes),
        "duplicates": sum(o.duplicates for o in outcomes),
        "rejected": sum(o.rejected for o in outcomes),
        "failed": sum(1 for o in outcomes if o.error),
        "rate_limited": sum(1 for o in outcomes if o.rate_limited),
        "article_ids": [a for o in outcomes for a in o.article_ids][:1000],
    }
    if summary["feeds"]:
        # LogRecord reserves "created": prefix the counts.
        logger.info("risk feeds polled", extra={f"feeds_{k}": v for k, v in summary.items() if k != "article_ids"})
    return summary
