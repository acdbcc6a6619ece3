"""Risk monitoring tasks: feed polling and monitoring runs (ingest queue: ``apps.*`` tasks route there)."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from celery import shared_task
from django.utils import timezone

from apps.audit.services import Actor
from apps.core.logging import job_context
from apps.jobs.services import claim_of, job_claim, job_progress, job_succeed, worker_name
from apps.jobs.task_base import JobTask
from apps.risk.feeds import feeds_poll_due
from apps.risk.monitoring import ProcessingSummary, articles_process, days_between, risk_scores_compute
from apps.risk.selectors import articles_to_process
from apps.risk.services import risk_monitor_scheduled_job_create

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


PROCESS_BATCH = 32


@shared_task(bind=True, base=JobTask, name="apps.risk.tasks.risk_monitor_run")
def risk_monitor_run(self, job_id: str) -> dict[str, Any]:
    """One monitoring run: (poll,) process new articles in batches, score each day, evaluate watchlists."""
    job = job_claim(job_id=job_id, worker=worker_name(), task_id=self.request.id or "")
    if job is None:
        return {"job_id": job_id, "skipped": "job already finished"}
    claim = claim_of(job)
    actor = Actor.for_user(job.owner) if job.owner else Actor(label=job.actor_label or "schedule:risk-monitor")
    params = job.params
    task_id = self.request.id or ""
    with job_context(job_id):
        polled = {}
        if params.get("poll"):
            job_progress(claim=claim, progress=1, message="Polling feeds")
            polled = risk_feeds_poll_scheduled()
        pending = [str(a) for a in params.get("article_ids") or []] or [
            str(a) for a in articles_to_process(limit=100_000).values_list("id", flat=True)
        ]
        processing = ProcessingSummary()
        for start in range(0, len(pending), PROCESS_BATCH):
            batch = articles_process(
                article_ids=pending[start : start + PROCESS_BATCH], actor=actor, job_id=job_id, task_id=task_id
            )
            processing.processed += batch.processed
            processing.failed += batch.failed
            processing.events += batch.events
            processing.edges += batch.edges
            processing.companies |= batch.companies
            processing.days |= batch.days
            done = min(len(pending), start + PROCESS_BATCH)
            job_progress(
                claim=claim, progress=2 + 48 * done // len(pending), message=f"Processed {done}/{len(pending)} articles"
            )
        days = days_between(date.fromisoformat(params["date_from"]), date.fromisoformat(params["date_to"]))
        raised = escalated = 0
        for position, day in enumerate(days, start=1):
            scoring = risk_scores_compute(as_of=day, actor=actor, job_id=job_id, task_id=task_id)
            raised += scoring.alerts_raised
            escalated += scoring.alerts_escalated
            job_progress(
                claim=claim,
                progress=50 + 49 * position // len(days),
                message=f"Scored {day.isoformat()} ({position}/{len(days)} days)",
            )
        result = {
            "polled": {k: v for k, v in polled.items() if k != "article_ids"},
            "processing": processing.to_dict(),
            "days_scored": len(days),
            "alerts_raised": raised,
            "alerts_escalated": escalated,
        }
        job_succeed(
            claim=claim,
            result=result,
            message=f"{processing.processed} articles, {len(days)} days scored, {raised} alerts raised",
        )
    return result


@shared_task(name="apps.risk.tasks.risk_monitor_scheduled")
def risk_monitor_scheduled() -> dict[str, Any]:
    """Beat's entry: today's monitoring run as a job (skipped while one is active)."""
    job = risk_monitor_scheduled_job_create(today=timezone.localdate())
    return {"job_id": str(job.pk) if job else None}
