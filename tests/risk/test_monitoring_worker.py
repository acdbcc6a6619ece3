"""The beat path end to end with a real worker (PostgreSQL + Redis in CI): the feed poll and the monitoring
run are sent by the task names of the beat schedule, a worker polls a local feed server, processes the
articles, scores today and raises the watchlist's alert."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from apps.audit.models import InferenceKind, InferenceRecord
from apps.jobs.models import Job, JobKind, JobStatus
from apps.risk.models import Alert, Article, RiskScore
from apps.risk.services import feed_create
from config.celery import app
from config.schedule import BEAT_SCHEDULE
from tests.risk.conftest import Route, rss, rss_item
from tests.worker import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_beat_tasks_poll_process_score_and_alert(celery_worker_process, feed_server, risk_officer, watchlist):
    now = format_datetime(datetime.now(UTC), usegmt=True)
    feed_server.routes["/wire.xml"] = Route(
        body=rss(
            rss_item(
                "acme-ch11",
                "Acme Industrial files for Chapter 11",
                "Acme Industrial Corp, a key supplier to Globex Corporation, filed for Chapter 11 bankruptcy "
                "protection after missing an interest payment.",
                published=now,
            ),
            rss_item(
                "initech-launch",
                "Initech launches a new product line",
                "Initech Inc launched a new product line. Results were in line with guidance.",
                published=now,
            ),
        )
    )
    feed_create(actor=risk_officer, name="Wire One", kind="rss", url_or_path=feed_server.url("/wire.xml"))

    app.send_task(BEAT_SCHEDULE["risk-feeds-poll"]["task"])
    wait_for(
        lambda: Article.objects.count() == 2,
        timeout=120,
        what=f"feed poll; log:\n{celery_worker_process.log()[-3000:]}",
    )
    app.send_task(BEAT_SCHEDULE["risk-monitor"]["task"])
    job = wait_for(
        lambda: Job.objects.filter(kind=JobKind.RISK_SCAN, status__in=[JobStatus.SUCCEEDED, JobStatus.FAILED]).first(),
        timeout=240,
        what=f"monitoring run; log:\n{celery_worker_process.log()[-3000:]}",
    )

    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.result["processing"]["processed"] == 2 and job.progress == 100
    acme = RiskScore.objects.get(company__ticker="ACME")
    assert acme.score >= watchlist.watch_threshold
    assert sum(c["amount"] for c in acme.components) == pytest.approx(acme.score, abs=1e-9)
    alert = Alert.objects.get(watchlist=watchlist, company__ticker="ACME")
    assert alert.risk_score_id == acme.pk and alert.actions.filter(action="raised").exists()
    kinds = set(InferenceRecord.objects.filter(job_id=job.pk).values_list("kind", flat=True))
    assert {InferenceKind.NER, InferenceKind.SENTIMENT, InferenceKind.SCORE} <= kinds
