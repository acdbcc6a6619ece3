from __future__ import annotations

from pathlib import Path
from unittest import mock

import pytest
from django.conf import settings
from django.core.management import call_command

from apps.jobs.models import Job
from apps.research.models import Company, Document, DocumentType

pytestmark = pytest.mark.django_db

SHARED_10K = Path(settings.ARGUS_SHARED_DATA) / "sec_10k_items" / "edgar_crawler_10k_items.jsonl"


@pytest.mark.shared_data
@pytest.mark.skipif(not SHARED_10K.exists(), reason=f"shared 10-K data not found at {SHARED_10K}")
def test_index_10k_corpus_queues_each_filing_once(django_capture_on_commit_callbacks):
    with (
        mock.patch("apps.jobs.services.celery_app.send_task") as send_task,
        django_capture_on_commit_callbacks(execute=True),
    ):
        call_command("index_10k_corpus", "--limit", "2")
        call_command("index_10k_corpus", "--limit", "2")
    documents = Document.objects.all()
    assert documents.count() == 2 and Job.objects.count() == 2
    assert {d.doc_type for d in documents} == {DocumentType.FILING}
    assert all(d.access_level == "public" and d.published_on and d.company for d in documents)
    assert "ITEM 7" in documents.first().file.read().decode().upper()
    assert send_task.call_count == 2


def test_load_demo_corpus_creates_companies_and_one_batch(tmp_path):
    with mock.patch("apps.jobs.services.celery_app.send_task"):
        call_command("load_demo_corpus", "--out", str(tmp_path), "--documents", "60")
        call_command("load_demo_corpus", "--out", str(tmp_path), "--documents", "60")
    assert Company.objects.count() >= 20
    assert Document.objects.count() == 60 and Job.objects.count() == 1
    assert set(Document.objects.values_list("access_level", flat=True)) <= {"public", "internal", "restricted"}
    assert Document.objects.filter(company__isnull=True).count() == 0
