"""``manage.py verify_audit`` catches rows altered, removed or inserted behind the ORM's back."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

import apps.audit.selectors as selectors
from apps.audit.hashing import chain_hash
from apps.audit.models import InferenceKind, InferenceRecord, InferenceStatus
from tests.audit.conftest import tamper

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain(append_record):
    """Five records, as the append service wrote them."""
    return [
        append_record(output_text=f"answer {n}", document_ids=[f"doc-{n}"], latency_ms=10.0 * n) for n in range(1, 6)
    ]


def verify_failure(*args: str) -> tuple[CommandError, str]:
    out = StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("verify_audit", *args, stdout=out)
    assert caught.value.returncode == 1
    return caught.value, out.getvalue()


def raw_insert(record: InferenceRecord) -> int:
    """Insert a record with plain SQL, bypassing the service and the head; returns its id."""
    fields = [f for f in InferenceRecord._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    values = [f.get_db_prep_save(getattr(record, f.attname), connection) for f in fields]
    placeholders = ", ".join(["%s"] * len(fields))
    tamper(f"INSERT INTO audit_inferencerecord ({columns}) VALUES ({placeholders})", values)
    return InferenceRecord.objects.get(seq=record.seq).pk


def forged_record(*, seq: int, prev_hash: str) -> InferenceRecord:
    record = InferenceRecord(
        seq=seq,
        created_at=timezone.now(),
        actor="user:mallory",
        kind=InferenceKind.GENERATE,
        model_name="tinyllama",
        input_hash="f" * 64,
        output_text="BUY",
        status=InferenceStatus.OK,
        prev_hash=prev_hash,
    )
    # The attacker knows the algorithm and computes a valid hash for the forged content.
    record.record_hash = chain_hash(record.prev_hash, record.hashed_content())
    return record


def test_intact_chain_passes(chain):
    out = StringIO()
    call_command("verify_audit", stdout=out)
    assert "intact: 5 records verified" in out.getvalue()


def test_intact_chain_passes_in_json(chain):
    out = StringIO()
    call_command("verify_audit", "--json", stdout=out)
    verdict = json.loads(out.getvalue())
    assert verdict["ok"] is True and verdict["checked"] == 5 and verdict["broken_seq"] is None


def test_empty_chain_passes(db):
    out = StringIO()
    call_command("verify_audit", stdout=out)
    assert "intact: 0 records verified" in out.getvalue()


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("output_text", "answer 3 (doctored)"),
        ("latency_ms", 1.5),
        ("actor", "user:someone-else"),
        ("status", "error"),
        ("document_ids", '["doc-99"]'),
        ("created_at", "2020-01-01 00:00:00"),
        ("record_hash", "a" * 64),
    ],
)
def test_altered_field_is_named(chain, column, value):
    if column == "document_ids" and connection.vendor == "postgresql":
        sql = f"UPDATE audit_inferencerecord SET {column} = %s::jsonb WHERE seq = 3"
    else:
        sql = f"UPDATE audit_inferencerecord SET {column} = %s WHERE seq = 3"
    tamper(sql, [value])

    error, _ = verify_failure()
    assert f"seq=3 id={chain[2].pk}" in str(error)
    assert "altered" in str(error)


def test_altered_record_with_recomputed_hash_breaks_the_next_link(chain):
    doctored = InferenceRecord.objects.get(seq=3)
    doctored.output_text = "answer 3 (doctored)"
    new_hash = chain_hash(doctored.prev_hash, doctored.hashed_content())
    tamper(
        "UPDATE audit_inferencerecord SET output_text = %s, record_hash = %s WHERE seq = 3",
        [doctored.output_text, new_hash],
    )

    error, _ = verify_failure()
    assert f"seq=4 id={chain[3].pk}" in str(error)
    assert "prev_hash" in str(error)


def test_deleted_middle_record_is_named(chain):
    tamper("DELETE FROM audit_inferencerecord WHERE seq = 3")

    error, _ = verify_failure()
    assert f"seq=4 id={chain[3].pk}" in str(error)
    assert "expected seq 3" in str(error) and "removed" in str(error)


def test_deleted_last_record_is_named(chain):
    tamper("DELETE FROM audit_inferencerecord WHERE seq = 5")

    error, _ = verify_failure()
    assert "seq=5" in str(error)
    assert "missing" in str(error) and "removed" in str(error)


def test_forged_record_appended_with_a_valid_hash_is_named(chain):
    forged_id = raw_insert(forged_record(seq=6, prev_hash=chain[-1].record_hash))

    error, _ = verify_failure()
    assert f"seq=6 id={forged_id}" in str(error)
    assert "past the chain head" in str(error)


def test_forged_record_inserted_before_the_first_is_named(chain):
    forged_id = raw_insert(forged_record(seq=0, prev_hash="0" * 64))

    error, _ = verify_failure()
    assert f"seq=0 id={forged_id}" in str(error)
    assert "inserted" in str(error)


def test_altered_chain_head_is_reported(chain):
    tamper("UPDATE audit_auditchainhead SET last_hash = %s", ["b" * 64])

    error, _ = verify_failure()
    assert f"seq=5 id={chain[4].pk}" in str(error)


def test_json_output_names_the_broken_record(chain):
    tamper("UPDATE audit_inferencerecord SET tokens_out = 999 WHERE seq = 2")

    _, out = verify_failure("--json")
    verdict = json.loads(out)
    assert verdict["ok"] is False
    assert (verdict["broken_seq"], verdict["broken_id"], verdict["checked"]) == (2, chain[1].pk, 1)
    assert "seq=2" in verdict["message"]


def test_records_appended_while_the_walk_runs_are_not_mistaken_for_tampering(chain, append_record, monkeypatch):
    """The walk reads a snapshot; a worker appending meanwhile moves the head past it."""
    real_walk = selectors._records_in_chain_order
    snapshots_taken = []

    def snapshot_then_append(**kwargs):
        rows = list(real_walk(**kwargs))
        first_walk = not snapshots_taken
        snapshots_taken.append(kwargs)
        yield from rows
        if first_walk:
            append_record(output_text="appended during verification")

    monkeypatch.setattr(selectors, "_records_in_chain_order", snapshot_then_append)

    verdict = selectors.audit_chain_verify()
    assert verdict.ok, str(verdict)
    assert verdict.checked == 6
    assert len(snapshots_taken) == 2  # the record committed after the snapshot was walked too


def test_scheduled_verification_reports_the_chain_tip_and_a_break(db, caplog):
    from apps.audit.models import InferenceKind
    from apps.audit.services import Actor, audited
    from apps.audit.tasks import audit_chain_verify_scheduled

    for n in range(3):
        with audited(kind=InferenceKind.SCORE, actor=Actor.scheduled("risk-scan"), model_name="m", model_input=n) as c:
            c.output = n
    outcome = audit_chain_verify_scheduled.apply().get()
    assert outcome["ok"] is True and outcome["head_seq"] == 3 and outcome["checked"] == 3
    tamper("UPDATE audit_inferencerecord SET model_name = 'forged' WHERE seq = 2")
    # An edit in place that leaves the hashes alone is for the full walk (the daily job) to find.
    with caplog.at_level("ERROR", logger="apps.audit.tasks"):
        outcome = audit_chain_verify_scheduled.apply(kwargs={"full": True}).get()
    assert outcome["ok"] is False and outcome["broken_seq"] == 2 and outcome["mode"] == "full"
    assert any("BROKEN" in r.getMessage() for r in caplog.records)


@pytest.mark.django_db(transaction=True)
def test_a_walk_over_many_batches_checks_every_record(append_record, monkeypatch):
    """Outside a transaction PostgreSQL fetches the next batch on a second connection while hashing."""
    monkeypatch.setattr(selectors, "VERIFY_BATCH_SIZE", 4)
    records = [append_record(output_text=f"answer {n}") for n in range(1, 24)]
    verdict = selectors.audit_chain_verify()
    assert verdict.ok and verdict.checked == 23 and verdict.tip_hash == records[-1].record_hash

    tamper("UPDATE audit_inferencerecord SET output_text = 'doctored' WHERE seq = 14")
    verdict = selectors.audit_chain_verify()
    assert not verdict.ok and verdict.broken_seq == 14 and verdict.checked == 13
