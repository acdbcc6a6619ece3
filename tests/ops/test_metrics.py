"""/metrics: who may read it, and that its numbers are the database's."""

from __future__ import annotations

import re
import socket
import uuid
from pathlib import Path

import pytest
from django.test import Client, override_settings
from prometheus_client.parser import text_string_to_metric_families

from apps.audit.models import InferenceKind, InferenceStatus
from apps.audit.services import inference_record_append
from apps.core.metrics import INFERENCE_LATENCY_BUCKETS, queue_lengths
from apps.jobs.models import Job, JobKind, JobStatus
from config.celery import CeleryQueue
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

TOKEN = "prometheus-scrape-token-" + "x" * 24
DASHBOARD = Path(__file__).resolve().parents[2] / "platform" / "grafana" / "dashboards" / "argus.json"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus text exposition, keyed by name and sorted labels."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(parsed, name: str, **labels: str) -> float:
    return parsed[(name, tuple(sorted(labels.items())))]


def scrape(client: Client | None = None, **headers) -> str:
    client = client or Client()
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"].startswith("text/plain; version=")
    return response.content.decode()


def make_inference(*, kind, model, latency_ms, status=InferenceStatus.OK, tokens_in=0, tokens_out=0, cache_hit=False):
    return inference_record_append(
        actor_user_id=None,
        actor="system:metrics-test",
        job_id=None,
        task_id="",
        kind=kind,
        model_name=model,
        parameters={},
        input_hash="0" * 64,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        latency_ms=latency_ms,
        status=status,
        error="" if status == InferenceStatus.OK else "RuntimeError: boom",
        cache_hit=cache_hit,
    )


# --- access -------------------------------------------------------------------


def test_anonymous_request_is_refused_with_401():
    response = Client().get("/metrics")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"argus_jobs" not in response.content


@override_settings(ARGUS_METRICS_TOKEN=TOKEN)
def test_scraper_with_the_bearer_token_reads_metrics():
    assert "argus_jobs" in scrape(HTTP_AUTHORIZATION=f"Bearer {TOKEN}")


@override_settings(ARGUS_METRICS_TOKEN=TOKEN)
@pytest.mark.parametrize("header", [f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", f"Basic {TOKEN}", "Bearer ", TOKEN])
def test_wrong_or_malformed_token_is_refused(header):
    assert Client().get("/metrics", HTTP_AUTHORIZATION=header).status_code == 401


@override_settings(ARGUS_METRICS_TOKEN="")
def test_no_token_is_accepted_when_none_is_configured():
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 401
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer None").status_code == 401


def test_administrator_session_reads_metrics(admin_user):
    assert "argus_inferences" in scrape(client_for(admin_user))


@pytest.mark.parametrize("persona", ["analyst", "risk_officer", "auditor", "outsider"])
def test_other_roles_are_refused_with_403(personas, persona):
    response = client_for(personas[persona]).get("/metrics")
    assert response.status_code == 403
    assert b"argus_jobs" not in response.content


def test_metrics_view_declares_admin_only():
    from django.urls import resolve

    from apps.accounts.roles import Role

    view = resolve("/metrics").func
    assert view.allowed_roles == frozenset({Role.ADMIN})
    assert view.login_required is False  # the scraper has no session


# --- values -------------------------------------------------------------------


def test_jobs_are_counted_by_kind_and_status(admin_user):
    for status in (JobStatus.QUEUED, JobStatus.QUEUED, JobStatus.SUCCEEDED):
        Job.objects.create(kind=JobKind.EMBED, status=status, actor_label="system:test")
    Job.objects.create(kind=JobKind.REPORT, status=JobStatus.FAILED, actor_label="system:test")

    parsed = samples(scrape(client_for(admin_user)))

    assert value(parsed, "argus_jobs", kind="embed", status="queued") == 2
    assert value(parsed, "argus_jobs", kind="embed", status="succeeded") == 1
    assert value(parsed, "argus_jobs", kind="report", status="failed") == 1
    # Combinations with no rows are present, at zero.
    assert value(parsed, "argus_jobs", kind="train", status="running") == 0
    job_series = [key for key in parsed if key[0] == "argus_jobs"]
    assert len(job_series) == len(JobKind) * len(JobStatus)


def test_result_cache_hits_are_counted_by_kind_and_model(admin_user):
    make_inference(kind=InferenceKind.GENERATE, model="smollm2", latency_ms=9000, tokens_out=300)
    make_inference(kind=InferenceKind.GENERATE, model="smollm2", latency_ms=8, tokens_out=300, cache_hit=True)
    make_inference(kind=InferenceKind.GENERATE, model="smollm2", latency_ms=7, tokens_out=300, cache_hit=True)
    parsed = samples(scrape(client_for(admin_user)))
    assert value(parsed, "argus_inference_cache_hits_total", kind="generate", model="smollm2") == 2
    assert value(parsed, "argus_inferences_total", kind="generate", model="smollm2", status="ok") == 3


def test_inferences_are_counted_timed_and_tokenised_by_kind_and_model(admin_user):
    make_inference(kind=InferenceKind.EMBED, model="minilm", latency_ms=20, tokens_in=7)
    make_inference(kind=InferenceKind.EMBED, model="minilm", latency_ms=300, tokens_in=5)
    make_inference(
        kind=InferenceKind.GENERATE,
        model="tiny-llama",
        latency_ms=1500,
        status=InferenceStatus.ERROR,
        tokens_in=11,
        tokens_out=4,
    )

    parsed = samples(scrape(client_for(admin_user)))

    assert value(parsed, "argus_inferences_total", kind="embed", model="minilm", status="ok") == 2
    assert value(parsed, "argus_inferences_total", kind="generate", model="tiny-llama", status="error") == 1
    assert ("argus_inferences_total", (("kind", "embed"), ("model", "minilm"), ("status", "error"))) not in parsed
    assert value(parsed, "argus_inference_cache_hits_total", kind="generate", model="tiny-llama") == 0

    def bucket(kind, model, le):
        return value(parsed, "argus_inference_latency_seconds_bucket", kind=kind, model=model, le=le)

    assert bucket("embed", "minilm", "0.01") == 0
    assert bucket("embed", "minilm", "0.025") == 1  # 20 ms
    assert bucket("embed", "minilm", "0.25") == 1
    assert bucket("embed", "minilm", "0.5") == 2  # 300 ms
    assert bucket("embed", "minilm", "+Inf") == 2
    assert bucket("generate", "tiny-llama", "1.0") == 0
    assert bucket("generate", "tiny-llama", "2.5") == 1  # 1.5 s
    assert value(parsed, "argus_inference_latency_seconds_count", kind="embed", model="minilm") == 2
    assert value(parsed, "argus_inference_latency_seconds_sum", kind="embed", model="minilm") == pytest.approx(0.32)
    buckets = [key for key in parsed if key[0] == "argus_inference_latency_seconds_bucket"]
    assert len(buckets) == 2 * (len(INFERENCE_LATENCY_BUCKETS) + 1)

    assert value(parsed, "argus_inference_tokens_total", kind="embed", model="minilm", direction="in") == 12
    assert value(parsed, "argus_inference_tokens_total", kind="embed", model="minilm", direction="out") == 0
    assert value(parsed, "argus_inference_tokens_total", kind="generate", model="tiny-llama", direction="out") == 4
    assert value(parsed, "argus_audit_chain_length") == 3


def test_inference_counts_grow_between_scrapes(admin_user):
    client = client_for(admin_user)
    make_inference(kind=InferenceKind.SCORE, model="risk-xgb", latency_ms=3)
    before = value(samples(scrape(client)), "argus_inferences_total", kind="score", model="risk-xgb", status="ok")
    make_inference(kind=InferenceKind.SCORE, model="risk-xgb", latency_ms=4)
    after = value(samples(scrape(client)), "argus_inferences_total", kind="score", model="risk-xgb", status="ok")
    assert (before, after) == (1, 2)


def test_request_metrics_of_django_prometheus_are_exported(admin_user):
    client = client_for(admin_user)
    client.get("/healthz")
    parsed = samples(scrape(client))
    assert value(parsed, "django_http_requests_total_by_method_total", method="GET") >= 2


def test_queue_depth_is_exported_for_every_celery_queue(admin_user):
    parsed = samples(scrape(client_for(admin_user)))
    for queue in CeleryQueue:
        assert value(parsed, "argus_celery_queue_length", queue=queue.value) >= 0


def test_dashboard_queries_only_metrics_the_app_exports(admin_user):
    import json

    make_inference(kind=InferenceKind.EMBED, model="minilm", latency_ms=20)
    Job.objects.create(kind=JobKind.EMBED, actor_label="system:test")
    client = client_for(admin_user)
    client.get("/healthz")
    exported = {name for name, _ in samples(scrape(client))}

    dashboard = json.loads(DASHBOARD.read_text())
    queried = set()
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            queried |= set(re.findall(r"\b((?:argus|django)_[a-z_]+)\b", target["expr"]))
    assert queried, "the dashboard queries no metric"
    assert queried <= exported, f"dashboard queries metrics nobody exports: {sorted(queried - exported)}"
    titles = " ".join(p["title"].lower() for p in dashboard["panels"])
    for topic in ("request rate", "latency", "jobs by status", "queue depth", "inference"):
        assert topic in titles


# --- queue depth from the broker ----------------------------------------------


def publish(broker_url: str, transport_options: dict, messages: dict[str, list[int]]) -> None:
    """Put messages (by queue, one priority each) on a broker the way Celery does: through kombu."""
    from kombu import Connection

    with Connection(broker_url, transport_options=transport_options) as conn:
        for queue, priorities in messages.items():
            simple = conn.SimpleQueue(queue)
            for priority in priorities:
                simple.put({"task": "probe"}, priority=priority)
            simple.close()


def test_queue_lengths_counts_messages_of_the_filesystem_broker(tmp_path):
    folder = tmp_path / "queue"
    folder.mkdir()
    options = {"data_folder_in": str(folder), "data_folder_out": str(folder), "control_folder": str(tmp_path)}
    assert queue_lengths("filesystem://", options) == {"ingest": 0, "interactive": 0, "models": 0, "training": 0}
    publish("filesystem://", options, {"ingest": [0, 0], "interactive": [0], "models": [0], "training": [0]})
    assert queue_lengths("filesystem://", options) == {"ingest": 2, "interactive": 1, "models": 1, "training": 1}


def redis_url_for_tests() -> str | None:
    from django.conf import settings

    url = settings.CELERY_BROKER_URL if settings.CELERY_BROKER_URL.startswith("redis://") else ""
    url = url or "redis://127.0.0.1:6379/15"
    host_port = url.split("//", 1)[1].split("/", 1)[0]
    host, _, port = host_port.rpartition("@")[2].partition(":")
    try:
        socket.create_connection((host, int(port or 6379)), timeout=1).close()
    except OSError:
        return None
    return url


def test_queue_lengths_counts_messages_of_every_priority_on_redis():
    url = redis_url_for_tests()
    if url is None:
        pytest.skip("no Redis reachable")
    import redis

    # A key prefix of its own: other test runs may share this Redis database.
    prefix = f"argus-metrics-test-{uuid.uuid4().hex}:"
    options = {"global_keyprefix": prefix}
    try:
        assert queue_lengths(url, options) == {"ingest": 0, "interactive": 0, "models": 0, "training": 0}
        publish(url, options, {"ingest": [0, 9, 9], "models": [0, 5]})
        assert queue_lengths(url, options) == {"ingest": 3, "interactive": 0, "models": 2, "training": 0}
    finally:
        client = redis.Redis.from_url(url)
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)
        client.close()


def test_unreachable_broker_leaves_out_queue_depth_but_not_the_rest(admin_user):
    with override_settings(CELERY_BROKER_URL="redis://127.0.0.1:1/0", CELERY_BROKER_TRANSPORT_OPTIONS={}):
        parsed = samples(scrape(client_for(admin_user)))
    assert not [key for key in parsed if key[0] == "argus_celery_queue_length"]
    assert value(parsed, "argus_jobs", kind="embed", status="queued") == 0


def test_report_number_checks_are_exposed(admin_user, analyst):
    from apps.reports.models import ReportStatus, ResearchReport
    from apps.research.models import Company

    acme = Company.objects.create(ticker="ACME", name="Acme Industrial Corp")

    def report(status, share, checked, unsupported):
        return ResearchReport.objects.create(
            requested_by=analyst,
            company=acme,
            status=status,
            supported_share=share,
            numbers_checked=checked,
            numbers_unsupported=unsupported,
        )

    report(ReportStatus.DRAFT, 1.0, 4, 0)
    report(ReportStatus.NEEDS_ATTENTION, 0.6, 5, 2)
    report(ReportStatus.NEEDS_ATTENTION, 0.25, 4, 3)
    report(ReportStatus.QUEUED, None, 0, 0)  # not generated yet: not in the histogram

    parsed = samples(scrape(client_for(admin_user)))

    assert value(parsed, "argus_reports", status="needs_attention") == 2
    assert value(parsed, "argus_reports", status="approved") == 0
    assert value(parsed, "argus_report_numbers", outcome="supported") == 8
    assert value(parsed, "argus_report_numbers", outcome="unsupported") == 5
    assert value(parsed, "argus_report_supported_share_bucket", le="0.5") == 1
    assert value(parsed, "argus_report_supported_share_bucket", le="0.75") == 2
    assert value(parsed, "argus_report_supported_share_bucket", le="0.99") == 2
    assert value(parsed, "argus_report_supported_share_bucket", le="1.0") == 3
    assert value(parsed, "argus_report_supported_share_count") == 3
    assert value(parsed, "argus_report_supported_share_sum") == pytest.approx(1.85)
