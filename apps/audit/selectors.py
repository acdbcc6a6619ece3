"""Reads of the audit log, including chain verification."""

from __future__ import annotations

import contextlib
import hashlib
import json
import queue
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.db import DataError, connection, connections
from django.db.models import (
    AutoField,
    BooleanField,
    CharField,
    DateTimeField,
    F,
    FloatField,
    ForeignKey,
    Func,
    IntegerField,
    JSONField,
    Q,
    QuerySet,
    TextField,
    UUIDField,
)

from apps.audit import chain_ranges
from apps.audit.checkpoints import SignedCheckpoint, checkpoint_signature_valid
from apps.audit.hashing import CANONICAL_SPELLING_BY_TYPE, GENESIS_HASH, CanonicalRowEncoder, chain_hash
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
    *,
    after_seq: int | None = None,
    up_to_seq: int | None = None,
    batch_size: int | None = None,
    rendered: bool = False,
) -> Iterator[Sequence[Any]]:
    """Rows in ``seq`` order, fetched in keyset batches (each one an index range scan).

    ``rendered`` (PostgreSQL only): rows with their content spelled by the database, see
    ``_rendered_batch_sql``; otherwise the ``VERIFY_COLUMNS`` values.
    """
    batch_size = batch_size or VERIFY_BATCH_SIZE
    # No lower bound by default: a forged row numbered 0 must be walked (and caught) too.
    last = -1 if after_seq is None else after_seq
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        # Outside a transaction (the beat job, the command) rows committed so far are all
        # visible to a second connection, so it can fetch ahead.
        yield from _prefetched_batches(last, up_to_seq, batch_size, rendered=rendered)
        return
    if connection.vendor == "postgresql":
        fetch = _fetch_rendered_batch if rendered else _fetch_batch_postgresql
    else:
        fetch = _fetch_batch
    while True:
        rows = fetch(last, up_to_seq, batch_size)
        yield from rows
        if len(rows) < batch_size:
            return
        last = rows[-1][_SEQ]


def _prefetched_batches(
    after_seq: int, up_to_seq: int | None, batch_size: int, *, rendered: bool = False
) -> Iterator[Sequence[Any]]:
    """The next batch fetched on a second connection while this thread hashes the current one.

    PostgreSQL builds a batch while Python hashes the previous one: the two no longer wait
    for each other, on two cores.
    """
    pending: queue.Queue[list[Sequence[Any]] | BaseException] = queue.Queue(maxsize=2)
    stop = threading.Event()
    fetch = _fetch_rendered_batch if rendered else _fetch_batch_postgresql

    def fetch_ahead() -> None:
        last = after_seq
        try:
            while not stop.is_set():
                rows = fetch(last, up_to_seq, batch_size)
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


def _canonical_timestamp_sql(column: str) -> str:
    """A timestamptz as canonical_json spells a datetime: UTC, microseconds, +00:00.

    A year outside 1..9999 cannot come from Python, and to_char would spell the same moment
    BC exactly as AD (it writes no era): such a value is spelled 'out of range', which matches
    no hashed record, so a date moved into another era shows as altered.
    """
    utc = f"{column} AT TIME ZONE 'UTC'"
    return (
        f"CASE WHEN {utc} < '0001-01-01' OR {utc} >= '10000-01-01' THEN 'out of range' "
        f"""ELSE to_char({utc}, 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"') END"""
    )


def _postgresql_batch_sql() -> str:
    """The JSON columns of a row joined into one JSON array text: one json.loads per record.

    Decoding four jsonb columns per row one by one cost more than hashing the record, and
    building the whole row as JSON in PostgreSQL (json_build_array) cost more still.
    """
    quote = connection.ops.quote_name
    columns = {f.attname: quote(f.column) for f in InferenceRecord._meta.concrete_fields}
    # created_at already spelled as canonical_json spells a datetime (UTC, microseconds, +00:00):
    # parsing timestamps into datetimes and formatting them again cost more than hashing.
    columns["created_at"] = _canonical_timestamp_sql(columns["created_at"])
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


# --- rows with their content spelled by PostgreSQL ---------------------------------------
#
# A rendered row: (seq, prev_hash, content template, JSON columns as one array text,
# *float columns, record_hash, id). The template is the record's canonical JSON with every
# value PostgreSQL spells as canonical_json does already in place (text and uuid through
# to_json, which escapes exactly what json.dumps(ensure_ascii=False) escapes; integers,
# booleans; created_at as below) and %s where Python must spell: the JSON columns (sorted
# keys) and floats (repr). One text column per record instead of two dozen Python objects
# halves the Python work per record, and Python work is what verification waits for.
_PYTHON_SPELLED = tuple(
    sorted((*_JSON_COLUMNS, *(f.attname for f in InferenceRecord._meta.concrete_fields if isinstance(f, FloatField))))
)
_FLOAT_COLUMNS = tuple(name for name in _PYTHON_SPELLED if name not in _JSON_COLUMNS)
_SORTED_JSON_COLUMNS = tuple(sorted(_JSON_COLUMNS))
_RENDERED_PREV_HASH, _RENDERED_FLOATS_AT = 1, 4
# For each %s of the template, in key order: (from the JSON array?, its index, omitted when None?)
_RENDERED_ARGUMENTS = tuple(
    (
        name in _JSON_COLUMNS,
        _SORTED_JSON_COLUMNS.index(name) if name in _JSON_COLUMNS else _RENDERED_FLOATS_AT + _FLOAT_COLUMNS.index(name),
        name in InferenceRecord.OPTIONAL_HASHED_FIELDS,
    )
    for name in _PYTHON_SPELLED
)


def _rendered_value_sql(field: Any, column: str) -> str:
    if isinstance(field, DateTimeField):
        return f"""'"' || {_canonical_timestamp_sql(column)} || '"'"""
    if isinstance(field, BooleanField | IntegerField) or (
        isinstance(field, ForeignKey) and isinstance(field.target_field, IntegerField | AutoField)
    ):
        return f"{column}::text"
    if isinstance(field, CharField | TextField | UUIDField):
        # %% for the template; to_json's string escaping is json.dumps(ensure_ascii=False)'s.
        return f"replace(to_json({column})::text, '%', '%%')"
    raise TypeError(f"no PostgreSQL spelling for hashed field {field.name} ({type(field).__name__})")


def _rendered_batch_sql() -> str:
    quote = connection.ops.quote_name
    fields = {f.attname: f for f in InferenceRecord._meta.concrete_fields}
    columns = {name: quote(f.column) for name, f in fields.items()}
    pieces = []
    for index, name in enumerate(sorted(_HASHED)):
        key = json.dumps(name) + ":"
        separator = "," if index else ""
        if name in _PYTHON_SPELLED:
            piece = f"'{separator}{key}%s'"
        else:
            piece = f"'{separator}{key}' || coalesce({_rendered_value_sql(fields[name], columns[name])}, 'null')"
        if name in InferenceRecord.OPTIONAL_HASHED_FIELDS:
            # Absent when NULL (SQL or JSON null), as record_hashed_content leaves it out.
            piece = f"CASE WHEN {columns[name]} IS NULL OR {columns[name]} = 'null'::jsonb THEN '' ELSE {piece} END"
        pieces.append(f"({piece})")
    template = "'{' || " + " || ".join(pieces) + " || '}'"
    joined = " || ',' || ".join(f"coalesce({columns[name]}::text, 'null')" for name in _SORTED_JSON_COLUMNS)
    floats = "".join(f"{columns[name]}, " for name in _FLOAT_COLUMNS)
    seq = columns["seq"]
    select = (
        f"SELECT {seq}, {columns['prev_hash']}, {template}, '[' || {joined} || ']', {floats}"
        f"{columns['record_hash']}, {columns['id']} FROM {quote(InferenceRecord._meta.db_table)}"
    )
    # The template's own % signs, doubled once more for the driver's placeholders.
    return select.replace("%", "%%") + f" WHERE {seq} > %s AND {seq} <= %s ORDER BY {seq} LIMIT %s"


def _fetch_rendered_batch(after_seq: int, up_to_seq: int | None, limit: int) -> list[Sequence[Any]]:
    with connection.cursor() as cursor:
        cursor.execute(_rendered_batch_sql(), [after_seq, up_to_seq if up_to_seq is not None else 2**63 - 1, limit])
        return cursor.fetchall()


def _rendered_row_hash_matches(prev_hash: str, row: Sequence[Any], record_hash: str) -> bool:
    """The rendered row's content chained to ``prev_hash`` hashes to ``record_hash``.

    A mismatch is confirmed with the record fetched and hashed the reference way before it
    counts, so a spelling PostgreSQL got different could cost time, never raise a false alarm.
    A match cannot hide a change either: every spelling here is valid JSON, one text per
    value, so the text equals the hashed content's only when the stored values are the ones hashed.
    """
    try:
        json_values = json.loads(row[3])
        arguments = []
        for from_json, index, optional in _RENDERED_ARGUMENTS:
            value = json_values[index] if from_json else row[index]
            if optional and value is None:
                continue
            arguments.append(CANONICAL_SPELLING_BY_TYPE[type(value)](value))
        text = row[2] % tuple(arguments)
    except (KeyError, TypeError, ValueError):
        text = None
    if text is not None and hashlib.sha256((prev_hash + text).encode()).hexdigest() == record_hash:
        return True
    return _reference_hash_of_seq_matches(prev_hash, row[0], record_hash)


def _reference_hash_of_seq_matches(prev_hash: str, seq: int, record_hash: str) -> bool:
    try:
        rows = _fetch_batch_postgresql(seq - 1, seq, 1)
    except (ValueError, DataError):  # a value Python cannot even load was not hashed by Python
        return False
    return bool(rows) and reference_row_hash(prev_hash, rows[0]) == record_hash


_ROW_ENCODER = CanonicalRowEncoder(_CONTENT_COLUMNS, optional=InferenceRecord.OPTIONAL_HASHED_FIELDS)
ALTERED = "content does not match its hash (altered)"


def reference_row_hash(prev_hash: str, row: Sequence[Any]) -> str:
    """A row's chain hash as the append service computes it: the content dict, then ``chain_hash``."""
    return chain_hash(prev_hash, record_hashed_content(dict(zip(_CONTENT_COLUMNS, row, strict=False))))


def _fast_row_hash(prev_hash: str, row: Sequence[Any]) -> str:
    text = _ROW_ENCODER.encode(row)
    if text is None:
        return reference_row_hash(prev_hash, row)
    return hashlib.sha256((prev_hash + text).encode()).hexdigest()


def row_hash_matches(prev_hash: str, row: Sequence[Any], record_hash: str) -> bool:
    """Does the row's content, chained to ``prev_hash``, hash to ``record_hash``?

    Spelled by the fast row encoder; a mismatch is confirmed by the reference spelling
    before it counts, so a spelling the fast encoder got wrong could cost time, never a
    false alarm. It cannot hide a change either: it writes valid JSON, one text per value,
    so its text equals the stored content's only when the values are the stored ones.
    """
    if _fast_row_hash(prev_hash, row) == record_hash:
        return True
    return reference_row_hash(prev_hash, row) == record_hash


def link_verdict(walk: _ChainWalk, seq: int, pk: int | None, prev_hash: str) -> ChainVerdict | None:
    """Does a record numbered ``seq`` pointing to ``prev_hash`` continue the walk's tip?"""
    expected_seq = walk.tip_seq + 1
    if seq != expected_seq:
        reason = (
            f"expected seq {expected_seq}, found {seq} (record(s) removed)"
            if seq > expected_seq
            else f"expected seq {expected_seq}, found {seq} (record inserted)"
        )
        return walk.verdict(False, seq, pk, reason)
    if prev_hash != walk.tip_hash:
        return walk.verdict(False, seq, pk, "prev_hash does not match the previous record")
    return None


@dataclass
class _ChainWalk:
    """How far the chain has been checked: the last good record and how many came before it."""

    checked: int = 0
    tip_seq: int = 0
    tip_hash: str = GENESIS_HASH
    tip_id: int | None = None
    # reference_row_hash: the walk as it was before the fast encoder (benchmarks, tests).
    reference: bool = False
    # Rows as _rendered_batch_sql spells them (PostgreSQL).
    rendered: bool = False

    def verdict(self, ok: bool, broken_seq: int | None = None, broken_id: int | None = None, reason: str = ""):
        return ChainVerdict(ok, self.checked, broken_seq, broken_id, reason, self.tip_seq, self.tip_hash)

    def extend(self, rows: Iterable[Sequence[Any]]) -> ChainVerdict | None:
        """Check rows that should continue the chain from the tip; the first that does not is the verdict."""
        checked, tip_seq, tip_hash, tip_id = self.checked, self.tip_seq, self.tip_hash, self.tip_id
        if self.rendered:
            matches, prev_at = _rendered_row_hash_matches, _RENDERED_PREV_HASH
        else:
            matches, prev_at = (_reference_row_hash_matches if self.reference else row_hash_matches), _PREV_HASH
        try:
            for row in rows:
                seq, record_hash, pk = row[_SEQ], row[-2], row[-1]
                if seq != tip_seq + 1 or row[prev_at] != tip_hash:
                    self.checked, self.tip_seq, self.tip_hash, self.tip_id = checked, tip_seq, tip_hash, tip_id
                    return link_verdict(self, seq, pk, row[prev_at])
                if not matches(tip_hash, row, record_hash):
                    return ChainVerdict(False, checked, seq, pk, ALTERED, tip_seq, tip_hash)
                checked, tip_seq, tip_hash, tip_id = checked + 1, seq, record_hash, pk
            return None
        finally:
            self.checked, self.tip_seq, self.tip_hash, self.tip_id = checked, tip_seq, tip_hash, tip_id


def _reference_row_hash_matches(prev_hash: str, row: Sequence[Any], record_hash: str) -> bool:
    return reference_row_hash(prev_hash, row) == record_hash


def audit_chain_verify(
    *, after_seq: int = 0, after_hash: str = GENESIS_HASH, workers: int | None = None, reference: bool = False
) -> ChainVerdict:
    """Walk the chain and name the first record that does not hold.

    From the start by default; from a verified checkpoint (``after_seq`` whose hash is
    ``after_hash``) for an incremental check, which hashes only the records after it.

    Detects a changed row (its hash no longer matches its content), a removed row
    (a gap in ``seq`` or a ``prev_hash`` that points past it, or a tip short of the
    head), and an inserted row (a ``seq`` or ``prev_hash`` out of line, or a row past the head).

    Appends may commit while this runs. The head is read after the walk, so the head may
    be ahead of the walk: the rows committed in between are walked too before anything is
    compared, and a busy chain is not reported broken.

    On PostgreSQL outside a transaction a long walk is split into ``seq`` ranges checked by
    ``workers`` processes (default: one per core; 1 walks in this process), with the same
    verdict. ``reference=True`` walks as verification did before that and before the fast
    row encoder (one process, a content dict per record): the yardstick for benchmarks and tests.
    """
    rendered = connection.vendor == "postgresql" and not reference
    walk = _ChainWalk(tip_seq=after_seq, tip_hash=after_hash, reference=reference, rendered=rendered)
    verdict = _walk_to_the_end(walk, after_seq=after_seq, workers=1 if reference else workers)
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
        verdict = walk.extend(_records_in_chain_order(after_seq=walk.tip_seq, up_to_seq=head_seq, rendered=rendered))
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


def _walk_to_the_end(walk: _ChainWalk, *, after_seq: int, workers: int | None) -> ChainVerdict | None:
    """Extend ``walk`` over every record after ``after_seq``, in worker processes when it pays."""
    workers = chain_ranges.default_workers() if workers is None else workers
    if workers > 1 and walk.rendered and chain_ranges.parallel_walk_possible():
        last_seq = InferenceRecord.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
        # No lower bound by default: a forged row numbered 0 must be walked (and caught) too.
        lower = after_seq or -1
        if last_seq - lower >= chain_ranges.PARALLEL_MIN_RECORDS:
            return chain_ranges.walk_in_parallel(walk, after_seq=lower, last_seq=last_seq, workers=workers)
    return walk.extend(_records_in_chain_order(after_seq=after_seq or None, rendered=walk.rendered))


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
