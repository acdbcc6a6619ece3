"""The one audited path to model code.

Every model call in Argus runs inside :func:`audited`. It times the call and
appends one :class:`InferenceRecord` to the hash chain, also when the call
raises: an inference without a record is a bug.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from apps.audit.checkpoints import (
    SignedCheckpoint,
    checkpoint_sign,
    checkpoint_signature_valid,
    checkpoint_sink,
    key_id,
    signing_key,
)
from apps.audit.hashing import GENESIS_HASH, canonical_json, chain_hash, content_hash
from apps.audit.models import (
    AuditChainHead,
    AuditCheckpoint,
    AuditVerification,
    InferenceKind,
    InferenceRecord,
    InferenceStatus,
    VerificationMode,
)
from apps.audit.selectors import ChainVerdict, audit_chain_check_checkpoints, audit_chain_verify
from pipelines.redaction import redact_text

MAX_STORED_TEXT = 20_000


@dataclass(frozen=True)
class Actor:
    """Who asked for an inference: a user, or a named scheduled/system job."""

    label: str
    user_id: int | None = None

    @classmethod
    def for_user(cls, user: Any) -> Actor:
        return cls(label=f"user:{user.get_username()}", user_id=user.pk)

    @classmethod
    def scheduled(cls, name: str) -> Actor:
        return cls(label=f"schedule:{name}")

    @classmethod
    def system(cls, name: str) -> Actor:
        return cls(label=f"system:{name}")


@dataclass
class InferenceCall:
    """What the caller fills in while the model runs; becomes the record on exit."""

    output: Any = None
    output_text: str = ""
    tokens_in: int = 0
    tokens_out: int = 0
    document_ids: list[str] = field(default_factory=list)
    chunk_ids: list[str] = field(default_factory=list)
    cache_hit: bool = False
    details: dict[str, Any] = field(default_factory=dict)
    record: InferenceRecord | None = None


def inference_record_append(**fields: Any) -> InferenceRecord:
    """Append one record to the chain, strictly after the current head.

    On PostgreSQL a single statement moves the head from the tip this process last saw
    (compare-and-set) and inserts the record: one round trip and no explicit transaction
    when this process appended last, a re-read of the head and another try when another
    process did. Elsewhere (SQLite) the head row is locked in a transaction.
    """
    if connection.vendor == "postgresql":
        return _append_compare_and_set(fields)
    return _append_locked(fields)


def _append_locked(fields: dict[str, Any]) -> InferenceRecord:
    """Lock the head row, insert, move the head: four statements in a transaction (any database)."""
    with transaction.atomic():
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(pk=1)
        record = _new_record(fields, seq=head.last_seq + 1, prev_hash=head.last_hash)
        record.save(force_insert=True)
        head.last_seq = record.seq
        head.last_hash = record.record_hash
        head.save(update_fields=["last_seq", "last_hash", "updated_at"])
    return record


def _new_record(fields: dict[str, Any], *, seq: int, prev_hash: str) -> InferenceRecord:
    record = InferenceRecord(seq=seq, created_at=timezone.now(), prev_hash=prev_hash, **fields)
    record.record_hash = chain_hash(record.prev_hash, record.hashed_content())
    return record


# The tip this process wrote or read last, per database alias: a guess, checked by the append itself.
_last_seen_head: dict[str, tuple[int, str]] = {}
_INSERT_COLUMNS = tuple(f for f in InferenceRecord._meta.concrete_fields if not f.primary_key)
_APPEND_SQL = """
WITH moved AS (
    UPDATE {head} SET last_seq = %s, last_hash = %s, updated_at = %s
    WHERE id = 1 AND last_seq = %s AND last_hash = %s
    RETURNING 1
)
INSERT INTO {record} ({columns}) SELECT {placeholders} FROM moved RETURNING id
"""


def _append_compare_and_set(fields: dict[str, Any]) -> InferenceRecord:
    quote = connection.ops.quote_name
    sql = _APPEND_SQL.format(
        head=quote(AuditChainHead._meta.db_table),
        record=quote(InferenceRecord._meta.db_table),
        columns=", ".join(quote(f.column) for f in _INSERT_COLUMNS),
        placeholders=", ".join(["%s"] * len(_INSERT_COLUMNS)),
    )
    alias = connection.alias
    tip = _last_seen_head.get(alias)
    while True:
        if tip is None:
            head, _ = AuditChainHead.objects.get_or_create(pk=1)
            tip = (head.last_seq, head.last_hash)
        record = _new_record(fields, seq=tip[0] + 1, prev_hash=tip[1])
        values = [f.get_db_prep_save(getattr(record, f.attname), connection) for f in _INSERT_COLUMNS]
        with connection.cursor() as cursor:
            # Under READ COMMITTED a concurrent append makes the UPDATE wait for it and then
            # match nothing (the head moved): no row, no insert, and we read the head again.
            cursor.execute(sql, [record.seq, record.record_hash, record.created_at, *tip, *values])
            inserted = cursor.fetchone()
        if inserted is None:
            tip = None
            continue
        record.pk = inserted[0]
        record._state.adding = False
        record._state.db = alias
        _last_seen_head[alias] = (record.seq, record.record_hash)
        return record


@contextmanager
def audited(
    *,
    kind: InferenceKind,
    actor: Actor,
    model_name: str,
    model_version: str = "",
    adapter_name: str = "",
    adapter_version: str = "",
    parameters: dict[str, Any] | None = None,
    model_input: Any,
    input_redacted: str = "",
    input_messages: list[dict[str, Any]] | None = None,
    job_id: uuid.UUID | str | None = None,
    task_id: str = "",
) -> Iterator[InferenceCall]:
    """Run a model call and record it.

    ``model_input`` is hashed, never stored; ``input_redacted`` (redacted by the
    caller) is stored cut to ``MAX_STORED_TEXT``; ``input_messages`` (a generation's
    redacted chat messages) is stored whole, for replay. Both get a last pattern
    redaction pass here (e-mails, phone numbers, IBANs, cards, account and national
    ids), so a caller that forgot cannot put such values into the append-only log.
    Set ``call.output`` (hashed) and optionally ``call.output_text`` (stored) inside the block.
    """
    call = InferenceCall()
    started = time.perf_counter()
    status, error = InferenceStatus.OK, ""
    try:
        yield call
    except BaseException as exc:
        status, error = InferenceStatus.ERROR, f"{type(exc).__name__}: {exc}"[:MAX_STORED_TEXT]
        raise
    finally:
        call.record = inference_record_append(
            actor_user_id=actor.user_id,
            actor=actor.label,
            job_id=uuid.UUID(str(job_id)) if job_id else None,
            task_id=task_id or "",
            kind=kind,
            model_name=model_name,
            model_version=model_version,
            adapter_name=adapter_name,
            adapter_version=adapter_version,
            parameters=parameters or {},
            input_redacted=_scrub(input_redacted)[:MAX_STORED_TEXT],
            input_messages=_scrub_messages(input_messages),
            input_hash=content_hash(model_input),
            output_text=call.output_text[:MAX_STORED_TEXT],
            output_hash=content_hash(call.output) if status == InferenceStatus.OK else "",
            document_ids=[str(d) for d in call.document_ids],
            chunk_ids=[str(c) for c in call.chunk_ids],
            tokens_in=call.tokens_in,
            tokens_out=call.tokens_out,
            latency_ms=round((time.perf_counter() - started) * 1000, 3),
            status=status,
            error=error,
            cache_hit=call.cache_hit,
            details=call.details,
        )


def _scrub(text: str) -> str:
    """Pattern PII still in text meant to be redacted already: an erased value cannot be erased later."""
    return redact_text(text).text if text else text


def _scrub_messages(messages: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    if messages is None:
        return None
    return [
        {**message, "content": _scrub(message["content"])} if isinstance(message.get("content"), str) else message
        for message in messages
    ]


# --- verification runs and signed checkpoints ---------------------------------------


def audit_checkpoint_create(*, seq: int, record_hash: str) -> AuditCheckpoint | None:
    """Sign that the chain held up to ``seq`` and store it in the database and outside it.

    The outside copy is written inside the transaction that inserts the row: if it cannot
    be written, no checkpoint exists. If the row then fails to commit, the outside copy
    still holds true (it vouches for records that were verified), so nothing is lost.
    Returns None when another run checkpointed the same ``seq`` first.
    """
    key = signing_key()
    signed = checkpoint_sign(seq=seq, record_hash=record_hash, created_at=timezone.now(), key=key)
    try:
        with transaction.atomic():
            checkpoint = AuditCheckpoint(
                seq=seq,
                record_hash=record_hash,
                created_at=dt.datetime.fromisoformat(signed.created_at),
                key_id=signed.key_id,
                signature=signed.signature,
            )
            checkpoint.save(force_insert=True)
            checkpoint_sink().append(signed)
    except IntegrityError:
        return None
    return checkpoint


def _anchor_verdict(checkpoint: AuditCheckpoint) -> ChainVerdict | None:
    """Is the newest stored checkpoint genuine, and does its record still carry the signed hash?"""
    signed = SignedCheckpoint(
        seq=checkpoint.seq,
        record_hash=checkpoint.record_hash,
        created_at=json.loads(canonical_json(checkpoint.created_at)),
        key_id=checkpoint.key_id,
        signature=checkpoint.signature,
        origin=f"#{checkpoint.pk} in the database",
    )
    if not checkpoint_signature_valid(signed, [signing_key().public_key()]):
        return ChainVerdict(
            False, 0, checkpoint.seq, None, f"checkpoint at seq {checkpoint.seq} has no valid signature (forged)"
        )
    row = InferenceRecord.objects.filter(seq=checkpoint.seq).values_list("record_hash", "pk").first()
    if row is None:
        return ChainVerdict(
            False,
            0,
            checkpoint.seq,
            None,
            f"record seq {checkpoint.seq}, verified at a checkpoint, is missing (removed)",
        )
    if row[0] != checkpoint.record_hash:
        return ChainVerdict(
            False,
            0,
            checkpoint.seq,
            row[1],
            f"record seq {checkpoint.seq}'s hash differs from its signed checkpoint: the chain was rewritten",
        )
    return None


def audit_chain_verification_run(*, full: bool = False) -> AuditVerification:
    """Verify the chain, record the outcome for the console, and checkpoint the verified tip.

    Incremental by default: from the newest checkpoint, only the records appended since
    are hashed. An incremental run trusts what the checkpoint vouches for; it does not
    re-hash older records, so a row edited in place behind the service (its hash left
    alone) is found by the full walk (``full=True``: the daily beat job and ``verify_audit``),
    which also holds the chain against every checkpoint kept outside the database.
    """
    started = timezone.now()
    head_before = AuditChainHead.objects.filter(pk=1).values_list("last_seq", "last_hash").first()
    anchor = None if full else AuditCheckpoint.objects.order_by("-seq").first()
    if anchor is not None and anchor.key_id != key_id(signing_key().public_key()):
        # Signed before a key rotation: it cannot vouch for anything now; walk from the start.
        anchor = None
    verdict = _anchor_verdict(anchor) if anchor is not None else None
    if verdict is None:
        if anchor is not None:
            verdict = audit_chain_verify(after_seq=anchor.seq, after_hash=anchor.record_hash)
        else:
            verdict = audit_chain_verify()
        if verdict.ok and full:
            # Deleting checkpoint rows must not switch this off: the outside copies decide.
            outside = list(checkpoint_sink().read_all())
            if outside:
                verdict = audit_chain_check_checkpoints(
                    outside, public_keys=[signing_key().public_key()], verdict=verdict
                )
    if verdict.ok and verdict.tip_seq > (anchor.seq if anchor else 0):
        latest = AuditCheckpoint.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
        if verdict.tip_seq > latest:
            audit_checkpoint_create(seq=verdict.tip_seq, record_hash=verdict.tip_hash)
    head_seq, head_hash = head_before or (0, GENESIS_HASH)
    return AuditVerification.objects.create(
        started_at=started,
        finished_at=timezone.now(),
        mode=VerificationMode.FULL if full else VerificationMode.INCREMENTAL,
        ok=verdict.ok,
        checked=verdict.checked,
        from_seq=(anchor.seq if anchor else 0) + 1,
        head_seq=verdict.tip_seq if verdict.ok else head_seq,
        head_hash=verdict.tip_hash if verdict.ok else head_hash,
        broken_seq=verdict.broken_seq,
        broken_id=verdict.broken_id,
        reason=verdict.reason,
        message=str(verdict),
    )
