"""The one audited path to model code.

Every model call in Argus runs inside :func:`audited`. It times the call and
appends one :class:`InferenceRecord` to the hash chain, also when the call
raises: an inference without a record is a bug.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.audit.hashing import chain_hash, content_hash
from apps.audit.models import AuditChainHead, InferenceKind, InferenceRecord, InferenceStatus

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
    """Append one record to the chain. The head row lock makes appends strictly sequential."""
    with transaction.atomic():
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(pk=1)
        record = InferenceRecord(
            seq=head.last_seq + 1,
            created_at=timezone.now(),
            prev_hash=head.last_hash,
            **fields,
        )
        record.record_hash = chain_hash(record.prev_hash, record.hashed_content())
        record.save(force_insert=True)
        head.last_seq = record.seq
        head.last_hash = record.record_hash
        head.save(update_fields=["last_seq", "last_hash", "updated_at"])
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
    job_id: uuid.UUID | str | None = None,
    task_id: str = "",
) -> Iterator[InferenceCall]:
    """Run a model call and record it.

    ``model_input`` is hashed, never stored; ``input_redacted`` (already free of
    PII) is stored as given. Set ``call.output`` (hashed) and optionally
    ``call.output_text`` (stored) inside the block.
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
            input_redacted=input_redacted[:MAX_STORED_TEXT],
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
