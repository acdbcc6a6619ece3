"""The baseline retrievers of bench/retrieval_eval.py: chunk offsets, BM25, fusion and the scorer."""

from __future__ import annotations

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
