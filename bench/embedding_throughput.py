"""Embedding throughput of the configured model (``gpu_workers.embedding.SentenceEmbedder``,
all-MiniLM-L6-v2) at the platform's batch size against batch size 1, in the same process, on the
same texts.

    python -m bench.embedding_throughput                  # 512 sentences and 256 chunks, 1 thread
    python -m bench.embedding_throughput --quick          # a smoke run on a handful of texts
    python -m bench.embedding_throughput --threads 1 --batch-size 64

Two workloads: short sentences (what a user pastes into an embedding job, and a search query) and
256-token chunks (what ingestion embeds). The texts are real sentences and chunks of the 10-K items
in ``$ARGUS_SHARED_DATA/sec_10k_items`` when present, generated finance text
(``bench/synthetic_finance.py``) otherwise. Batch sizes 16 and 256 are shown for context; each
configuration runs ``--repeats`` times, interleaved so that load from other processes hits all of
them alike, and the table shows the median. Ratios are against batch size 1.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.common import BENCH_VAR, pin_threads, print_table, print_thread_settings, stopwatch

# The settings default (config/settings.py); the bench reads the same environment variable
# instead of importing Django settings.
PLATFORM_BATCH_SIZE = int(os.environ.get("ARGUS_EMBEDDING_BATCH_SIZE", "64"))
CONTEXT_BATCH_SIZES = (16, 256)
CHUNK_TOKENS = 256  # the chunker's budget and the model's max_seq_length

_SENTENCE_END = re.compile(r"(?<=[a-z0-9%)][.!?])\s+(?=[A-Z])")


@dataclass
class Measurement:
    workload: str
    batch_size: int
    texts: int
    tokens: int  # per pass, as the model sees them (truncated at max_seq_length)
    seconds: list[float]  # one per repeat

    @property
    def median_seconds(self) -> float:
        return statistics.median(self.seconds)

    @property
    def texts_per_second(self) -> float:
        return self.texts / self.median_seconds

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.median_seconds


# --- texts ------------------------------------------------------------------------------------------


def ten_k_texts(shared_data: Path | None, sentences: int, chunks: int) -> tuple[list[str], list[str]] | None:
    """Real sentences and 256-token chunks from the 10-K items, spread over all filings; None without data."""
    from bench.eval_data import default_shared_data_dir, load_10k_documents, ten_k_path

    directory = shared_data or default_shared_data_dir()
    if not ten_k_path(directory).is_file():
        return None
    documents = [d for d in load_10k_documents(directory) if d.item in ("item_1", "item_1A", "item_7")]
    pool: list[str] = []
    seen: set[str] = set()
    for document in documents:
        for paragraph in document.text.split("\n"):
            for sentence in _SENTENCE_END.split(paragraph.strip()):
                sentence = " ".join(sentence.split())
                # prose only: table rows and headings are short or mostly digits and dashes
                letters = sum(c.isalpha() for c in sentence)
                if 40 <= len(sentence) <= 300 and letters > 0.7 * len(sentence) and sentence not in seen:
                    seen.add(sentence)
                    pool.append(sentence)
    picked_sentences = _spread(pool, sentences)
    picked_chunks = _spread(_ten_k_chunks(documents, chunks), chunks)
    return picked_sentences, picked_chunks


def _ten_k_chunks(documents: Sequence[Any], wanted: int) -> list[str]:
    """Chunks of ``pipelines.chunking`` (as the evaluation builds them), full ones only."""
    from bench.retrieval_eval import pipeline_chunks
    from pipelines.chunking import minilm_tokenizer

    tokenizer = minilm_tokenizer()
    # Chunk a spread of items, not all 13 M characters: a few thousand chunks are plenty to pick from.
    step = max(1, len(documents) // max(wanted // 4, 1))
    texts = []
    for document in documents[::step]:
        texts.extend(document.text[start:end] for start, end in pipeline_chunks(document))
    counts = tokenizer.count_tokens(texts)
    # A chunk at the end of a section is short; ingestion embeds mostly full ones, so measure those.
    return [text for text, count in zip(texts, counts, strict=True) if count >= CHUNK_TOKENS - 16]


def _spread(pool: Sequence[str], n: int) -> list[str]:
    """``n`` items evenly spaced over ``pool`` (deterministic), so every filing contributes."""
    if len(pool) <= n:
        return list(pool)
    step = len(pool) / n
    return [pool[int(i * step)] for i in range(n)]


def synthetic_texts(sentences: int, chunks: int) -> tuple[list[str], list[str]]:
    """Sentences and passages of at least 256 tokens from the synthetic finance generator."""
    from bench.synthetic_finance import GeneratorParams, generate_chunks
    from pipelines.chunking import minilm_tokenizer

    passages = [chunk.text for chunk in generate_chunks(GeneratorParams(max(sentences // 3, chunks * 8, 8)))]
    pool = [s for passage in passages for s in _SENTENCE_END.split(passage) if len(s) >= 20]
    # Passages are ~60-120 tokens: join consecutive ones until the model's window is full (it
    # truncates the rest), so every chunk costs exactly what a full ingestion chunk costs.
    counts = minilm_tokenizer().count_tokens(passages)
    joined, current, tokens = [], [], 0
    for passage, count in zip(passages, counts, strict=True):
        current.append(passage)
        tokens += count
        if tokens >= CHUNK_TOKENS + 8:
            joined.append(" ".join(current))
            current, tokens = [], 0
    return _spread(pool, sentences), joined[:chunks]


# --- measurement ------------------------------------------------------------------------------------


def measure(
    embedder: Any, workloads: dict[str, list[str]], batch_sizes: Sequence[int], repeats: int
) -> list[Measurement]:
    """Time ``embedder.predict`` per workload and batch size; repeats are interleaved across sizes."""
    results = {
        (name, size): Measurement(name, size, len(texts), embedder.count_tokens(texts), [])
        for name, texts in workloads.items()
        for size in batch_sizes
    }
    for name, texts in workloads.items():
        embedder.batch_size = max(batch_sizes)
        embedder.predict(texts[: min(len(texts), 8)])  # warm-up: first-call allocations and lazy init
        for _ in range(repeats):
            for size in batch_sizes:
                embedder.batch_size = size
                with stopwatch() as elapsed:
                    embedder.predict(texts)
                results[(name, size)].seconds.append(elapsed[0])
    return list(results.values())


def ratios(measurements: Sequence[Measurement], baseline_batch: int = 1) -> dict[tuple[str, int], float]:
    """texts/s of each configuration over texts/s at ``baseline_batch`` for the same workload."""
    base = {m.workload: m.texts_per_second for m in measurements if m.batch_size == baseline_batch}
    return {(m.workload, m.batch_size): m.texts_per_second / base[m.workload] for m in measurements}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smoke run: 16 sentences, 4 chunks, one repeat")
    parser.add_argument("--threads", type=int, default=1, help="torch / BLAS threads (default 1, as the platform)")
    parser.add_argument(
        "--batch-size",
        type=int,
        default=PLATFORM_BATCH_SIZE,
        help=f"the platform's batch (default {PLATFORM_BATCH_SIZE})",
    )
    parser.add_argument("--sentences", type=int, default=None, help="sentences (default 512, 16 with --quick)")
    parser.add_argument("--chunks", type=int, default=None, help="256-token chunks (default 256, 4 with --quick)")
    parser.add_argument("--repeats", type=int, default=None, help="passes per configuration (default 2, 1 quick)")
    parser.add_argument("--synthetic", action="store_true", help="generated text even when the 10-K data is there")
    parser.add_argument("--shared-data", type=Path, default=None, help="default: $ARGUS_SHARED_DATA or ../shared/data")
    parser.add_argument("--output", type=Path, default=None, help="JSON results (default var/bench/...)")
    args = parser.parse_args(argv)
    args.sentences = args.sentences or (16 if args.quick else 512)
    args.chunks = args.chunks or (4 if args.quick else 256)
    args.repeats = args.repeats or (1 if args.quick else 2)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    from gpu_workers.embedding import SentenceEmbedder

    args = parse_args(argv)
    pin_threads(args.threads)
    texts = None if args.synthetic else ten_k_texts(args.shared_data, args.sentences, args.chunks)
    source = "10-K items (shared data)" if texts else "synthetic finance text"
    sentences, chunks = texts or synthetic_texts(args.sentences, args.chunks)

    embedder = SentenceEmbedder(threads=args.threads, batch_size=args.batch_size)
    with stopwatch() as loading:
        embedder.setup()
    # Loading the model can load another BLAS (scipy's OpenBLAS) after the first pin: pin again so
    # that every pool the settings list is at the measured thread count.
    pin_threads(args.threads)
    print_thread_settings()
    print(
        f"model: {embedder.model_name} ({embedder.model_version}), device {embedder.device}, "
        f"{embedder.dimensions} dimensions, max_seq_length {embedder.model.max_seq_length}; "
        f"loaded in {loading[0]:.1f} s"
    )
    workloads = {"sentences": sentences, f"{CHUNK_TOKENS}-token chunks": chunks}
    for name, items in workloads.items():
        tokens = embedder.count_tokens(items)
        print(f"{name}: {len(items)} from {source}, {tokens / max(len(items), 1):.0f} tokens each on average")
    print()

    batch_sizes = sorted({1, args.batch_size, *CONTEXT_BATCH_SIZES})
    measurements = measure(embedder, workloads, batch_sizes, args.repeats)
    speedups = ratios(measurements)
    rows = []
    for m in measurements:
        label = f"{m.workload}, batch {m.batch_size}" + (" (platform)" if m.batch_size == args.batch_size else "")
        spread = f"{min(m.seconds):.2f}-{max(m.seconds):.2f}"
        rows.append(
            [label, m.texts_per_second, m.tokens_per_second, spread, f"{speedups[(m.workload, m.batch_size)]:.2f}x"]
        )
    print_table(
        ["workload", "texts/s", "tokens/s", "s per pass (min-max)", "vs batch 1"],
        rows,
        title=f"Embedding throughput, median of {args.repeats} pass(es), {args.threads} thread(s)",
    )
    print("== Ratios (the platform's batch size over batch size 1, same process, same texts) ==")
    for name in workloads:
        print(f"  {name:<20} batch {args.batch_size} / batch 1 = {speedups[(name, args.batch_size)]:.2f}x")
    print()

    output = args.output or BENCH_VAR / f"embedding_throughput{'-quick' if args.quick else ''}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(
        json.dumps(
            {
                "model": embedder.model_name,
                "model_version": embedder.model_version,
                "threads": args.threads,
                "platform_batch_size": args.batch_size,
                "source": source,
                "measurements": [
                    asdict(m)
                    | {"texts_per_second": m.texts_per_second, "vs_batch_1": speedups[(m.workload, m.batch_size)]}
                    for m in measurements
                ],
            },
            indent=1,
        )
    )
    print(f"results: {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
