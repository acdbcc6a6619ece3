"""Model-worker jobs: cited answers to questions (interactive queue), replays of recorded inferences (models queue).

Both are jobs: the web process answers 202 at once and the page (or the API client) polls.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.conf import settings

from apps.audit.hashing import content_hash
from apps.audit.models import InferenceKind, InferenceRecord
from apps.audit.services import Actor
from apps.core.logging import job_context
from apps.jobs.services import claim_of, job_claim, job_fail, job_progress, job_succeed, worker_name
from apps.jobs.task_base import JobTask
from apps.registry.selectors import adapter_with_hash
from gpu_workers.tasks.common import job_actor
from gpu_workers.tasks.generation import (
    GenerationItem,
    GenerationUnavailable,
    adapter_load,
    generate_audited,
    generation_engine,
    replay_request,
)
from gpu_workers.tasks.reports import passages_for_chunks
from gpu_workers.tasks.research import abstention_thresholds, hit_dicts, passage_text, search_relaxing

logger = logging.getLogger(__name__)


@shared_task(bind=True, base=JobTask, name="gpu_workers.tasks.answer_generate")
def answer_generate(self, job_id: str) -> dict[str, Any]:
    """The answer job: retrieve with the asker's access levels, answer, keep the reply in the job."""
    job = job_claim(job_id=job_id, worker=worker_name(), task_id=self.request.id or "")
    if job is None:
        return {"job_id": job_id, "skipped": "job already finished"}
    claim = claim_of(job)
    with job_context(job_id):
        job_progress(claim=claim, progress=10, message="Retrieving passages")
        reply = answer_from_retrieval(**job.params["retrieval"], job_id=job_id, task_id=self.request.id or "")
        job_succeed(claim=claim, result=reply, message="Answered" if reply.get("method") else "Retrieved")
    return {"job_id": job_id, "method": reply.get("method", "extractive")}


def answer_from_retrieval(
    *,
    query: str,
    allowed_access_levels: list[str],
    filters: dict[str, Any],
    mode: str = "hybrid",
    limit: int = 6,
    actor_label: str,
    actor_user_id: int | None = None,
    job_id: str | None = None,
    task_id: str = "",
    relaxed_filters: list[dict[str, Any]] | None = None,
    company_scope: list[str] | None = None,
) -> dict[str, Any]:
    """Retrieve, then answer from the retrieved passages only, each sentence cited to a chunk.

    Returns the hits too, so that the web process can fall back to the extractive
    answer over the same retrieval when no generation model is available.

    Below the abstention threshold (``ARGUS_ABSTAIN_*``) the reply is "insufficient evidence"
    with the reason in ``abstention``, and no model is called (the search itself is audited).
    Passages of equal retrieval score reach the model most trusted source first.
    ``company_scope`` (the companies the question names, unless it compares with peers): passages
    of other companies are dropped before the model sees them, so no answer quotes them.
    """
    from gpu_workers.generation import GenerationRequest
    from pipelines.reports import (
        ReportOutputError,
        answer_messages,
        answer_schema,
        parse_model_json,
        passages_with_handles,
        resolve_handles,
        validate_report,
    )
    from pipelines.retrieval.abstention import assess_relevance
    from pipelines.retrieval.trust import dedupe_quotes, order_by_trust

    actor = Actor(label=actor_label, user_id=actor_user_id)
    hits, filter_step = search_relaxing(
        query=query,
        allowed_access_levels=allowed_access_levels,
        filters=filters,
        relaxed_filters=relaxed_filters,
        mode=mode,
        limit=limit,
        actor=actor,
        job_id=job_id,
        task_id=task_id,
    )
    passages, _ = passages_for_chunks([h.chunk_id for h in hits], allowed_access_levels)
    if company_scope:
        passages = [p for p in passages if not p.ticker or p.ticker in company_scope]
        kept = {p.chunk_id for p in passages}
        hits = [h for h in hits if h.chunk_id in kept]
    result: dict[str, Any] = {"hits": hit_dicts(hits, filter_step)}
    score_of = {h.chunk_id: h.score for h in hits}
    passages = order_by_trust(
        passages, score=lambda p: score_of[p.chunk_id], doc_type=lambda p: p.doc_type, trust=settings.ARGUS_SOURCE_TRUST
    )
    relevance = assess_relevance(query, hits, [passage_text(p) for p in passages], abstention_thresholds(), mode=mode)
    result["abstention"] = relevance.as_dict()
    if not relevance.sufficient:
        logger.info("answer abstained: %s", relevance.reason)
        return result | {"method": "abstained", "sentences": [], "insufficient_evidence": True}
    # Arithmetic is done by code on the cited cells, never by the model; the model still writes the answer.
    result["computed"] = computed_figure(query, passages)
    try:
        engine = generation_engine()
    except GenerationUnavailable as exc:
        return result | {"unavailable": str(exc)}
    handle_passages, handles = passages_with_handles(passages)
    schema = answer_schema(handle_passages, query)
    request = GenerationRequest(
        request_id=content_hash(query)[:16],
        messages=answer_messages(query, handle_passages),
        json_schema=schema,
        max_new_tokens=settings.ARGUS_ANSWER_MAX_NEW_TOKENS,
    )
    item = GenerationItem(
        request=request,
        actor=actor,
        purpose="answer",
        job_id=job_id,
        task_id=task_id,
        chunk_ids=[p.chunk_id for p in passages],
        document_ids=sorted({p.document_id for p in passages}),
        details={"passage_handles": handles},
    )
    [outcome] = generate_audited(engine, [item])
    try:
        decoded = parse_model_json(outcome.text)
    except ReportOutputError as exc:
        return result | {"unavailable": f"the model's answer was not valid JSON: {exc}"}
    # The same second check as reports: the full schema, whatever the grammar enforced.
    errors = validate_report(decoded, schema)
    if errors:
        return result | {"unavailable": f"the model's answer failed validation: {'; '.join(errors[:3])}"}
    parsed = resolve_handles(decoded, handles)
    allowed = {p.chunk_id for p in passages}
    quotes = [
        {"text": s.get("text", ""), "citation": s.get("citation")}
        for s in parsed.get("answer", [])
        if s.get("citation") in allowed and str(s.get("text", "")).strip()
    ]
    # xgrammar does not enforce uniqueItems, and one sentence can sit in two uploaded copies of a
    # document: a repeated quote is shown once.
    sentences = dedupe_quotes(quotes)
    return result | {
        "method": "generated",
        "sentences": sentences,
        "insufficient_evidence": bool(parsed.get("insufficient_evidence")) or not sentences,
        "inference_record": outcome.record_seq,
        "cache_hit": outcome.cache_hit,
    }


def computed_figure(question: str, passages: list[Any]) -> dict[str, Any] | None:
    """A value or computation the question asks for, from the retrieved table cells (pipelines.figures).

    Only the figure rules answer here (no read-off spans): the model quotes sentences; this adds the
    number with its formula and the cells it came from, each cell addressed as ``<chunk_id>#r3c2``.
    """
    from apps.research.selectors import chunk_tables
    from pipelines.figures import computed_answer_for_passages
    from pipelines.tables import cell_ref

    tables = chunk_tables([p.chunk_id for p in passages])
    figure = computed_answer_for_passages(
        question,
        [{"chunk_id": p.chunk_id, "text": p.text, "table": tables.get(p.chunk_id)} for p in passages],
        min_confidence=None,
    )
    if figure is None:
        return None
    for operand in figure["operands"]:
        table = tables.get(operand["table_ref"])
        operand["chunk_id"] = operand["table_ref"]
        if table is not None and 0 <= operand["row"] < len(table.get("rows") or []) and operand["col"] >= 0:
            # The figure engine counts rows within the chunk; a cell address uses the table's own row index.
            row_index = table["rows"][operand["row"]].get("index", operand["row"])
            operand["cell"] = cell_ref(operand["table_ref"], row_index, operand["col"])
        else:
            operand["cell"] = ""
    return figure


@shared_task(bind=True, base=JobTask, name="gpu_workers.tasks.inference_replay")
def inference_replay(self, job_id: str) -> dict[str, Any]:
    """The replay job: re-run a recorded generation and say whether the output is identical."""
    job = job_claim(job_id=job_id, worker=worker_name(), task_id=self.request.id or "")
    if job is None:
        return {"job_id": job_id, "skipped": "job already finished"}
    claim = claim_of(job)
    with job_context(job_id):
        seq = int(job.params["seq"])
        job_progress(claim=claim, progress=10, message=f"Replaying inference #{seq}")
        outcome = replay_record(seq=seq, actor=job_actor(job), job_id=job_id, task_id=self.request.id or "")
        if outcome.get("error"):
            job_fail(claim=claim, error=f"Replay of #{seq} not possible: {outcome['error']}.")
        else:
            verdict = "identical to the recorded output" if outcome["identical"] else "DIFFERS from the recorded output"
            job_succeed(
                claim=claim,
                result=outcome | {"verdict": verdict},
                message=f"Replay of #{seq}: {verdict} (recorded as #{outcome['replay_seq']})",
            )
    return {"job_id": job_id, "identical": outcome.get("identical")}


def replay_record(*, seq: int, actor: Actor, job_id: Any = None, task_id: str = "") -> dict[str, Any]:
    """Re-run a recorded generation from the record's own fields and say whether the output is identical."""
    record = InferenceRecord.objects.filter(seq=seq).first()
    if record is None or record.kind != InferenceKind.GENERATE:
        return {"seq": seq, "error": "only recorded generations can be replayed"}
    if record.status != "ok":
        return {"seq": seq, "error": "the recorded generation failed; there is no output to reproduce"}
    engine = generation_engine()
    if engine.model_version != record.model_version:
        return {"seq": seq, "error": f"the base model changed since (recorded {record.model_version[:16]})"}
    request = replay_request(record)
    if record.adapter_name:
        name, _, version = record.adapter_name.rpartition("@")
        adapter = adapter_with_hash(name=name, version=version, file_hash=record.adapter_version)
        if adapter is None:
            return {"seq": seq, "error": f"adapter {record.adapter_name} with the recorded hash is not registered"}
        adapter_load(engine, adapter)
    item = GenerationItem(
        request=request,
        actor=actor,
        purpose="replay",
        job_id=job_id,
        task_id=task_id,
        adapter_version=record.adapter_version,
        chunk_ids=list(record.chunk_ids),
        document_ids=list(record.document_ids),
        details={"replay_of": record.seq},
        use_cache=False,  # a replay must run the model, not read back what it said
    )
    [outcome] = generate_audited(engine, [item])
    identical = content_hash(outcome.text) == record.output_hash
    return {
        "seq": seq,
        "replay_seq": outcome.record_seq,
        "identical": identical,
        "output_hash": content_hash(outcome.text),
        "recorded_output_hash": record.output_hash,
        "output_text": outcome.text if not identical else "",
    }
