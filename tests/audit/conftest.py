"""Audit-test helpers: appending records through the service, and tampering behind its back."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

AUDIT_TABLE = "audit_inferencerecord"
APPEND_ONLY_TRIGGER = "audit_inferencerecord_append_only"


@pytest.fixture(autouse=True)
def checkpoint_dir(settings, tmp_path):
    """Each test signs its checkpoints into a directory of its own (the key is shared by the run)."""
    settings.ARGUS_AUDIT_CHECKPOINT_DIR = tmp_path / "audit-checkpoints"
    return settings.ARGUS_AUDIT_CHECKPOINT_DIR


@pytest.fixture
def append_record(db):
    """Append one record through the real service; keyword arguments override the defaults."""
    from apps.audit.models import InferenceKind, InferenceStatus
    from apps.audit.services import inference_record_append

    def append(**overrides: Any):
        fields: dict[str, Any] = {
            "actor": "system:tests",
            "kind": InferenceKind.EMBED,
            "model_name": "all-MiniLM-L6-v2",
            "input_hash": uuid.uuid4().hex * 2,
            "status": InferenceStatus.OK,
        }
        fields.update(overrides)
        return inference_record_append(**fields)

    return append


def tamper(sql: str, params: list[Any] | tuple[Any, ...] = ()) -> None:
    """Run raw SQL on the audit table the way an attacker with database superuser rights would.

    On PostgreSQL the append-only trigger is switched off for the statement and back on
    afterwards (covering the tracks); the hash chain must still give it away.
    """
    from django.db import connection

    postgres = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        if postgres:
            # The test's own open transaction holds deferred foreign-key checks, and ALTER TABLE
            # refuses to run with pending trigger events; an attacker's session would have none.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"ALTER TABLE {AUDIT_TABLE} DISABLE TRIGGER {APPEND_ONLY_TRIGGER}")
        cursor.execute(sql, params)
        if postgres:
            cursor.execute(f"ALTER TABLE {AUDIT_TABLE} ENABLE TRIGGER {APPEND_ONLY_TRIGGER}")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
