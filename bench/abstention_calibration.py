"""Calibration of the abstention threshold (``pipelines.retrieval.abstention``): FOR CALIBRATION ONLY.

The question set (``bench/data/abstention_calibration.jsonl``) was written for this purpose and is
kept apart from every evaluation set (``retrieval_eval_10k.jsonl``, the analyst and abstention sets
in ``bench/``): numbers measured here are in-sample for the chosen threshold, plus a two-fold
estimate (choose on one half, score the other). Held-out figures belong to the evaluation sets.

* Corpus: items 1, 1A and 7 of seven real 10-Ks in the shared data (FedEx 2023, Worthington 2023,
  Disney 2018, Estee Lauder 2013, SanDisk 2011, Tyson 2017, NetApp 2021), chunked and indexed as
  ``bench.retrieval_eval`` does (platform header, EdgeVectorStore, hybrid RRF, top 6 as ask asks).
* Questions: ``answerable`` (the answer is in one of those items, written from reading the text),
  ``offtopic`` (sport, recipes, trivia), ``absent`` (companies or facts not in the corpus).
* Rule: answer only when the best dense cosine >= ``min_dense`` and the question's content-term
  coverage by the retrieved passages >= ``min_coverage`` (see the module). The grid search picks,
  among pairs that abstain on >= 95% of the unanswerable questions, the one answering the most
  answerable questions; ties go to the lowest thresholds (answer more on unseen questions).

Run: ``python -m bench.abstention_calibration`` (embeddings cached under ``var/bench/``).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bench.eval_data import REPO_ROOT, default_shared_data_dir, load_10k_documents
from bench.retrieval_eval import build_chunks, chunk_records, configure_threads, embed_chunks, load_model

FILINGS = (
    "1048911_10K_2023_0000950170-23-033201.htm",  # FedEx 2023
    "108516_10K_2023_0000950170-23-035904.htm",  # Worthington 2023
    "1001039_10K_2018_0001001039-18-000187.htm",  # Disney 2018
    "1001250_10K_2013_0001104659-13-065820.htm",  # Estee Lauder 2013
    "1000180_10K_2011_0001000180-11-000006.htm",  # SanDisk 2011
    "100493_10K_2017_0000100493-17-000133.htm",  # Tyson 2017
    "1002047_10K_2021_0001564590-21-033645.htm",  # NetApp 2021
)
ITEMS = ("item_1", "item_1A", "item_7")
QUESTIONS = REPO_ROOT / "bench" / "data" / "abstention_calibration.jsonl"
ASK_LIMIT = 6  # passages an answer is generated from (apps.research.selectors.ANSWER_PASSAGES)


def corpus(shared: Path):
    return [d for d in load_10k_documents(shared) if d.filename in FILINGS and d.item in ITEMS]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--shared-data", type=Path, default=None)
    parser.add_argument("--cache-dir", type=Path, default=REPO_ROOT / "var" / "bench")
    parser.add_argument("--embed-only", action="store_true", help="build and cache the embeddings, then stop")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    documents = corpus(args.shared_data or default_shared_data_dir())
    chunks, chunker = build_chunks(documents, chunker="pipeline", header_style="platform")
    print(f"corpus: {len(documents)} items of {len({d.filename for d in documents})} filings, {len(chunks)} chunks")
    configure_threads(args.threads)
    model = load_model()
    vectors = embed_chunks(model, [c.indexed_text for c in chunks], cache_dir=args.cache_dir, batch_size=32)
    if args.embed_only:
        return 0
    return calibrate(documents, chunks, vectors, model, args)


def calibrate(documents, chunks, vectors, model, args) -> int:  # filled in below
    raise NotImplementedError


if __name__ == "__main__":
    sys.exit(main())
