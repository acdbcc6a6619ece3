"""The 10-K retrieval evaluation set: loader, drift detection, relevance judgement and metrics.

Unit tests build a tiny fake shared-data folder; the ``shared_data`` tests check the real set
against the real filings (every hash, the spread, and that questions do not copy their passages).
"""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from bench.eval_data import (
    TEN_K_DIR,
    TEN_K_FILE,
    AnswerSpan,
    EvalDataDriftError,
    EvalDataError,
    EvalQuestion,
    content_words,
    first_relevant_rank,
    is_relevant,
    is_relevant_text,
    load_10k_documents,
    load_retrieval_eval,
    mrr,
    recall_at_k,
    sha256_text,
    shared_content_ngrams,
)

FILING = "999_10K_2020_test.htm"
ITEM_7 = (
    "ITEM 7. MANAGEMENT'S DISCUSSION\n"
    "Net sales increased 12% to $4.1 billion in fiscal 2020, driven by strong demand for memory cards. "
    "Gross margin improved to 31% as costs fell faster than prices.\n"
    "Research and development expense rose to $300 million on new product programs.\n"
)
ANSWER = "Net sales increased 12% to $4.1 billion in fiscal 2020, driven by strong demand for memory cards."


def write_shared_data(root, item_7: str = ITEM_7):
    folder = root / TEN_K_DIR
    folder.mkdir(parents=True)
    filing = {
        "cik": "999",
        "company": "TEST MEMORY CORP",
        "ticker": "TMC",
        "filing_date": "2020-03-01",
        "period_of_report": "2019-12-31",
        "filename": FILING,
        "item_1": "ITEM 1. BUSINESS\nWe make memory cards.\n",
        "item_1A": "",
        "item_7": item_7,
    }
    (folder / TEN_K_FILE).write_text(json.dumps(filing) + "\n", encoding="utf-8")
    return root


def write_eval_set(path, passage: str = ANSWER, **overrides):
    start = ITEM_7.index(passage)
    row = {
        "id": "t-001",
        "question": "How much did revenue grow at Test Memory in fiscal 2020?",
        "kind": "number",
        "company": "TEST MEMORY CORP",
        "ticker": "TMC",
        "filename": FILING,
        "filing_date": "2020-03-01",
        "item": "item_7",
        "answer_start": start,
        "answer_end": start + len(passage),
        "answer_sha256": sha256_text(passage),
    }
    row.update(overrides)
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    return path


def make_question(text: str = ITEM_7, passage: str = ANSWER, alternates=()) -> EvalQuestion:
    start = text.index(passage)
    span = AnswerSpan(FILING, "item_7", start, start + len(passage), sha256_text(passage), passage)
    return EvalQuestion("q", "How much did revenue grow?", "number", "T", "", "2020-03-01", span, tuple(alternates))


# --- loader ---------------------------------------------------------------------------------------


def test_loader_resolves_passage_from_shared_data(tmp_path):
    shared = write_shared_data(tmp_path / "shared")
    questions = load_retrieval_eval(shared, eval_set_path=write_eval_set(tmp_path / "set.jsonl"))

    assert len(questions) == 1
    assert questions[0].answer.text == ANSWER
    assert ITEM_7[questions[0].answer.start : questions[0].answer.end] == ANSWER


def test_loader_refuses_drifted_passage(tmp_path):
    drifted = ITEM_7.replace("12% to $4.1 billion", "13% to $4.2 billion")
    shared = write_shared_data(tmp_path / "shared", item_7=drifted)

    with pytest.raises(EvalDataDriftError, match="drifted"):
        load_retrieval_eval(shared, eval_set_path=write_eval_set(tmp_path / "set.jsonl"))


def test_loader_refuses_span_outside_item(tmp_path):
    shared = write_shared_data(tmp_path / "shared")
    eval_set = write_eval_set(tmp_path / "set.jsonl", answer_start=10, answer_end=len(ITEM_7) + 50)

    with pytest.raises(EvalDataDriftError, match="no span"):
        load_retrieval_eval(shared, eval_set_path=eval_set)


def test_loader_refuses_unknown_filing(tmp_path):
    shared = write_shared_data(tmp_path / "shared")
    eval_set = write_eval_set(tmp_path / "set.jsonl", filename="000_missing.htm")

    with pytest.raises(EvalDataDriftError, match="not in the shared 10-K data"):
        load_retrieval_eval(shared, eval_set_path=eval_set)


def test_loader_explains_missing_shared_data(tmp_path):
    with pytest.raises(EvalDataError, match="ARGUS_SHARED_DATA"):
        load_retrieval_eval(tmp_path / "nowhere", eval_set_path=write_eval_set(tmp_path / "set.jsonl"))


def test_documents_skip_empty_items(tmp_path):
    shared = write_shared_data(tmp_path / "shared")

    documents = list(load_10k_documents(shared))

    assert [document.item for document in documents] == ["item_1", "item_7"]
    assert documents[1].company == "TEST MEMORY CORP"
    assert documents[1].ticker == "TMC"
    assert documents[1].text == ITEM_7


# --- relevance ------------------------------------------------------------------------------------


def test_chunk_covering_the_answer_is_relevant():
    question = make_question()
    start, end = question.answer.start, question.answer.end

    assert is_relevant(FILING, "item_7", 0, len(ITEM_7), question)
    assert is_relevant(FILING, "item_7", start, end, question)


def test_chunk_from_another_item_or_filing_is_not_relevant():
    question = make_question()
    start, end = question.answer.start, question.answer.end

    assert not is_relevant(FILING, "item_1", start, end, question)
    assert not is_relevant("other_10K.htm", "item_7", start, end, question)


def test_chunk_must_cover_half_the_answer():
    question = make_question()
    start, end = question.answer.start, question.answer.end
    half = (end - start) // 2

    assert is_relevant(FILING, "item_7", start - 100, start + half + 1, question)
    assert not is_relevant(FILING, "item_7", start - 100, start + half - 5, question)
    assert not is_relevant(FILING, "item_7", end, end + 300, question)


def test_chunk_holding_one_whole_answer_sentence_is_relevant():
    passage = (
        "Net sales increased 12% to $4.1 billion in fiscal 2020, driven by strong demand for memory cards. "
        "Gross margin improved to 31% as costs fell faster than prices."
    )
    question = make_question(passage=passage)
    second_sentence = ITEM_7.index("Gross margin")

    # a chunk starting at the second sentence covers less than half of the answer but holds a sentence
    assert is_relevant(FILING, "item_7", second_sentence, len(ITEM_7), question)
    assert not is_relevant(FILING, "item_7", second_sentence + 10, len(ITEM_7), question)


def test_alternate_copy_of_the_answer_counts():
    alternate_text = "We make memory cards."
    item_1 = "ITEM 1. BUSINESS\nWe make memory cards.\n"
    start = item_1.index(alternate_text)
    alternate = AnswerSpan(
        FILING, "item_1", start, start + len(alternate_text), sha256_text(alternate_text), alternate_text
    )
    question = make_question(alternates=[alternate])

    assert is_relevant(FILING, "item_1", 0, len(item_1), question)


def test_relevance_by_text_for_reflowed_chunks():
    question = make_question()
    reflowed = (
        "MD&A\n\nNet sales increased 12% to $4.1 billion in fiscal 2020,\ndriven by strong demand for memory cards."
    )

    assert is_relevant_text(FILING, "item_7", reflowed, question)
    assert not is_relevant_text(FILING, "item_7", "Research and development expense rose.", question)
    assert not is_relevant_text("other.htm", "item_7", reflowed, question)


# --- metrics --------------------------------------------------------------------------------------


def test_recall_at_k_counts_questions_with_a_hit_in_the_first_k():
    results = [
        [True, False, False],  # hit at 1
        [False, False, True],  # hit at 3
        [False, False, False],  # miss
        [False, True],  # hit at 2
    ]

    assert recall_at_k(results, 1) == 0.25
    assert recall_at_k(results, 2) == 0.5
    assert recall_at_k(results, 3) == 0.75
    assert recall_at_k([], 5) == 0.0
    with pytest.raises(ValueError):
        recall_at_k(results, 0)


def test_mrr_averages_reciprocal_rank_of_first_hit():
    results = [[True], [False, True, True], [False, False, False, True], [False]]

    assert mrr(results) == pytest.approx((1 + 1 / 2 + 1 / 4 + 0) / 4)
    assert mrr(results, cutoff=3) == pytest.approx((1 + 1 / 2) / 4)
    assert first_relevant_rank([False, False, True]) == 3
    assert first_relevant_rank([False]) is None


def test_shared_ngrams_catch_a_copied_question():
    passage = "Net sales increased 12% to $4.1 billion, driven by strong demand for memory cards."

    assert shared_content_ngrams("Why were net sales increased 12% to $4.1 billion?", passage)
    assert not shared_content_ngrams("How much did revenue grow in fiscal 2020?", passage)


# --- the real set on the real filings -------------------------------------------------------------


@pytest.mark.shared_data
def test_every_passage_hash_matches_the_shared_data(eval_questions, ten_k_documents):
    # load_retrieval_eval raised on any mismatch; check again from the raw documents
    texts = {(document.filename, document.item): document.text for document in ten_k_documents}
    for question in eval_questions:
        for span in question.answer_spans:
            assert sha256_text(texts[(span.filename, span.item)][span.start : span.end]) == span.sha256, question.id


@pytest.mark.shared_data
def test_set_is_large_and_spread_over_filings_and_items(eval_questions):
    items = Counter(question.item for question in eval_questions)
    kinds = Counter(question.kind for question in eval_questions)

    assert len(eval_questions) >= 120
    assert len({question.id for question in eval_questions}) == len(eval_questions)
    assert len({question.filename for question in eval_questions}) >= 25
    assert min(items["item_1"], items["item_1A"], items["item_7"]) >= 15
    assert items["item_7A"] + items["item_8"] >= 5
    assert len(kinds) >= 5


@pytest.mark.shared_data
def test_questions_are_worded_differently_from_their_passages(eval_questions):
    copied = {
        question.id: sorted(shared_content_ngrams(question.question, span.text, n=5))
        for question in eval_questions
        for span in question.answer_spans
        if shared_content_ngrams(question.question, span.text, n=5)
    }

    assert copied == {}


@pytest.mark.shared_data
def test_passages_are_minimal_spans(eval_questions):
    for question in eval_questions:
        passage = question.answer.text
        assert 40 <= len(passage) <= 900, question.id
        assert passage == passage.strip(), question.id
        # a question is a question, and it says whose filing it is about without quoting it
        assert question.question.endswith("?"), question.id
        assert len(content_words(question.question)) >= 3, question.id


@pytest.mark.shared_data
def test_answer_appears_in_no_other_filing(eval_questions, ten_k_documents):
    # Copies inside the same filing are listed as alternates; a verbatim copy elsewhere would make
    # the question ambiguous (the set names the company and year so that one filing answers it).
    by_filing: dict[str, str] = {}
    for document in ten_k_documents:
        by_filing[document.filename] = by_filing.get(document.filename, "") + "\n" + _squash(document.text)
    for question in eval_questions:
        passage = _squash(question.answer.text)
        elsewhere = [name for name, text in by_filing.items() if name != question.filename and passage in text]
        assert elsewhere == [], question.id


@pytest.mark.shared_data
def test_documents_include_every_answer_item(eval_questions, ten_k_documents):
    keys = {(document.filename, document.item) for document in ten_k_documents}

    assert len({document.filename for document in ten_k_documents}) == 62
    assert all((span.filename, span.item) in keys for q in eval_questions for span in q.answer_spans)


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text)
