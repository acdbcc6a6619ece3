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
    chunks, _ = build_chunks(documents, chunker="pipeline", header_style="platform")
    print(f"corpus: {len(documents)} items of {len({d.filename for d in documents})} filings, {len(chunks)} chunks")
    configure_threads(args.threads)
    model = load_model()
    vectors = embed_chunks(model, [c.indexed_text for c in chunks], cache_dir=args.cache_dir, batch_size=32)
    if args.embed_only:
        return 0
    return calibrate(documents, chunks, vectors, model, args)


def features(documents, chunks, vectors, model, questions: list[dict]) -> list[dict]:
    """Retrieve as ask does and compute each question's relevance signals (thresholds all zero)."""
    from pipelines.retrieval import EdgeVectorStore
    from pipelines.retrieval.abstention import AbstentionThresholds, assess_relevance

    zero = AbstentionThresholds(min_dense=0.0, min_coverage=0.0, min_fused=0.0, min_name_coverage=0.0)
    rows = []
    with tempfile.TemporaryDirectory() as directory, EdgeVectorStore(Path(directory) / "calibration") as store:
        store.ensure_collection(int(vectors.shape[1]))
        store.upsert(chunk_records(chunks, vectors, documents), optimize=False)
        store.optimize()
        for question in questions:
            vector = model.encode([question["question"]], normalize_embeddings=True)[0]
            hits = store.search(
                allowed_access_levels=["internal", "public"],
                query_vector=vector,
                query_text=question["question"],
                limit=ASK_LIMIT,
                mode="hybrid",
            )
            assessment = assess_relevance(question["question"], hits, [h.text for h in hits], zero)
            rows.append(question | assessment.as_dict())
    return rows


def decide(row: dict, min_dense: float, min_coverage: float, min_names: float) -> bool:
    """True when the rule answers (does not abstain)."""
    return (
        (row["best_dense"] or 0.0) >= min_dense
        and row["coverage"] >= min_coverage
        and row["name_coverage"] >= min_names
    )


GRID_DENSE = [round(float(x), 3) for x in np.arange(0.0, 0.71, 0.025)]
GRID_COVERAGE = [round(float(x), 2) for x in np.arange(0.0, 1.01, 0.05)]
GRID_NAMES = [0.0, 0.5, 1.0]


def rates(rows: list[dict], rule: tuple[float, float, float]) -> tuple[float, float]:
    """(answered share of answerable, abstained share of unanswerable)."""
    answerable = [r for r in rows if r["kind"] == "answerable"]
    others = [r for r in rows if r["kind"] != "answerable"]
    answered = sum(decide(r, *rule) for r in answerable) / max(len(answerable), 1)
    abstained = sum(not decide(r, *rule) for r in others) / max(len(others), 1)
    return answered, abstained


def choose(rows: list[dict], target: float = 0.95) -> tuple[float, float, float]:
    """The rule with abstention >= target answering the most; ties: the loosest thresholds."""
    best, best_key = None, None
    for rule in ((d, c, n) for d in GRID_DENSE for c in GRID_COVERAGE for n in GRID_NAMES):
        answered, abstained = rates(rows, rule)
        if abstained < target:
            continue
        key = (answered, -sum(rule))
        if best_key is None or key > best_key:
            best, best_key = rule, key
    if best is None:
        raise SystemExit("no rule reaches the abstention target")
    return best


def calibrate(documents, chunks, vectors, model, args) -> int:
    questions = [json.loads(line) for line in QUESTIONS.read_text().splitlines() if line.strip()]
    rows = features(documents, chunks, vectors, model, questions)
    print(f"\n{'id':<8} {'kind':<10} {'dense':>6} {'fused':>6} {'cover':>6} {'names':>6}  question")
    for r in rows:
        print(
            f"{r['id']:<8} {r['kind']:<10} {r['best_dense'] or 0:>6.3f} {r['best_fused'] or 0:>6.3f} "
            f"{r['coverage']:>6.2f} {r['name_coverage']:>6.2f}  {r['question'][:70]}"
        )
    rule = choose(rows)
    answered, abstained = rates(rows, rule)
    counts = {kind: sum(r["kind"] == kind for r in rows) for kind in ("answerable", "offtopic", "absent")}
    print(f"\nquestions: {counts}")
    print(f"chosen (in-sample): min_dense={rule[0]} min_coverage={rule[1]} min_name_coverage={rule[2]}")
    print(f"  answerable answered {answered:.3f}; off-topic/absent abstained {abstained:.3f}")
    for kind in ("offtopic", "absent"):
        subset = [r for r in rows if r["kind"] in (kind, "answerable")]
        print(f"  {kind}: abstained {rates(subset, rule)[1]:.3f}")
    # Two-fold estimate: choose on the even-numbered questions of each kind, score the odd ones, and back.
    folds = [[r for i, r in enumerate(rows) if i % 2 == f] for f in (0, 1)]
    for f in (0, 1):
        fold_rule = choose(folds[f])
        held = rates(folds[1 - f], fold_rule)
        print(f"  fold {f}: chose {fold_rule}, held-out answered {held[0]:.3f}, abstained {held[1]:.3f}")
    # A check, not an input to the choice: the 10-K evaluation set's questions (written by others)
    # whose evidence is in this corpus, all answerable; how many would the chosen rule answer?
    from bench.eval_data import load_retrieval_eval

    eval_questions = [
        {"id": q.id, "kind": "answerable", "question": q.question}
        for q in load_retrieval_eval(args.shared_data or default_shared_data_dir())
        if q.filename in FILINGS and q.item in ITEMS
    ]
    eval_rows = features(documents, chunks, vectors, model, eval_questions)
    eval_answered = sum(decide(r, *rule) for r in eval_rows) / max(len(eval_rows), 1)
    dense = sorted(r["best_dense"] or 0.0 for r in eval_rows)
    print(
        f"check on retrieval_eval_10k questions into this corpus (n={len(eval_rows)}, not used to choose): "
        f"answered {eval_answered:.3f}; best-dense min {dense[0]:.3f}, 10th pct {dense[len(dense) // 10]:.3f}"
    )
    output = args.cache_dir / "abstention_calibration.json"
    output.write_text(
        json.dumps(
            {"rule": rule, "answered": answered, "abstained": abstained, "rows": rows, "eval_check": eval_rows},
            indent=1,
            default=float,
        )
    )
    print(f"report: {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
