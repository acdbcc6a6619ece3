"""Prometheus metrics read from the database (and the broker) at scrape time.

Request counts and latencies come from django-prometheus's middlewares. Jobs and
inferences are counted here from their rows instead of from in-process counters:
the work happens in Celery worker processes that Prometheus never scrapes, and the
rows are the one place where every process's work adds up. The audit log is
append-only, so counts derived from it only grow and are exposed as counters.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import Count, Q, Sum
from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from apps.audit.models import AuditChainHead, InferenceRecord
from apps.audit.selectors import audit_chain_last_verification
from apps.jobs.models import Job, JobKind, JobStatus
from apps.reports.selectors import report_number_check_totals, report_status_counts
from config.celery import CeleryQueue

logger = logging.getLogger(__name__)

# Upper bounds in seconds. Model calls range from a few ms (a cached embedding) to
# minutes (generation on CPU, a training epoch), hence the long tail.
INFERENCE_LATENCY_BUCKETS: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0,
)  # fmt: skip

# kombu's Redis transport keeps a message with priority p != 0 in "<queue>\x06\x16<p>";
# these are its default priority steps.
_REDIS_PRIORITY_SEPARATOR = "\x06\x16"
_REDIS_PRIORITY_STEPS = (3, 6, 9)


def job_metrics() -> Iterator[Metric]:
    jobs = GaugeMetricFamily(
        "argus_jobs", "Jobs by kind and status (rows in the jobs table).", labels=["kind", "status"]
    )
    counts = {
        (row["kind"], row["status"]): row["n"]
        for row in Job.objects.order_by().values("kind", "status").annotate(n=Count("id"))
    }
    # Every known combination, zeros included, so dashboards and alerts see a series
    # before the first job of a kind ever ran.
    for kind in JobKind.values:
        for status in JobStatus.values:
            jobs.add_metric([kind, status], counts.pop((kind, status), 0))
    for (kind, status), n in sorted(counts.items()):  # values from an older or newer schema
        jobs.add_metric([kind, status], n)
    yield jobs


def inference_metrics() -> Iterator[Metric]:
    calls = CounterMetricFamily(
        "argus_inferences",
        "Audited model calls by kind, model and outcome (InferenceRecord rows).",
        labels=["kind", "model", "status"],
    )
    cache_hits = CounterMetricFamily(
        "argus_inference_cache_hits",
        "Audited model calls answered from the result cache, by kind and model.",
        labels=["kind", "model"],
    )
    hits: dict[tuple[str, str], int] = {}
    for row in (
        InferenceRecord.objects.order_by()
        .values("kind", "model_name", "status")
        .annotate(n=Count("id"), hits=Count("id", filter=Q(cache_hit=True)))
        .order_by("kind", "model_name", "status")
    ):
        calls.add_metric([row["kind"], row["model_name"], row["status"]], row["n"])
        key = (row["kind"], row["model_name"])
        hits[key] = hits.get(key, 0) + row["hits"]
    yield calls
    for (kind, model), count in sorted(hits.items()):
        cache_hits.add_metric([kind, model], count)
    yield cache_hits

    # One query: a conditional count per bucket (latency is stored in milliseconds).
    bucket_counts = {
        f"le_{i}": Count("id", filter=Q(latency_ms__lte=bound * 1000))
        for i, bound in enumerate(INFERENCE_LATENCY_BUCKETS)
    }
    latency = HistogramMetricFamily(
        "argus_inference_latency_seconds",
        "Latency of audited model calls by kind and model.",
        labels=["kind", "model"],
    )
    tokens = CounterMetricFamily(
        "argus_inference_tokens",
        "Tokens read (direction=in) and written (direction=out) by audited model calls.",
        labels=["kind", "model", "direction"],
    )
    rows = (
        InferenceRecord.objects.order_by()
        .values("kind", "model_name")
        .annotate(
            n=Count("id"),
            latency_ms_sum=Sum("latency_ms"),
            tokens_in=Sum("tokens_in"),
            tokens_out=Sum("tokens_out"),
            **bucket_counts,
        )
        .order_by("kind", "model_name")
    )
    for row in rows:
        buckets = [(floatToGoString(bound), row[f"le_{i}"]) for i, bound in enumerate(INFERENCE_LATENCY_BUCKETS)]
        buckets.append(("+Inf", row["n"]))
        latency.add_metric(
            [row["kind"], row["model_name"]], buckets=buckets, sum_value=(row["latency_ms_sum"] or 0.0) / 1000
        )
        tokens.add_metric([row["kind"], row["model_name"], "in"], row["tokens_in"] or 0)
        tokens.add_metric([row["kind"], row["model_name"], "out"], row["tokens_out"] or 0)
    yield latency
    yield tokens

    head = AuditChainHead.objects.filter(pk=1).values_list("last_seq", flat=True).first()
    yield GaugeMetricFamily("argus_audit_chain_length", "Records in the audit hash chain.", value=head or 0)
    # Alert on these: a broken chain, a verification that stopped running, or one falling behind.
    last = audit_chain_last_verification()
    yield GaugeMetricFamily(
        "argus_audit_chain_intact",
        "1 when the last verification of the audit chain found it intact; 0 when broken or never run.",
        value=1 if last and last["ok"] else 0,
    )
    yield GaugeMetricFamily(
        "argus_audit_chain_verified_timestamp_seconds",
        "When the last verification of the audit chain finished (Unix time; 0 if never).",
        value=last["finished_at"].timestamp() if last else 0,
    )
    yield GaugeMetricFamily(
        "argus_audit_chain_unverified_records",
        "Records appended since the last verification.",
        value=last["unverified"] if last else (head or 0),
    )


def report_metrics() -> Iterator[Metric]:
    """How many of the generated reports' numbers their cited sources support (pipelines.reports.validation)."""
    reports = GaugeMetricFamily("argus_reports", "Research reports by status.", labels=["status"])
    for status, count in report_status_counts().items():
        reports.add_metric([status], count)
    yield reports
    totals = report_number_check_totals()
    numbers = GaugeMetricFamily(
        "argus_report_numbers",
        "Numbers stated in generated reports, by whether their cited source supports them (sign, unit, scale, period).",
        labels=["outcome"],
    )
    numbers.add_metric(["supported"], totals["checked"] - totals["unsupported"])
    numbers.add_metric(["unsupported"], totals["unsupported"])
    yield numbers
    share = HistogramMetricFamily(
        "argus_report_supported_share",
        "Per generated report with numbers: the share of its numbers that its cited sources support.",
    )
    buckets = [(floatToGoString(bound), n) for bound, n in totals["buckets"]]
    share.add_metric([], buckets=[*buckets, ("+Inf", totals["reports"])], sum_value=totals["share_sum"])
    yield share


def queue_lengths(broker_url: str, transport_options: dict[str, Any]) -> dict[str, int] | None:
    """Messages waiting in each Celery queue, or None when the broker cannot tell."""
    queues = [q.value for q in CeleryQueue]
    if broker_url.startswith(("redis://", "rediss://")):
        import redis

        prefix = transport_options.get("global_keyprefix", "")
        keys_per_queue = [
            [f"{prefix}{queue}"]
            + [f"{prefix}{queue}{_REDIS_PRIORITY_SEPARATOR}{step}" for step in _REDIS_PRIORITY_STEPS]
            for queue in queues
        ]
        client = redis.Redis.from_url(broker_url, socket_timeout=2, socket_connect_timeout=2)
        try:
            with client.pipeline(transaction=False) as pipe:
                for keys in keys_per_queue:
                    for key in keys:
                        pipe.llen(key)
                lengths = iter(pipe.execute())
        finally:
            client.close()
        return {queue: sum(next(lengths) for _ in keys) for queue, keys in zip(queues, keys_per_queue, strict=True)}
    if broker_url.startswith("filesystem://"):
        # kombu's filesystem transport names each message "<stamp>_<uuid>.<queue>.msg".
        folder = Path(transport_options["data_folder_in"])
        names = [p.name for p in folder.iterdir()] if folder.is_dir() else []
        return {queue: sum(1 for n in names if n.partition(".")[2] == f"{queue}.msg") for queue in queues}
    return None


def queue_metrics() -> Iterator[Metric]:
    try:
        lengths = queue_lengths(settings.CELERY_BROKER_URL, getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}))
    except Exception:
        # A broker outage must not take the other metrics down with it; the missing
        # series is what an alert on absent(argus_celery_queue_length) catches.
        logger.warning("could not read Celery queue lengths", exc_info=True)
        return
    if lengths is None:
        return
    family = GaugeMetricFamily("argus_celery_queue_length", "Messages waiting in each Celery queue.", labels=["queue"])
    for queue, n in lengths.items():
        family.add_metric([queue], n)
    yield family


class ArgusDatabaseCollector(Collector):
    """Jobs, inferences, report number checks and queue depth, read fresh on every scrape."""

    def collect(self) -> Iterable[Metric]:
        yield from job_metrics()
        yield from inference_metrics()
        yield from report_metrics()
        yield from queue_metrics()

    def describe(self) -> Iterable[Metric]:
        # Without describe() the registry would call collect() (and query the
        # database) at registration time, which runs during app loading.
        return []


DATABASE_COLLECTOR = ArgusDatabaseCollector()
_registered = False


def collectors_register() -> None:
    """Add the database collector to the process-wide registry, once."""
    global _registered
    if not _registered:
        REGISTRY.register(DATABASE_COLLECTOR)
        _registered = True


def metrics_registry() -> CollectorRegistry:
    """The registry a scrape reads.

    Under gunicorn with several workers (``PROMETHEUS_MULTIPROC_DIR`` set by
    platform/gunicorn.conf.py) request metrics live in per-process files and are
    merged here; otherwise the process-wide registry holds everything.
    """
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        registry.register(DATABASE_COLLECTOR)
        return registry
    collectors_register()
    return REGISTRY
