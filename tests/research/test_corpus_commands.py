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
    assert {d.doc_type for d in documents} == {DocumentType.FORM_10K}
    assert all(d.access_level == "public" and d.published_on and d.company for d in documents)
    # The first filings are SanDisk's: fiscal years ending on 3 January 2010 and 2 January 2011.
    sandisk = documents.filter(company__ticker="SNDK").order_by("period_end")
    assert [(d.fiscal_year, d.fiscal_period, d.period_end.isoformat()) for d in sandisk] == [
        (2009, "FY", "2010-01-03"),
        (2010, "FY", "2011-01-02"),
    ]
    assert all(d.published_on > d.period_end for d in documents)
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
    # The generator knows each document's form and, for results documents, the fiscal quarter it covers.
    types = set(Document.objects.values_list("doc_type", flat=True))
    assert "filing" not in types and {"8-K", "news", "transcript"} <= types
    assert Document.objects.filter(doc_type="transcript", fiscal_year__isnull=False).exists()
    for document in Document.objects.filter(doc_type__in=["10-Q", "10-K", "transcript"]):
        assert document.fiscal_year and document.period_end and document.period_end < document.published_on
        assert document.fiscal_period == ("FY" if document.doc_type == "10-K" else f"Q{document.period_end.month // 3}")
        assert document.fiscal_year == document.period_end.year
