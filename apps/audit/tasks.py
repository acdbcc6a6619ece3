"""Scheduled verification of the audit chain."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from apps.audit.services import audit_chain_verification_run

logger = logging.getLogger(__name__)


@shared_task(name="apps.audit.tasks.audit_chain_verify_scheduled")
def audit_chain_verify_scheduled(*, full: bool = False) -> dict[str, Any]:
    """Verify the chain (incrementally, or the full walk), record the verdict for the console, log the tip.

    A verified tip becomes a signed checkpoint outside the database; the logged tip
    (seq and hash) leaves the database too.
    """
    run = audit_chain_verification_run(full=full)
    fields = {"head_seq": run.head_seq, "head_hash": run.head_hash, "checked": run.checked, "mode": run.mode}
    if run.ok:
        logger.info("audit chain intact", extra=fields)
    else:
        logger.error("audit chain BROKEN: %s", run.message, extra=fields)
    return {
        "ok": run.ok,
        "checked": run.checked,
        "broken_seq": run.broken_seq,
        "head_seq": run.head_seq,
        "head_hash": run.head_hash,
        "mode": run.mode,
    }
