"""Keyword (BM25) search with and without the finance vocabulary, through the shipped store.

Same process, same chunks, same EdgeVectorStore; only ``KeywordEncoder(vocabulary=...)`` differs.
Keyword mode only: the vocabulary changes the BM25 side, and no embedding is needed, so this
runs in a minute (the hybrid figures are ``bench/retrieval_eval.py``'s, with the embeddings).

* ``10k``: the 10-K evaluation set (``bench/data/retrieval_eval_10k.jsonl``, 188 questions over
  the narrative items of 62 filings), chunked with the platform header as ``retrieval_eval``
  does; recall@10 and MRR@10 by the same relevance rule.
* ``tatqa``: TAT-QA dev (278 annual-report extracts): each table is one chunk (rows as
  "label: cells" lines) and each paragraph one chunk; a question's gold chunks are its
  paragraphs (``rel_paragraphs``) and, when it is answered from the table, the table.
  ``tatqa-vocab`` is the subset whose question names a vocabulary concept that its gold
  chunks state in other words (the case the table is for).

* ``10k7-hybrid``: hybrid (dense + keyword, RRF as shipped) on the 54 questions of the same set
  whose evidence is in the seven filings of ``bench/abstention_calibration.py`` (items 1, 1A, 7;
  1,314 chunks, their embeddings cached there), since embedding all 14,140 chunks takes an hour.

Run: ``python -m bench.finance_vocabulary_eval [--sets 10k,tatqa,10k7-hybrid]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench.eval_data import default_shared_data_dir


def keyword_store(directory: Path, items: Sequence[tuple[str, str]], vocabulary: bool):
    from pipelines.retrieval import ChunkRecord, EdgeVectorStore, KeywordEncoder

    store = EdgeVectorStore(directory, keyword_encoder=KeywordEncoder(vocabulary=vocabulary))
    store.ensure_collection(2)
    store.upsert(
        (ChunkRecord(chunk_id=cid, document_id=cid, text=text, vector=[1.0, 0.0], access_level="public")
         for cid, text in items),
        optimize=False,
    )  # fmt: skip
    store.optimize()
    return store


def scores(ranked: list[list[str]], gold: list[set[str]], k: int = 10) -> tuple[float, float]:
    hits, rr = 0, 0.0
    for ids, wanted in zip(ranked, gold, strict=True):
        for position, cid in enumerate(ids[:k], start=1):
            if cid in wanted:
                hits += 1
                rr += 1.0 / position
                break
    return hits / len(gold), rr / len(gold)


def tatqa(shared: Path) -> tuple[list[tuple[str, str]], list[tuple[str, set[str]]]]:
    reports = json.loads((shared / "tatqa_dev" / "tatqa_dataset_dev.json").read_text())
    items, questions = [], []
    for index, report in enumerate(reports):
        rows = ["  ".join(cell for cell in row if cell).strip() for row in report["table"]["table"]]
        items.append((f"r{index}:table", "\n".join(r for r in rows if r)))
        for paragraph in report["paragraphs"]:
            items.append((f"r{index}:p{paragraph['order']}", paragraph["text"]))
        for question in report["questions"]:
            gold = {f"r{index}:p{order}" for order in question.get("rel_paragraphs") or []}
            if question["answer_from"] in ("table", "table-text"):
                gold.add(f"r{index}:table")
            if gold:
                questions.append((question["question"], gold))
    return items, questions


def tenk(shared: Path) -> tuple[list[tuple[str, str]], list[tuple[str, set[str]]]]:
    from bench.eval_data import is_relevant, load_10k_documents, load_retrieval_eval
    from bench.retrieval_eval import build_chunks

    questions = load_retrieval_eval(shared)
    chunks, _ = build_chunks(list(load_10k_documents(shared)), chunker="pipeline", header_style="platform")
    refs = {c.ref.chunk_id: c.ref for c in chunks}
    gold = []
    for q in questions:
        gold.append({cid for cid, r in refs.items() if is_relevant(r.filename, r.item, r.start, r.end, q)})
    return [(c.ref.chunk_id, c.indexed_text) for c in chunks], [
        (q.question, g) for q, g in zip(questions, gold, strict=True)
    ]


def tenk_hybrid_subset(shared: Path) -> tuple[int, dict[bool, tuple[float, float]]]:
    """(R@10, MRR@10) of hybrid search without and with the vocabulary on the seven-filing corpus."""
    from bench.abstention_calibration import FILINGS, ITEMS, corpus
    from bench.eval_data import REPO_ROOT, is_relevant, load_retrieval_eval
    from bench.retrieval_eval import build_chunks, chunk_records, embed_chunks, load_model
    from pipelines.retrieval import EdgeVectorStore, KeywordEncoder

    documents = corpus(shared)
    chunks, _ = build_chunks(documents, chunker="pipeline", header_style="platform")
    model = load_model()
    vectors = embed_chunks(
        model, [c.indexed_text for c in chunks], cache_dir=REPO_ROOT / "var" / "bench", batch_size=32
    )
    questions = [q for q in load_retrieval_eval(shared) if q.filename in FILINGS and q.item in ITEMS]
    refs = {c.ref.chunk_id: c.ref for c in chunks}
    gold = [{cid for cid, r in refs.items() if is_relevant(r.filename, r.item, r.start, r.end, q)} for q in questions]
    query_vectors = model.encode([q.question for q in questions], normalize_embeddings=True)
    out = {}
    for vocabulary in (False, True):
        with tempfile.TemporaryDirectory() as directory:
            store = EdgeVectorStore(Path(directory) / "h", keyword_encoder=KeywordEncoder(vocabulary=vocabulary))
            try:
                store.ensure_collection(int(vectors.shape[1]))
                store.upsert(chunk_records(chunks, vectors, documents), optimize=False)
                store.optimize()
                ranked = [
                    [h.chunk_id for h in store.search(
                        allowed_access_levels=["internal", "public"], query_vector=v, query_text=q.question,
                        limit=10, mode="hybrid", explain=False,
                    )]
                    for q, v in zip(questions, query_vectors, strict=True)
                ]  # fmt: skip
            finally:
                store.close()
        out[vocabulary] = scores(ranked, gold)
    return len(questions), out


def vocabulary_subset(items: dict[str, str], questions: list[tuple[str, set[str]]]) -> list[int]:
    from pipelines.retrieval.finance_vocabulary import _plain_words, default_vocabulary

    vocabulary = default_vocabulary()
    chosen = []
    for index, (question, gold) in enumerate(questions):
        asked = set(vocabulary.concepts_in(question))
        gold_text = " ".join(items[g] for g in gold)
        stated = set(vocabulary.concepts_in(gold_text))
        plain_gold = f" {_plain_words(gold_text)} "
        for key in asked & stated:
            said = [
                a for a in vocabulary.concept(key).aliases if f" {_plain_words(a)} " in f" {_plain_words(question)} "
            ]
            if said and not any(f" {_plain_words(a)} " in plain_gold for a in said):
                chosen.append(index)
                break
    return chosen


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--shared-data", type=Path, default=None)
    parser.add_argument("--sets", default="10k,tatqa")
    args = parser.parse_args(argv)
    shared = args.shared_data or default_shared_data_dir()
    print(f"{'set':<12} {'n':>5} {'R@10 before':>12} {'R@10 after':>11} {'MRR before':>11} {'MRR after':>10}")
    for name in [s.strip() for s in args.sets.split(",") if s.strip()]:
        if name == "10k7-hybrid":
            count, result = tenk_hybrid_subset(shared)
            recall = f"{result[False][0]:>12.3f} {result[True][0]:>11.3f}"
            print(f"{name:<12} {count:>5} {recall} {result[False][1]:>11.3f} {result[True][1]:>10.3f}")
            continue
        items, questions = (tatqa if name == "tatqa" else tenk)(shared)
        ranked: dict[bool, list[list[str]]] = {}
        for vocabulary in (False, True):
            with tempfile.TemporaryDirectory() as directory:
                store = keyword_store(Path(directory) / "kw", items, vocabulary)
                try:
                    ranked[vocabulary] = [
                        [h.chunk_id for h in store.search(
                            allowed_access_levels=["public"], query_text=q, limit=10, mode="keyword", explain=False
                        )]
                        for q, _ in questions
                    ]  # fmt: skip
                finally:
                    store.close()
        subsets = {name: list(range(len(questions)))}
        if name == "tatqa":
            subsets["tatqa-vocab"] = vocabulary_subset(dict(items), questions)
        for label, indexes in subsets.items():
            gold = [questions[i][1] for i in indexes]
            before = scores([ranked[False][i] for i in indexes], gold)
            after = scores([ranked[True][i] for i in indexes], gold)
            recall, reciprocal = f"{before[0]:>12.3f} {after[0]:>11.3f}", f"{before[1]:>11.3f} {after[1]:>10.3f}"
            print(f"{label:<12} {len(indexes):>5} {recall} {reciprocal}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
