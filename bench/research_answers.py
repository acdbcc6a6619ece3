"""Research desk on real filings: retrieval hit@10 / MRR@10, answer accuracy and abstention, before and after.

    python -m bench.research_answers --label before            # retrieval only (the default)
    python -m bench.research_answers --label before --answers 12 --abstain 12
    python -m bench.research_answers --compare var/bench/research_answers_{before,after}.json

Sets (``bench/data/README.md``): 175 analyst questions over the shared 10-K items, written from the
filing text before any retrieval was run on them, and 64 off-topic / unanswerable questions.

Corpus, built as the platform builds it: the items ``manage.py index_10k_corpus`` loads by default
(1, 1A, 7, 7A, 8) of all 62 filings (``--scope``), chunked by ``pipelines.chunking`` with the
platform's header line in front of each chunk (``bench.retrieval_eval.build_chunks``), embedded
with the model worker's engine (``gpu_workers.tasks.common.embedding_engine``, whatever the
platform serves: torch today, ONNX if that lands), bulk-loaded into the shipped embedded store
``pipelines.retrieval.EdgeVectorStore`` (one public filing per 10-K, the company's ticker or
``CIK<n>``) and searched with the store calls ``search_chunks`` makes: an analyst's access levels,
``mode``, limit 10. Each analyst question is searched twice: with no filter, and with the
answering company's ticker as ``SearchFilters(tickers=...)`` (what a user or query understanding
would set). A chunk is a hit when it holds the evidence (``bench.eval_data.is_relevant``).

``--query-filters platform`` adds a third column, "parsed": the platform's query understanding
(``pipelines.query.understand_query``, once issue 11 lands) picks the companies and fiscal years
of each question, planned with the platform's fallbacks (named companies and years, then without
the years, then no filter; the first step that finds anything). Its company master is the corpus's
filers' names (no aliases), so it is a lower bound for a platform master that knows "Disney" or
"Tyson". ``--query-filters module:function`` plugs in any ``f(question) -> filters`` instead.
When ``ChunkRecord`` has ``fiscal_year``, chunks carry their filing's fiscal year as
``index_10k_corpus`` records it, so a fiscal-year filter has something to act on.
``--search-path platform`` retrieves through ``search_chunks`` itself (audited, in process).

``--answers N`` / ``--abstain N``: N analyst / unanswerable questions (a fixed sample) through the
ask path ``gpu_workers.tasks.answers.answer_from_retrieval``, in process, without a Celery worker:
Django is set up on a scratch SQLite database, the corpus documents and chunks are written as
``Document``/``DocumentChunk`` rows (the passages ask reads), the process owns the embedded store
built above, and the generation engine is the platform's. Accuracy: number, table and computed
questions are right when the expected value (scale tolerant) is written in the answer sentences;
narrative questions are "supported" when a cited chunk holds the evidence. Abstention: the share
answered "insufficient evidence". Slow on this CPU (tens of seconds per answer).

Results go to ``var/bench/research_answers_<label>.json``; ``--compare`` prints them side by side.
Nothing is tuned on these sets.

Before (main at f9273f9, 2026-12-04; 2 shared cores under heavy load, torch 1 thread; the analyst
questions were written before any of these runs):

    python -m bench.research_answers --scope evidence-items --label main-evidence-items
    (57 items of 37 filings: every item holding evidence or a copy of it, 3,836 chunks)
                         hit@1  hit@5  hit@10  MRR@10
    hybrid/unfiltered    0.440  0.817  0.897   0.593
    hybrid/ticker        0.440  0.829  0.909   0.598
    dense/unfiltered     0.303  0.703  0.789   0.460
    keyword/unfiltered   0.349  0.737  0.806   0.511
    hybrid hit@10 by kind (no filter / ticker): narrative 0.89/0.91, number 0.96/0.96,
    table 0.57/0.57 (n=7), computed 0.82/0.85; top-1 from the answering filing 0.81;
    of the company's top-10 chunks, 0.24 come from another fiscal year's filing; 0.09 of all
    top-10 chunks come from another company.

    python -m bench.research_answers --scope all --modes keyword --label main-keyword-all
    (all 62 filings, items 1/1A/7/7A/8: 11,448 chunks; BM25 needs no embeddings)
    keyword/unfiltered   0.286  0.657  0.766   0.440   (other company in top 10: 0.12)
    keyword/ticker       0.291  0.669  0.817   0.454

The full-corpus hybrid run needs all 11,448 chunks embedded: about 1.5 h at the 2 chunks/s this
shared CPU gave today (resumable, cached per text under ``var/bench/embeddings/``; 5,000 are
cached in this worktree).

    python -m bench.research_answers --scope evidence-items --modes hybrid --answers 3 --abstain 3 --label main-ask
    (the real SmolLM2 base model, ~70 s per ask on this CPU): value right 0 of 2 (Nuance's fiscal
    2020 revenue decline came back as professional services' share of revenue; Marygold's revenue
    as its operating income), the narrative answer did not cite the evidence (0 of 1), and none of
    the 3 unanswerable questions (Comcast/Sky, Astrotech bidders, the Moon's distance) abstained.
    A sample this small only shows the shape; run ``--answers 20 --abstain 20`` or more when the
    CPU allows.
"""

from __future__ import annotations

import argparse
import atexit
import hashlib
import importlib
import json
import os
import platform
import random
import re
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.analyst_eval_data import (
    AbstentionQuestion,
    AnalystQuestion,
    load_abstention_questions,
    load_analyst_questions,
)
from bench.eval_data import REPO_ROOT, TenKDocument, default_shared_data_dir, is_relevant, load_10k_documents, mrr

# The items ``apps/research/management/commands/index_10k_corpus.py`` loads by default.
CORPUS_ITEMS = ("item_1", "item_1A", "item_7", "item_7A", "item_8")
PLATFORM_ACCESS_LEVELS = ("internal", "public")  # an analyst's levels, as search_chunks receives them
LIMIT = 10  # SearchQuery.limit: what the platform asks the store for
ASK_LIMIT = 6  # passages an answer is generated from (apps.research.selectors.ANSWER_PASSAGES)
EMBED_PART = 500
SAMPLE_SEED = 11
BENCH_VAR = REPO_ROOT / "var" / "bench"


# --- corpus ---------------------------------------------------------------------------------------


def corpus_documents(shared: Path, *, scope: str, questions: Sequence[AnalystQuestion]) -> list[TenKDocument]:
    """The filing items to index: the platform's default items of every filing, or of fewer."""
    documents = [d for d in load_10k_documents(shared) if d.item in CORPUS_ITEMS]
    if scope == "evidence-items":
        wanted_items = {(span.filename, span.item) for q in questions for span in (*q.evidence, *q.alternates)}
        documents = [d for d in documents if (d.filename, d.item) in wanted_items]
    elif scope == "referenced":
        wanted = {span.filename for q in questions for span in (*q.evidence, *q.alternates)}
        documents = [d for d in documents if d.filename in wanted]
    elif scope == "companies":
        ciks = {q.cik for q in questions}
        documents = [d for d in documents if d.cik in ciks]
    return documents


@dataclass
class Embedder:
    """The platform's embedding engine: ``encode(texts)`` returns normalised float32 vectors."""

    engine: Any
    tag: str  # engine class, model name and version: the embedding cache key

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return np.asarray(self.engine.predict(list(texts)).vectors, dtype=np.float32)


def worker_embedder(threads: int) -> Embedder:
    """The engine the model worker serves (``embedding_engine()``), under Django settings."""
    setup_django()
    from django.conf import settings

    settings.ARGUS_TORCH_THREADS = threads
    from gpu_workers.tasks.common import embedding_engine

    engine = embedding_engine()
    tag = f"{type(engine).__module__}.{type(engine).__name__}|{engine.model_name}|{engine.model_version}"
    return Embedder(engine, tag)


def embed_texts(embedder: Embedder, texts: Sequence[str], *, cache_dir: Path, first: Iterable[int] = ()) -> np.ndarray:
    """Vectors for ``texts``, cached per text under ``cache_dir/embeddings/<engine tag hash>/``.

    A vector is keyed by the SHA-256 of its text, so runs over different scopes share what is
    already embedded; the chunks at the indices in ``first`` are embedded before the rest (the
    answering filings, so a run cut short on a shared CPU still covers a smaller scope). Saved in
    parts as they finish: an interrupted run resumes.
    """
    directory = cache_dir / "embeddings" / hashlib.sha256(embedder.tag.encode()).hexdigest()[:16]
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "engine.txt").write_text(embedder.tag + "\n")
    cached: dict[str, np.ndarray] = {}
    for part in sorted(directory.glob("part-*.npz")):
        with np.load(part) as saved:
            cached.update(zip(saved["keys"].tolist(), saved["vectors"], strict=True))
    keys = [hashlib.sha256(text.encode("utf-8")).hexdigest() for text in texts]
    order = dict.fromkeys([*first, *range(len(texts))])
    missing = list(dict.fromkeys(keys[i] for i in order if keys[i] not in cached))
    text_of = dict(zip(keys, texts, strict=True))
    print(f"embeddings: {len(set(keys)) - len(missing)} of {len(set(keys))} distinct texts cached ({embedder.tag})")
    started = time.perf_counter()
    for start in range(0, len(missing), EMBED_PART):
        batch = missing[start : start + EMBED_PART]
        vectors = embedder.encode([text_of[k] for k in batch])
        name = f"part-{int(time.time() * 1000):015d}-{os.getpid()}.npz"
        np.savez(directory / name, keys=np.array(batch), vectors=vectors)
        cached.update(zip(batch, vectors, strict=True))
        done = start + len(batch)
        seconds = time.perf_counter() - started
        print(f"embeddings: {done}/{len(missing)} new ({seconds:.0f} s, {done / max(seconds, 1e-9):.1f}/s)", flush=True)
    return np.stack([cached[k] for k in keys]).astype(np.float32)


# --- Django, for the platform's engines and the ask path --------------------------------------------

_DJANGO_READY = {"done": False}


def setup_django(database: Path | None = None) -> None:
    """Django on this repository's settings; ``database`` points it at a scratch SQLite file first.

    The service URLs are dropped so that nothing here talks to a broker, a cache or a Qdrant server.
    """
    if _DJANGO_READY["done"]:
        return
    for name in ("CELERY_BROKER_URL", "REDIS_URL", "CACHE_URL", "QDRANT_URL"):
        os.environ.pop(name, None)
    if database is not None:
        os.environ["DATABASE_URL"] = f"sqlite:///{database}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("ARGUS_SHARED_DATA", str(default_shared_data_dir()))
    import django

    django.setup()
    _DJANGO_READY["done"] = True


# --- retrieval ------------------------------------------------------------------------------------

QueryPlanner = Callable[[str], list[dict[str, Any]]]  # question -> filter steps, first non-empty result wins


def load_query_filters(spec: str | None, documents: Sequence[TenKDocument]) -> QueryPlanner | None:
    """Query understanding to evaluate, as filter steps tried in order (the platform's fallbacks).

    ``platform``: the platform's parser (``pipelines.query.understand_query``, issue 11) with a
    company master of the corpus's filers, planned as ``apps.research.selectors.query_plan_for_user``
    plans: companies and fiscal years named, then without the years, then without a filter.
    ``module:function``: any ``f(question) -> filters dict`` (or list of them).
    """
    if not spec:
        return None
    if spec == "platform":
        return platform_query_planner(documents)
    module, _, name = spec.partition(":")
    function = getattr(importlib.import_module(module), name)

    def planner(question: str) -> list[dict[str, Any]]:
        planned = function(question)
        return list(planned) if isinstance(planned, list | tuple) else [planned]

    return planner


def platform_query_planner(documents: Sequence[TenKDocument]) -> QueryPlanner:
    import datetime as dt

    try:
        from pipelines.query import CompanyMatcher, MasterCompany, understand_query
    except ImportError as error:
        raise SystemExit(f"--query-filters platform: this checkout has no query understanding ({error})") from error
    # The corpus's filers as the master, names cleaned of EDGAR's state suffixes ("WALT DISNEY CO/",
    # "ASTROTECH Corp \\WA\\"). No aliases: the platform's master may know more names than this one.
    master = {
        (d.ticker or f"CIK{d.cik}").upper(): MasterCompany(
            ticker=(d.ticker or f"CIK{d.cik}").upper(), name=re.sub(r"\s*[\\/].*$", "", d.company).title()
        )
        for d in documents
    }
    matcher = CompanyMatcher(master.values())
    as_of = dt.date.today()

    def planner(question: str) -> list[dict[str, Any]]:
        intent = understand_query(question, matcher, as_of=as_of)
        tickers, years = list(intent.company_scope()), list(intent.fiscal_years)
        steps = [({"tickers": tickers} if tickers else {}) | ({"fiscal_years": years} if years else {})]
        if years:
            steps.append({"tickers": tickers} if tickers else {})
        if tickers:
            steps.append({})
        return steps

    return planner


def fiscal_year_of(document: TenKDocument) -> int | None:
    """The filing's fiscal year as the platform names it, when this checkout knows how (issue 11)."""
    import datetime as dt

    try:
        from pipelines.query import fiscal_year_for_period_end
    except ImportError:
        return None
    if not document.period_of_report:
        return None
    return fiscal_year_for_period_end(dt.date.fromisoformat(document.period_of_report[:10]))


def corpus_records(chunks: Sequence[Any], vectors: np.ndarray, documents: Iterable[TenKDocument]) -> list[Any]:
    """``bench.retrieval_eval.chunk_records`` plus the filing's fiscal year and period in the payload
    when ``ChunkRecord`` carries them (as ``index_10k_corpus`` records them once issue 11 lands)."""
    import dataclasses

    from bench.retrieval_eval import chunk_records

    records = chunk_records(chunks, vectors, documents)
    fields = {f.name for f in dataclasses.fields(records[0])} if records else set()
    if "fiscal_year" not in fields:
        return records
    by_key = {document.key: document for document in documents}
    out = []
    for chunk, record in zip(chunks, records, strict=True):
        year = fiscal_year_of(by_key[f"{chunk.ref.filename}#{chunk.ref.item}"])
        extra = {"fiscal_year": year, "fiscal_period": "FY" if year else ""} if "fiscal_period" in fields else {}
        out.append(dataclasses.replace(record, **({"fiscal_year": year} | extra)))
    return out


class CorpusIndex:
    """The chunks in a fresh ``EdgeVectorStore`` under ``directory``, searched as ``search_chunks`` does."""

    def __init__(self, directory: Path, chunks: Sequence[Any], vectors: np.ndarray, documents: Iterable[TenKDocument]):
        from pipelines.retrieval import EdgeVectorStore

        self.store = EdgeVectorStore(directory / "chunks")
        self.refs = {chunk.ref.chunk_id: chunk.ref for chunk in chunks}
        started = time.perf_counter()
        self.store.ensure_collection(int(vectors.shape[1]))
        documents = list(documents)
        self.written = self.store.upsert(corpus_records(chunks, vectors, documents), optimize=False)
        self.store.optimize()
        self.index_seconds = time.perf_counter() - started

    def search(self, query_vector: np.ndarray, query: str, *, filters: dict[str, Any] | None, mode: str) -> list[str]:
        from pipelines.retrieval import SearchFilters

        search_filters = None
        if filters:
            search_filters = SearchFilters(**{k: v for k, v in filters.items() if v not in (None, "", [], ())})
        hits = self.store.search(
            allowed_access_levels=list(PLATFORM_ACCESS_LEVELS),
            query_vector=None if mode == "keyword" else query_vector,
            query_text=query,
            filters=search_filters,
            limit=LIMIT,
            mode=mode,
            explain=False,
        )
        return [hit.chunk_id for hit in hits]

    def close(self) -> None:
        self.store.close()


def hit_ranks(index: CorpusIndex, question: AnalystQuestion, ids: Sequence[str]) -> list[bool]:
    judged = question.as_eval_question()
    return [is_relevant(r.filename, r.item, r.start, r.end, judged) for r in (index.refs[i] for i in ids)]


def summarise(relevance: Sequence[Sequence[bool]]) -> dict[str, float]:
    n = len(relevance)
    return {
        "n": n,
        "hit@1": sum(any(r[:1]) for r in relevance) / n if n else 0.0,
        "hit@5": sum(any(r[:5]) for r in relevance) / n if n else 0.0,
        "hit@10": sum(any(r[:10]) for r in relevance) / n if n else 0.0,
        "mrr@10": mrr(relevance, 10),
    }


Searcher = Callable[[str, "dict[str, Any] | None", str], list[str]]  # (question, filters, mode) -> chunk ids


def store_searcher(index: CorpusIndex, query_vectors: dict[str, np.ndarray]) -> Searcher:
    """The store calls ``search_chunks`` makes, with the questions embedded once up front."""

    def search(question: str, filters: dict[str, Any] | None, mode: str) -> list[str]:
        return index.search(query_vectors[question], question, filters=filters, mode=mode)

    return search


def platform_searcher() -> Searcher:
    """``gpu_workers.tasks.research.search_chunks`` itself, in process (see ``prepare_ask``): whatever
    the worker does with a query (embedding, filters, query understanding) is measured."""
    from gpu_workers.tasks.research import search_chunks

    def search(question: str, filters: dict[str, Any] | None, mode: str) -> list[str]:
        hits = search_chunks(
            query=question,
            allowed_access_levels=list(PLATFORM_ACCESS_LEVELS),
            filters=filters or {},
            mode=mode,
            limit=LIMIT,
            actor_label="bench:research-answers",
        )
        return [hit["chunk_id"] for hit in hits]

    return search


def evaluate_retrieval(
    index: CorpusIndex,
    questions: Sequence[AnalystQuestion],
    search: Searcher,
    *,
    modes: Sequence[str],
    query_filters: QueryPlanner | None,
    other_company_check: bool = True,
) -> dict[str, Any]:
    """Per mode and filter setting: hit@k and MRR@10 overall and by kind and by company named or not.

    Also the share of top-10 chunks from another company than the question's, without a filter
    (the issue's "quoted sentences from other companies").
    """
    settings: dict[str, Callable[[AnalystQuestion], list[dict[str, Any] | None]]] = {
        "unfiltered": lambda q: [None],
        "ticker": lambda q: [{"tickers": [q.filing_ticker]}],
    }
    if query_filters is not None:
        settings["parsed"] = lambda q: query_filters(q.question) or [None]
    out: dict[str, Any] = {}
    for mode in modes:
        for name, filters_for in settings.items():
            started = time.perf_counter()
            relevance, ranks, foreign, other_year, right_filing = [], {}, [], [], []
            for question in questions:
                ids: list[str] = []
                for filters in filters_for(question):  # fallbacks: the first step that finds anything
                    ids = search(question.question, filters, mode)[:LIMIT]
                    if ids:
                        break
                judged = hit_ranks(index, question, ids)
                relevance.append(judged)
                ranks[question.id] = next((i + 1 for i, hit in enumerate(judged) if hit), None)
                answering = {question.filename} | {span.filename for span in question.alternates}
                filings = [index.refs[i].filename for i in ids]
                right_filing.append(bool(filings) and filings[0] in answering)
                same_company = [f for f in filings if f.split("_", 1)[0] == question.cik]
                if same_company:  # the right company's chunks from another fiscal year's filing
                    other_year.append(sum(f not in answering for f in same_company) / len(same_company))
                if name == "unfiltered" and other_company_check:
                    # Filing file names start with the filer's CIK.
                    other = sum(index.refs[i].filename.split("_", 1)[0] != question.cik for i in ids)
                    foreign.append(other / max(len(ids), 1))
            seconds = time.perf_counter() - started
            report: dict[str, Any] = summarise(relevance) | {"s_per_query": seconds / max(len(questions), 1)}
            for label, keep in (
                *(
                    (f"kind={kind}", (lambda q, k=kind: q.kind == k))
                    for kind in ("narrative", "number", "table", "computed")
                ),
                ("company named", lambda q: q.company_named),
                ("company not named", lambda q: not q.company_named),
                ("with fiscal year", lambda q: q.fiscal_year is not None),
            ):
                subset = [r for r, q in zip(relevance, questions, strict=True) if keep(q)]
                if subset:
                    report[label] = summarise(subset)
            if foreign:
                report["other_company_share_top10"] = float(np.mean(foreign))
            report["top1_answering_filing"] = float(np.mean(right_filing)) if right_filing else 0.0
            report["other_year_share_of_company_top10"] = float(np.mean(other_year)) if other_year else 0.0
            report["ranks"] = ranks
            out[f"{mode}/{name}"] = report
    return out


# --- the ask path ---------------------------------------------------------------------------------


def populate_platform(chunks: Sequence[Any], documents: Sequence[TenKDocument]) -> dict[str, str]:
    """Company, Document and DocumentChunk rows for the corpus in the scratch database, as
    ``index_10k_corpus`` + ingestion would leave them (one public filing per 10-K). Returns
    filename -> document id (the store's ``document_id``)."""
    import datetime as dt
    import hashlib as _hashlib

    from apps.research.models import Company, Document, DocumentChunk, DocumentType

    by_filename: dict[str, TenKDocument] = {}
    for document in documents:
        by_filename.setdefault(document.filename, document)
    ids: dict[str, str] = {}
    for filename, document in by_filename.items():
        ticker = (document.ticker or f"CIK{document.cik}").upper()
        company, _ = Company.objects.get_or_create(
            ticker=ticker, defaults={"name": document.company.title(), "cik": document.cik[:10]}
        )
        row = Document.objects.create(
            company=company,
            doc_type=DocumentType.FILING,
            title=f"{document.company.title()} 10-K {document.filing_date[:4]}",
            source=f"SEC EDGAR {filename}",
            published_on=dt.date.fromisoformat(document.filing_date[:10]) if document.filing_date else None,
            access_level="public",
            content_hash=_hashlib.sha256(filename.encode()).hexdigest(),
            original_name=filename,
            status="indexed",
        )
        ids[filename] = str(row.pk)
    rows, ordinals = [], {}
    for chunk in chunks:
        ordinal = ordinals.get(chunk.ref.filename, 0)
        ordinals[chunk.ref.filename] = ordinal + 1
        rows.append(
            DocumentChunk(
                document_id=ids[chunk.ref.filename],
                ordinal=ordinal,
                chunk_id=chunk.ref.chunk_id,
                section=chunk.ref.item,
                char_start=chunk.ref.start,
                char_end=chunk.ref.end,
                text=chunk.text,
            )
        )
    DocumentChunk.objects.bulk_create(rows, batch_size=500)
    return ids


def own_store(index: CorpusIndex) -> None:
    """Make this process what a worker owning the embedded store is after start-up, with our store."""
    from gpu_workers.tasks import common

    common._process_role["owns_embedded_store"] = True
    common.model_cache.get("vector_store", lambda: index.store)


def prepare_ask(index: CorpusIndex) -> Callable[[str, dict[str, Any] | None], dict[str, Any]]:
    """``ask(question, filters)`` through ``answer_from_retrieval``, this process owning the store."""
    from django.core.management import call_command

    from apps.registry.selectors import base_model_default
    from gpu_workers.tasks.answers import answer_from_retrieval

    if base_model_default() is None:
        call_command("prepare_models", "--skip-adapter", "--skip-sentiment")
    own_store(index)

    def ask(question: str, filters: dict[str, Any] | None) -> dict[str, Any]:
        return answer_from_retrieval(
            query=question,
            allowed_access_levels=list(PLATFORM_ACCESS_LEVELS),
            filters=filters or {},
            mode="hybrid",
            limit=ASK_LIMIT,
            actor_label="bench:research-answers",
        )

    return ask


def judge_answer(index: CorpusIndex, question: AnalystQuestion, reply: dict[str, Any]) -> dict[str, Any]:
    sentences = reply.get("sentences") or []
    text = " ".join(s.get("text", "") for s in sentences)
    cited = [s.get("citation") for s in sentences if s.get("citation") in index.refs]
    judged = question.as_eval_question()
    supported = any(
        is_relevant(index.refs[c].filename, index.refs[c].item, index.refs[c].start, index.refs[c].end, judged)
        for c in cited
    )
    foreign = sum(index.refs[c].filename.split("_", 1)[0] != question.cik for c in cited)
    abstained = bool(reply.get("insufficient_evidence")) or not sentences
    correct = None
    if question.answer is not None:
        correct = (not abstained) and question.answer.found_in(text)
    return {
        "id": question.id,
        "kind": question.kind,
        "method": reply.get("method", "unavailable"),
        "unavailable": reply.get("unavailable"),
        "abstained": abstained,
        "value_correct": correct,
        "evidence_cited": (not abstained) and supported,
        "sentences": len(sentences),
        "sentences_other_company": foreign,
        "answer": text[:600],
    }


def run_answers(
    ask: Callable[[str, dict[str, Any] | None], dict[str, Any]],
    index: CorpusIndex,
    answerable: Sequence[AnalystQuestion],
    unanswerable: Sequence[AbstentionQuestion],
    *,
    with_ticker: bool,
) -> dict[str, Any]:
    rows, started = [], time.perf_counter()
    for n, question in enumerate(answerable, 1):
        filters = {"tickers": [question.filing_ticker]} if with_ticker and question.company_named else None
        began = time.perf_counter()
        row = judge_answer(index, question, ask(question.question, filters)) | {"seconds": time.perf_counter() - began}
        rows.append(row)
        print(
            f"  ask {n}/{len(answerable)} {question.id} {row['method']} abstained={row['abstained']} "
            f"value={row['value_correct']} cited={row['evidence_cited']} ({row['seconds']:.0f} s)",
            flush=True,
        )
    abstentions = []
    for n, question in enumerate(unanswerable, 1):
        began = time.perf_counter()
        reply = ask(question.question, None)
        abstained = bool(reply.get("insufficient_evidence")) or not reply.get("sentences")
        abstentions.append(
            {
                "id": question.id,
                "category": question.category,
                "abstained": abstained,
                "method": reply.get("method", "unavailable"),
                "unavailable": reply.get("unavailable"),
                "seconds": time.perf_counter() - began,
            }
        )
        print(f"  unanswerable {n}/{len(unanswerable)} {question.id} abstained={abstained}", flush=True)
    valued = [r for r in rows if r["value_correct"] is not None]
    narrative = [r for r in rows if r["value_correct"] is None]
    generated = [r for r in rows if r["method"] == "generated"] + [a for a in abstentions if a["method"] == "generated"]
    return {
        "answerable": len(rows),
        "unanswerable": len(abstentions),
        "generated": len(generated),
        "value_accuracy": _share(r["value_correct"] for r in valued),
        "value_questions": len(valued),
        "narrative_evidence_cited": _share(r["evidence_cited"] for r in narrative),
        "narrative_questions": len(narrative),
        "evidence_cited": _share(r["evidence_cited"] for r in rows),
        "abstained_answerable": _share(r["abstained"] for r in rows),
        "abstained_unanswerable": _share(a["abstained"] for a in abstentions),
        "other_company_sentences": sum(r["sentences_other_company"] for r in rows),
        "sentences": sum(r["sentences"] for r in rows),
        "s_per_answer": (time.perf_counter() - started) / max(len(rows) + len(abstentions), 1),
        "rows": rows,
        "abstention_rows": abstentions,
    }


def _share(values: Iterable[bool]) -> float | None:
    values = list(values)
    return sum(values) / len(values) if values else None


def sample(
    items: Sequence[Any], n: int, *, seed: int = SAMPLE_SEED, stratify: Callable[[Any], str] | None = None
) -> list[Any]:
    """A fixed sample of ``n`` (the same questions for every label), spread over the strata."""
    if n >= len(items):
        return list(items)
    rng = random.Random(seed)
    if stratify is None:
        return rng.sample(list(items), n)
    groups: dict[str, list[Any]] = {}
    for item in items:
        groups.setdefault(stratify(item), []).append(item)
    for group in groups.values():
        rng.shuffle(group)
    chosen: list[Any] = []
    while len(chosen) < n:
        for key in sorted(groups):
            if groups[key] and len(chosen) < n:
                chosen.append(groups[key].pop())
    return chosen


# --- output ---------------------------------------------------------------------------------------

HEADLINE = (
    ("hybrid/unfiltered", "hit@10"),
    ("hybrid/unfiltered", "mrr@10"),
    ("hybrid/ticker", "hit@10"),
    ("hybrid/ticker", "mrr@10"),
    ("hybrid/parsed", "hit@10"),
    ("hybrid/parsed", "mrr@10"),
    ("hybrid/unfiltered", "other_company_share_top10"),
)


def print_retrieval(results: dict[str, Any]) -> None:
    print(f"\n{'mode/filter':<22} {'n':>4} {'hit@1':>6} {'hit@5':>6} {'hit@10':>7} {'MRR@10':>7} {'s/q':>6}")
    for key, r in results.items():
        print(
            f"{key:<22} {r['n']:>4} {r['hit@1']:>6.3f} {r['hit@5']:>6.3f} {r['hit@10']:>7.3f} {r['mrr@10']:>7.3f} "
            f"{r['s_per_query']:>6.2f}"
        )
    groups = [
        k for k in next(iter(results.values())) if isinstance(next(iter(results.values()))[k], dict) and k != "ranks"
    ]
    print("\nhit@10 / MRR@10 by group")
    print(f"{'group':<20}" + "".join(f"{key:>22}" for key in results))
    for group in groups:
        cells = [results[key].get(group) for key in results]
        print(
            f"{group:<20}"
            + "".join(f"{c['hit@10']:>12.3f} {c['mrr@10']:>8.3f}" if c else f"{'':>22}" for c in cells)
            + f"  (n={cells[0]['n'] if cells[0] else '-'})"
        )
    for key, r in results.items():
        print(
            f"{key}: top-1 from the answering filing {r['top1_answering_filing']:.3f}; "
            f"the company's top-10 chunks from another year's filing {r['other_year_share_of_company_top10']:.3f}"
        )
        if "other_company_share_top10" in r:
            print(
                f"{key}: top-10 chunks from another company than the question's: {r['other_company_share_top10']:.3f}"
            )


def print_answers(answers: dict[str, Any]) -> None:
    def fmt(x: float | None) -> str:
        return "-" if x is None else f"{x:.3f}"

    print(
        f"\nask ({answers['answerable']} answerable, {answers['unanswerable']} unanswerable; "
        f"{answers['generated']} generated by the model, {answers['s_per_answer']:.1f} s per ask)"
    )
    print(f"  value right (number/table/computed, n={answers['value_questions']}): {fmt(answers['value_accuracy'])}")
    print(
        f"  narrative answered citing the evidence (n={answers['narrative_questions']}): "
        f"{fmt(answers['narrative_evidence_cited'])}"
    )
    print(f"  abstained on answerable: {fmt(answers['abstained_answerable'])}")
    print(f"  abstained on unanswerable: {fmt(answers['abstained_unanswerable'])}")
    print(f"  quoted sentences from another company: {answers['other_company_sentences']} of {answers['sentences']}")


def flatten(result: dict[str, Any]) -> dict[str, float | None]:
    """The comparable figures of one results file."""
    flat: dict[str, float | None] = {}
    for key, report in result.get("retrieval", {}).items():
        for metric in (
            "hit@1",
            "hit@5",
            "hit@10",
            "mrr@10",
            "other_company_share_top10",
            "top1_answering_filing",
            "other_year_share_of_company_top10",
        ):
            if metric in report:
                flat[f"{key} {metric}"] = report[metric]
        for group, sub in report.items():
            if isinstance(sub, dict) and "hit@10" in sub:
                flat[f"{key} [{group}] hit@10"] = sub["hit@10"]
    answers = result.get("answers") or {}
    for metric in (
        "value_accuracy",
        "narrative_evidence_cited",
        "evidence_cited",
        "abstained_answerable",
        "abstained_unanswerable",
        "other_company_sentences",
        "sentences",
        "s_per_answer",
    ):
        if metric in answers:
            flat[f"ask {metric}"] = answers[metric]
    return flat


def compare(paths: Sequence[Path]) -> int:
    results = [json.loads(Path(p).read_text()) for p in paths]
    flats = [flatten(r) for r in results]
    labels = [r.get("label") or Path(p).stem for r, p in zip(results, paths, strict=True)]
    keys = list(dict.fromkeys(k for f in flats for k in f))
    print(
        f"{'metric':<58}" + "".join(f"{label[:20]:>21}" for label in labels) + ("   delta" if len(paths) == 2 else "")
    )
    for key in keys:
        cells = [f.get(key) for f in flats]
        line = f"{key:<58}" + "".join(f"{'-':>21}" if c is None else f"{c:>21.3f}" for c in cells)
        if len(cells) == 2 and None not in cells:
            line += f" {cells[1] - cells[0]:>+7.3f}"
        print(line)
    for result, label in zip(results, labels, strict=True):
        print(f"{label}: {result.get('corpus', {})} git={result.get('git', '?')}")
    return 0


def git_head() -> str:
    import subprocess

    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


# --- main -----------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--label", default="run", help="names the results file var/bench/research_answers_<label>.json")
    parser.add_argument("--compare", nargs="+", type=Path, metavar="RESULTS", help="print results files side by side")
    parser.add_argument("--shared-data", type=Path, default=None)
    parser.add_argument(
        "--scope",
        choices=("all", "companies", "referenced", "evidence-items"),
        default="all",
        help="what is indexed: all 62 filings (default), the questions' companies' filings, the answering "
        "filings, or only the items holding evidence",
    )
    parser.add_argument(
        "--modes", default="hybrid,dense,keyword", help="store modes to evaluate (hybrid is what ask uses)"
    )
    parser.add_argument(
        "--query-filters",
        default=None,
        metavar="MODULE:FUNCTION",
        help="query understanding to evaluate: 'platform' (pipelines.query, planned with the platform's "
        "fallbacks) or module:function (question -> search_chunks filters, or a list of fallback steps)",
    )
    parser.add_argument("--answers", type=int, default=0, help="analyst questions to ask (a fixed sample; 0 = none)")
    parser.add_argument(
        "--abstain", type=int, default=None, help="unanswerable questions to ask (default: as many as --answers)"
    )
    parser.add_argument(
        "--ask-with-ticker",
        action="store_true",
        help="ask with the ticker filter when the question names the company (default: no filter)",
    )
    parser.add_argument(
        "--filings",
        default="",
        help="comma list of filing file-name prefixes: index only these and ask only their questions (smoke runs)",
    )
    parser.add_argument(
        "--search-path",
        choices=("store", "platform"),
        default="store",
        help="retrieve through the store calls search_chunks makes (default, fast) or search_chunks itself "
        "(audited, on a scratch database: measures anything the worker adds to a search)",
    )
    parser.add_argument("--embed-only", action="store_true", help="fill the embedding cache and stop")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cache-dir", type=Path, default=BENCH_VAR)
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.compare:
        return compare(args.compare)

    import tempfile

    scratch = Path(tempfile.mkdtemp(prefix="argus-research-answers-"))
    atexit.register(shutil.rmtree, scratch, ignore_errors=True)  # the store and scratch database
    asking = args.answers > 0 or (args.abstain or 0) > 0
    needs_database = asking or args.search_path == "platform"
    setup_django(scratch / "bench.sqlite3" if needs_database else None)
    if needs_database:
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)

    shared = args.shared_data or default_shared_data_dir()
    questions = load_analyst_questions(shared)
    unanswerable = load_abstention_questions()
    if args.filings:
        prefixes = tuple(p.strip() for p in args.filings.split(",") if p.strip())
        questions = [q for q in questions if q.filename.startswith(prefixes)]
    documents = corpus_documents(shared, scope=args.scope, questions=questions)
    if args.filings:
        documents = [d for d in documents if d.filename.startswith(prefixes)]
    from bench.retrieval_eval import build_chunks

    chunks, chunker = build_chunks(documents, chunker="pipeline", header_style="platform")
    filings = {d.filename for d in documents}
    missing = {q.filename for q in questions} - filings
    if missing:
        raise SystemExit(f"the corpus lacks filings the questions need: {sorted(missing)[:3]}")
    print(
        f"questions: {len(questions)} analyst, {len(unanswerable)} unanswerable; corpus: {len(documents)} items "
        f"of {len(filings)} filings, {len(chunks)} chunks ({chunker} chunker, platform header)"
    )

    embedder = worker_embedder(args.threads)
    print(f"threads: {args.threads} (torch), cpus={os.cpu_count()}, embedder {embedder.tag}")
    # Embedded first: the items holding evidence, then the rest of those filings (see --scope).
    evidence_items = {(span.filename, span.item) for q in questions for span in q.evidence}
    answering = {filename for filename, _ in evidence_items}
    priority = [i for i, c in enumerate(chunks) if (c.ref.filename, c.ref.item) in evidence_items]
    priority += [i for i, c in enumerate(chunks) if c.ref.filename in answering]
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if modes == ["keyword"] and not asking and not args.embed_only:
        # BM25 alone needs no embeddings: placeholder vectors keep the store's schema (the store's
        # keyword ranking does not read them), so a keyword baseline runs without the hour of embedding.
        vectors = np.zeros((len(chunks), embedder.engine.dimensions), np.float32)
        vectors[:, 0] = 1.0
    else:
        texts = [c.indexed_text for c in chunks]
        vectors = embed_texts(embedder, texts, cache_dir=args.cache_dir, first=priority)
    if args.embed_only:
        return 0
    texts = [q.question for q in questions] + [q.question for q in unanswerable]
    query_vectors = dict(zip(texts, embedder.encode(texts), strict=True))

    index = CorpusIndex(scratch, chunks, vectors, documents)
    try:
        print(f"store: {index.written} chunks indexed in {index.index_seconds:.0f} s")
        if args.search_path == "platform":
            populate_platform(chunks, documents)
            own_store(index)
            search = platform_searcher()
        else:
            search = store_searcher(index, query_vectors)
        retrieval = evaluate_retrieval(
            index, questions, search, modes=modes, query_filters=load_query_filters(args.query_filters, documents)
        )
        print_retrieval(retrieval)
        answers = None
        if asking:
            if args.search_path != "platform":
                populate_platform(chunks, documents)
            ask = prepare_ask(index)
            chosen = sample(questions, args.answers, stratify=lambda q: q.kind)
            off = sample(
                unanswerable, args.abstain if args.abstain is not None else args.answers, stratify=lambda q: q.category
            )
            answers = run_answers(ask, index, chosen, off, with_ticker=args.ask_with_ticker)
            print_answers(answers)
    finally:
        index.close()

    output = args.output or args.cache_dir / f"research_answers_{args.label}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(
        json.dumps(
            {
                "label": args.label,
                "git": git_head(),
                "python": platform.python_version(),
                "threads": args.threads,
                "corpus": {
                    "scope": args.scope,
                    "items": len(documents),
                    "filings": len(filings),
                    "chunks": len(chunks),
                    "chunker": chunker,
                    "embedder": embedder.tag,
                },
                "questions": len(questions),
                "retrieval": retrieval,
                "answers": answers,
            },
            indent=1,
            default=str,
        )
    )
    print(f"\nresults: {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
