"""The Celery app, its queues and its routing.

Queues are named once here (``CeleryQueue``); the processes that consume them are
started by ``platform/supervisord.conf`` (embedded run) and ``docker-compose.yml``
(``worker`` consumes ``ingest``, ``interactive-worker`` consumes ``interactive``,
``model-worker`` consumes ``models``, ``trainer`` consumes ``training``).
"""

from __future__ import annotations

import enum
import os

from celery import Celery
from kombu import Exchange, Queue

from config.schedule import BEAT_SCHEDULE

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


class CeleryQueue(enum.StrEnum):
    INGEST = "ingest"  # CPU work: parsing, chunking, NER, sentiment, scoring
    # Latency-sensitive model calls: query embeddings and retrieval, short answers. Seconds,
    # never behind batch work. In embedded mode its worker owns the vector store.
    INTERACTIVE = "interactive"
    MODELS = "models"  # batch model work: report generation, bulk embeddings, replays
    TRAINING = "training"  # adapter and classifier training: long runs that must not hold up the models queue


# Routing by task module: everything in gpu_workers.tasks runs where the models are.
# Exact names are matched before patterns.
TASK_ROUTES = {
    "gpu_workers.tasks.adapter_train": {"queue": CeleryQueue.TRAINING.value},
    "gpu_workers.tasks.sentiment_train": {"queue": CeleryQueue.TRAINING.value},
    "gpu_workers.tasks.search_chunks": {"queue": CeleryQueue.INTERACTIVE.value},
    "gpu_workers.tasks.answer_generate": {"queue": CeleryQueue.INTERACTIVE.value},
    "gpu_workers.tasks.document_vectors_delete": {"queue": CeleryQueue.INTERACTIVE.value},
    "gpu_workers.tasks.store_*": {"queue": CeleryQueue.INTERACTIVE.value},
    "gpu_workers.tasks.*": {"queue": CeleryQueue.MODELS.value},
    "apps.*": {"queue": CeleryQueue.INGEST.value},
}

app = Celery("argus")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    # One direct exchange per queue: a message routed to one queue never lands in another.
    task_queues=[Queue(q.value, Exchange(q.value, type="direct"), routing_key=q.value) for q in CeleryQueue],
    task_default_exchange=CeleryQueue.INGEST.value,
    task_default_routing_key=CeleryQueue.INGEST.value,
    task_default_queue=CeleryQueue.INGEST.value,
    task_routes=TASK_ROUTES,
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    # A worker that dies mid-task (OOM, SIGKILL, node loss) must not lose the job:
    # ack only after the task finished, and requeue when the worker process is lost.
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_track_started=True,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    beat_schedule=BEAT_SCHEDULE,
)
app.autodiscover_tasks(["apps.audit", "apps.jobs", "apps.research", "apps.risk", "gpu_workers"])


def call_models_task(task_name: str, *, kwargs: dict, timeout: float):
    """Run a short task on the model worker and wait for its answer (search, answers, replays).

    The model worker owns the models and, in embedded mode, the vector store; the web
    process never opens either itself. Eager mode (unit tests) runs it in this process.
    """
    if app.conf.task_always_eager:
        app.loader.import_default_modules()
        return app.tasks[task_name].apply(kwargs=kwargs).get()
    result = app.send_task(task_name, kwargs=kwargs, expires=timeout)
    try:
        # A batch task on the models queue may wait on the interactive worker (which owns the
        # embedded vector store); that worker never waits on another, so this cannot deadlock.
        return result.get(timeout=timeout, interval=0.05, disable_sync_subtasks=False)
    finally:
        result.forget()
