"""The finance vocabulary: metric aliases match each other both ways in keyword search, and numbers,
filing forms and fiscal periods survive the BM25 tokeniser as single tokens."""

from __future__ import annotations

import re

import pytest

from pipelines.retrieval import ChunkRecord, KeywordEncoder, SearchMode
from pipelines.retrieval.finance_vocabulary import FinanceVocabulary, default_vocabulary, normalise_tokens

# (what an analyst writes, what a filing says): each must find the other.
PAIRS = [
    ("capex", "Purchases of property, plant and equipment were $1.2 billion."),
    ("revenue", "Net sales increased to $97.3 billion."),
    ("EPS", "Diluted earnings per share were $3.10."),
    ("FCF", "Free cash flow was $4.1 billion."),
    ("SG&A", "Selling, general and administrative expenses rose 4%."),
    ("R&D", "Research and development expenses were $812 million."),
    ("COGS", "Cost of sales declined as freight costs eased."),
    ("D&A", "Depreciation and amortization was $640 million."),
    ("buybacks", "Repurchases of common stock totalled $10 billion."),
    ("net income", "Net earnings attributable to shareholders were $2.2 billion."),
    ("operating income", "Operating profit in the segment was $410 million."),
    ("headcount", "We had approximately 122,000 employees at year end."),
    ("cash and equivalents", "Cash and cash equivalents at the end of the year were $4.1 billion."),
    ("goodwill impairment", "We recorded an impairment of goodwill in the media segment."),
    ("opex", "Total operating expenses grew slower than sales."),
]
FILLER = [
    "The board met four times during the year to review strategy.",
    "Our stores are located in suburban shopping centers across the country.",
    "Weather in the third week of December reduced customer traffic in the northeast.",
    "We lease our headquarters building under a long-term agreement.",
]


def test_table_has_the_common_metrics_and_each_alias_finds_its_concept() -> None:
    vocabulary = default_vocabulary()
    assert len(vocabulary.concepts) >= 40
    for concept in vocabulary.concepts:
        assert concept.aliases, concept.key
        for alias in concept.aliases:
            assert concept.key in vocabulary.concepts_in(f"In 2023 the {alias} changed."), (concept.key, alias)


@pytest.mark.parametrize(("analyst", "filing"), PAIRS)
def test_analyst_word_and_filing_line_share_a_concept(analyst: str, filing: str) -> None:
    vocabulary = default_vocabulary()
    assert set(vocabulary.concept_terms(analyst)) & set(vocabulary.concept_terms(filing))


def test_unrelated_text_gets_no_concept() -> None:
    assert default_vocabulary().concepts_in("The weather was mild and the team played well.") == []


@pytest.fixture
def keyword_store(store_factory):
    def build(texts: dict[str, str], *, vocabulary: bool = True):
        store = store_factory(keyword_encoder=KeywordEncoder(vocabulary=vocabulary))
        store.ensure_collection(2)
        store.upsert([ChunkRecord(cid, cid, text, [1.0, 0.0], "public") for cid, text in texts.items()])
        return store

    return build


def _top(store, query: str) -> list[str]:
    hits = store.search(query_text=query, allowed_access_levels=["public"], limit=3, mode=SearchMode.KEYWORD)
    return [h.chunk_id for h in hits]


def test_keyword_search_expands_both_ways(keyword_store) -> None:
    texts = {f"filing-{i}": filing for i, (_, filing) in enumerate(PAIRS)}
    texts |= {f"analyst-{i}": f"Management commented on {analyst} trends." for i, (analyst, _) in enumerate(PAIRS)}
    texts |= {f"filler-{i}": text for i, text in enumerate(FILLER)}
    store = keyword_store(texts)
    plain = keyword_store(texts, vocabulary=False)
    for i, (analyst, filing) in enumerate(PAIRS):
        # The analyst's word finds the filing's line; the filing's words find the analyst's note.
        assert f"filing-{i}" in _top(store, f"What was {analyst} last year?"), analyst
        assert f"analyst-{i}" in _top(store, filing), filing
    # Without the vocabulary the analyst's abbreviation finds nothing of the filing.
    assert "filing-0" not in _top(plain, "capex")


@pytest.mark.parametrize(
    ("text", "token"),
    [("FY2022", "FY2022"), ("FY 2022", "FY2022"), ("FY22", "FY2022"), ("fiscal 2022", "FY2022"),
     ("10-K", "10K"), ("Form 10-Q", "10Q"), ("8-K", "8K"), ("20-F", "20F"), ("$383.3", "383p3"),
     ("2.5%", "2p5"), ("383,285", "383285"), ("1,234,567.89", "1234567p89"), ("BRK.B", "BRKB"),
     ("second quarter", "Q2"), ("Q2", "Q2")],
)  # fmt: skip
def test_numbers_forms_and_periods_become_single_tokens(text: str, token: str) -> None:
    assert token in re.findall(r"[A-Za-z0-9]+", normalise_tokens(f"In {text} we reported."))
    encoder = KeywordEncoder()
    # One BM25 term for the whole token, the same one on the document and the query side.
    assert len(encoder.encode_query(token).indices) == 1
    assert set(encoder.encode_query(token).indices) <= set(encoder.encode_document(f"In {text} we reported.").indices)


def test_a_figure_matches_only_itself(keyword_store) -> None:
    store = keyword_store(
        {
            "exact": "Revenue was $383.3 billion, up 2.5% on the prior year.",
            "split": "We operate 383 stores in 3 regions and 25 warehouses; 5 more are planned.",
            "form": "Our annual report on Form 10-K describes the risks.",
            "loose": "See note 10 for the K-1 partnership details.",
        }
    )
    assert _top(store, "$383.3")[:1] == ["exact"] and "split" not in _top(store, "$383.3")
    assert "split" not in _top(store, "2.5%")
    assert _top(store, "10-K") == ["form"]


def test_vocabulary_rejects_duplicate_concepts() -> None:
    from pipelines.retrieval.finance_vocabulary import Concept

    with pytest.raises(ValueError, match="duplicate"):
        FinanceVocabulary([Concept("capex", ("capex",)), Concept("capex", ("capital expenditure",))])
