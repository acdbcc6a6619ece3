"""The audit log: one ``InferenceRecord`` per model call, hash-chained, append-only."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db import models


class InferenceKind(models.TextChoices):
    GENERATE = "generate", "Generate"
    EMBED = "embed", "Embed"
    RETRIEVE = "retrieve", "Retrieve"
    NER = "ner", "Named entities"
    SENTIMENT = "sentiment", "Sentiment"
    SCORE = "score", "Risk score"
    TRAIN = "train", "Train"


class InferenceStatus(models.TextChoices):
    OK = "ok", "OK"
    ERROR = "error", "Error"


class AppendOnlyError(Exception):
    """Raised on any attempt to change or remove an audit record through Django."""


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError("Audit records are append-only: update refused.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("Audit records are append-only: delete refused.")

    def bulk_update(self, *args: Any, **kwargs: Any) -> int:
        raise AppendOnlyError("Audit records are append-only: bulk update refused.")


class InferenceRecord(models.Model):
    """One model call. Every field except ``record_hash`` is part of the hashed content."""

    # Position in the chain: 1, 2, 3 ... without gaps, so a removed row shows.
    seq = models.PositiveBigIntegerField(unique=True, editable=False)
    created_at = models.DateTimeField(db_index=True, editable=False)

    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # "user:alice" or "schedule:risk-scan": readable even if the user is renamed.
    actor = models.CharField(max_length=200, db_index=True)
    job_id = models.UUIDField(null=True, blank=True, db_index=True)
    task_id = models.CharField(max_length=255, blank=True)

    kind = models.CharField(max_length=20, choices=InferenceKind.choices, db_index=True)
    model_name = models.CharField(max_length=200, db_index=True)
    model_version = models.CharField(max_length=200, blank=True)
    adapter_name = models.CharField(max_length=200, blank=True, db_index=True)
    adapter_version = models.CharField(max_length=200, blank=True)
    parameters = models.JSONField(default=dict, blank=True)

    input_redacted = models.TextField(blank=True)
    # A generation's full (redacted) chat messages, uncut, for replay; None for every other kind.
    input_messages = models.JSONField(null=True, blank=True, default=None)
    input_hash = models.CharField(max_length=64)
    output_text = models.TextField(blank=True)
    output_hash = models.CharField(max_length=64, blank=True)
    document_ids = models.JSONField(default=list, blank=True)
    chunk_ids = models.JSONField(default=list, blank=True)

    tokens_in = models.PositiveIntegerField(default=0)
    tokens_out = models.PositiveIntegerField(default=0)
    latency_ms = models.FloatField(default=0.0)
    status = models.CharField(max_length=10, choices=InferenceStatus.choices, db_index=True)
    error = models.TextField(blank=True)
    cache_hit = models.BooleanField(default=False)
    details = models.JSONField(default=dict, blank=True)

    prev_hash = models.CharField(max_length=64, editable=False)
    record_hash = models.CharField(max_length=64, unique=True, editable=False)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-seq"]
        indexes = [models.Index(fields=["kind", "created_at"]), models.Index(fields=["model_name", "created_at"])]

    def __str__(self) -> str:
        return f"#{self.seq} {self.kind} {self.model_name} by {self.actor}"

    # Content hashed into the chain. Changing this list changes every hash: don't.
    HASHED_FIELDS = (
        "seq", "created_at", "actor_user_id", "actor", "job_id", "task_id", "kind", "model_name",
        "model_version", "adapter_name", "adapter_version", "parameters", "input_redacted",
        "input_hash", "output_text", "output_hash", "document_ids", "chunk_ids", "tokens_in",
        "tokens_out", "latency_ms", "status", "error", "cache_hit", "details", "prev_hash",
    )  # fmt: skip
    # Added after records existed: hashed only when set, so older records keep their hashes.
    OPTIONAL_HASHED_FIELDS = ("input_messages",)

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("Audit records are append-only: update refused.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("Audit records are append-only: delete refused.")

    def hashed_content(self) -> dict[str, Any]:
        names = (*self.HASHED_FIELDS, *self.OPTIONAL_HASHED_FIELDS)
        return record_hashed_content({name: getattr(self, name) for name in names})


def record_hashed_content(values: Mapping[str, Any]) -> dict[str, Any]:
    """The content a record's hash covers, from its column values (a row, an export line).

    The one place that says which columns count: the append service, the chain walk,
    the console's per-record check and an offline verifier of an export all use it.
    """
    content = {name: values[name] for name in InferenceRecord.HASHED_FIELDS}
    for name in InferenceRecord.OPTIONAL_HASHED_FIELDS:
        if values.get(name) is not None:
            content[name] = values[name]
    return content


class AuditChainHead(models.Model):
    """The single row that serialises appends and remembers the chain's tip.

    Appenders lock it (``select_for_update``) so concurrent worker processes
    extend the chain one record at a time; the tip also reveals a removed last record.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_seq = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"chain head at seq {self.last_seq}"


class AuditCheckpoint(models.Model):
    """A verified point of the chain: every record up to ``seq`` held, and ``seq`` had ``record_hash``.

    Signed with the audit signing key (Ed25519) and also appended outside the database
    (:mod:`apps.audit.checkpoints`), so rewriting the chain and the head cannot make
    the two agree again. Verification continues from the newest one.
    """

    seq = models.PositiveBigIntegerField(unique=True, editable=False)
    record_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(editable=False)
    key_id = models.CharField(max_length=64, editable=False)
    signature = models.CharField(max_length=128, editable=False)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-seq"]

    def __str__(self) -> str:
        return f"checkpoint at seq {self.seq}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("Audit checkpoints are append-only: update refused.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("Audit checkpoints are append-only: delete refused.")


class VerificationMode(models.TextChoices):
    INCREMENTAL = "incremental", "Incremental (since the last checkpoint)"
    FULL = "full", "Full walk"


class AuditVerification(models.Model):
    """One run of chain verification: what the console shows instead of walking the chain itself."""

    started_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField()
    mode = models.CharField(max_length=20, choices=VerificationMode.choices)
    ok = models.BooleanField()
    # Records hashed in this run, and the range they covered.
    checked = models.PositiveBigIntegerField(default=0)
    from_seq = models.PositiveBigIntegerField(default=0)
    head_seq = models.PositiveBigIntegerField(default=0)
    head_hash = models.CharField(max_length=64, blank=True)
    broken_seq = models.BigIntegerField(null=True, blank=True)
    broken_id = models.BigIntegerField(null=True, blank=True)
    reason = models.TextField(blank=True)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return self.message
