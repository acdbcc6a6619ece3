"""The one retry policy of every job task, on both queues."""

from __future__ import annotations

from typing import Any

from django.db import InterfaceError, OperationalError

# Only errors that a later attempt can get past: a database or broker that blinked.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (OperationalError, InterfaceError, ConnectionError, TimeoutError)

# Long jobs ack late and are requeued when their worker process dies (see config/celery.py).
RETRY_POLICY: dict[str, Any] = {
    "autoretry_for": TRANSIENT_ERRORS,
    "retry_backoff": True,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 5,
    "acks_late": True,
    "reject_on_worker_lost": True,
}
