"""Throughput of the plain-Python ingest pipeline on the real 10-K items (../shared/data).

    python bench/ingest_pipeline.py [--items item_1,item_1A,item_7,item_7A] [--persons-sample 200000]

Each filing item is one text document. Reports per-stage time (parse, clean, redact, chunk with
the all-MiniLM-L6-v2 tokenizer), chunks/s and MB/s; with ``--persons-sample`` also the cost of
person-name redaction (spaCy NER) on that many characters.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipelines.chunking import ChunkingOptions, chunk_document, minilm_tokenizer
from pipelines.cleaning import clean_document
from pipelines.parsing import parse
from pipelines.redaction import RedactionPolicy, redact_document, redact_text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", default="item_1,item_1A,item_7,item_7A,item_8")
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--overlap", type=int, default=32)
    parser.add_argument("--persons-sample", type=int, default=0, help="characters to run person-name NER on")
    args = parser.parse_args()

    shared = Path(os.environ.get("ARGUS_SHARED_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")
    source = shared / "sec_10k_items" / "edgar_crawler_10k_items.jsonl"
    filings = [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines() if line.strip()]
    keys = args.items.split(",")
    texts = [filing[key] for filing in filings for key in keys if len(filing.get(key) or "") > 200]
    total_bytes = sum(len(text.encode("utf-8")) for text in texts)

    tokenizer = minilm_tokenizer()
    tokenizer.setup()
    options = ChunkingOptions(max_tokens=args.max_tokens, overlap_tokens=args.overlap)
    timings = {"parse": 0.0, "clean": 0.0, "redact": 0.0, "chunk": 0.0}
    chunk_count, token_counts, redactions = 0, [], 0
    for text in texts:
        started = time.perf_counter()
        parsed = parse(text.encode("utf-8"), filename="item.txt").documents[0]
        timings["parse"] += time.perf_counter() - started
        mark = time.perf_counter()
        cleaned = clean_document(parsed)
        timings["clean"] += time.perf_counter() - mark
        mark = time.perf_counter()
        redacted = redact_document(cleaned, RedactionPolicy())
        timings["redact"] += time.perf_counter() - mark
        mark = time.perf_counter()
        chunks = chunk_document(redacted.document, options=options, tokenizer=tokenizer)
        timings["chunk"] += time.perf_counter() - mark
        chunk_count += len(chunks)
        token_counts.extend(chunk.token_count for chunk in chunks)
        redactions += len(redacted.redactions)

    total = sum(timings.values())
    megabytes = total_bytes / 1e6
    print(f"documents: {len(texts)} items of {len(filings)} filings ({', '.join(keys)}), {megabytes:.1f} MB")
    mean, median = statistics.mean(token_counts), statistics.median(token_counts)
    print(f"chunks: {chunk_count}, tokens/chunk mean {mean:.0f}, median {median:.0f}, max {max(token_counts)}")
    print(f"redactions: {redactions}")
    for stage, seconds in timings.items():
        print(f"  {stage:<7} {seconds:7.2f} s  {megabytes / seconds:7.2f} MB/s")
    print(f"total    {total:7.2f} s  {megabytes / total:7.2f} MB/s  {len(texts) / total:7.1f} docs/s")
    chunking_rate, pipeline_rate = chunk_count / timings["chunk"], chunk_count / total
    print(f"chunking alone: {chunking_rate:.0f} chunks/s; whole pipeline: {pipeline_rate:.0f} chunks/s")

    if args.persons_sample:
        sample = "\n".join(texts)[: args.persons_sample]
        policy = RedactionPolicy(redact_person_names=True)
        redact_text("warm up the model", policy)
        started = time.perf_counter()
        result = redact_text(sample, policy)
        seconds = time.perf_counter() - started
        persons = sum(1 for r in result.redactions if r.kind.value == "person")
        print(f"person names: {len(sample) / 1e6:.2f} M chars in {seconds:.1f} s "
              f"({len(sample) / seconds / 1e3:.0f} k chars/s), {persons} names")  # fmt: skip


if __name__ == "__main__":
    main()
