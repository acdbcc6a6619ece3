"""Reads of the research desk. Every function takes the user and returns only what that user may read."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from celery.exceptions import TimeoutError as ResultTimeout
from django.conf import settings
from django.db.models import QuerySet
from kombu.exceptions import OperationalError as BrokerUnreachable

from apps.jobs.services import models_call

# Re-exported: other apps (apps.reports) read the access policy through selectors, not research.access.
from apps.research.access import RESEARCH_READER_ROLES as RESEARCH_READER_ROLES
from apps.research.access import allowed_access_levels as allowed_access_levels
from apps.research.access import most_restricted_level as most_restricted_level
from apps.research.models import Company, Document, DocumentChunk, DocumentStatus
from pipelines.entities import CompanyRecord
from pipelines.query import CompanyMatcher, MasterCompany, QueryIntent, understand_query
from pipelines.tables import cell_ref, find_cell, parse_cell, parse_cell_ref

SEARCH_TASK = "gpu_workers.tasks.search_chunks"
# Passages an answer is generated from: the prompt of a small model has room for about this many.
ANSWER_PASSAGES = 6
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9.%$-]*")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9“\"(])")
STOPWORDS = frozenset(
    """a an and are as at be by did do does for from had has have how in is it its of on or that the this to
    was were what when where which who why will with""".split()  # noqa: SIM905 - a word list reads better this way
)


def company_records() -> list[CompanyRecord]:
    """The whole company master as the entity linker takes it (not user-specific: the master is public)."""
    return [
        CompanyRecord(ticker=ticker, name=name, aliases=tuple(aliases or ()), cik=cik)
        for ticker, name, aliases, cik in Company.objects.order_by("ticker").values_list(
            "ticker", "name", "aliases", "cik"
        )
    ]


def document_list_for_user(user: Any) -> QuerySet[Document]:
    return Document.objects.select_related("company", "uploaded_by").filter(
        access_level__in=allowed_access_levels(user)
    )


def document_get_for_user(user: Any, document_id: Any) -> Document | None:
    return document_list_for_user(user).filter(pk=document_id).first()


@dataclass(frozen=True)
class SearchQuery:
    text: str
    tickers: tuple[str, ...] = ()
    doc_types: tuple[str, ...] = ()
    published_from: dt.date | None = None
    published_to: dt.date | None = None
    mode: str = "hybrid"
    limit: int = 10
    fiscal_years: tuple[int, ...] = ()
    # The point in time the question is asked at: nothing published after it is retrieved, and
    # "last year" / "latest" resolve against it. None means today (and no date filter).
    as_of: dt.date | None = None
    # Apply the companies and fiscal years the question names as filters when the caller gave none.
    understand: bool = True

    @property
    def effective_published_to(self) -> dt.date | None:
        dates = [d for d in (self.published_to, self.as_of) if d is not None]
        return min(dates) if dates else None

    def filters(self) -> dict[str, Any]:
        published_to = self.effective_published_to
        return {
            "tickers": list(self.tickers),
            "doc_types": list(self.doc_types),
            "fiscal_years": list(self.fiscal_years),
            "published_from": self.published_from.isoformat() if self.published_from else None,
            "published_to": published_to.isoformat() if published_to else None,
        }


# --- query understanding ----------------------------------------------------------------

_MASTER_VERSION_KEY = "research:company-master-version"
_matcher_cache: dict[str, Any] = {}


def company_master_version() -> tuple[Any, ...]:
    """Changes whenever the master does: rows added or removed (count, newest id), or edited (a counter
    the company services bump, in the cache shared by the web processes)."""
    from django.core.cache import cache
    from django.db.models import Count, Max

    stats = Company.objects.aggregate(count=Count("id"), newest=Max("id"))
    return (stats["count"], stats["newest"], cache.get(_MASTER_VERSION_KEY, 0))


def company_matcher() -> CompanyMatcher:
    """The query parser's view of the company master, rebuilt only when the master changed."""
    version = company_master_version()
    if _matcher_cache.get("version") != version:
        rows = Company.objects.order_by("ticker").values_list("ticker", "name", "aliases")
        _matcher_cache["matcher"] = CompanyMatcher(
            MasterCompany(ticker, name, tuple(aliases or ())) for ticker, name, aliases in rows
        )
        _matcher_cache["version"] = version
    return _matcher_cache["matcher"]


def unknown_tickers(tickers: Iterable[str]) -> list[str]:
    """The tickers (upper-cased) that the company master does not hold, in the order given."""
    wanted = list(dict.fromkeys(t.strip().upper() for t in tickers if t.strip()))
    known = set(Company.objects.filter(ticker__in=wanted).values_list("ticker", flat=True))
    return [t for t in wanted if t not in known]


def latest_fiscal_year_for_user(user: Any, tickers: Iterable[str], as_of: dt.date | None) -> int | None:
    """The newest fiscal year among the documents the user may read (of these companies, if any),
    published by the as-of date: what "latest" means for a question."""
    documents = document_list_for_user(user).filter(fiscal_year__isnull=False)
    tickers = list(tickers)
    if tickers:
        documents = documents.filter(company__ticker__in=tickers)
    if as_of is not None:
        documents = documents.filter(published_on__lte=as_of)
    return documents.order_by("-fiscal_year").values_list("fiscal_year", flat=True).first()


@dataclass(frozen=True)
class QueryPlan:
    """What a search or an answer retrieves with: the filters, the stated fallbacks, and why.

    ``steps[0]`` is tried first; each later step drops one filter that query understanding added
    (never one the caller gave, never the as-of date), and ``notes[i]`` says what step ``i`` gave up.
    """

    intent: QueryIntent | None
    steps: list[dict[str, Any]]
    notes: list[str]
    applied: dict[str, Any]
    company_scope: tuple[str, ...]
    latest_fiscal_year: int | None = None

    def understanding(self, filter_step: int | None = None) -> dict[str, Any]:
        """The ``query_understanding`` block of a response; ``fallback`` names the step that answered."""
        body: dict[str, Any] = self.intent.to_dict() if self.intent else {"companies": [], "periods": []}
        body["latest_fiscal_year"] = self.latest_fiscal_year
        body["applied_filters"] = self.applied
        body["company_scope"] = list(self.company_scope)
        body["fallback"] = self.notes[filter_step] if filter_step else None
        return body


def query_plan_for_user(user: Any, query: SearchQuery) -> QueryPlan:
    """Detected companies and fiscal years become filters when the caller gave none, with fallbacks."""
    base = query.filters()
    published_to = query.effective_published_to
    applied: dict[str, Any] = {"tickers": [], "fiscal_years": [], "published_to": None}
    if query.as_of is not None:
        applied["published_to"] = published_to.isoformat() if published_to else None
    if not query.understand:
        return QueryPlan(None, [base], [""], applied, ())
    intent = understand_query(query.text, company_matcher(), as_of=query.as_of or dt.date.today())
    scope = intent.company_scope()
    tickers = list(scope) if not query.tickers else []
    years = list(intent.fiscal_years) if not query.fiscal_years else []
    latest = None
    if intent.latest and not years and not query.fiscal_years:
        latest = latest_fiscal_year_for_user(user, query.tickers or scope, query.as_of)
        years = [latest] if latest is not None else []
    applied |= {"tickers": tickers, "fiscal_years": years}
    steps = [base | ({"tickers": tickers} if tickers else {}) | ({"fiscal_years": years} if years else {})]
    notes = [""]
    if years:
        steps.append(base | ({"tickers": tickers} if tickers else {}))
        named = ", ".join(str(y) for y in years)
        notes.append(
            f"No passage matched fiscal year {named}"
            + (f" for {', '.join(tickers)}" if tickers else "")
            + "; searched without the fiscal-year filter."
        )
    if tickers:
        steps.append(base)
        notes.append(
            f"No passage of {', '.join(tickers)} matched; searched all companies"
            + (" and years" if years else "")
            + " (answers still quote only the companies named)."
        )
    return QueryPlan(intent, steps, notes, applied, tuple(query.tickers) or scope, latest)


@dataclass
class SearchResult:
    chunk: DocumentChunk
    document: Document
    rank: int
    score: float
    ranks: dict[str, int] = field(default_factory=dict)
    highlights: list[tuple[int, int]] = field(default_factory=list)  # char spans in chunk.text


def query_terms(text: str) -> list[str]:
    return [w.lower().strip(".-") for w in _WORD.findall(text) if w.lower() not in STOPWORDS and len(w) > 1]


def highlight_spans(text: str, terms: list[str]) -> list[tuple[int, int]]:
    wanted = set(terms)
    return [(m.start(), m.end()) for m in _WORD.finditer(text) if m.group().lower().strip(".-") in wanted]


def _retrieval_kwargs(
    user: Any, query: SearchQuery, levels: list[str], limit: int, plan: QueryPlan | None = None
) -> dict[str, Any]:
    """What the model worker's search and answer tasks take: the query, the user's levels, who asks,
    and the filters to fall back to while nothing matches."""
    plan = plan or query_plan_for_user(user, query)
    return {
        "query": query.text,
        "allowed_access_levels": levels,
        "filters": plan.steps[0],
        "relaxed_filters": plan.steps[1:],
        "mode": query.mode,
        "limit": limit,
        "actor_label": f"user:{user.get_username()}",
        "actor_user_id": user.pk,
    }


@dataclass
class SearchOutcome:
    results: list[SearchResult]
    understanding: dict[str, Any]


def chunk_search_understood(user: Any, query: SearchQuery) -> SearchOutcome:
    """Hybrid search over the chunks the user may read, with the companies and periods the query names.

    The allowed access levels travel into the vector query itself; the rows are
    then loaded through ``document_list_for_user`` too, so a chunk of a document
    the user cannot read can never reach the result even if the index were stale.
    """
    plan = query_plan_for_user(user, query)
    levels = sorted(allowed_access_levels(user))
    if not levels or not query.text.strip():
        return SearchOutcome([], plan.understanding())
    hits = models_call(
        SEARCH_TASK,
        kwargs=_retrieval_kwargs(user, query, levels, query.limit, plan),
        timeout=settings.ARGUS_SEARCH_TIMEOUT,
    )
    step = hits[0].get("filter_step", 0) if hits else len(plan.steps) - 1
    return SearchOutcome(search_results_for_hits(user, hits, query), plan.understanding(step))


def chunk_search_for_user(user: Any, query: SearchQuery) -> list[SearchResult]:
    return chunk_search_understood(user, query).results


def search_results_for_hits(user: Any, hits: list[dict[str, Any]], query: SearchQuery) -> list[SearchResult]:
    """Rows for the model worker's hits, through ``document_list_for_user`` again (defence in depth)."""
    chunks = {
        c.chunk_id: c
        for c in DocumentChunk.objects.select_related("document", "document__company").filter(
            chunk_id__in=[h["chunk_id"] for h in hits], document__in=document_list_for_user(user)
        )
    }
    terms = query_terms(query.text)
    results = []
    for hit in hits:
        chunk = chunks.get(hit["chunk_id"])
        if chunk is None:
            continue
        results.append(
            SearchResult(
                chunk=chunk,
                document=chunk.document,
                rank=len(results) + 1,
                score=hit["score"],
                ranks=hit.get("ranks", {}),
                highlights=highlight_spans(chunk.text, terms),
            )
        )
    return results


@dataclass(frozen=True)
class Citation:
    chunk_id: str
    document_id: str
    document_title: str
    page: int | None
    section: str


@dataclass(frozen=True)
class AnswerSentence:
    text: str
    citation: Citation


@dataclass(frozen=True)
class ConflictQuote:
    text: str
    citation: Citation
    doc_type: str
    trust: int
    figures: list[str]


@dataclass(frozen=True)
class FigureConflict:
    """Quoted sentences giving different figures for one metric and period, most trusted source first."""

    metric: str
    period: str
    preferred_chunk_id: str  # "" when the top sources are equally trusted
    quotes: list[ConflictQuote]


@dataclass(frozen=True)
class Answer:
    question: str
    sentences: list[AnswerSentence]
    sources: list[SearchResult]
    method: str  # "extractive" until the generation worker answers; "abstained" below the threshold
    insufficient_evidence: bool
    conflicts: list[FigureConflict] = field(default_factory=list)
    abstention: dict[str, Any] | None = None  # why the evidence was (not) enough, from the answer job
    # A figure computed by code from cited table cells (pipelines.figures), with its formula.
    computed: dict[str, Any] | None = None
    query_understanding: dict[str, Any] | None = None


def computed_for_reader(computed: dict[str, Any] | None, results: list[SearchResult]) -> dict[str, Any] | None:
    """The answer job's computed figure, if the reader may read every cell it was computed from.

    Each operand gains its document and the URL that opens its table at the cell, marked.
    """
    if not computed or not computed.get("operands"):
        return None
    readable = {r.chunk.chunk_id: r for r in results}
    operands = []
    for operand in computed["operands"]:
        chunk_id = str(operand.get("chunk_id") or operand.get("table_ref") or "")
        result = readable.get(chunk_id)
        if result is None:
            return None
        cell = str(operand.get("cell") or "").partition("#")[2]
        operands.append(
            operand
            | {
                "chunk_id": chunk_id,
                "document_id": str(result.document.pk),
                "document_title": result.document.title,
                "url": chunk_page_url(result.document.pk, chunk_id, cell=cell),
            }
        )
    return computed | {"operands": operands}


def answer_conflicts(sentences: list[AnswerSentence], results: list[SearchResult]) -> list[FigureConflict]:
    """Conflicting figures among the answer's sentences (pipelines.retrieval.trust), with their citations."""
    from pipelines.retrieval.trust import find_conflicts

    doc_types = {r.chunk.chunk_id: r.document.doc_type for r in results}
    citations = {s.citation.chunk_id: s.citation for s in sentences}
    found = find_conflicts(
        [{"text": s.text, "citation": s.citation.chunk_id} for s in sentences],
        doc_types=doc_types,
        trust=settings.ARGUS_SOURCE_TRUST,
    )
    return [
        FigureConflict(
            c.metric,
            c.period,
            c.preferred,
            [ConflictQuote(q.text, citations[q.citation], q.doc_type, q.trust, q.figures) for q in c.quotes],
        )
        for c in found
    ]


def with_conflicts(answer: Answer) -> Answer:
    if answer.insufficient_evidence or len(answer.sentences) < 2:
        return answer
    return dataclasses.replace(answer, conflicts=answer_conflicts(answer.sentences, answer.sources))


def extractive_answer(question: str, results: list[SearchResult], *, max_sentences: int = 3) -> Answer:
    """The best sentences of the retrieved chunks, each cited to its chunk.

    Sentences are scored by the question terms they contain (weighted by how rare
    the term is among the candidates) plus the rank of their chunk; no sentence
    from outside the retrieved chunks can appear.
    """
    terms = set(query_terms(question))
    candidates: list[tuple[float, int, str, SearchResult]] = []
    for result in results:
        # Lines first: a heading has no full stop and would otherwise be glued to the next sentence.
        sentences = [part for line in result.chunk.text.splitlines() for part in _SENTENCE_END.split(line)]
        for position, sentence in enumerate(sentences):
            sentence = " ".join(sentence.split())
            if len(sentence) < 25:
                continue
            candidates.append((0.0, position, sentence, result))
    if not candidates or not terms:
        return Answer(question, [], results, "extractive", insufficient_evidence=True)
    document_frequency = {t: sum(1 for _, _, s, _ in candidates if t in set(query_terms(s))) for t in terms}
    scored = []
    for _, position, sentence, result in candidates:
        words = set(query_terms(sentence))
        overlap = sum(1.0 / document_frequency[t] for t in terms & words if document_frequency[t])
        if overlap == 0:
            continue
        scored.append((overlap + 0.5 / result.rank - 0.01 * position, sentence, result))
    scored.sort(key=lambda item: item[0], reverse=True)
    chosen, seen = [], set()
    for _, sentence, result in scored:
        if sentence in seen:
            continue
        seen.add(sentence)
        chunk = result.chunk
        chosen.append(
            AnswerSentence(
                sentence,
                Citation(
                    chunk.chunk_id, str(result.document.pk), result.document.title, chunk.page_start, chunk.section
                ),
            )
        )
        if len(chosen) == max_sentences:
            break
    return Answer(question, chosen, results, "extractive", insufficient_evidence=not chosen)


def _citation(result: SearchResult) -> Citation:
    chunk = result.chunk
    return Citation(chunk.chunk_id, str(result.document.pk), result.document.title, chunk.page_start, chunk.section)


def answer_retrieval_kwargs(user: Any, query: SearchQuery, plan: QueryPlan | None = None) -> dict[str, Any] | None:
    """What the answer job retrieves with; None when the user may read nothing or asked nothing.

    ``company_scope``: the companies an answer may quote (those the question names, or the caller's
    tickers); empty when the question compares with peers or names no company.
    """
    levels = sorted(allowed_access_levels(user))
    if not levels or not query.text.strip():
        return None
    plan = plan or query_plan_for_user(user, query)
    return _retrieval_kwargs(user, query, levels, min(query.limit, ANSWER_PASSAGES), plan) | {
        "company_scope": list(plan.company_scope)
    }


def _in_scope(results: list[SearchResult], scope: list[str]) -> list[SearchResult]:
    """Results of the companies in scope, and of documents about no company (the scope being empty: all)."""
    if not scope:
        return results
    return [r for r in results if r.document.company is None or r.document.company.ticker in scope]


def answer_for_job(user: Any, job: Any) -> Answer | None:
    """The answer an answer job produced, for this user; None while it runs.

    The model worker retrieved with the user's access levels in the query and answered under a
    grammar whose citations can only name retrieved chunks; the answer is kept only for
    chunks the user may read (checked again here). A failed job has no answer (its error says why).
    """
    params = job.params or {}
    question = params.get("question", "")
    if not params.get("retrieval"):
        understanding = _answer_understanding(params.get("understanding"), None)
        return Answer(question, [], [], "extractive", insufficient_evidence=True, query_understanding=understanding)
    if job.status != "succeeded":
        return None
    reply = job.result or {}
    hits = reply.get("hits", [])
    understanding = _answer_understanding(params.get("understanding"), hits[0].get("filter_step", 0) if hits else -1)
    # The model worker dropped passages of companies the question does not name; checked again here.
    results = _in_scope(
        search_results_for_hits(user, hits, SearchQuery(text=question)),
        params["retrieval"].get("company_scope") or [],
    )
    abstention = reply.get("abstention")
    computed = computed_for_reader(reply.get("computed"), results)
    if reply.get("method") == "abstained":
        # Below the relevance threshold: no model was called, and no quote is picked either.
        return Answer(
            question,
            [],
            results,
            "abstained",
            insufficient_evidence=True,
            abstention=abstention,
            query_understanding=understanding,
        )
    if reply.get("method") != "generated":
        extractive = extractive_answer(question, results)
        return with_conflicts(
            dataclasses.replace(extractive, abstention=abstention, computed=computed, query_understanding=understanding)
        )
    by_chunk = {r.chunk.chunk_id: r for r in results}
    sentences = [
        AnswerSentence(" ".join(s["text"].split()), _citation(by_chunk[s["citation"]]))
        for s in reply.get("sentences", [])
        if s.get("citation") in by_chunk
    ]
    insufficient = bool(reply.get("insufficient_evidence")) or not sentences
    answer = Answer(
        question,
        [] if insufficient else sentences,
        results,
        "generated",
        insufficient_evidence=insufficient,
        abstention=abstention,
        computed=computed,
        query_understanding=understanding,
    )
    return with_conflicts(answer)


def _answer_understanding(recorded: dict[str, Any] | None, filter_step: int | None) -> dict[str, Any] | None:
    """The job's recorded understanding with the fallback that answered (-1: every step came back empty)."""
    if recorded is None:
        return None
    notes = recorded.get("fallbacks") or [""]
    step = len(notes) - 1 if filter_step == -1 else filter_step or 0
    return {k: v for k, v in recorded.items() if k != "fallbacks"} | {"fallback": notes[step] or None}


def answer_job_get_for_user(user: Any, job_id: Any) -> Any:
    """The user's own answer job (or None): answers are private to who asked."""
    from apps.jobs.models import Job, JobKind

    return Job.objects.filter(pk=job_id, kind=JobKind.ANSWER, owner=user).first()


# --- document lists and pages (API and UI) --------------------------------------------

# Statuses a document passes through on its way to indexed (or gone); pages poll while any shows.
ACTIVE_DOCUMENT_STATUSES = frozenset(
    {DocumentStatus.QUEUED, DocumentStatus.PARSING, DocumentStatus.INDEXING, DocumentStatus.DELETING}
)


@dataclass(frozen=True)
class DocumentFilters:
    ticker: str = ""
    doc_type: str = ""
    status: str = ""
    access_level: str = ""
    published_from: dt.date | None = None
    published_to: dt.date | None = None
    text: str = ""  # words of the title


def document_list_filtered_for_user(user: Any, filters: DocumentFilters) -> QuerySet[Document]:
    documents = document_list_for_user(user)
    if filters.ticker:
        documents = documents.filter(company__ticker__iexact=filters.ticker.strip())
    if filters.doc_type:
        documents = documents.filter(doc_type=filters.doc_type)
    if filters.status:
        documents = documents.filter(status=filters.status)
    if filters.access_level:
        documents = documents.filter(access_level=filters.access_level)
    if filters.published_from:
        documents = documents.filter(published_on__gte=filters.published_from)
    if filters.published_to:
        documents = documents.filter(published_on__lte=filters.published_to)
    for word in filters.text.split()[:10]:
        documents = documents.filter(title__icontains=word)
    return documents


def document_is_busy(document: Document) -> bool:
    """True while a job still works on the document: a second ingest or delete would race it.

    A document left ``parsing`` by a job that has since failed or vanished is not busy:
    re-indexing is how it gets unstuck.
    """
    if document.status == DocumentStatus.DELETING:
        return True
    if document.status not in ACTIVE_DOCUMENT_STATUSES:
        return False
    job = document.job
    return job is not None and not job.is_finished


def redaction_counts(document: Document) -> dict[str, int]:
    """How many values of each kind were redacted; the log holds hashes, never the values."""
    counts: dict[str, int] = {}
    for entry in document.redaction_log or []:
        kind = str(entry.get("kind", "other")) if isinstance(entry, dict) else "other"
        counts[kind] = counts.get(kind, 0) + 1
    return dict(sorted(counts.items()))


# What ``chunk_search_for_user`` raises when the model worker does not answer in time
# (or the broker is down): callers turn it into "try again", not a server error.
MODEL_WORKER_ERRORS: tuple[type[BaseException], ...] = (ResultTimeout, BrokerUnreachable)


# --- what the model worker reads (gpu_workers.tasks go through these, never the models) -----------


def chunk_page_url(document_id: Any, chunk_id: str, *, cell: str = "") -> str:
    """The document page scrolled to (and highlighting) the chunk, on whichever page of chunks holds it.

    ``cell`` ("r3c2", see ``pipelines.tables``) opens a table chunk at that cell, marked.
    """
    from django.urls import reverse

    base = reverse("research:document-detail", args=[document_id])
    address = parse_cell(cell)
    if address is not None:
        return f"{base}?chunk={chunk_id}&cell={address}#cell-{chunk_id}-{address}"
    return f"{base}?chunk={chunk_id}#chunk-{chunk_id}"


@dataclass(frozen=True)
class TableCellCitation:
    """What a citation to one table cell names: document, page, table, row label, column header, figure."""

    ref: str  # "<chunk_id>#r3c2"
    chunk_id: str
    document_id: str
    document_title: str
    page: int | None
    table_index: int | None
    table_title: str
    row_label: str
    column_header: str
    period: dict[str, Any] | None
    text: str
    value: float | None
    scale: str | None
    unit: str | None
    url: str


def table_cell_for_user(user: Any, ref: str) -> TableCellCitation | None:
    """Resolve ``<chunk_id>#r3c2`` to its cell, or None when the user may not read it or it does not exist."""
    chunk_id, address = parse_cell_ref(ref)
    if not chunk_id or address is None:
        return None
    chunk = (
        DocumentChunk.objects.select_related("document")
        .filter(chunk_id=chunk_id, kind="table", document__in=document_list_for_user(user))
        .first()
    )
    if chunk is None or not chunk.table:
        return None
    found = find_cell(chunk.table, address)
    if found is None:
        return None
    document = chunk.document
    return TableCellCitation(
        ref=cell_ref(chunk_id, address.row, address.col),
        chunk_id=chunk_id,
        document_id=str(document.pk),
        document_title=document.title,
        page=chunk.table.get("page") or chunk.page_start,
        table_index=found["table_index"],
        table_title=found["table_title"],
        row_label=found["row_label"],
        column_header=found["column_header"],
        period=found["period"],
        text=found["text"],
        value=found["value"],
        scale=found["scale"],
        unit=found["unit"],
        url=chunk_page_url(document.pk, chunk_id, cell=str(address)),
    )


def chunk_table_view(table: dict[str, Any], *, cited: str = "") -> dict[str, Any]:
    """A stored table chunk laid out for an HTML table: header rows, then rows of cells with their
    addresses; the cited cell (and its row label and column header) marked."""
    address = parse_cell(cited)
    columns = table.get("columns") or []
    width = len(columns)
    header_rows = [list(row) for row in table.get("headers") or []] or [[c.get("header", "") for c in columns]]
    cited_col = address.col if address is not None else None
    headers = []
    for number, row in enumerate(header_rows):
        label = (table.get("label_header") or "") if number == len(header_rows) - 1 else ""
        cells = [{"text": row[i] if i < len(row) else "", "cited": i == cited_col} for i in range(width)]
        headers.append({"label": label, "cells": cells})
    rows = []
    for row in table.get("rows") or []:
        by_col = {cell.get("col"): cell for cell in row.get("cells") or []}
        row_cited = address is not None and row.get("index") == address.row
        cells = []
        for col in range(width):
            cell = by_col.get(col) or {}
            cell_address = f"r{row.get('index')}c{col}"
            cells.append(
                {
                    "text": cell.get("text", ""),
                    "address": cell_address,
                    "numeric": cell.get("value") is not None,
                    "cited": row_cited and col == cited_col,
                }
            )
        rows.append({"label": row.get("label", ""), "index": row.get("index"), "cited": row_cited, "cells": cells})
    return {
        "title": table.get("title", ""),
        "part": table.get("part", 1),
        "parts": table.get("parts", 1),
        "scale": table.get("scale"),
        "unit": table.get("unit"),
        "headers": headers,
        "rows": rows,
    }


def document_api_url(document_id: Any) -> str:
    from django.urls import reverse

    return reverse("api-document-detail", args=[document_id])


def company_list_search(*, text: str = "", cik: str = "") -> QuerySet[Company]:
    """The company master (public to research readers), narrowed by a ticker or name words; exact tickers first."""
    from django.db.models import Case, IntegerField, Q, Value, When

    companies = Company.objects.all()
    if cik.strip():
        companies = companies.filter(cik=cik.strip().lstrip("0"))
    text = text.strip()
    if text:
        condition = Q(ticker__iexact=text) | Q(ticker__istartswith=text)
        words = text.split()[:6]
        name_match = Q()
        for word in words:
            name_match &= Q(name__icontains=word) | Q(aliases__icontains=word)
        companies = companies.filter(condition | name_match).annotate(
            exact=Case(When(ticker__iexact=text, then=Value(0)), default=Value(1), output_field=IntegerField())
        )
        return companies.order_by("exact", "ticker")
    return companies.order_by("ticker")


def company_get_by_ticker(ticker: str) -> Company | None:
    """The company master entry for a ticker, case-insensitive; None when there is none."""
    return Company.objects.filter(ticker__iexact=(ticker or "").strip()).first()


def chunks_in_order(chunk_ids: list[str]) -> list[DocumentChunk]:
    """The chunks (with document and company), in the given order; ids deleted since are skipped."""
    rows = {
        c.chunk_id: c
        for c in DocumentChunk.objects.select_related("document", "document__company").filter(chunk_id__in=chunk_ids)
    }
    return [rows[chunk_id] for chunk_id in chunk_ids if chunk_id in rows]


def chunk_document_ids(chunk_ids: list[str]) -> dict[str, str]:
    """Chunk id -> its document's id, for the chunks that still exist."""
    rows = DocumentChunk.objects.filter(chunk_id__in=chunk_ids).values_list("chunk_id", "document_id")
    return {chunk_id: str(document_id) for chunk_id, document_id in rows}


def documents_for_indexing(document_ids: list[str]) -> dict[str, Document]:
    """The documents of an ingest job that still exist and are not being deleted, by id."""
    return {
        str(d.pk): d
        for d in Document.objects.select_related("company")
        .filter(pk__in=document_ids)
        .exclude(status=DocumentStatus.DELETING)
    }


def document_chunks_in_order(document: Document) -> list[DocumentChunk]:
    return list(DocumentChunk.objects.filter(document=document).order_by("ordinal"))


def chunks_readable_at(chunk_ids: list[str], allowed_access_levels: list[str]) -> list[DocumentChunk]:
    """The chunks, in the given order, whose document has one of the access levels (defence in depth)."""
    rows = {
        c.chunk_id: c
        for c in DocumentChunk.objects.select_related("document", "document__company").filter(
            chunk_id__in=chunk_ids, document__access_level__in=allowed_access_levels
        )
    }
    return [rows[chunk_id] for chunk_id in chunk_ids if chunk_id in rows]


def chunk_tables(chunk_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The stored cells of the table chunks among ``chunk_ids`` (text chunks are left out)."""
    return dict(
        DocumentChunk.objects.filter(chunk_id__in=chunk_ids, kind="table", table__isnull=False).values_list(
            "chunk_id", "table"
        )
    )


def company_ids_by_ticker(tickers: Iterable[str]) -> dict[str, int]:
    """Company ids of the tickers the master knows (unknown tickers are left out)."""
    return dict(Company.objects.filter(ticker__in=set(tickers)).values_list("ticker", "id"))
