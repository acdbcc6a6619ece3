"""Reads of the audit log, including chain verification."""

from __future__ import annotations

import contextlib
import json
import queue
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.db import connection, connections
from django.db.models import BooleanField, F, Func, JSONField, Q, QuerySet

from apps.audit.checkpoints import SignedCheckpoint, checkpoint_signature_valid
from apps.audit.hashing import GENESIS_HASH, chain_hash
from apps.audit.models import AuditChainHead, AuditVerification, InferenceRecord, record_hashed_content


@dataclass(frozen=True)
class ChainVerdict:
    ok: bool
    checked: int
    broken_seq: int | None = None
    broken_id: int | None = None
    reason: str = ""
    # The last record that held (what a checkpoint may vouch for).
    tip_seq: int = 0
    tip_hash: str = GENESIS_HASH

    def __str__(self) -> str:
        if self.ok:
            return f"audit chain intact: {self.checked} records verified"
        return f"audit chain BROKEN at record seq={self.broken_seq} id={self.broken_id}: {self.reason}"


# A row as the walk reads it: the hashed columns (JSON ones last), then record_hash and id.
# Plain tuples, no model instances: building one per record cost more than hashing it.
_HASHED = (*InferenceRecord.HASHED_FIELDS, *InferenceRecord.OPTIONAL_HASHED_FIELDS)
_JSON_COLUMNS = tuple(
    f.attname for f in InferenceRecord._meta.concrete_fields if isinstance(f, JSONField) and f.attname in _HASHED
)
_CONTENT_COLUMNS = (*(name for name in _HASHED if name not in _JSON_COLUMNS), *_JSON_COLUMNS)
VERIFY_COLUMNS = (*_CONTENT_COLUMNS, "record_hash", "id")
_SEQ, _PREV_HASH = VERIFY_COLUMNS.index("seq"), VERIFY_COLUMNS.index("prev_hash")
VERIFY_BATCH_SIZE = 5000


def _records_in_chain_order(
    *, after_seq: int | None = None, up_to_seq: int | None = None, batch_size: int | None = None
) -> Iterator[Sequence[Any]]:
    """Rows in ``seq`` order, fetched in keyset batches (each one an index range scan)."""
    batch_size = batch_size or VERIFY_BATCH_SIZE
    # No lower bound by default: a forged row numbered 0 must be walked (and caught) too.
    last = -1 if after_seq is None else after_seq
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        # Outside a transaction (the beat job, the command) rows committed so far are all
        # visible to a second connection, so it can fetch ahead.
        yield from _prefetched_batches(last, up_to_seq, batch_size)
        return
    fetch = _fetch_batch_postgresql if connection.vendor == "postgresql" else _fetch_batch
    while True:
        rows = fetch(last, up_to_seq, batch_size)
        yield from rows
        if len(rows) < batch_size:
            return
        last = rows[-1][_SEQ]


def _prefetched_batches(after_seq: int, up_to_seq: int | None, batch_size: int) -> Iterator[Sequence[Any]]:
    """The next batch fetched on a second connection while this thread hashes the current one.

    PostgreSQL builds a batch while Python hashes the previous one: the two no longer wait
    for each other, on two cores.
    """
    pending: queue.Queue[list[Sequence[Any]] | BaseException] = queue.Queue(maxsize=2)
    stop = threading.Event()

    def fetch_ahead() -> None:
        last = after_seq
        try:
            while not stop.is_set():
                rows = _fetch_batch_postgresql(last, up_to_seq, batch_size)
                pending.put(rows)
                if len(rows) < batch_size:
                    return
                last = rows[-1][_SEQ]
        except BaseException as exc:  # handed to the walking thread, which raises it
            pending.put(exc)
        finally:
            connections.close_all()  # this thread's own connection

    fetcher = threading.Thread(target=fetch_ahead, name="audit-verify-fetch", daemon=True)
    fetcher.start()
    try:
        while True:
            rows = pending.get()
            if isinstance(rows, BaseException):
                raise rows
            yield from rows
            if len(rows) < batch_size:
                return
    finally:
        stop.set()
        while fetcher.is_alive():  # a fetcher blocked on a full queue must see the stop
            with contextlib.suppress(queue.Empty):
                pending.get(timeout=0.05)
        fetcher.join()


def _fetch_batch(after_seq: int, up_to_seq: int | None, limit: int) -> list[Sequence[Any]]:
    records = InferenceRecord.objects.filter(seq__gt=after_seq)
    if up_to_seq is not None:
        records = records.filter(seq__lte=up_to_seq)
    return list(records.order_by("seq").values_list(*VERIFY_COLUMNS)[:limit])


def _postgresql_batch_sql() -> str:
    """The JSON columns of a row joined into one JSON array text: one json.loads per record.

    Decoding four jsonb columns per row one by one cost more than hashing the record, and
    building the whole row as JSON in PostgreSQL (json_build_array) cost more still.
    """
    quote = connection.ops.quote_name
    columns = {f.attname: quote(f.column) for f in InferenceRecord._meta.concrete_fields}
    # created_at already spelled as canonical_json spells a datetime (UTC, microseconds, +00:00):
    # parsing timestamps into datetimes and formatting them again cost more than hashing.
    columns["created_at"] = (
        f"""to_char({columns["created_at"]} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')"""
    )
    plain = [columns[name] for name in VERIFY_COLUMNS if name not in _JSON_COLUMNS]
    joined = " || ',' || ".join(f"coalesce({columns[name]}::text, 'null')" for name in _JSON_COLUMNS)
    seq = columns["seq"]
    return (
        f"SELECT {', '.join(plain[:-2])}, '[' || {joined} || ']', {', '.join(plain[-2:])} "
        f"FROM {quote(InferenceRecord._meta.db_table)} WHERE {seq} > %s AND {seq} <= %s ORDER BY {seq} LIMIT %s"
    )


def _fetch_batch_postgresql(after_seq: int, up_to_seq: int | None, limit: int) -> list[Sequence[Any]]:
    split = len(_CONTENT_COLUMNS) - len(_JSON_COLUMNS)
    loads = json.loads
    with connection.cursor() as cursor:
        cursor.execute(_postgresql_batch_sql(), [after_seq, up_to_seq if up_to_seq is not None else 2**63 - 1, limit])
        return [(*row[:split], *loads(row[split]), *row[split + 1 :]) for row in cursor.fetchall()]


@dataclass
class _ChainWalk:
    """How far the chain has been checked: the last good record and how many came before it."""

    checked: int = 0
    tip_seq: int = 0
    tip_hash: str = GENESIS_HASH
    tip_id: int | None = None

    def verdict(self, ok: bool, broken_seq: int | None = None, broken_id: int | None = None, reason: str = ""):
        return ChainVerdict(ok, self.checked, broken_seq, broken_id, reason, self.tip_seq, self.tip_hash)

    def extend(self, rows: Iterable[Sequence[Any]]) -> ChainVerdict | None:
        """Check rows that should continue the chain from the tip; the first that does not is the verdict."""
        checked, tip_seq, tip_hash, tip_id = self.checked, self.tip_seq, self.tip_hash, self.tip_id
        try:
            for row in rows:
                seq, record_hash, pk = row[_SEQ], row[-2], row[-1]
                expected_seq = tip_seq + 1
                if seq != expected_seq:
                    reason = (
                        f"expected seq {expected_seq}, found {seq} (record(s) removed)"
                        if seq > expected_seq
                        else f"expected seq {expected_seq}, found {seq} (record inserted)"
                    )
                    return ChainVerdict(False, checked, seq, pk, reason, tip_seq, tip_hash)
                if row[_PREV_HASH] != tip_hash:
                    return ChainVerdict(
                        False, checked, seq, pk, "prev_hash does not match the previous record", tip_seq, tip_hash
                    )
                content = record_hashed_content(dict(zip(_CONTENT_COLUMNS, row, strict=False)))
                if chain_hash(tip_hash, content) != record_hash:
                    return ChainVerdict(
                        False, checked, seq, pk, "content does not match its hash (altered)", tip_seq, tip_hash
                    )
                checked, tip_seq, tip_hash, tip_id = checked + 1, seq, record_hash, pk
            return None
        finally:
            self.checked, self.tip_seq, self.tip_hash, self.tip_id = checked, tip_seq, tip_hash, tip_id


def audit_chain_verify(*, after_seq: int = 0, after_hash: str = GENESIS_HASH) -> ChainVerdict:
    """Walk the chain and name the first record that does not hold.

    From the start by default; from a verified checkpoint (``after_seq`` whose hash is
    ``after_hash``) for an incremental check, which hashes only the records after it.

    Detects a changed row (its hash no longer matches its content), a removed row
    (a gap in ``seq`` or a ``prev_hash`` that points past it, or a tip short of the
    head), and an inserted row (a ``seq`` or ``prev_hash`` out of line, or a row past the head).

    Appends may commit while this runs. The head is read after the walk, so the head may
    be ahead of the walk: the rows committed in between are walked too before anything is
    compared, and a busy chain is not reported broken.
    """
    walk = _ChainWalk(tip_seq=after_seq, tip_hash=after_hash)
    verdict = walk.extend(_records_in_chain_order(after_seq=after_seq or None))
    if verdict is not None:
        return verdict
    head = AuditChainHead.objects.filter(pk=1).first()
    head_seq = head.last_seq if head else 0
    head_hash = head.last_hash if head else GENESIS_HASH
    if walk.tip_seq > head_seq:
        # The head moves in the same transaction as the record it points to and only
        # forward, so a row the walk saw beyond it was not written by the append service.
        first_past = InferenceRecord.objects.filter(seq=head_seq + 1).values_list("pk", flat=True).first()
        return walk.verdict(
            False,
            head_seq + 1,
            first_past,
            f"record seq {head_seq + 1} lies past the chain head (seq {head_seq}): inserted behind the service",
        )
    if walk.tip_seq < head_seq:
        verdict = walk.extend(_records_in_chain_order(after_seq=walk.tip_seq, up_to_seq=head_seq))
        if verdict is not None:
            return verdict
        if walk.tip_seq < head_seq:
            return walk.verdict(
                False,
                walk.tip_seq + 1,
                None,
                f"record seq {walk.tip_seq + 1} is missing: the chain ends at seq {walk.tip_seq} "
                f"but the head records seq {head_seq} (removed)",
            )
    if walk.tip_hash != head_hash:
        return walk.verdict(False, head_seq, walk.tip_id, f"record seq {head_seq}'s hash differs from the chain head's")
    return walk.verdict(True)


def audit_chain_check_checkpoints(
    checkpoints: Iterable[SignedCheckpoint], *, public_keys: list[Ed25519PublicKey], verdict: ChainVerdict
) -> ChainVerdict:
    """Hold an intact-looking chain against signed checkpoints kept outside the database.

    Catches what no walk of the database alone can: the newest records removed together
    with the head row rewritten (a checkpoint vouches for a seq past the end), and the chain
    rewritten from some record on with every hash recomputed (a checkpoint's seq now has
    another hash). Every checkpoint's signature is checked first, with the public keys only.
    """
    signed = sorted(checkpoints, key=lambda checkpoint: checkpoint.seq)
    if not signed:
        return replace(verdict, ok=False, reason="no signed checkpoints to compare the chain with")
    for checkpoint in signed:
        if not checkpoint_signature_valid(checkpoint, public_keys):
            return replace(
                verdict,
                ok=False,
                broken_seq=checkpoint.seq,
                broken_id=None,
                reason=f"checkpoint {checkpoint.origin} has no valid signature by the given public key(s)",
            )
    newest = signed[-1]
    if newest.seq > verdict.tip_seq:
        return replace(
            verdict,
            ok=False,
            broken_seq=verdict.tip_seq + 1,
            broken_id=None,
            reason=(
                f"the chain ends at seq {verdict.tip_seq} but checkpoint {newest.origin} "
                f"(signed {newest.created_at}) vouches for seq {newest.seq}: records were removed from its end"
            ),
        )
    stored: dict[int, tuple[str, int]] = {}
    seqs = sorted({checkpoint.seq for checkpoint in signed})
    for start in range(0, len(seqs), 1000):
        rows = InferenceRecord.objects.filter(seq__in=seqs[start : start + 1000]).values_list(
            "seq", "record_hash", "pk"
        )
        stored.update({seq: (record_hash, pk) for seq, record_hash, pk in rows})
    last_good = 0
    for checkpoint in signed:
        record_hash, pk = stored.get(checkpoint.seq, ("", None))
        if record_hash != checkpoint.record_hash:
            return replace(
                verdict,
                ok=False,
                broken_seq=checkpoint.seq,
                broken_id=pk,
                reason=(
                    f"record seq {checkpoint.seq}'s hash differs from checkpoint {checkpoint.origin} "
                    f"(signed {checkpoint.created_at}): the chain was rewritten after seq {last_good}, "
                    f"at or before seq {checkpoint.seq}"
                ),
            )
        last_good = checkpoint.seq
    return verdict


def audit_chain_last_verification() -> dict[str, Any] | None:
    """The newest verification run for the console, and how far the chain has grown since.

    Two indexed single-row reads: the console never walks the chain itself.
    """
    run = AuditVerification.objects.order_by("-started_at", "-id").first()
    if run is None:
        return None
    head_seq = AuditChainHead.objects.filter(pk=1).values_list("last_seq", flat=True).first() or 0
    return {
        **{field.name: getattr(run, field.name) for field in AuditVerification._meta.concrete_fields},
        "unverified": max(head_seq - run.head_seq, 0),
        "current_head_seq": head_seq,
    }


class _SQLiteJSONArrayHas(Func):
    """True when a JSON array column holds ``value`` as an element (SQLite's ``json_each``).

    JSONField's ``contains`` lookup does not exist on SQLite, so this spells it out.
    """

    output_field = BooleanField()

    def __init__(self, field_name: str, value: str) -> None:
        super().__init__(F(field_name))
        self.value = value

    def as_sql(self, compiler: Any, connection: Any, **extra_context: Any) -> tuple[str, tuple[Any, ...]]:
        column_sql, column_params = compiler.compile(self.source_expressions[0])
        sql = f"EXISTS (SELECT 1 FROM json_each({column_sql}) AS element WHERE element.value = %s)"
        return sql, (*column_params, self.value)


def inference_records_referencing(
    queryset: QuerySet[InferenceRecord], *, document_id: str
) -> QuerySet[InferenceRecord]:
    """Records whose ``document_ids`` or ``chunk_ids`` list holds ``document_id`` (exact element match)."""
    if connections[queryset.db].vendor == "sqlite":
        return queryset.filter(
            _SQLiteJSONArrayHas("document_ids", document_id) | _SQLiteJSONArrayHas("chunk_ids", document_id)
        )
    return queryset.filter(Q(document_ids__contains=[document_id]) | Q(chunk_ids__contains=[document_id]))


def generation_record_replayable(seq: int) -> bool:
    """Whether record ``seq`` is a successful generation, the only kind a replay can reproduce."""
    from apps.audit.models import InferenceKind

    return InferenceRecord.objects.filter(seq=seq, kind=InferenceKind.GENERATE, status="ok").exists()
