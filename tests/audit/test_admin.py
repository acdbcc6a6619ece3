"""The auditors' console: auditors filter, open and export records; nobody changes them; others see nothing."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import types
import uuid

import pytest
from django.urls import reverse

import apps.audit.selectors as audit_selectors
import apps.audit.services as services
from apps.audit.admin import EXPORT_FIELDS
from apps.audit.hashing import chain_hash
from apps.audit.models import InferenceKind, InferenceRecord, InferenceStatus, record_hashed_content
from tests.audit.conftest import tamper
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:audit_inferencerecord_changelist"
JOB_ID = uuid.UUID("3f0c9a52-7d1e-4f3a-9b1c-2a6d8e4f0b11")


@pytest.fixture
def eager_celery():
    from config.celery import app

    was = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = was


def run_verification(*, full: bool = False):
    from apps.audit.services import audit_chain_verification_run

    return audit_chain_verification_run(full=full)


@pytest.fixture
def records(append_record, monkeypatch):
    """Four records that differ in every filterable way, on four consecutive days."""

    def at(moment: dt.datetime, **fields):
        monkeypatch.setattr(services, "timezone", types.SimpleNamespace(now=lambda: moment))
        return append_record(**fields)

    utc = dt.UTC
    return [
        at(
            dt.datetime(2025, 1, 10, 9, 0, tzinfo=utc),
            kind=InferenceKind.EMBED,
            model_name="all-MiniLM-L6-v2",
            actor="user:ana-analyst",
            document_ids=["doc-1"],
            chunk_ids=["doc-1:0", "doc-1:1"],
            job_id=JOB_ID,
        ),
        at(
            dt.datetime(2025, 1, 11, 12, 0, tzinfo=utc),
            kind=InferenceKind.GENERATE,
            model_name="tinyllama",
            adapter_name="fin-summary-lora",
            actor="user:ana-analyst",
            cache_hit=True,
            document_ids=["doc-1", "doc-2"],
            chunk_ids=["doc-2:4"],
            output_text="Revenue grew 12%.",
        ),
        at(
            dt.datetime(2025, 1, 12, 23, 30, tzinfo=utc),
            kind=InferenceKind.GENERATE,
            model_name="tinyllama",
            actor="schedule:risk-scan",
            status=InferenceStatus.ERROR,
            error="RuntimeError: CUDA out of memory",
            document_ids=["doc-10"],
        ),
        at(
            dt.datetime(2025, 1, 13, 0, 10, tzinfo=utc),
            kind=InferenceKind.SCORE,
            model_name="finbert",
            adapter_name="fin-summary-lora",
            actor="schedule:risk-scan",
            cache_hit=True,
            chunk_ids=["doc-2:4"],
        ),
    ]


def listed_seqs(response) -> set[int]:
    assert response.status_code == 200
    return {record.seq for record in response.context["cl"].result_list}


def test_auditor_sees_every_record_and_the_last_verification(auditor, records):
    run_verification()
    response = client_for(auditor).get(reverse(CHANGELIST))

    assert listed_seqs(response) == {1, 2, 3, 4}
    assert b"Chain status: INTACT" in response.content
    assert b"Verified up to seq 4" in response.content
    # No bulk actions at all, so no "delete selected".
    assert response.context["action_form"] is None
    assert b"delete_selected" not in response.content


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"kind__exact": "generate"}, {2, 3}),
        ({"status__exact": "error"}, {3}),
        ({"model_name__exact": "tinyllama"}, {2, 3}),
        ({"adapter_name__exact": "fin-summary-lora"}, {2, 4}),
        ({"actor__exact": "schedule:risk-scan"}, {3, 4}),
        ({"cache_hit__exact": "1"}, {2, 4}),
        ({"created_from": "2025-01-11", "created_to": "2025-01-12"}, {2, 3}),
        ({"created_from": "2025-01-12"}, {3, 4}),
        ({"created_to": "2025-01-10"}, {1}),
        ({"created_from": "2025-01-12 23:30", "created_to": "2025-01-13T00:10:00"}, {3, 4}),
        ({"created_at__year": "2025", "created_at__month": "1", "created_at__day": "13"}, {4}),
        ({"document_id": "doc-1"}, {1, 2}),
        ({"document_id": "doc-2:4"}, {2, 4}),
        ({"document_id": "doc"}, set()),
        ({"kind__exact": "generate", "document_id": "doc-1"}, {2}),
    ],
)
def test_auditor_filters_records(auditor, records, query, expected):
    response = client_for(auditor).get(reverse(CHANGELIST), query)
    assert listed_seqs(response) == expected


def test_filters_are_offered_in_the_sidebar(auditor, records):
    content = client_for(auditor).get(reverse(CHANGELIST)).content.decode()
    for title in ("kind", "status", "model name", "adapter name", "actor", "cache hit", "date range", "document"):
        assert f'data-filter-title="{title}' in content
    assert 'name="document_id"' in content
    assert 'name="created_from"' in content and 'name="created_to"' in content


def test_invalid_date_is_rejected_not_ignored(auditor, records):
    response = client_for(auditor).get(reverse(CHANGELIST), {"created_from": "2025-13-45"})
    assert response.status_code == 302 and "e=1" in response["Location"]


def test_auditor_opens_a_record_with_all_fields_and_its_chain_position(auditor, records):
    first, second = records[0], records[1]
    client = client_for(auditor)

    response = client.get(reverse("admin:audit_inferencerecord_change", args=[second.pk]))
    assert response.status_code == 200
    content = response.content.decode()
    for value in (second.record_hash, second.prev_hash, second.input_hash, "Revenue grew 12%.", "fin-summary-lora"):
        assert value in content
    assert "2025-01-11T12:00:00.000000+00:00" in content  # created_at as hashed, in UTC
    assert "content matches record_hash" in content
    assert "prev_hash matches record #1" in content
    assert reverse("admin:audit_inferencerecord_change", args=[first.pk]) in content
    assert 'name="_save"' not in content

    response = client.get(reverse("admin:audit_inferencerecord_change", args=[first.pk]))
    assert reverse("jobs:detail", args=[JOB_ID]) in response.content.decode()


def test_detail_page_flags_an_altered_record(auditor, records):
    tamper("UPDATE audit_inferencerecord SET output_text = 'Revenue fell.' WHERE seq = 2")
    response = client_for(auditor).get(reverse("admin:audit_inferencerecord_change", args=[records[1].pk]))
    assert b"CONTENT DOES NOT MATCH record_hash" in response.content


@pytest.mark.parametrize("persona", ["auditor", "admin"])
def test_nobody_can_add_change_or_delete_through_the_console(personas, records, persona):
    client = client_for(personas[persona])
    record = records[1]
    change_url = reverse("admin:audit_inferencerecord_change", args=[record.pk])

    assert client.get(reverse("admin:audit_inferencerecord_add")).status_code == 403
    assert client.post(reverse("admin:audit_inferencerecord_add"), {"actor": "user:mallory"}).status_code == 403
    assert client.post(change_url, {"output_text": "doctored", "_save": "Save"}).status_code == 403
    assert client.get(reverse("admin:audit_inferencerecord_delete", args=[record.pk])).status_code == 403
    assert (
        client.post(reverse("admin:audit_inferencerecord_delete", args=[record.pk]), {"post": "yes"}).status_code == 403
    )
    bulk_delete = client.post(
        reverse(CHANGELIST), {"action": "delete_selected", "_selected_action": [r.pk for r in records], "post": "yes"}
    )
    assert bulk_delete.status_code in {200, 302, 403}

    assert InferenceRecord.objects.count() == 4
    assert InferenceRecord.objects.get(pk=record.pk).output_text == "Revenue grew 12%."


def test_export_links_carry_the_current_filters(auditor, records):
    content = client_for(auditor).get(reverse(CHANGELIST), {"kind__exact": "generate"}).content.decode()
    assert f'href="{reverse("admin:audit_inferencerecord_export_csv")}?kind__exact=generate"' in content
    assert f'href="{reverse("admin:audit_inferencerecord_export_jsonl")}?kind__exact=generate"' in content


def streamed_text(response) -> str:
    assert response.status_code == 200
    assert response.streaming
    return b"".join(response.streaming_content).decode()


def test_csv_export_holds_exactly_the_filtered_records_with_all_fields(auditor, records):
    response = client_for(auditor).get(reverse("admin:audit_inferencerecord_export_csv"), {"kind__exact": "generate"})

    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(streamed_text(response))))
    assert [row["seq"] for row in rows] == ["2", "3"]
    assert tuple(rows[0]) == EXPORT_FIELDS
    by_seq = {record.seq: record for record in records}
    for row in rows:
        stored = by_seq[int(row["seq"])]
        assert row["record_hash"] == stored.record_hash and row["prev_hash"] == stored.prev_hash
        assert row["model_name"] == "tinyllama"
    assert json.loads(rows[0]["document_ids"]) == ["doc-1", "doc-2"]
    assert rows[0]["cache_hit"] == "true" and rows[1]["status"] == "error"


def test_jsonl_export_holds_exactly_the_filtered_records_and_each_line_rehashes(auditor, records):
    response = client_for(auditor).get(reverse("admin:audit_inferencerecord_export_jsonl"), {"document_id": "doc-1"})

    lines = [json.loads(line) for line in streamed_text(response).splitlines()]
    assert [line["seq"] for line in lines] == [1, 2]
    assert set(lines[0]) == set(EXPORT_FIELDS)
    # An export is independently verifiable: each line's hashed content gives its record_hash.
    for line in lines:
        content = record_hashed_content(line)
        assert chain_hash(line["prev_hash"], content) == line["record_hash"]
    assert lines[1]["prev_hash"] == lines[0]["record_hash"]


def test_unfiltered_export_is_the_whole_chain_in_order(auditor, records):
    text = streamed_text(client_for(auditor).get(reverse("admin:audit_inferencerecord_export_jsonl")))
    assert [json.loads(line)["seq"] for line in text.splitlines()] == [1, 2, 3, 4]


@pytest.mark.parametrize("persona", ["analyst", "risk_officer", "outsider"])
def test_other_roles_cannot_see_the_console_or_export(personas, records, persona):
    client = client_for(personas[persona])
    for url in (
        reverse(CHANGELIST),
        reverse("admin:audit_inferencerecord_change", args=[records[0].pk]),
        reverse("admin:audit_inferencerecord_export_csv"),
        reverse("admin:audit_inferencerecord_export_jsonl"),
    ):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("admin:login")), url
    assert client.post(reverse("admin:audit_inferencerecord_verify")).status_code == 302


def test_anonymous_visitor_is_sent_to_log_in(records):
    response = client_for(None).get(reverse("admin:audit_inferencerecord_export_csv"))
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_staff_without_the_audit_permission_is_refused(outsider, records):
    outsider.is_staff = True
    outsider.save(update_fields=["is_staff"])
    client = client_for(outsider)
    assert client.get(reverse(CHANGELIST)).status_code == 403
    assert client.get(reverse("admin:audit_inferencerecord_export_csv")).status_code == 403
    assert client.get(reverse("admin:audit_inferencerecord_export_jsonl")).status_code == 403
    assert client.post(reverse("admin:audit_inferencerecord_verify")).status_code == 403


def test_console_never_walks_the_chain_in_a_request(auditor, records, monkeypatch, append_record):
    def walk_refused(**kwargs):
        raise AssertionError("the console walked the chain")

    monkeypatch.setattr(audit_selectors, "_records_in_chain_order", walk_refused)
    response = client_for(auditor).get(reverse(CHANGELIST))
    assert b"Chain status: NOT VERIFIED YET" in response.content
    monkeypatch.undo()

    run_verification()
    append_record()
    monkeypatch.setattr(audit_selectors, "_records_in_chain_order", walk_refused)
    content = client_for(auditor).get(reverse(CHANGELIST)).content.decode()
    assert "Chain status: INTACT" in content and "Verified up to seq 4" in content
    assert "1 record appended since" in content


def test_chain_status_says_broken_after_tampering(auditor, records):
    tamper("UPDATE audit_inferencerecord SET latency_ms = 1.0 WHERE seq = 3")
    run_verification()

    response = client_for(auditor).get(reverse(CHANGELIST))
    content = response.content.decode()
    assert "Chain status: BROKEN" in content
    assert "seq 3" in content
    assert reverse("admin:audit_inferencerecord_change", args=[records[2].pk]) in content


def test_verify_now_queues_an_incremental_verification_and_keeps_the_filters(
    auditor, records, append_record, eager_celery, monkeypatch
):
    client = client_for(auditor)
    run_verification()  # checkpoint at seq 4
    append_record()
    walked_from = []
    real_walk = audit_selectors._records_in_chain_order

    def recording_walk(**kwargs):
        walked_from.append(kwargs.get("after_seq"))
        return real_walk(**kwargs)

    monkeypatch.setattr(audit_selectors, "_records_in_chain_order", recording_walk)
    response = client.post(reverse("admin:audit_inferencerecord_verify"), {"changelist_query": "?kind__exact=generate"})
    assert response.status_code == 302
    assert response["Location"] == reverse(CHANGELIST) + "?kind__exact=generate"
    # Only what came after the checkpoint was read, not the whole chain.
    assert walked_from == [4]
    page = client.get(response["Location"])
    assert b"Chain status: INTACT" in page.content and b"Verified up to seq 5" in page.content
    assert any("queued" in str(message) for message in page.context["messages"])


def test_verify_now_reports_a_rewrite_behind_the_last_checkpoint(auditor, records, eager_celery):
    run_verification()
    doctored = InferenceRecord.objects.get(seq=4)
    doctored.output_text = "doctored"
    tamper(
        "UPDATE audit_inferencerecord SET output_text = %s, record_hash = %s WHERE seq = 4",
        ["doctored", chain_hash(doctored.prev_hash, doctored.hashed_content())],
    )
    client = client_for(auditor)
    client.post(reverse("admin:audit_inferencerecord_verify"))
    content = client.get(reverse(CHANGELIST)).content.decode()
    assert "Chain status: BROKEN" in content and "rewritten" in content


def test_verify_now_requires_post(auditor, records):
    assert client_for(auditor).get(reverse("admin:audit_inferencerecord_verify")).status_code == 405


def test_chain_head_is_read_only_and_hidden_from_auditors(personas, records):
    url = reverse("admin:audit_auditchainhead_changelist")
    assert client_for(personas["admin"]).get(url).status_code == 200
    assert client_for(personas["auditor"]).get(url).status_code == 403
    change = reverse("admin:audit_auditchainhead_change", args=[1])
    assert client_for(personas["admin"]).post(change, {"last_seq": 0}).status_code == 403
