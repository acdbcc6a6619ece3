"""Model-worker task that generates research reports, batched across requests.

Report jobs are batched across requests: the task that runs claims its own job, then
claims other queued report jobs for up to ``ARGUS_GENERATION_BATCH_WAIT_MS`` (at most
``ARGUS_GENERATION_BATCH_SIZE`` in all) and generates them in one batched call. The
messages of the jobs it took find them finished and do nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from celery import shared_task
from django.conf import settings

from apps.audit.services import Actor
from apps.core.logging import job_context
from apps.jobs.models import Job, JobKind
from apps.jobs.services import (
    JobClaim,
    JobLeaseLost,
    claim_of,
    job_claim,
    job_claim_queued,
    job_fail,
    job_fenced,
    job_progress,
    job_succeed,
)
from apps.jobs.task_base import JobTask
from apps.registry.selectors import adapter_latest_ready, adapter_training_pending
from apps.reports.selectors import chunk_passage, report_for_generation
from apps.reports.services import report_fail, report_mark_generating, report_record_output
from apps.research.selectors import chunk_page_url, chunks_readable_at
from gpu_workers.tasks.common import TRANSIENT_ERRORS, job_actor, worker_name
from gpu_workers.tasks.generation import (
    GenerationItem,
    GenerationUnavailable,
    adapter_label,
    adapter_load,
    generate_audited,
    generation_engine,
)
from gpu_workers.tasks.research import abstention_thresholds, passage_text, search_audited
from pipelines.reports.spec import MAX_PASSAGES

logger = logging.getLogger(__name__)

REPORT_QUESTION_HITS = 6
INDICATOR_HITS = 3


@dataclass
class PreparedReport:
    job: Job
    claim: JobClaim
    report: Any  # apps.reports ResearchReport
    actor: Actor
    passages: list[Any]  # as retrieved, with their chunk ids
    handle_passages: list[Any]  # the same, labelled S1..Sn as in the prompt and the grammar
    handles: dict[str, str]
    spec: Any
    chunk_levels: dict[str, str]
    schema: dict[str, Any]
    item: GenerationItem
    adapter_label: str = ""
    adapter: Any = None  # the registry row; loaded into the engine just before its group generates
    notes: list[str] = field(default_factory=list)  # shown on the report (the base-model fallback)
    base_model_fallback: bool = False  # an adapter was asked for but still training: the base model wrote it


def passages_for_chunks(chunk_ids: list[str], allowed_access_levels: list[str]) -> tuple[list[Any], dict[str, str]]:
    """Passages for retrieved chunk ids, in order, re-checked against the access levels (defence in depth)."""
    found = chunks_readable_at(chunk_ids, allowed_access_levels)
    return [chunk_passage(c) for c in found], {c.chunk_id: c.document.access_level for c in found}


def merge_rankings(rankings: list[list[str]], limit: int) -> list[str]:
    """Round-robin over the ranked lists (first of each, then second of each, ...), without repeats.

    The question's list comes first, then one per required indicator: every indicator gets
    its best passage into the prompt before any list gets a second one.
    """
    chosen: list[str] = []
    for depth in range(max((len(r) for r in rankings), default=0)):
        for ranking in rankings:
            if depth < len(ranking) and ranking[depth] not in chosen:
                chosen.append(ranking[depth])
    return chosen[:limit]


def _report_retrieval(report: Any, spec: Any, *, actor: Actor, job_id: Any, task_id: str) -> list[str]:
    """The question's best chunks and the best few per required indicator; access levels in every query.

    When no query's hits reach the abstention threshold (``ARGUS_ABSTAIN_*``), the report gets
    no passages, and so "insufficient evidence" in every field by its own grammar, instead of a
    report written from passages about something else. When one query reaches it, every query
    keeps its hits: the retrieval is already limited to the report's company, and the report's
    own checks (numbers supported by the passages) judge each field.
    """
    from pipelines.retrieval.abstention import assess_relevance

    filters = {
        "tickers": [report.company.ticker],
        "published_to": report.as_of.isoformat() if report.as_of else None,
    }
    queries = [(f"{report.company.name} {spec.question}", REPORT_QUESTION_HITS)]
    queries += [(f"{report.company.name} {indicator}", INDICATOR_HITS) for indicator in spec.required_indicators]
    rankings, relevant = [], []
    for query, limit in queries:
        hits = search_audited(
            query=query,
            allowed_access_levels=list(report.allowed_access_levels),
            filters=filters,
            mode="hybrid",
            limit=limit,
            actor=actor,
            job_id=job_id,
            task_id=task_id,
        )
        passages, _ = passages_for_chunks([hit.chunk_id for hit in hits], list(report.allowed_access_levels))
        relevance = assess_relevance(query, hits, [passage_text(p) for p in passages], abstention_thresholds())
        relevant.append(relevance.sufficient)
        rankings.append([hit.chunk_id for hit in hits])
    if not any(relevant):
        logger.info("report %s: no query reached the abstention threshold; no passages", report.pk)
        return []
    # The prompt has a fixed budget of passages.
    return merge_rankings(rankings, MAX_PASSAGES)


def report_spec(report: Any) -> Any:
    from pipelines.reports import ReportRequestSpec, template_question

    return ReportRequestSpec(
        ticker=report.company.ticker,
        company=report.company.name,
        question=report.question or template_question(report.template),
        required_indicators=list(report.required_indicators),
        as_of=report.as_of.isoformat() if report.as_of else None,
        template=report.template,
    )


def prepare_report(job: Job, *, task_id: str) -> PreparedReport:
    from gpu_workers.generation import GenerationRequest
    from pipelines.reports import passages_with_handles, report_messages, report_schema

    report = report_for_generation(job.params["report_id"])
    report_mark_generating(report_id=report.pk)
    actor = job_actor(job)
    spec = report_spec(report)
    chunk_ids = _report_retrieval(report, spec, actor=actor, job_id=job.id, task_id=task_id)
    passages, levels = passages_for_chunks(chunk_ids, list(report.allowed_access_levels))
    handle_passages, handles = passages_with_handles(passages)
    schema = report_schema(spec, handle_passages, trust=source_trust())
    label, adapter_version, adapter, notes = "", "", None, []
    if report.adapter_name:
        adapter = adapter_latest_ready(report.adapter_name)
        if adapter is None and not adapter_training_pending(report.adapter_name):
            raise GenerationUnavailable(f"Adapter {report.adapter_name!r} is no longer available.")
        if adapter is None:
            # Audited as a base-model generation (no adapter label or version) and said on the report.
            notes.append(
                f"Written by the base model: the adapter {report.adapter_name!r} is still training. "
                "Key metrics come from the sources either way; the wording may be plainer."
            )
        else:
            label, adapter_version = adapter_label(adapter), adapter.file_hash
    request = GenerationRequest(
        request_id=str(report.pk),
        messages=report_messages(spec, handle_passages),
        adapter=label or None,
        json_schema=schema,
        max_new_tokens=settings.ARGUS_REPORT_MAX_NEW_TOKENS,
        temperature=0.0,
        seed=0,
    )
    item = GenerationItem(
        request=request,
        actor=actor,
        purpose="report",
        adapter_version=adapter_version,
        job_id=job.id,
        task_id=task_id,
        chunk_ids=[p.chunk_id for p in passages],
        document_ids=sorted({p.document_id for p in passages}),
        details={
            "report_id": str(report.pk),
            "ticker": spec.ticker,
            "required_indicators": spec.required_indicators,
            "passage_handles": handles,
            "adapter_requested": report.adapter_name,
            "base_model_fallback": bool(notes),
        },
    )
    return PreparedReport(
        job,
        claim_of(job),
        report,
        actor,
        passages,
        handle_passages,
        handles,
        spec,
        levels,
        schema,
        item,
        label,
        adapter,
        notes,
        bool(notes),
    )


def source_trust() -> dict[str, int]:
    """The document-type trust levels: the defaults with the deployment's overrides."""
    from pipelines.reports.candidates import SOURCE_TRUST

    return {**SOURCE_TRUST, **getattr(settings, "ARGUS_SOURCE_TRUST", {})}


def _chunk_url(passages: list[Any]) -> Any:
    documents = {p.chunk_id: p.document_id for p in passages}
    return lambda chunk_id: chunk_page_url(documents[chunk_id], chunk_id) if chunk_id in documents else "#"


def finish_report(prepared: PreparedReport, outcome: Any, *, engine: Any) -> dict[str, Any]:
    """Parse, validate again against the full schema, check numbers against their sources, render, store.

    Validation runs on the output as decoded (citing S1..Sn, like the grammar); the stored
    report and its findings cite the real chunk ids.
    """
    from pipelines.reports import (
        ReportFindings,
        ReportOutputError,
        guard_free_text,
        parse_model_json,
        render_report_html,
        render_report_markdown,
        report_findings,
        resolve_handles,
        tidy_report,
    )

    report, passages = prepared.report, prepared.passages
    seqs = [s for s in [outcome.record_seq] if s is not None]
    common = {
        "report_id": report.pk,
        "chunk_ids": [p.chunk_id for p in passages],
        "chunk_access_levels": list(prepared.chunk_levels.values()),
        "inference_seqs": seqs,
        "model_name": getattr(engine, "registry_name", "") or engine.model_name,
        "model_version": engine.model_version,
        "adapter_label": prepared.adapter_label,
    }
    try:
        decoded, junk_notes = guard_free_text(tidy_report(parse_model_json(outcome.text)))
    except ReportOutputError as exc:
        error = f"The model output is not valid JSON (finish: {outcome.finish_reason}): {exc}"
        findings = {"valid": False, "schema_errors": [error], "chunk_documents": {}, "tokens_out": outcome.tokens_out}
        written = report_record_output(
            output=None, findings=findings, rendered_html="", rendered_markdown="", error=error, **common
        )
        return {"valid": False, "error": error, "written": written}
    checked = report_findings(
        decoded,
        prepared.schema,
        prepared.handle_passages,
        spec=prepared.spec,
        trust=source_trust(),
        notes=[*prepared.notes, *junk_notes],
    )
    output = resolve_handles(decoded, prepared.handles)
    findings_dict = resolve_handles(checked.to_dict(), prepared.handles)
    findings = ReportFindings.from_dict(findings_dict)
    findings_dict |= {
        "cache_hit": outcome.cache_hit,
        "tokens_out": outcome.tokens_out,
        "finish_reason": outcome.finish_reason,
        "chunk_documents": {p.chunk_id: p.document_id for p in passages},
        "adapter_requested": report.adapter_name,
        "base_model_fallback": prepared.base_model_fallback,
    }
    error = (
        ""
        if checked.valid
        else "The output failed validation: " + "; ".join([*checked.schema_errors, *checked.citation_errors][:5])
    )
    written = report_record_output(
        output=output,
        findings=findings_dict,
        rendered_html=render_report_html(
            output, findings, passages, chunk_url=_chunk_url(passages), spec=prepared.spec
        ),
        rendered_markdown=render_report_markdown(output, findings, passages, spec=prepared.spec),
        error=error,
        **common,
    )
    return {
        "valid": checked.valid,
        "matched_share": checked.matched_share,
        "supported_share": checked.supported_share,
        "numbers_checked": checked.numbers_checked,
        "numbers_unsupported": len(checked.unsupported),
        "error": error,
        "written": written,
    }


def report_job_message(result: dict[str, Any], *, cache_hit: bool) -> str:
    """What the job says when it ends: never "ready for review" for a report with an unsupported number."""
    if not result.get("written", True):
        return "The report was settled in the meantime; this run's output was not stored"
    suffix = " (from cache)" if cache_hit else ""
    if result.get("numbers_unsupported"):
        return (
            f"Report needs attention: {result['numbers_unsupported']} of {result['numbers_checked']} numbers "
            f"are not supported by their sources{suffix}"
        )
    return "Report ready for review" + suffix


@shared_task(bind=True, base=JobTask, name="gpu_workers.tasks.reports_generate")
def reports_generate(self, job_id: str) -> dict[str, Any]:
    from gpu_workers.generation import collect_batch

    me, task_id = worker_name(), self.request.id or ""
    own = job_claim(job_id=job_id, worker=me, task_id=task_id)
    if own is None:
        return {"job_id": job_id, "skipped": "job already finished"}
    taken = {str(own.pk)}
    first = [own]

    def take(room: int) -> list[Job]:
        if first:
            return [first.pop()]
        # The other jobs' own messages then find them held (or finished) and do nothing.
        jobs = job_claim_queued(kind=JobKind.REPORT, worker=me, task_id=task_id, limit=room, exclude=taken)
        taken.update(str(j.pk) for j in jobs)
        return jobs

    batch = collect_batch(
        take,
        max_size=max(1, settings.ARGUS_GENERATION_BATCH_SIZE),
        max_wait_s=settings.ARGUS_GENERATION_BATCH_WAIT_MS / 1000,
    )
    return reports_generate_batch(batch, task_id=task_id)


def adapter_groups(prepared: list[PreparedReport], max_adapters: int) -> list[list[PreparedReport]]:
    """Split a batch so that no generate() needs more adapters than the engine keeps loaded.

    Loading a fifth adapter into a four-adapter engine would evict one that an earlier row of
    the same batch still needs; grouping by adapter keeps every row's adapter in place.
    """
    by_adapter: dict[str, list[PreparedReport]] = {}
    for p in prepared:
        by_adapter.setdefault(p.adapter_label, []).append(p)
    groups: list[list[PreparedReport]] = []
    current: list[PreparedReport] = []
    adapters_in_current = 0
    for label, members in by_adapter.items():
        needs_slot = 1 if label else 0
        if current and adapters_in_current + needs_slot > max_adapters:
            groups.append(current)
            current, adapters_in_current = [], 0
        current.extend(members)
        adapters_in_current += needs_slot
    if current:
        groups.append(current)
    return groups


def reports_generate_batch(batch: list[Job], *, task_id: str) -> dict[str, Any]:
    """Prepare every job, generate them in adapter groups, finish each: one item's error fails that item alone."""
    claims = {str(job.pk): claim_of(job) for job in batch}
    try:
        engine = generation_engine()
    except GenerationUnavailable as exc:
        for job in batch:
            _fail(claims[str(job.pk)], job, f"{exc}")
        return {"failed": [str(j.pk) for j in batch]}
    prepared: list[PreparedReport] = []
    for job in batch:
        with job_context(str(job.pk)):
            try:
                job_progress(
                    claim=claims[str(job.pk)], progress=5, message=f"Retrieving sources (batch of {len(batch)})"
                )
                prepared.append(prepare_report(job, task_id=task_id))
            except (JobLeaseLost, *TRANSIENT_ERRORS):
                raise
            except Exception as exc:
                logger.exception("report preparation failed")
                _fail(claims[str(job.pk)], job, f"{type(exc).__name__}: {exc}")
    summary: dict[str, Any] = {"generated": 0, "failed": [], "batch_size": len(prepared)}
    for group in adapter_groups(prepared, max(1, engine.max_loaded_adapters)):
        ready = _ready_items(engine, group, summary)
        for p, outcome in _generate_group(engine, ready, summary):
            _finish(p, outcome, engine=engine, batch_size=len(ready), summary=summary)
    return summary


def _ready_items(engine: Any, group: list[PreparedReport], summary: dict[str, Any]) -> list[PreparedReport]:
    """Load the group's adapters and check each request before generate(); a bad one fails alone."""
    ready = []
    for p in group:
        with job_context(str(p.job.pk)):
            try:
                if p.adapter is not None:
                    adapter_load(engine, p.adapter)
                engine.check(p.item.request)
                job_progress(claim=p.claim, progress=30, message=f"Generating (batch of {len(group)})")
            except (JobLeaseLost, *TRANSIENT_ERRORS):
                raise
            except Exception as exc:
                logger.warning("report %s cannot be generated: %s", p.report.pk, exc)
                _fail(p.claim, p.job, f"{type(exc).__name__}: {exc}")
                summary["failed"].append(str(p.job.pk))
                continue
            ready.append(p)
    return ready


def _generate_group(engine: Any, ready: list[PreparedReport], summary: dict[str, Any]) -> list[tuple[Any, Any]]:
    """One batched generate(); if it fails as a whole, each item alone, so one bad item fails only itself."""
    if not ready:
        return []
    if len(ready) > 1:
        try:
            return list(zip(ready, generate_audited(engine, [p.item for p in ready]), strict=True))
        except TRANSIENT_ERRORS:
            raise
        except Exception:
            logger.exception("a batch of %d failed; generating its items one by one", len(ready))
    done = []
    for p in ready:
        try:
            done.extend(zip([p], generate_audited(engine, [p.item]), strict=True))
        except TRANSIENT_ERRORS:
            raise
        except Exception as exc:
            logger.exception("generation failed for report %s", p.report.pk)
            _fail(p.claim, p.job, f"generation: {type(exc).__name__}: {exc}")
            summary["failed"].append(str(p.job.pk))
    return done


def _finish(p: PreparedReport, outcome: Any, *, engine: Any, batch_size: int, summary: dict[str, Any]) -> None:
    with job_context(str(p.job.pk)):
        try:
            # Only the current attempt writes the report: a stale worker's late output is refused.
            with job_fenced(p.claim):
                result = finish_report(p, outcome, engine=engine)
                if result["error"] and result["written"]:
                    job_fail(claim=p.claim, error=result["error"])
                    summary["failed"].append(str(p.job.pk))
                    return
                job_succeed(
                    claim=p.claim,
                    result={
                        "report_id": str(p.report.pk),
                        "stored": result["written"],
                        "matched_share": result.get("matched_share"),
                        "supported_share": result.get("supported_share"),
                        "numbers_checked": result.get("numbers_checked", 0),
                        "numbers_unsupported": result.get("numbers_unsupported", 0),
                        "cache_hit": outcome.cache_hit,
                        "batch_size": batch_size,
                        "inference_record": outcome.record_seq,
                    },
                    result_ref=f"reports.ResearchReport:{p.report.pk}",
                    message=report_job_message(result, cache_hit=outcome.cache_hit),
                )
                summary["generated"] += 1
        except JobLeaseLost:
            logger.warning("report %s: a later attempt owns the job; this output is dropped", p.report.pk)
        except TRANSIENT_ERRORS:
            raise
        except Exception as exc:
            logger.exception("report finishing failed")
            _fail(p.claim, p.job, f"{type(exc).__name__}: {exc}")
            summary["failed"].append(str(p.job.pk))


def _fail(claim: JobClaim, job: Job, error: str) -> None:
    try:
        with job_fenced(claim):
            job_fail(claim=claim, error=error)
            report_id = (job.params or {}).get("report_id")
            if report_id:
                report_fail(report_id=report_id, error=error)
    except JobLeaseLost:
        logger.warning("job %s: not failing it, a later attempt owns it", job.pk)


__all__ = ["passages_for_chunks", "reports_generate", "reports_generate_batch"]
