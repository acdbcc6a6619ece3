"""Embedding backends on real 10-K chunks, in one process: torch fp32 (sentence-transformers, the
baseline and the GPU path) against ONNX Runtime fp32 and int8 (the CPU path, exported at set-up).

    python -m bench.embedding_backends                    # 256 chunks, batch 64, 1 thread, 3 passes
    python -m bench.embedding_backends --threads 1,2      # and again with 2 intra-op threads
    python -m bench.embedding_backends --quick            # a smoke run on 16 chunks

Reported per backend and thread count: chunks/s at the platform's batch size, the ratio to torch
fp32 at the same thread count, and the minimum and mean cosine of its vectors to torch fp32's.
Passes are interleaved across backends so that load from other processes (the machine is shared)
hits all of them alike; the table shows the best pass and the spread. Goal (issue 11 item 10):
int8 >= 3x torch fp32 at batch 64, cosine >= 0.99.

The ONNX export is the set-up's (``ARGUS_EMBEDDING_ONNX_DIR``, default var/models/all-minilm-l6-v2-onnx)
when it is current, else made into var/bench/onnx-export first (its time is printed).
Texts: full 256-token chunks of the 10-K items in ``$ARGUS_SHARED_DATA/sec_10k_items`` as the
pipeline chunks them (bench/embedding_throughput.py picks them), synthetic finance text without them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.common import BENCH_VAR, REPO_ROOT, pin_threads, print_table, print_thread_settings, stopwatch

PLATFORM_BATCH_SIZE = int(os.environ.get("ARGUS_EMBEDDING_BATCH_SIZE", "64"))


def onnx_export_dir(fresh: bool) -> Path:
    """The set-up's export when current, else one made here (printed with its time)."""
    from gpu_workers.embedding import packaged_minilm_path
    from gpu_workers.embedding_onnx import artifact_is_current, export_onnx_embedder

    source = packaged_minilm_path()
    var = Path(os.environ.get("ARGUS_VAR_DIR", REPO_ROOT / "var"))
    configured = Path(os.environ.get("ARGUS_EMBEDDING_ONNX_DIR", var / "models" / "all-minilm-l6-v2-onnx"))
    if not fresh and artifact_is_current(configured, source):
        print(f"ONNX export: {configured} (set-up's)")
        return configured
    target = BENCH_VAR / "onnx-export"
    if fresh or not artifact_is_current(target, source):
        started = time.perf_counter()
        manifest = export_onnx_embedder(source, target)
        print(
            f"ONNX export: made {target} in {time.perf_counter() - started:.1f} s "
            f"(serves {manifest['precision']}; check on its {manifest['validation_texts']} texts: "
            f"{json.dumps(manifest['cosine_to_torch'])})"
        )
    else:
        print(f"ONNX export: {target} (made by an earlier run)")
    return target


def load_engines(export_dir: Path, batch_size: int) -> dict[str, Any]:
    from gpu_workers.embedding import SentenceEmbedder, packaged_minilm_path
    from gpu_workers.embedding_onnx import OnnxSentenceEmbedder

    engines: dict[str, Any] = {"torch fp32": SentenceEmbedder(device="cpu", threads=1, batch_size=batch_size)}
    for precision in ("fp32", "int8"):
        engines[f"onnx {precision}"] = OnnxSentenceEmbedder(
            export_dir, packaged_minilm_path(), threads=1, batch_size=batch_size, precision=precision
        )
    for engine in engines.values():
        engine.setup()
    return engines


def run_pass(engine: Any, texts: Sequence[str], threads: int) -> tuple[float, Any]:
    """One timed pass at ``threads`` intra-op threads (torch's pool, or an ONNX session made for it)."""
    import torch

    engine.threads = threads
    if engine.backend == "torch":
        torch.set_num_threads(threads)
    with stopwatch() as elapsed:
        vectors = engine.predict(texts).vectors
    return elapsed[0], vectors


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="16 chunks, one pass")
    parser.add_argument("--chunks", type=int, default=None, help="256-token chunks (default 256; 16 with --quick)")
    parser.add_argument("--threads", default="1", help="comma list of intra-op thread counts (default 1)")
    parser.add_argument("--batch-size", type=int, default=PLATFORM_BATCH_SIZE)
    parser.add_argument("--repeats", type=int, default=None, help="passes per configuration (default 3; 1 quick)")
    parser.add_argument("--fresh-export", action="store_true", help="export again into var/bench/onnx-export")
    parser.add_argument("--shared-data", type=Path, default=None, help="default: $ARGUS_SHARED_DATA or ../shared/data")
    parser.add_argument("--output", type=Path, default=None, help="JSON results (default var/bench/...)")
    args = parser.parse_args(argv)
    args.chunks = args.chunks or (16 if args.quick else 256)
    args.repeats = args.repeats or (1 if args.quick else 3)
    args.thread_counts = [int(t) for t in args.threads.split(",") if t.strip()]
    return args


def main(argv: Sequence[str] | None = None) -> int:
    from bench.embedding_throughput import synthetic_texts, ten_k_texts

    args = parse_args(argv)
    pin_threads(1)
    picked = ten_k_texts(args.shared_data, 1, args.chunks)
    source = "10-K items (shared data)" if picked else "synthetic finance text"
    chunks = picked[1] if picked else synthetic_texts(8, args.chunks)[1]
    chunks = chunks[: args.chunks]

    export_dir = onnx_export_dir(args.fresh_export)
    engines = load_engines(export_dir, args.batch_size)
    pin_threads(1)
    print_thread_settings()
    import onnxruntime

    print(f"onnxruntime {onnxruntime.__version__}; ONNX sessions: intra_op_num_threads as listed, inter_op 1, no spin")
    for name, engine in engines.items():
        print(f"  {name:<11} {engine.model_version}")
    tokens = engines["torch fp32"].count_tokens(chunks)
    print(f"texts: {len(chunks)} chunks from {source}, {tokens / max(len(chunks), 1):.0f} tokens each on average")
    print(f"batch size {args.batch_size}, thread counts {args.thread_counts}, {args.repeats} interleaved passes\n")

    for engine in engines.values():  # warm-up: first-call allocations, lazy session creation
        for threads in args.thread_counts:
            run_pass(engine, chunks[:8], threads)
    seconds: dict[tuple[str, int], list[float]] = {(n, t): [] for n in engines for t in args.thread_counts}
    vectors: dict[str, Any] = {}
    for _ in range(args.repeats):
        for threads in args.thread_counts:
            for name, engine in engines.items():
                elapsed, out = run_pass(engine, chunks, threads)
                seconds[(name, threads)].append(elapsed)
                vectors.setdefault(name, out)
    pin_threads(1)

    reference = vectors["torch fp32"]
    cosines = {name: (v * reference).sum(axis=1) for name, v in vectors.items()}
    rows, results = [], []
    for threads in args.thread_counts:
        base = len(chunks) / min(seconds[("torch fp32", threads)])
        for name in engines:
            rate = len(chunks) / min(seconds[(name, threads)])
            spread = f"{min(seconds[(name, threads)]):.1f}-{max(seconds[(name, threads)]):.1f}"
            rows.append(
                [
                    f"{name}, {threads} thread(s)",
                    rate,
                    f"{rate / base:.2f}x",
                    f"{cosines[name].min():.4f}",
                    f"{cosines[name].mean():.4f}",
                    spread,
                ]
            )
            results.append(
                {
                    "backend": name,
                    "threads": threads,
                    "chunks_per_second": rate,
                    "vs_torch_fp32": rate / base,
                    "min_cosine": float(cosines[name].min()),
                    "mean_cosine": float(cosines[name].mean()),
                    "seconds": seconds[(name, threads)],
                }
            )
    print_table(
        ["backend", "chunks/s", "vs torch fp32", "min cos", "mean cos", "s per pass (min-max)"],
        rows,
        title=f"Embedding backends at batch {args.batch_size}, best of {args.repeats} pass(es)",
    )
    int8 = [r for r in results if r["backend"] == "onnx int8"]
    for r in int8:
        verdict = "met" if r["vs_torch_fp32"] >= 3 and r["min_cosine"] >= 0.99 else "NOT met"
        print(
            f"goal (int8 >= 3x torch fp32, min cosine >= 0.99) at {r['threads']} thread(s): {verdict} "
            f"({r['vs_torch_fp32']:.2f}x, {r['min_cosine']:.4f})"
        )
    if len(args.thread_counts) > 1:
        one = {r["backend"]: r["chunks_per_second"] for r in results if r["threads"] == args.thread_counts[0]}
        for r in results[len(engines) :]:
            print(
                f"  {r['backend']}: {r['threads']} threads / {args.thread_counts[0]} = "
                f"{r['chunks_per_second'] / one[r['backend']]:.2f}x"
            )
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    output = args.output or BENCH_VAR / f"embedding_backends{'-quick' if args.quick else ''}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(
        json.dumps(
            {
                "source": source,
                "chunks": len(chunks),
                "batch_size": args.batch_size,
                "models": {name: engine.model_version for name, engine in engines.items()},
                "results": results,
            },
            indent=1,
        )
    )
    print(f"results: {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
