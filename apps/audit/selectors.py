"""Reads of the audit log, including chain verification."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

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


def _records_in_chain_order(batch_size: int = 2000) -> Iterator[InferenceRecord]:
    return InferenceRecord.objects.order_by("seq").iterator(chunk_size=batch_size)


def audit_chain_verify() -> ChainVerdict:
    """Walk the chain from the start and name the first record that does not hold.

    Detects a changed row (its hash no longer matches its content), a removed row
    (a gap in ``seq`` or a ``prev_hash`` that points past it, or a tip that no
    longer matches the head), and an inserted row (a ``seq`` or ``prev_hash`` out of line).
    """
    expected_prev, expected_seq, checked = GENESIS_HASH, 1, 0
    for record in _records_in_chain_order():
        if record.seq != expected_seq:
            reason = (
                f"expected seq {expected_seq}, found {record.seq} (record(s) removed)"
                if record.seq > expected_seq
                else f"expected seq {expected_seq}, found {record.seq} (record inserted)"
            )
            return ChainVerdict(False, checked, record.seq, record.pk, reason)
        if record.prev_hash != expected_prev:
            return ChainVerdict(False, checked, record.seq, record.pk, "prev_hash does not match the previous record")
        if chain_hash(record.prev_hash, record.hashed_content()) != record.record_hash:
            return ChainVerdict(False, checked, record.seq, record.pk, "content does not match its hash (altered)")
        expected_prev, expected_seq, checked = record.record_hash, expected_seq + 1, checked + 1
    head = AuditChainHead.objects.filter(pk=1).first()
    last_seq = head.last_seq if head else 0
    last_hash = head.last_hash if head else GENESIS_HASH
    if (last_seq, last_hash) != (expected_seq - 1, expected_prev):
        return ChainVerdict(
            False, checked, last_seq, None, f"chain tip is seq {expected_seq - 1} but the head records seq {last_seq}"
        )
    return ChainVerdict(True, checked)
