"""A huge line through the ingest pipeline: how the tokenizer's cost grows, and what chunks come out.

    python bench/long_lines.py [--chars 4000000]

Baseline and candidate run in this process: one ``encode()`` of a line without spaces (what the
chunker did before) against ``token_spans()`` (the same line encoded in whitespace-cut pieces).
Then the whole JSON-lines ingest of that line: chunk count, longest chunk, seconds per stage.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipelines.chunking import minilm_tokenizer
from pipelines.ingest import ingest_bytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chars", type=int, default=4_000_000)
    args = parser.parse_args()
    line = "Q" * args.chars
    tokenizer = minilm_tokenizer()
    tokenizer.setup()

    started = time.perf_counter()
    tokenizer.backend.encode(line, add_special_tokens=False)
    whole = time.perf_counter() - started
    started = time.perf_counter()
    tokenizer.token_spans(line)
    pieces = time.perf_counter() - started
    print(f"encode of {args.chars:,} characters: whole {whole:.2f} s, in pieces {pieces:.2f} s")
    print(f"ratio whole / pieces: {whole / pieces:.2f}x")

    data = (json.dumps({"title": "huge", "text": line}) + "\n").encode()
    started = time.perf_counter()
    [document] = ingest_bytes(data, filename="huge.jsonl", tokenizer=tokenizer).documents
    elapsed = time.perf_counter() - started
    longest = max(len(chunk.text) for chunk in document.chunks)
    print(f"ingest: {len(document.chunks):,} chunks, longest {longest:,} characters, {elapsed:.1f} s")


if __name__ == "__main__":
    main()
