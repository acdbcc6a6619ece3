"""The baseline retrievers of bench/retrieval_eval.py: chunk offsets, BM25, fusion and the scorer."""

from __future__ import annotations

import pytest

from bench.eval_data import AnswerSpan, EvalQuestion, TenKDocument, sha256_text
from bench.retrieval_eval import (
    BM25Index,
    ChunkRef,
    build_chunks,
    evaluate,
    paragraph_chunks,
    reciprocal_rank_fusion,
)

TEXT = (
    "ITEM 7.\nOverview\n"
    + " ".join(f"word{i}" for i in range(250))
    + "\nLiquidity. We had cash of $7.6 million at June 30, 2004 and a revolving credit facility of $5.0 million.\n"
    + "Outlook. We expect the shuttle to return to flight next year.\n"
)


def document(text: str = TEXT) -> TenKDocument:
    return TenKDocument("f.htm", "1", "SPACE CO", "SPC", "2004-09-28", "2004-06-30", "item_7", text)


def test_paragraph_chunks_are_raw_spans_within_the_word_bound():
    spans = paragraph_chunks(document(), max_words=100)

    assert all(TEXT[start:end] == TEXT[start:end].strip() for start, end in spans)
    assert all(len(TEXT[start:end].split()) <= 100 for start, end in spans)
    # every word of the item is in some chunk
    covered = " ".join(TEXT[start:end] for start, end in spans).split()
    assert covered == TEXT.split()


def test_pipeline_chunks_map_back_to_raw_item_text():
    chunks, used = build_chunks([document()], chunker="pipeline", header=True)

    assert used == "pipeline"
    assert len(chunks) >= 2  # 250 words do not fit one 256-token chunk with the rest
    for chunk in chunks:
        assert TEXT[chunk.ref.start : chunk.ref.end] == chunk.text
        assert chunk.indexed_text.startswith("SPACE CO (SPC) 10-K filed 2004-09-28, Item 7\n")
    assert any("$7.6 million" in chunk.text for chunk in chunks)


def test_bm25_ranks_the_chunk_sharing_rare_terms_first():
    texts = [
        "the company sells memory cards to retailers",
        "revolving credit facility borrowings and liquidity",
        "memory memory memory cards and more cards",
        "the shuttle return to flight",
    ]
    index = BM25Index(["a", "b", "c", "d"], texts)

    assert index.search("How much was drawn on the revolving credit line?", 2)[0] == "b"
    assert index.search("when will the shuttle fly again", 4)[0] == "d"
    assert index.search("unrelated words entirely", 4) == []


def test_reciprocal_rank_fusion_rewards_agreement():
    fused = reciprocal_rank_fusion([["x", "y", "z"], ["y", "w", "x"]])

    assert fused[0] == "y"  # ranked 2 and 1 beats 1 and 3
    assert set(fused) == {"x", "y", "z", "w"}


def test_evaluate_scores_any_retriever_by_chunk_ids():
    passage = "We had cash of $7.6 million at June 30, 2004 and a revolving credit facility of $5.0 million."
    start = TEXT.index(passage)
    span = AnswerSpan("f.htm", "item_7", start, start + len(passage), sha256_text(passage), passage)
    question = EvalQuestion("q1", "How much cash did Space Co hold?", "number", "SPACE CO", "SPC", "2004-09-28", span)
    refs = {
        "miss": ChunkRef("miss", "f.htm", "item_7", 0, 40),
        "hit": ChunkRef("hit", "f.htm", "item_7", start - 11, len(TEXT)),
    }

    report = evaluate("fake", [question], lambda query, k: ["miss", "miss", "hit"][:k], refs)

    assert report.ranks == {"q1": 3}
    assert report.recall_at_5 == 1.0
    assert report.mrr_at_10 == 1 / 3


# --- the run through the shipped vector store (EdgeVectorStore) -------------------------------------


def test_platform_header_is_what_the_index_task_puts_in_front_of_a_chunk():
    import datetime as dt

    from apps.research.models import Company, Document, DocumentChunk, DocumentType
    from bench.retrieval_eval import item_section, platform_header
    from gpu_workers.tasks.research import indexed_text

    item = document()
    # as manage.py index_10k_corpus stores the filing (unsaved rows: no database needed)
    company = Company(ticker=item.ticker.upper(), name=item.company.title())
    row = Document(
        company=company,
        doc_type=DocumentType.FORM_10K,
        title=f"{item.company.title()} 10-K {item.filing_date[:4]}",
        published_on=dt.date.fromisoformat(item.filing_date),
    )
    chunk = DocumentChunk(document=row, section=item_section(item), text="We had cash.", char_start=0, char_end=12)

    assert item_section(item) == "ITEM 7. Overview"
    assert indexed_text(row, chunk) == f"{platform_header(item)}\nWe had cash."
    assert build_chunks([item], chunker="pipeline", header_style="platform")[0][0].indexed_text.startswith(
        "Space Co (SPC) | 10-K annual report | 2004-09-28 | Space Co 10-K 2004 | ITEM 7. Overview\n"
    )


class _FakeModel:
    """Stands in for MiniLM: a fixed unit vector per query text."""

    def __init__(self, vectors):
        self.vectors = vectors

    def encode(self, texts, **_):
        import numpy as np

        return np.stack([self.vectors[text] for text in texts])


def test_store_retriever_indexes_the_chunks_and_searches_with_the_platforms_access_levels(tmp_path):
    import numpy as np

    from bench.retrieval_eval import PLATFORM_ACCESS_LEVELS, StoreRetriever

    chunks, _ = build_chunks([document()], chunker="paragraph", header_style="platform")
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(len(chunks), 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    liquidity = next(i for i, chunk in enumerate(chunks) if "revolving credit" in chunk.text)
    query = "revolving credit facility"
    model = _FakeModel({query: vectors[liquidity]})

    with StoreRetriever(tmp_path, chunks, vectors, [document()], model) as retriever:
        assert retriever.written == len(chunks)
        hit = retriever.store.search(
            allowed_access_levels=PLATFORM_ACCESS_LEVELS, query_text=query, mode="keyword", limit=1
        )[0]
        for mode in ("dense", "keyword", "hybrid"):
            assert retriever.searcher(mode)(query, 3)[0] == chunks[liquidity].ref.chunk_id
        # chunks are public: a reader of restricted documents only finds nothing here
        assert retriever.searcher("hybrid", access_levels=("restricted",))(query, 3) == []

    assert hit.text == chunks[liquidity].indexed_text  # the header is indexed and stored, as the platform does
    assert hit.payload["access_level"] == "public" and hit.document_id == "f.htm"
    assert (hit.payload["char_start"], hit.payload["char_end"]) == (
        chunks[liquidity].ref.start,
        chunks[liquidity].ref.end,
    )


def _question_dense_items(questions, documents, max_chars):
    """The items with the fewest characters per question, up to ``max_chars``, and their questions.

    Chosen from the questions' metadata only (never from retrieval results): it buys the most
    questions per embedded chunk. The smallest whole filings gave 12 questions for the same cost,
    too few to tell the modes apart (an old, lexical corner of the set where dense is weak).
    """
    counts: dict[str, int] = {}
    for question in questions:
        counts[f"{question.filename}#{question.item}"] = counts.get(f"{question.filename}#{question.item}", 0) + 1
    by_key = {item.key: item for item in documents}
    chosen, total = set(), 0
    for key in sorted(counts, key=lambda k: (len(by_key[k].text) / counts[k], k)):
        if total + len(by_key[key].text) > max_chars:
            break
        chosen.add(key)
        total += len(by_key[key].text)
    picked = [q for q in questions if f"{q.filename}#{q.item}" in chosen]
    return picked, [item for item in documents if item.key in chosen]


@pytest.fixture(scope="module")
def store_and_baseline_reports(eval_questions, ten_k_documents):
    """A subset (44 questions over 20 items, ~350 chunks: one to four minutes of embedding on one
    thread, cached under var/bench/ afterwards) indexed as the platform indexes it and searched as the
    platform searches, through EdgeVectorStore and through the numpy baseline, on the same vectors."""
    from bench.common import BENCH_VAR, pin_threads
    from bench.retrieval_eval import embed_chunks, evaluate_numpy, evaluate_store, load_model

    questions, documents = _question_dense_items(eval_questions, ten_k_documents, max_chars=350_000)
    assert len(questions) >= 40
    chunks, used = build_chunks(documents, chunker="pipeline", header_style="platform")
    assert used == "pipeline"
    pin_threads(1)
    model = load_model()
    vectors = embed_chunks(model, [chunk.indexed_text for chunk in chunks], cache_dir=BENCH_VAR, batch_size=64)
    edge = {report.mode: report for report in evaluate_store(questions, chunks, vectors, documents, model)}
    baseline = {report.mode: report for report in evaluate_numpy(questions, chunks, vectors, model)}
    return edge, baseline


@pytest.mark.shared_data
@pytest.mark.slow
def test_hybrid_through_the_edge_store_finds_at_least_as_much_as_either_mode(store_and_baseline_reports):
    edge, baseline = store_and_baseline_reports

    assert edge["hybrid"].recall_at_10 >= edge["dense"].recall_at_10
    assert edge["hybrid"].recall_at_10 >= edge["keyword"].recall_at_10
    assert edge["hybrid"].mrr_at_10 >= edge["dense"].mrr_at_10
    # below the store's indexing threshold dense search is an exact scan, like the numpy baseline's
    top10 = [{q: r for q, r in report.ranks.items() if r and r <= 10} for report in (edge["dense"], baseline["dense"])]
    assert top10[0] == top10[1]
