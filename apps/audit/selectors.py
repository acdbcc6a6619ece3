"""Reads of the audit log, including chain verification."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

from django.core.cache import cache
from django.db import connections
from django.db.models import BooleanField, F, Func, Q, QuerySet
from django.utils import timezone

from apps.audit.hashing import GENESIS_HASH, chain_hash
from apps.audit.models import AuditChainHead, InferenceRecord


@dataclass(frozen=True)
class ChainVerdict:
    ok: bool
    checked: int
    broken_seq: int | None = None
    broken_id: int | None = None
    reason: str = ""

    def __str__(self) -> str:
        if self.ok:
            return f"audit chain intact: {self.checked} records verified"
        return f"audit chain BROKEN at record seq={self.broken_seq} id={self.broken_id}: {self.reason}"


def _records_in_chain_order(
    *, after_seq: int | None = None, up_to_seq: int | None = None, batch_size: int = 2000
) -> Iterator[InferenceRecord]:
    # No lower bound by default: a forged row numbered 0 must be walked (and caught) too.
    records = InferenceRecord.objects.all()
    if after_seq is not None:
        records = records.filter(seq__gt=after_seq)
    if up_to_seq is not None:
        records = records.filter(seq__lte=up_to_seq)
    return records.order_by("seq").iterator(chunk_size=batch_size)


@dataclass
class _ChainWalk:
    """How far the chain has been checked: the last good record and how many came before it."""

    checked: int = 0
    tip_seq: int = 0
    tip_hash: str = GENESIS_HASH
    tip_id: int | None = None

    def extend(self, records: Iterable[InferenceRecord]) -> ChainVerdict | None:
        """Check records that should continue the chain from the tip; the first that does not is the verdict."""
        for record in records:
            expected_seq = self.tip_seq + 1
            if record.seq != expected_seq:
                reason = (
                    f"expected seq {expected_seq}, found {record.seq} (record(s) removed)"
                    if record.seq > expected_seq
                    else f"expected seq {expected_seq}, found {record.seq} (record inserted)"
                )
                return ChainVerdict(False, self.checked, record.seq, record.pk, reason)
            if record.prev_hash != self.tip_hash:
                return ChainVerdict(
                    False, self.checked, record.seq, record.pk, "prev_hash does not match the previous record"
                )
            if chain_hash(record.prev_hash, record.hashed_content()) != record.record_hash:
                return ChainVerdict(
                    False, self.checked, record.seq, record.pk, "content does not match its hash (altered)"
                )
            self.checked, self.tip_seq, self.tip_hash, self.tip_id = (
                self.checked + 1,
                record.seq,
                record.record_hash,
                record.pk,
            )
        return None


def audit_chain_verify() -> ChainVerdict:
    """Walk the chain from the start and name the first record that does not hold.

    Detects a changed row (its hash no longer matches its content), a removed row
    (a gap in ``seq`` or a ``prev_hash`` that points past it, or a tip short of the
    head), and an inserted row (a ``seq`` or ``prev_hash`` out of line, or a row past the head).

    Appends may commit while this runs. The walk reads one snapshot and the head is
    read after it, so the head may be ahead of the walk: the rows committed in between
    are walked too before anything is compared, and a busy chain is not reported broken.
    """
    walk = _ChainWalk()
    verdict = walk.extend(_records_in_chain_order())
    if verdict is not None:
        return verdict
    head = AuditChainHead.objects.filter(pk=1).first()
    head_seq = head.last_seq if head else 0
    head_hash = head.last_hash if head else GENESIS_HASH
    if walk.tip_seq > head_seq:
        # The head moves in the same transaction as the record it points to and only
        # forward, so a row the walk saw beyond it was not written by the append service.
        first_past = InferenceRecord.objects.filter(seq=head_seq + 1).values_list("pk", flat=True).first()
        return ChainVerdict(
            False,
            head_seq,
            head_seq + 1,
            first_past,
            f"record seq {head_seq + 1} lies past the chain head (seq {head_seq}): inserted behind the service",
        )
    if walk.tip_seq < head_seq:
        verdict = walk.extend(_records_in_chain_order(after_seq=walk.tip_seq, up_to_seq=head_seq))
        if verdict is not None:
            return verdict
        if walk.tip_seq < head_seq:
            return ChainVerdict(
                False,
                walk.checked,
                walk.tip_seq + 1,
                None,
                f"record seq {walk.tip_seq + 1} is missing: the chain ends at seq {walk.tip_seq} "
                f"but the head records seq {head_seq} (removed)",
            )
    if walk.tip_hash != head_hash:
        return ChainVerdict(
            False, walk.checked, head_seq, walk.tip_id, f"record seq {head_seq}'s hash differs from the chain head's"
        )
    return ChainVerdict(True, walk.checked)


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


# Verifying walks the whole chain; a busy console should not do that on every page view.
CHAIN_STATUS_TTL_SECONDS = 30
CHAIN_STATUS_CACHE_KEY = "audit:chain-status"


def audit_chain_status(*, refresh: bool = False) -> dict[str, Any]:
    """The chain verdict for the console, reused for ``CHAIN_STATUS_TTL_SECONDS``.

    Not keyed on the chain's tip: on a busy chain the tip moves with every model
    call, and each page view would walk the whole chain again. The page shows when
    the verdict was reached; ``refresh`` (the "Verify now" button) walks it now.
    """
    status = None if refresh else cache.get(CHAIN_STATUS_CACHE_KEY)
    if status is None:
        tip = AuditChainHead.objects.filter(pk=1).values_list("last_seq", "last_hash").first() or (0, GENESIS_HASH)
        verdict = audit_chain_verify()
        status = {
            **asdict(verdict),
            "message": str(verdict),
            "checked_at": timezone.now(),
            "head_seq": tip[0],
            "head_hash": tip[1],
        }
        cache.set(CHAIN_STATUS_CACHE_KEY, status, CHAIN_STATUS_TTL_SECONDS)
    return status


def generation_record_replayable(seq: int) -> bool:
    """Whether record ``seq`` is a successful generation, the only kind a replay can reproduce."""
    from apps.audit.models import InferenceKind

    return InferenceRecord.objects.filter(seq=seq, kind=InferenceKind.GENERATE, status="ok").exists()
