"""The analyst question set and the abstention set are well-formed; answer values are matched as intended.

Structure checks run everywhere; checks against the filing text need the shared 10-K data and are
skipped with the reason when it is absent (``shared_data_dir`` fixture).
"""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from bench.analyst_eval_data import (
    ABSTENTION_CATEGORIES,
    ABSTENTION_SET_PATH,
    ANALYST_SET_PATH,
    KINDS,
    SCALES,
    UNITS,
    ExpectedValue,
    load_abstention_questions,
    load_analyst_questions,
    read_jsonl,
)
from bench.eval_data import load_retrieval_eval, sha256_text, shared_content_ngrams
from bench.research_answers import flatten, sample

ROWS = read_jsonl(ANALYST_SET_PATH)
ABSTENTION_ROWS = read_jsonl(ABSTENTION_SET_PATH)


def test_analyst_set_has_enough_unique_questions_of_every_kind():
    assert len(ROWS) >= 150
    ids = [row["id"] for row in ROWS]
    assert len(ids) == len(set(ids))
    assert len({row["question"].strip().lower() for row in ROWS}) == len(ROWS)
    kinds = Counter(row["kind"] for row in ROWS)
    assert set(kinds) <= set(KINDS)
    assert kinds["narrative"] >= 30 and kinds["number"] + kinds["table"] >= 50 and kinds["computed"] >= 20
    named = sum(row["company_named"] for row in ROWS)
    assert len(ROWS) - named > 0 and named > len(ROWS) / 2  # with and without the company named
    assert sum(row["fiscal_year"] is not None for row in ROWS) >= 0.8 * len(ROWS)


@pytest.mark.parametrize("row", ROWS, ids=[row["id"] for row in ROWS])
def test_analyst_row_is_well_formed(row):
    assert row["evidence"], "every question points at evidence"
    for span in row["evidence"]:
        assert 0 <= span["start"] < span["end"] and re.fullmatch(r"[0-9a-f]{64}", span["sha256"])
        assert span["item"] == row["item"]
    # The ticker is the named company's, as the platform stores it; null when the question names none.
    assert (row["ticker"] is not None) == row["company_named"]
    if row["ticker"] is not None:
        assert row["ticker"] == row["filing_ticker"]
    assert row["filename"].startswith(f"{row['cik']}_10K_")
    if row["kind"] == "narrative":
        assert row["answer"] is None
    else:
        answer = row["answer"]
        assert answer is not None and answer["unit"] in UNITS and answer["scale"] in SCALES
        assert isinstance(answer["value"], int | float)
    if row["kind"] == "computed":
        computation = row["computation"]
        assert computation["formula"] and computation["operands"] and computation["tolerance"] >= 0


def test_abstention_set_has_enough_questions_with_reasons():
    assert len(ABSTENTION_ROWS) >= 60
    assert len({row["id"] for row in ABSTENTION_ROWS}) == len(ABSTENTION_ROWS)
    categories = Counter(row["category"] for row in ABSTENTION_ROWS)
    assert set(categories) == set(ABSTENTION_CATEGORIES)
    assert categories["off_topic"] >= 20 and len(ABSTENTION_ROWS) - categories["off_topic"] >= 30
    assert all(row["reason"].strip() and row["question"].strip().endswith(("?", ".")) for row in ABSTENTION_ROWS)
    assert len(load_abstention_questions()) == len(ABSTENTION_ROWS)


def test_abstention_questions_are_not_analyst_questions():
    asked = {row["question"].strip().lower() for row in ROWS}
    assert not asked & {row["question"].strip().lower() for row in ABSTENTION_ROWS}


# --- against the filings ----------------------------------------------------------------------------


def test_every_evidence_span_matches_the_filing_text(shared_data_dir):
    questions = load_analyst_questions(shared_data_dir)  # raises on any hash or offset mismatch
    assert len(questions) == len(ROWS)
    for question in questions:
        for span in (*question.evidence, *question.alternates):
            assert span.text.strip() == span.text and len(span.text) >= 40


def test_number_answers_are_written_in_their_evidence(shared_data_dir):
    """A looked-up value is stated in its evidence (computed ones are not, by design)."""
    for question in load_analyst_questions(shared_data_dir):
        if question.kind in ("number", "table"):
            evidence = " ".join(span.text for span in question.evidence)
            assert question.answer.found_in(evidence), question.id


def test_narrative_questions_do_not_copy_their_evidence(shared_data_dir):
    """Five content words in a row shared with the passage would be a copied sentence. Number questions
    may share a line item's name and year ("net interest income in fiscal 2008"): that is how analysts ask."""
    for question in load_analyst_questions(shared_data_dir):
        if question.kind == "narrative":
            for span in question.evidence:
                assert not shared_content_ngrams(question.question, span.text), question.id


def test_questions_are_new_not_the_older_self_written_set(shared_data_dir):
    older = {q.question.strip().lower() for q in load_retrieval_eval(shared_data_dir)}
    assert not older & {row["question"].strip().lower() for row in ROWS}


# --- answer matching and the bench's plumbing ---------------------------------------------------------


@pytest.mark.parametrize(
    ("expected", "text", "found"),
    [
        (ExpectedValue(48.8, "USD", "billion"), "Revenues rose to $48.8 billion.", True),
        (ExpectedValue(48.8, "USD", "billion"), "Revenues were $48,800 million in fiscal 2014.", True),
        (ExpectedValue(48.8, "USD", "billion"), "Revenues were $48.8 million.", False),
        (ExpectedValue(307809, "USD", "thousand"), "Commercial construction ... 307,809 25.4", True),
        (ExpectedValue(307809, "USD", "thousand"), "about $307.8 million", True),
        (ExpectedValue(-12.5, "USD", "million"), "a net loss of $12.5 million", True),
        (ExpectedValue(15.4, "percent", None, 0.1), "a net margin of 15.37%", True),
        (ExpectedValue(15.4, "percent", None, 0.1), "a net margin of 14.9%", False),
        (ExpectedValue(24.1, "percent"), "the effective tax rate was 24.1 percent", True),
        (ExpectedValue(24.1, "percent"), "no figure is given", False),
    ],
)
def test_expected_value_is_found_with_scale_tolerance(expected, text, found):
    assert expected.found_in(text) is found


def test_sample_is_fixed_and_spread_over_strata():
    items = [(kind, n) for kind in "abc" for n in range(10)]
    first = sample(items, 6, stratify=lambda item: item[0])
    assert first == sample(items, 6, stratify=lambda item: item[0])
    assert Counter(kind for kind, _ in first) == {"a": 2, "b": 2, "c": 2}
    assert sample(items, 100) == items


def test_flatten_gives_comparable_figures():
    result = {
        "retrieval": {"hybrid/ticker": {"hit@10": 0.5, "mrr@10": 0.25, "kind=number": {"hit@10": 0.4, "n": 3}}},
        "answers": {"value_accuracy": 0.1, "abstained_unanswerable": 0.3},
    }
    flat = flatten(json.loads(json.dumps(result)))
    assert flat["hybrid/ticker hit@10"] == 0.5
    assert flat["hybrid/ticker [kind=number] hit@10"] == 0.4
    assert flat["ask abstained_unanswerable"] == 0.3


@pytest.mark.parametrize(
    ("expected", "text"),
    [
        (ExpectedValue(36, "USD", "million"), "See Note 36 and Item 7."),  # a number, but not in a scale it could mean
        (ExpectedValue(4.0, "percent"), "Item 4 lists 4 mine safety disclosures."),  # not written as a percentage
        (ExpectedValue(52, "count"), "52% of sales"),  # a percentage is not a count
    ],
)
def test_expected_value_is_not_found_in_unrelated_numbers(expected, text):
    assert not expected.found_in(text)


def test_bench_corpus_is_what_index_10k_corpus_loads():
    from apps.research.management.commands.index_10k_corpus import DEFAULT_ITEMS
    from bench.research_answers import CORPUS_ITEMS

    assert tuple(CORPUS_ITEMS) == tuple(DEFAULT_ITEMS)


def test_ask_scoring_reads_values_citations_and_abstentions(capsys):
    """run_answers on a stub ask: a right value with the evidence cited, a wrong company, an abstention."""
    from types import SimpleNamespace

    from bench.analyst_eval_data import AbstentionQuestion, AnalystQuestion
    from bench.eval_data import AnswerSpan
    from bench.research_answers import print_answers, run_answers
    from bench.retrieval_eval import ChunkRef

    text = "Revenues for fiscal 2014 increased 8% to $48.8 billion, driven by Frozen."
    span = AnswerSpan("1_10K_2014_x.htm", "item_7", 100, 100 + len(text), sha256_text(text), text)
    refs = {
        "own": ChunkRef("own", "1_10K_2014_x.htm", "item_7", 90, 300),
        "other": ChunkRef("other", "2_10K_2014_y.htm", "item_7", 0, 200),
    }
    question = AnalystQuestion(
        id="aq-x",
        question="What were revenues in fiscal 2014?",
        kind="number",
        ticker="DIS",
        company_named=True,
        filing_ticker="DIS",
        company="Walt Disney",
        cik="1",
        fiscal_year=2014,
        filing_date="2014-11-19",
        filename=span.filename,
        item="item_7",
        evidence=(span,),
        answer=ExpectedValue(48.8, "USD", "billion"),
    )
    replies = {
        question.question: {
            "method": "generated",
            "insufficient_evidence": False,
            "sentences": [
                {"text": "Revenues were $48.8 billion.", "citation": "own"},
                {"text": "Another company grew.", "citation": "other"},
            ],
        },
        "Who won the 1998 football World Cup?": {"method": "generated", "insufficient_evidence": True, "sentences": []},
    }
    result = run_answers(
        lambda q, filters: replies[q],
        SimpleNamespace(refs=refs),
        [question],
        [AbstentionQuestion("abs-x", "Who won the 1998 football World Cup?", "off_topic", "sport")],
        with_ticker=False,
    )
    assert result["value_accuracy"] == 1.0 and result["evidence_cited"] == 1.0
    assert result["other_company_sentences"] == 1 and result["sentences"] == 2
    assert result["abstained_answerable"] == 0.0 and result["abstained_unanswerable"] == 1.0
    print_answers(result)
    assert "value right" in capsys.readouterr().out
