"""Every periodic job of Argus, in one place.

django-celery-beat's DatabaseScheduler copies these entries into its tables at
start-up; operators can then change intervals in the admin. Each entry expires so
a backlog (beat running while workers are down) does not pile up.
"""

from __future__ import annotations

from datetime import timedelta

BEAT_SCHEDULE: dict[str, dict] = {
    # Jobs whose worker died (SIGKILL, OOM, lost node) are requeued within a lease and this interval.
    "jobs-reap-expired": {
        "task": "apps.jobs.tasks.jobs_reap_expired_scheduled",
        "schedule": timedelta(seconds=30),
        "options": {"expires": 25},
    },
    "model-worker-health": {
        "task": "gpu_workers.tasks.health",
        "schedule": timedelta(minutes=5),
        "options": {"expires": 240},
    },
    # Incremental: hashes only the records appended since the last signed checkpoint.
    "audit-chain-verify": {
        "task": "apps.audit.tasks.audit_chain_verify_scheduled",
        "schedule": timedelta(minutes=5),
        "options": {"expires": 240},
    },
    # The full walk (1M records in well under a minute) also re-hashes old records and
    # holds the chain against the checkpoints kept outside the database.
    "audit-chain-verify-full": {
        "task": "apps.audit.tasks.audit_chain_verify_scheduled",
        "schedule": timedelta(days=1),
        "kwargs": {"full": True},
        "options": {"expires": 6 * 3600},
    },
    # Every minute; each feed is polled only when its own interval (or backoff) has passed.
    "risk-feeds-poll": {
        "task": "apps.risk.tasks.risk_feeds_poll_scheduled",
        "schedule": timedelta(minutes=1),
        "options": {"expires": 55},
    },
    # Process what the polls brought in, rescore today, evaluate every watchlist (a RISK_SCAN job
    # on the jobs page; skipped while the previous run is still active).
    "risk-monitor": {
        "task": "apps.risk.tasks.risk_monitor_scheduled",
        "schedule": timedelta(minutes=10),
        "options": {"expires": 540},
    },
}
