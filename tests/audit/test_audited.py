"""``audited()``: one hash-chained record per model call, on success and on failure."""

from __future__ import annotations

import json
import types
import uuid

import pytest

from apps.audit.hashing import GENESIS_HASH, chain_hash, content_hash
from apps.audit.models import InferenceKind, InferenceRecord, InferenceStatus
from apps.audit.selectors import audit_chain_verify
from apps.audit.services import MAX_STORED_TEXT, Actor, audited
from tests.audit.conftest import tamper

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake_clock(monkeypatch):
    """perf_counter as seen by the audit service: each call returns the next reading."""
    import apps.audit.services as services

    def install(*readings: float) -> None:
        remaining = iter(readings)
        monkeypatch.setattr(services, "time", types.SimpleNamespace(perf_counter=lambda: next(remaining)))

    return install


def test_successful_call_writes_one_record_with_hashes_actor_and_latency(analyst, fake_clock):
    fake_clock(100.0, 100.25)
    job_id = uuid.uuid4()
    model_input = {"prompt": "Summarise ACME Corp's 10-K; contact jane.doe@example.com"}
    output = {"summary": "Revenue grew 12%."}

    with audited(
        kind=InferenceKind.GENERATE,
        actor=Actor.for_user(analyst),
        model_name="tinyllama",
        model_version="1.1",
        adapter_name="fin-summary-lora",
        adapter_version="3",
        parameters={"temperature": 0.2, "max_new_tokens": 64},
        model_input=model_input,
        # The caller forgot to redact: the service must not store the address anyway.
        input_redacted="Summarise ACME Corp's 10-K; contact jane.doe@example.com",
        job_id=job_id,
        task_id="celery-task-1",
    ) as call:
        call.output = output
        call.output_text = "Revenue grew 12%."
        call.tokens_in, call.tokens_out = 40, 7
        call.document_ids = [17, "doc-9"]
        call.chunk_ids = ["doc-9:3"]
        call.details = {"grammar": "summary-v1"}

    record = InferenceRecord.objects.get()
    assert call.record is not None and call.record.pk == record.pk
    assert record.seq == 1 and record.prev_hash == GENESIS_HASH
    assert record.status == InferenceStatus.OK and record.error == ""
    assert record.actor == "user:ana-analyst" and record.actor_user_id == analyst.pk
    assert record.job_id == job_id and record.task_id == "celery-task-1"
    assert (record.model_name, record.model_version) == ("tinyllama", "1.1")
    assert (record.adapter_name, record.adapter_version) == ("fin-summary-lora", "3")
    assert record.parameters == {"temperature": 0.2, "max_new_tokens": 64}
    # The raw input is hashed, never stored; only the redacted text is.
    assert record.input_hash == content_hash(model_input)
    assert record.input_redacted == "Summarise ACME Corp's 10-K; contact [EMAIL]"
    assert record.output_hash == content_hash(output)
    assert record.output_text == "Revenue grew 12%."
    assert (record.tokens_in, record.tokens_out) == (40, 7)
    assert record.document_ids == ["17", "doc-9"] and record.chunk_ids == ["doc-9:3"]
    assert record.latency_ms == pytest.approx(250.0)
    assert record.record_hash == chain_hash(record.prev_hash, record.hashed_content())
    assert audit_chain_verify().ok


def test_failing_call_is_recorded_as_error_and_the_exception_propagates(fake_clock):
    fake_clock(5.0, 5.5)
    with (
        pytest.raises(RuntimeError, match="CUDA out of memory"),
        audited(
            kind=InferenceKind.EMBED,
            actor=Actor.scheduled("nightly-reindex"),
            model_name="all-MiniLM-L6-v2",
            model_input=["a text to embed"],
        ) as call,
    ):
        call.tokens_in = 5
        raise RuntimeError("CUDA out of memory")

    record = InferenceRecord.objects.get()
    assert record.status == InferenceStatus.ERROR
    assert record.error == "RuntimeError: CUDA out of memory"
    assert record.output_hash == ""
    assert record.actor == "schedule:nightly-reindex" and record.actor_user_id is None
    assert record.input_hash == content_hash(["a text to embed"])
    assert record.tokens_in == 5
    assert record.latency_ms == pytest.approx(500.0)
    assert record.record_hash == chain_hash(record.prev_hash, record.hashed_content())


def test_consecutive_calls_link_each_record_to_the_previous_hash():
    for text in ("first", "second", "third"):
        with audited(
            kind=InferenceKind.SENTIMENT, actor=Actor.system("tests"), model_name="finbert", model_input=text
        ) as call:
            call.output = {"label": "neutral"}

    records = list(InferenceRecord.objects.order_by("seq"))
    assert [r.seq for r in records] == [1, 2, 3]
    assert records[0].prev_hash == GENESIS_HASH
    assert records[1].prev_hash == records[0].record_hash
    assert records[2].prev_hash == records[1].record_hash
    assert len({r.record_hash for r in records}) == 3
    verdict = audit_chain_verify()
    assert verdict.ok and verdict.checked == 3


def test_generation_messages_are_stored_whole_scrubbed_and_hashed():
    long_context = "Revenue grew 12% in the quarter. " * 1000  # well past the 20,000-character text cut
    messages = [
        {"role": "system", "content": "Answer from the passages."},
        {"role": "user", "content": long_context + "Write to cfo@acme.example with questions."},
    ]
    with audited(
        kind=InferenceKind.GENERATE,
        actor=Actor.system("tests"),
        model_name="tinyllama",
        model_input={"messages": messages},
        input_redacted=json.dumps(messages),
        input_messages=messages,
    ) as call:
        call.output = "ok"

    record = InferenceRecord.objects.get()
    assert len(record.input_redacted) == MAX_STORED_TEXT  # the readable text is cut ...
    stored = record.input_messages  # ... the messages are not
    assert stored[0] == messages[0]
    assert stored[1]["content"] == long_context + "Write to [EMAIL] with questions."
    assert record.hashed_content()["input_messages"] == stored
    assert audit_chain_verify().ok
    tamper("UPDATE audit_inferencerecord SET input_messages = NULL")
    assert not audit_chain_verify().ok


def test_records_without_messages_hash_as_before_the_field_existed(append_record):
    """Records written before ``input_messages`` existed must still verify: the field is hashed only when set."""
    record = append_record(output_text="an embedding")
    assert record.input_messages is None
    content_as_before = {name: getattr(record, name) for name in InferenceRecord.HASHED_FIELDS}
    assert record.record_hash == chain_hash(record.prev_hash, content_as_before)
