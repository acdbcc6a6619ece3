"""Abstention with the real embedding model: off-topic questions over finance passages are below the
threshold, questions the passages answer are above it, and the thresholds are the caller's."""

from __future__ import annotations

import pytest

from pipelines.retrieval import ChunkRecord, SearchMode
from pipelines.retrieval.abstention import AbstentionThresholds, assess_relevance, question_terms, term_coverage
from tests.retrieval.test_hybrid_quality import PASSAGES

HEADER = "Acme Industrial Corp (ACME) | 10-K annual report | 2024-02-20 | Acme Industrial 10-K 2023"
OFF_TOPIC = [
    "Who won the 1998 football world cup?",
    "What is a good recipe for banana bread?",
    "How long should I boil an egg for a runny yolk?",
    "What is the capital of Australia?",
    "Who painted the Mona Lisa?",
    "How do volcanoes form?",
]
ANSWERABLE = [
    "How much cash and revolving credit capacity did Acme have?",
    "What goodwill impairment did Acme record in the media segment?",
    "What maximum net leverage ratio does Acme's Term Loan B-7 require?",
    "How large was Acme's share repurchase authorization and dividend increase?",
    "How did the stronger dollar affect Acme's revenue from subsidiaries?",
]


@pytest.fixture(scope="module")
def acme_chunks(minilm):
    texts = [f"{HEADER}\n{text}" for text in PASSAGES.values()]
    return [
        ChunkRecord(key, "acme-10k", text, vector, "public")
        for key, text, vector in zip(PASSAGES, texts, minilm(texts), strict=True)
    ]


def _assess(store, minilm, question: str, thresholds: AbstentionThresholds | None = None):
    [vector] = minilm([question])
    hits = store.search(
        query_vector=vector, query_text=question, allowed_access_levels=["public"], limit=6, mode=SearchMode.HYBRID
    )
    return assess_relevance(question, hits, [h.text for h in hits], thresholds)


@pytest.mark.slow  # loads the embedding model
def test_off_topic_questions_abstain_and_answerable_ones_do_not(store_factory, minilm, acme_chunks):
    store = store_factory()
    store.ensure_collection(len(acme_chunks[0].vector))
    store.upsert(acme_chunks)
    for question in OFF_TOPIC:
        assessment = _assess(store, minilm, question)
        assert not assessment.sufficient, (question, assessment)
        assert assessment.reason and assessment.best_dense is not None
    for question in ANSWERABLE:
        assessment = _assess(store, minilm, question)
        assert assessment.sufficient, (question, assessment)
    # The thresholds are the caller's: with every check off, the football question is "answered".
    off = AbstentionThresholds(min_dense=0.0, min_coverage=0.0, min_fused=0.0, min_name_coverage=0.0)
    assert _assess(store, minilm, OFF_TOPIC[0], off).sufficient
    strict = AbstentionThresholds(min_dense=0.99)
    assert not _assess(store, minilm, ANSWERABLE[0], strict).sufficient


def test_nothing_retrieved_is_insufficient() -> None:
    assessment = assess_relevance("What was capex?", [], [])
    assert not assessment.sufficient and assessment.reason == "nothing was retrieved"


def test_coverage_counts_aliases_and_weights_names() -> None:
    coverage, missing, names = term_coverage(
        "What was Acme's capex in 2023?", ["Purchases of property and equipment (2023)"]
    )
    assert missing == ["Acme"] and names == 0.5
    assert coverage == pytest.approx(3 / 5)  # capex 1 + 2023 2 covered, Acme 2 missing
    assert ("Acme", 2.0) in question_terms("What was Acme's capex?")
    assert all(word.lower() not in {"what", "was"} for word, _ in question_terms("What was Acme's capex?"))


def test_keyword_mode_has_no_dense_score_and_is_judged_on_coverage() -> None:
    hit = {"chunk_id": "c", "score": 3.2, "scores": {"keyword": 3.2}, "ranks": {"keyword": 1}}
    assessment = assess_relevance("capex in 2023", [hit], ["Capital expenditures in 2023 were high."], mode="keyword")
    assert assessment.best_dense is None and assessment.sufficient
    assessment = assess_relevance("football world cup", [hit], ["Capital expenditures were high."], mode="keyword")
    assert not assessment.sufficient and "covered" in assessment.reason
