"""Ingest-queue tasks of the research desk: parse, clean, redact, chunk; then hand over to the model worker."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from apps.audit.models import InferenceKind
from apps.audit.services import Actor, audited
from apps.core.logging import job_context
from apps.jobs.retry import TRANSIENT_ERRORS
from apps.jobs.services import claim_of, job_claim, job_fail, job_handoff, job_progress, worker_name
from apps.jobs.task_base import JobTask
from apps.research.models import Document, DocumentStatus
from apps.research.services import INGEST_PROGRESS_SHARE, document_chunks_replace, document_set_status, parse_limits
from pipelines.ingest import IngestOptions, ingest_bytes
from pipelines.parsing.errors import DocumentRejected
from pipelines.redaction import RedactionPolicy

logger = logging.getLogger(__name__)

INDEX_TASK = "gpu_workers.tasks.documents_index"


def _ingest_one(document: Document, actor: Actor, job_id: str, task_id: str) -> int:
    options = IngestOptions(
        limits=parse_limits(), redaction=RedactionPolicy(redact_person_names=document.redact_person_names)
    )
    data = document.file.read() if document.file else b""
    document.file.close()
    # The stored name keeps the uploaded file's extension; JSON lines members are stored one per file.
    filename = document.file.name or document.original_name
    if not document.redact_person_names:
        result = ingest_bytes(data, filename=filename, options=options)
    else:
        # Person-name redaction runs a spaCy NER model: a model call, so it is audited.
        with audited(
            kind=InferenceKind.NER,
            actor=actor,
            model_name=options.redaction.person_model,
            parameters={"purpose": "redact_person_names"},
            model_input=data,
            job_id=job_id,
            task_id=task_id,
        ) as call:
            result = ingest_bytes(data, filename=filename, options=options)
            call.document_ids = [str(document.pk)]
            call.output = [r.to_dict() for doc in result.documents for r in doc.redactions]
            call.details = {"redactions": sum(len(doc.redactions) for doc in result.documents)}
    (ingested,) = result.documents  # stored documents are single (a JSON lines line is its own file)
    return document_chunks_replace(document=document, ingested=ingested)


@shared_task(bind=True, base=JobTask, name="apps.research.tasks.document_ingest")
def document_ingest(self, job_id: str) -> dict[str, Any]:
    job = job_claim(job_id=job_id, worker=worker_name(), task_id=self.request.id or "")
    if job is None:
        return {"job_id": job_id, "skipped": "job already finished"}
    claim = claim_of(job)
    actor = Actor.for_user(job.owner) if job.owner else Actor(label=job.actor_label)
    ids = job.params.get("document_ids", [])
    ready, failed = [], []
    with job_context(job_id):
        for position, document_id in enumerate(ids, start=1):
            document = Document.objects.filter(pk=document_id).first()
            if document is None or document.status == DocumentStatus.DELETING:
                continue
            document_set_status(document_id=document_id, status=DocumentStatus.PARSING)
            try:
                chunks = _ingest_one(document, actor, job_id, self.request.id or "")
            except TRANSIENT_ERRORS:
                raise
            except DocumentRejected as exc:
                document_set_status(
                    document_id=document_id, status=DocumentStatus.FAILED, reason=f"{exc.reason_code}: {exc.message}"
                )
                failed.append(document_id)
            except Exception as exc:
                logger.exception("ingest failed for document %s", document_id)
                document_set_status(
                    document_id=document_id, status=DocumentStatus.FAILED, reason=f"{type(exc).__name__}: {exc}"
                )
                failed.append(document_id)
            else:
                ready.append(document_id)
                logger.info("document %s parsed into %d chunks", document_id, chunks)
            job_progress(
                claim=claim,
                progress=INGEST_PROGRESS_SHARE * position // max(len(ids), 1),
                message=f"Parsed {position}/{len(ids)} document(s)",
            )
        if not ready:
            job_fail(claim=claim, error=f"No document could be ingested ({len(failed)} failed).")
            return {"job_id": job_id, "failed": failed}
    # The model worker embeds and indexes, then finishes the job: the same attempt, handed over.
    job_handoff(claim=claim, task_name=INDEX_TASK, args=[job_id, ready, failed, None, claim.attempt])
    return {"job_id": job_id, "ready": ready, "failed": failed}
