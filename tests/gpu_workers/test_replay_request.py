"""A replay rebuilds the generation request from the audit record's full messages, however long the prompt."""

from __future__ import annotations

import json

import pytest

from apps.audit.models import InferenceKind, InferenceRecord
from apps.audit.services import MAX_STORED_TEXT, Actor, audited
from gpu_workers.generation.engine import GenerationRequest, GenerationResult
from gpu_workers.tasks.generation import GenerationItem, generate_audited, replay_request

pytestmark = pytest.mark.django_db


class EchoEngine:
    """Stands in for the model: the audit record, not the output, is under test."""

    model_name = registry_name = "echo"
    model_version = "echo-1"

    def predict(self, requests: list[GenerationRequest]) -> list[GenerationResult]:
        return [
            GenerationResult(r.request_id, "ok", 10, 1, "stop", "p" * 64, "", None, "", len(requests), 1.0)
            for r in requests
        ]


def test_replay_of_a_generation_with_a_long_prompt_gets_every_message_back():
    # A prompt of retrieved passages far longer than the record's readable text keeps.
    passages = "\n".join(f"[{n}] Gross margin was {n}.{n}% in the quarter." for n in range(2000))
    request = GenerationRequest(
        request_id="r1",
        messages=[{"role": "system", "content": "Quote the passages."}, {"role": "user", "content": passages}],
        regex="[a-z]+",
        max_new_tokens=7,
    )
    item = GenerationItem(request=request, actor=Actor.system("tests"), purpose="answer", use_cache=False)
    [outcome] = generate_audited(EchoEngine(), [item])

    record = InferenceRecord.objects.get(seq=outcome.record_seq)
    assert len(json.dumps(request.messages)) > MAX_STORED_TEXT >= len(record.input_redacted)
    rebuilt = replay_request(record)
    assert rebuilt.messages == request.messages
    assert (rebuilt.regex, rebuilt.max_new_tokens) == ("[a-z]+", 7)


def test_replay_of_a_record_written_before_the_messages_field_reads_the_text():
    messages = [{"role": "user", "content": "What was ACME's gross margin?"}]
    with audited(
        kind=InferenceKind.GENERATE,
        actor=Actor.system("tests"),
        model_name="echo",
        model_input={"messages": messages},
        input_redacted=json.dumps(messages),
    ) as call:
        call.output = "ok"
    assert call.record.input_messages is None
    assert replay_request(call.record).messages == messages
