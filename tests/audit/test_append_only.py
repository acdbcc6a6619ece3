"""Nothing in Django can change or remove an audit record (and on PostgreSQL, neither can plain SQL)."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from apps.audit.models import AppendOnlyError, InferenceRecord

pytestmark = pytest.mark.django_db


@pytest.fixture
def record(append_record):
    append_record()
    return append_record(output_text="original")


def _unchanged(record: InferenceRecord) -> bool:
    stored = InferenceRecord.objects.get(pk=record.pk)
    return stored.output_text == "original" and stored.record_hash == record.record_hash


def test_saving_a_changed_record_is_refused(record):
    record.output_text = "doctored"
    with pytest.raises(AppendOnlyError):
        record.save()
    assert _unchanged(record)


def test_deleting_a_record_is_refused(record):
    with pytest.raises(AppendOnlyError):
        record.delete()
    assert _unchanged(record)


def test_queryset_update_is_refused(record):
    with pytest.raises(AppendOnlyError):
        InferenceRecord.objects.filter(pk=record.pk).update(output_text="doctored")
    assert _unchanged(record)


def test_queryset_delete_is_refused(record):
    with pytest.raises(AppendOnlyError):
        InferenceRecord.objects.all().delete()
    assert InferenceRecord.objects.count() == 2


def test_bulk_update_is_refused(record):
    record.output_text = "doctored"
    with pytest.raises(AppendOnlyError):
        InferenceRecord.objects.bulk_update([record], ["output_text"])
    assert _unchanged(record)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the append-only trigger is PostgreSQL-only")
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_inferencerecord SET output_text = 'doctored' WHERE id = %s",
        "DELETE FROM audit_inferencerecord WHERE id = %s",
    ],
)
def test_postgres_trigger_refuses_plain_sql_update_and_delete(record, statement):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, [record.pk])
    assert _unchanged(record)
