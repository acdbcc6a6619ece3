"""Reports generated end to end in this process: retrieval, constrained generation, checks, audit, cache, replay.

The model is a tiny random Llama with the real SmolLM2 tokenizer: what it writes is noise,
so every assertion is about what the grammar, the checks and the plumbing guarantee.
"""

from __future__ import annotations

import json
import uuid

import pytest
from django.core.cache import caches

from apps.audit.models import InferenceKind, InferenceRecord
from apps.jobs.models import Job, JobStatus
from apps.registry.models import Adapter, AdapterStatus, BaseModel
from apps.reports.models import ReportStatus, ResearchReport
from apps.reports.services import report_request
from apps.research.services import UploadMetadata, documents_upload
from gpu_workers.generation import checkpoint_fingerprint
from pipelines.reports import INSUFFICIENT
from tests.gpu_workers.conftest import make_lora_adapter, tiny_checkpoint  # noqa: F401 - fixtures
from tests.research.test_ingest_and_search import ACME_NOTE, GLBX_MEMO

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

INDICATORS = ["gross margin", "net debt/EBITDA", "dividend yield"]


@pytest.fixture
def generation(eager_models_worker, settings, tiny_checkpoint):  # noqa: F811
    """The tiny model registered as the default base model, and a private result cache."""
    settings.ARGUS_REPORT_MAX_NEW_TOKENS = 1500
    settings.ARGUS_GENERATION_BATCH_WAIT_MS = 0
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": uuid.uuid4().hex}
    }
    return BaseModel.objects.create(
        name="tiny-llama",
        path=str(tiny_checkpoint),
        source="tests",
        content_hash=checkpoint_fingerprint(tiny_checkpoint),
        is_default=True,
    )


@pytest.fixture
def acme_note(analyst, companies):
    return documents_upload(
        uploader=analyst,
        filename="acme-q3.md",
        content_type="text/markdown",
        data=ACME_NOTE,
        meta=UploadMetadata(ticker="ACME", doc_type="report", access_level="internal"),
    ).documents[0]


def finished_report(report: ResearchReport) -> ResearchReport:
    report.refresh_from_db()
    job = Job.objects.get(pk=report.job_id)
    assert job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED)
    return report


def generation_record(report: ResearchReport) -> InferenceRecord:
    return InferenceRecord.objects.get(kind=InferenceKind.GENERATE, job_id=report.job_id)


@pytest.mark.parametrize(
    ("ticker", "template", "indicators"),
    [
        ("ACME", "equity_research", INDICATORS),
        ("ACME", "earnings_update", ["revenue growth"]),
        ("ACME", "credit_review", []),
        ("GLBX", "equity_research", ["gross margin", "free cash flow"]),  # nothing retrieved
    ],
)
def test_every_report_is_schema_valid_cited_and_audited(generation, analyst, acme_note, ticker, template, indicators):
    report = finished_report(
        report_request(user=analyst, ticker=ticker, template=template, required_indicators=indicators)
    )
    assert report.status == ReportStatus.DRAFT, report.error
    assert report.findings["valid"] is True and report.findings["schema_errors"] == []
    output = report.output
    assert output["ticker"] == ticker
    # Required indicators come first, in order: decoding enforces their presence.
    assert [m["name"] for m in output["key_metrics"][: len(indicators)]] == indicators
    cited = set(output["citations"]) | {m["citation"] for m in output["key_metrics"] if m["citation"]}
    assert cited <= set(report.chunk_ids)
    if ticker == "GLBX":
        # Empty retrieval: every factual field is "insufficient evidence", nothing is cited.
        assert report.chunk_ids == [] and output["citations"] == [] and output["risks"] == []
        assert output["rating"] == INSUFFICIENT and output["target_price"] == INSUFFICIENT
        assert all(m["value"] == INSUFFICIENT and m["citation"] is None for m in output["key_metrics"])
    record = generation_record(report)
    assert record.model_version == generation.content_hash and record.status == "ok"
    assert record.chunk_ids == report.chunk_ids and record.tokens_out > 0 and not record.cache_hit
    assert record.details["schema_hash"] and record.details["prompt_hash"]
    assert record.parameters["seed"] == 0 and record.parameters["decoding"] == "greedy"
    assert report.inference_seqs == [record.seq]
    retrievals = InferenceRecord.objects.filter(kind=InferenceKind.RETRIEVE, job_id=report.job_id)
    assert retrievals.count() == 1 + len(indicators)
    assert all(r.parameters["allowed_access_levels"] == ["internal", "public"] for r in retrievals)


def test_indicator_absent_from_the_sources_is_insufficient_not_invented(generation, analyst, acme_note):
    report = finished_report(report_request(user=analyst, ticker="ACME", required_indicators=["dividend yield"]))
    [metric] = [m for m in report.output["key_metrics"] if m["name"] == "dividend yield"]
    assert metric["value"] == INSUFFICIENT and metric["citation"] is None
    assert "dividend yield" not in report.findings.get("flagged", [])


def test_numbers_in_key_metrics_are_found_in_their_cited_chunk(generation, analyst, acme_note):
    report = finished_report(report_request(user=analyst, ticker="ACME", required_indicators=["gross margin"]))
    checks = report.findings["metric_checks"]
    grounded = [c for c in checks if c["status"] != "insufficient"]
    # The grammar offers only numbers that occur in the passages mentioning the indicator.
    assert all(c["status"] == "matched" for c in grounded), checks
    assert report.findings["matched_share"] in (None, 1.0)


def test_identical_request_is_a_cache_hit_with_the_identical_output_and_its_own_record(generation, analyst, acme_note):
    first = finished_report(report_request(user=analyst, ticker="ACME", required_indicators=["gross margin"]))
    second = finished_report(report_request(user=analyst, ticker="ACME", required_indicators=["gross margin"]))
    assert second.output == first.output
    hit = generation_record(second)
    assert hit.cache_hit is True and hit.output_hash == generation_record(first).output_hash
    assert Job.objects.get(pk=second.job_id).result["cache_hit"] is True


def test_queued_reports_are_generated_in_one_batch_without_cross_talk(generation, analyst, acme_note, settings):
    from config.celery import app
    from gpu_workers.tasks.reports import reports_generate

    settings.ARGUS_GENERATION_BATCH_SIZE = 4
    settings.ARGUS_GENERATION_BATCH_WAIT_MS = 200
    app.conf.task_always_eager = False  # queue them; the broker messages are never consumed here
    try:
        reports = [
            report_request(user=analyst, ticker="ACME", required_indicators=indicators)
            for indicators in (["gross margin"], ["net debt/EBITDA"], [], ["revenue growth", "gross margin"])
        ]
    finally:
        app.conf.task_always_eager = True
    reports_generate.apply(args=[str(reports[0].job_id)])
    batched = [finished_report(r) for r in reports]
    records = [generation_record(r) for r in batched]
    assert all(r.details["batch_size"] == 4 for r in records)
    assert all(r.status == ReportStatus.DRAFT for r in batched)

    # The same requests one by one, with an empty cache: every output is the same as in the batch.
    caches["default"].clear()
    for report in batched:
        alone = finished_report(
            report_request(user=analyst, ticker="ACME", required_indicators=report.required_indicators)
        )
        assert generation_record(alone).details["batch_size"] == 1
        assert alone.output == report.output


def test_a_batch_with_more_adapters_than_the_engine_holds_generates_every_report(
    generation,
    analyst,
    acme_note,
    settings,
    make_lora_adapter,  # noqa: F811
):
    from config.celery import app
    from gpu_workers.generation import adapter_fingerprint
    from gpu_workers.runtime import model_cache
    from gpu_workers.tasks.reports import reports_generate

    def drop_generation_engine() -> None:  # the engine's adapter limit is read when it loads
        for key in [k for k in model_cache.loaded() if k.startswith("generation:")]:
            model_cache.evict(key)

    drop_generation_engine()
    settings.ARGUS_MAX_LOADED_ADAPTERS = 1
    settings.ARGUS_GENERATION_BATCH_SIZE = 3
    settings.ARGUS_GENERATION_BATCH_WAIT_MS = 200
    for name, seed in (("writer-a", 1), ("writer-b", 2)):
        path = make_lora_adapter(name, seed)
        Adapter.objects.create(
            name=name,
            version=1,
            base_model=generation,
            path=str(path),
            file_hash=adapter_fingerprint(path),
            status=AdapterStatus.READY,
        )
    app.conf.task_always_eager = False
    try:
        reports = [
            report_request(user=analyst, ticker="ACME", adapter_name=adapter, required_indicators=["gross margin"])
            for adapter in ("writer-a", "writer-b", "")
        ]
    finally:
        app.conf.task_always_eager = True
    reports_generate.apply(args=[str(reports[0].job_id)])
    done = [finished_report(r) for r in reports]
    assert [r.status for r in done] == [ReportStatus.DRAFT] * 3, [r.error for r in done]
    assert [r.adapter_label for r in done] == ["writer-a@1", "writer-b@1", ""]
    drop_generation_engine()


def test_one_bad_item_fails_alone_and_the_rest_of_the_batch_is_generated(
    generation, analyst, acme_note, settings, monkeypatch
):
    from config.celery import app
    from gpu_workers.generation import GenerationEngine, PromptTooLong
    from gpu_workers.tasks.reports import reports_generate

    settings.ARGUS_GENERATION_BATCH_SIZE = 3
    settings.ARGUS_GENERATION_BATCH_WAIT_MS = 200
    app.conf.task_always_eager = False
    try:
        reports = [
            report_request(user=analyst, ticker="ACME", required_indicators=indicators)
            for indicators in (["gross margin"], ["revenue growth"], [])
        ]
    finally:
        app.conf.task_always_eager = True
    too_long = str(reports[1].pk)
    real_check = GenerationEngine.check

    def check(engine, request):
        if request.request_id == too_long:
            raise PromptTooLong(f"request {too_long}: prompt fills the context")
        return real_check(engine, request)

    monkeypatch.setattr(GenerationEngine, "check", check)
    reports_generate.apply(args=[str(reports[0].job_id)])
    first, bad, third = (finished_report(r) for r in reports)
    assert first.status == ReportStatus.DRAFT and third.status == ReportStatus.DRAFT
    assert bad.status == ReportStatus.FAILED and "PromptTooLong" in bad.error
    assert Job.objects.get(pk=bad.job_id).status == JobStatus.FAILED
    assert generation_record(first).details["batch_size"] == 2


def test_replay_reproduces_a_greedy_generation_exactly(generation, analyst, acme_note, auditor):
    from apps.jobs.services import inference_replay_job_create

    report = finished_report(report_request(user=analyst, ticker="ACME", required_indicators=["gross margin"]))
    record = generation_record(report)
    job = inference_replay_job_create(requester=auditor, seq=record.seq)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    outcome = job.result
    assert outcome["identical"] is True, outcome
    replay = InferenceRecord.objects.get(seq=outcome["replay_seq"])
    assert replay.job_id == job.pk
    assert replay.details["replay_of"] == record.seq and replay.output_hash == record.output_hash
    assert replay.cache_hit is False


def test_base_checkpoint_that_differs_from_the_registry_is_refused(generation, analyst, acme_note):
    BaseModel.objects.filter(pk=generation.pk).update(content_hash="f" * 64)
    report = finished_report(report_request(user=analyst, ticker="ACME"))
    assert report.status == ReportStatus.FAILED and "refusing" in report.error
    assert not InferenceRecord.objects.filter(kind=InferenceKind.GENERATE).exists()


def test_restricted_document_is_invisible_to_an_analyst_through_reports(
    generation, analyst, restricted_reader, companies
):
    documents_upload(
        uploader=restricted_reader,
        filename="memo.md",
        content_type="text/markdown",
        data=GLBX_MEMO,
        meta=UploadMetadata(ticker="GLBX", doc_type="other", access_level="restricted"),
    )
    for_analyst = finished_report(report_request(user=analyst, ticker="GLBX", question="covenant waiver lenders"))
    assert for_analyst.chunk_ids == [] and for_analyst.access_level == "public"
    assert "covenant" not in json.dumps(for_analyst.output).lower()
    assert "Globex credit committee memo" not in for_analyst.rendered_html
    for_reader = finished_report(
        report_request(user=restricted_reader, ticker="GLBX", question="covenant waiver lenders")
    )
    assert for_reader.chunk_ids and for_reader.access_level == "restricted"
    from apps.reports.selectors import report_get_for_user

    assert report_get_for_user(analyst, for_reader.pk) is None


def test_adapter_with_a_tampered_file_is_refused_and_nothing_is_generated(
    generation,
    analyst,
    acme_note,
    make_lora_adapter,  # noqa: F811
):
    from gpu_workers.generation import adapter_fingerprint

    path = make_lora_adapter("tamper", 7)
    Adapter.objects.create(
        name="writer",
        version=1,
        base_model=generation,
        path=str(path),
        file_hash="0" * 64,  # not what the file hashes to
        status=AdapterStatus.READY,
    )
    assert adapter_fingerprint(path) != "0" * 64
    report = finished_report(report_request(user=analyst, ticker="ACME", adapter_name="writer"))
    assert report.status == ReportStatus.FAILED and "hash" in report.error.lower()
    assert not InferenceRecord.objects.filter(kind=InferenceKind.GENERATE, job_id=report.job_id).exists()


def test_report_with_an_adapter_records_its_hash(generation, analyst, acme_note, make_lora_adapter):  # noqa: F811
    from gpu_workers.generation import adapter_fingerprint

    path = make_lora_adapter("writer-ok", 3)
    Adapter.objects.create(
        name="writer",
        version=2,
        base_model=generation,
        path=str(path),
        file_hash=adapter_fingerprint(path),
        status=AdapterStatus.READY,
    )
    report = finished_report(report_request(user=analyst, ticker="ACME", adapter_name="writer"))
    assert report.status == ReportStatus.DRAFT and report.adapter_label == "writer@2"
    record = generation_record(report)
    assert record.adapter_name == "writer@2" and record.adapter_version == adapter_fingerprint(path)


def test_ask_answers_with_the_model_citing_retrieved_chunks_only(generation, analyst, acme_note):
    from apps.research.selectors import SearchQuery
    from tests.research.asking import ask_now

    answer = ask_now(analyst, SearchQuery(text="What was Acme's net debt to EBITDA?"))
    assert answer.method == "generated"
    retrieved = {r.chunk.chunk_id for r in answer.sources}
    assert all(s.citation.chunk_id in retrieved for s in answer.sentences)
    record = InferenceRecord.objects.filter(kind=InferenceKind.GENERATE).latest("seq")
    assert record.details["purpose"] == "answer" and set(record.chunk_ids) == retrieved


def test_ask_falls_back_to_the_extractive_answer_without_a_generation_model(eager_models_worker, analyst, acme_note):
    from apps.research.selectors import SearchQuery
    from tests.research.asking import ask_now

    answer = ask_now(analyst, SearchQuery(text="What was Acme's net debt to EBITDA?"))
    assert answer.method == "extractive" and any("1.4 times" in s.text for s in answer.sentences)


def test_api_answers_202_then_serves_the_generated_report(generation, analyst, acme_note, api_client):
    api_client.force_authenticate(analyst)
    response = api_client.post(
        "/api/reports/", {"ticker": "ACME", "required_indicators": ["gross margin"]}, format="json"
    )
    assert response.status_code == 202
    # Eager mode: the job ran when the request's transaction committed.
    body = api_client.get(response.json()["url"]).json()
    assert body["status"] == "draft" and body["progress"] == 100
    assert body["output"]["key_metrics"][0]["name"] == "gross margin"
    assert body["findings"]["valid"] is True and body["inference_seqs"]
    assert set(body["exports"]) == {"md", "pdf", "html"}
    pdf = api_client.get(body["exports"]["pdf"])
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_auditor_replays_a_generation_from_the_audit_console(generation, analyst, acme_note, auditor):
    from django.contrib.messages import get_messages
    from django.urls import reverse

    from tests.conftest import client_for

    report = finished_report(report_request(user=analyst, ticker="ACME"))
    record = generation_record(report)
    client = client_for(auditor)
    detail = client.get(reverse("admin:audit_inferencerecord_change", args=[record.pk]))
    assert b"Replay and compare" in detail.content
    # Replay is a job: the request queues it and the job page shows the verdict (eager here).
    response = client.post(reverse("jobs:inference-replay", args=[record.seq]))
    assert response.status_code == 302
    [message] = [str(m) for m in get_messages(response.wsgi_request)]
    assert f"Replay of #{record.seq} queued" in message
    job_page = client.get(response["Location"])
    assert b"identical to the recorded output" in job_page.content
    assert client_for(analyst).post(reverse("jobs:inference-replay", args=[record.seq])).status_code == 403
    replay = InferenceRecord.objects.get(details__replay_of=record.seq)
    assert replay.actor == f"user:{auditor.username}"


def test_an_adapter_still_training_is_served_by_the_base_model_and_the_report_says_so(generation, analyst, acme_note):
    from apps.reports.services import ReportRequestError

    Adapter.objects.create(name="argus-report-writer", version=1, base_model=generation, status=AdapterStatus.TRAINING)
    report = finished_report(
        report_request(
            user=analyst, ticker="ACME", adapter_name="argus-report-writer", required_indicators=["gross margin"]
        )
    )
    assert report.status in (ReportStatus.DRAFT, ReportStatus.NEEDS_ATTENTION), report.error
    assert report.adapter_name == "argus-report-writer" and report.adapter_label == ""
    assert report.findings["base_model_fallback"] is True
    assert any("base model" in note for note in report.findings["notes"])
    assert 'data-testid="report-note"' in report.rendered_html and "still training" in report.rendered_html
    # Audited as what ran: the base model, no adapter.
    assert generation_record(report).adapter_name == ""
    # An adapter that is neither ready nor training is still refused.
    with pytest.raises(ReportRequestError):
        report_request(user=analyst, ticker="ACME", adapter_name="no-such-adapter")


def test_a_stated_indicator_is_filled_from_the_sources_even_by_a_model_that_writes_noise(
    generation, analyst, acme_note
):
    report = finished_report(report_request(user=analyst, ticker="ACME", required_indicators=["gross margin"]))
    metric = report.output["key_metrics"][0]
    assert metric["name"] == "gross margin" and metric["value"] != INSUFFICIENT
    assert report.findings["metric_checks"][0]["status"] in ("matched", "conflict")
