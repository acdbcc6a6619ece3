from __future__ import annotations

import pytest

from config.celery import CeleryQueue, app


@pytest.mark.parametrize(
    ("task_name", "queue"),
    [
        ("gpu_workers.tasks.embed_texts", CeleryQueue.MODELS),
        ("gpu_workers.tasks.health", CeleryQueue.MODELS),
        ("apps.research.tasks.document_ingest", CeleryQueue.INGEST),
        ("gpu_workers.tasks.reports_generate", CeleryQueue.MODELS),
        # Latency-sensitive: never behind report batches or bulk indexing.
        ("gpu_workers.tasks.answer_generate", CeleryQueue.INTERACTIVE),
        ("gpu_workers.tasks.search_chunks", CeleryQueue.INTERACTIVE),
        ("gpu_workers.tasks.store_replace_document", CeleryQueue.INTERACTIVE),
        ("gpu_workers.tasks.documents_index", CeleryQueue.MODELS),
        ("gpu_workers.tasks.inference_replay", CeleryQueue.MODELS),
        ("gpu_workers.tasks.adapter_train", CeleryQueue.TRAINING),
        ("gpu_workers.tasks.sentiment_train", CeleryQueue.TRAINING),
    ],
)
def test_tasks_are_routed_to_their_queue_only(task_name, queue):
    route = app.amqp.router.route({}, task_name)
    assert route["queue"].name == queue.value
    assert route["queue"].routing_key == queue.value
    assert route["queue"].exchange.name == queue.value
    # No other queue is bound with the same exchange and key, so the message cannot be copied.
    others = [q for q in app.conf.task_queues if q.name != queue.value]
    assert all((q.exchange.name, q.routing_key) != (queue.value, queue.value) for q in others)


def test_reliability_settings_for_long_jobs():
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1
    assert app.conf.task_serializer == "json" and app.conf.accept_content == ["json"]


def test_visibility_timeout_shorter_than_time_limit_is_refused_at_startup():
    import os
    import subprocess
    import sys

    env = {**os.environ, "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0", "CELERY_VISIBILITY_TIMEOUT": "60"}
    setup = "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'config.settings'; django.setup()"
    proc = subprocess.run([sys.executable, "-c", setup], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "CELERY_VISIBILITY_TIMEOUT must be longer than CELERY_TASK_TIME_LIMIT" in proc.stderr


@pytest.mark.parametrize("url", ["sqla+sqlite:///var/broker.sqlite3", "amqp://guest:guest@127.0.0.1:5672//"])
def test_brokers_other_than_redis_get_no_redis_only_transport_options(url):
    import os
    import subprocess
    import sys

    env = {**os.environ, "CELERY_BROKER_URL": url}
    probe = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'config.settings'; django.setup(); "
        "from django.conf import settings; print(settings.CELERY_BROKER_TRANSPORT_OPTIONS)"
    )
    proc = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "{}"
