"""Celery tasks of the ``models`` queue: where model engines meet Django.

Each task claims (or continues) its job, runs the engine inside ``audited(...)``
and records the outcome. Engines are loaded once per worker process.
Task names are explicit ("gpu_workers.tasks.<name>") and routed to the models queue.
"""

from gpu_workers.tasks.answers import answer_generate, inference_replay
from gpu_workers.tasks.embedding import embed_texts, health
from gpu_workers.tasks.reports import reports_generate
from gpu_workers.tasks.research import (
    document_vectors_delete,
    documents_index,
    search_chunks,
    store_delete_document,
    store_optimize,
    store_replace_document,
)
from gpu_workers.tasks.sentiment import sentiment_train
from gpu_workers.tasks.training import adapter_train

__all__ = [
    "adapter_train",
    "answer_generate",
    "document_vectors_delete",
    "documents_index",
    "embed_texts",
    "health",
    "inference_replay",
    "reports_generate",
    "search_chunks",
    "sentiment_train",
    "store_delete_document",
    "store_optimize",
    "store_replace_document",
]
