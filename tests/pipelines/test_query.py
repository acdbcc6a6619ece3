"""Query understanding on tricky questions: tickers that are words, share classes, relative periods, comparisons."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest

from pipelines.query import CompanyMatcher, MasterCompany, find_periods, fiscal_year_for_period_end, understand_query

AS_OF = dt.date(2024, 5, 10)  # second calendar quarter of 2024


@pytest.fixture(scope="module")
def matcher() -> CompanyMatcher:
    return CompanyMatcher(
        [
            MasterCompany("AAPL", "Apple Inc.", ("Apple",)),
            MasterCompany("KO", "The Coca-Cola Company", ("Coca-Cola",)),
            MasterCompany("ALL", "The Allstate Corporation", ("Allstate",)),
            MasterCompany("ON", "ON Semiconductor Corporation", ("ON Semiconductor", "onsemi")),
            MasterCompany("A", "Agilent Technologies, Inc.", ("Agilent",)),
            MasterCompany("IT", "Gartner, Inc.", ("Gartner",)),
            MasterCompany("MSFT", "Microsoft Corporation"),
            MasterCompany("TGT", "Target Corporation", ("Target",)),
            MasterCompany("BRK.B", "Berkshire Hathaway Inc.", ("Berkshire", "BRK-B")),
            MasterCompany("GM", "General Motors Company"),
            MasterCompany("GOOG", "Alphabet Inc.", ("Google",)),
            MasterCompany("GOOGL", "Alphabet Inc.", ("Google",)),
            MasterCompany("COST", "Costco Wholesale Corporation", ("Costco",)),
            MasterCompany("EPS", "Some Listed Fund"),  # a ticker that is also a finance acronym
        ]
    )


def intent(matcher: CompanyMatcher, question: str):
    return understand_query(question, matcher, as_of=AS_OF)


@pytest.mark.parametrize(
    ("question", "tickers"),
    [
        ("What was $AAPL's revenue in FY2022?", ("AAPL",)),
        ("Gross margin of NYSE: KO in 2Q23", ("KO",)),
        ("How did Coca-Cola's volumes develop?", ("KO",)),
        ("Catastrophe losses at Allstate (ALL) in fiscal 2021", ("ALL",)),
        ("What did ticker ALL report for catastrophe losses?", ("ALL",)),
        ("Risks for ON Semiconductor's silicon carbide ramp", ("ON",)),
        ("BRK-B insurance float", ("BRK.B",)),
        ("general motors EV outlook", ("GM",)),
        ("Google cloud revenue", ("GOOGL",)),  # the class A listing keeps the shared name
        ("How did Target's comparable sales do?", ("TGT",)),
        ("What is AAPL's buyback pace?", ("AAPL",)),
        ("Compare Apple vs Microsoft operating margin", ("AAPL", "MSFT")),
    ],
)
def test_companies_are_found_in_every_form(matcher, question, tickers) -> None:
    assert intent(matcher, question).tickers == tickers


@pytest.mark.parametrize(
    "question",
    [
        "Did all companies raise prices? ALL of them?",  # ALL as a word, even in capitals
        "Is IT spending slowing?",  # IT is Gartner's ticker
        "A key risk is supply concentration",  # A is Agilent's ticker
        "Which chips turn ON at low voltage?",
        "Target price and rating for the sector?",  # "Target" as the first word is the word
        "What drove EPS and what did the CEO say?",  # EPS is a listed ticker here, but an acronym in questions
        "Revenue from apple orchards",  # lower-case single names are prose
        "Conditions (A) and (B) of the covenant",  # "(A)" in a list is not Agilent
        "WHAT IS THE OUTLOOK FOR COST OF GOODS",  # a question in capitals has no bare tickers
    ],
)
def test_words_that_are_tickers_or_names_are_not_companies(matcher, question) -> None:
    assert intent(matcher, question).tickers == ()


@pytest.mark.parametrize(
    ("question", "labels"),
    [
        ("Revenue in FY2021", ["FY2021"]),
        ("Revenue in FY21 and FY'22", ["FY2021", "FY2022"]),
        ("Capex in fiscal 2022", ["FY2022"]),
        ("Capex in fiscal year 2020", ["FY2020"]),
        ("Margins in Q2 2023", ["Q2 2023"]),
        ("Margins in 2Q23 against 2Q 2022", ["Q2 2023", "Q2 2022"]),
        ("Margins in Q4 FY23", ["Q4 2023"]),
        ("Margins in 2023Q1", ["Q1 2023"]),
        ("What happened in the third quarter of fiscal 2023?", ["Q3 2023"]),
        ("Guidance for H1 2024 and 2H24", ["H1 2024", "H2 2024"]),
        ("Sales in the first half of 2022", ["H1 2022"]),
        ("Q3 and Q4 2023 margins", ["Q3 2023", "Q4 2023"]),
        ("Debt maturities 2021-2023", ["FY2021", "FY2022", "FY2023"]),
        ("Revenue in 2022.", ["FY2022"]),
        ("Revenue of $2023 million and 2019 employees", []),  # amounts, not years
        ("How many of the 1,2021 stores?", []),
        ("Revenue growth of 2015% is impossible", []),
    ],
)
def test_absolute_periods(question, labels) -> None:
    periods, _ = find_periods(question, AS_OF)
    assert [p.label() for p in periods] == labels


@pytest.mark.parametrize(
    ("question", "labels"),
    [
        ("What was revenue last year?", ["FY2023"]),
        ("Revenue last fiscal year", ["FY2023"]),
        ("Margins this year so far", ["FY2024"]),
        ("What did the company say last quarter?", ["Q1 2024"]),
        ("Revenue over the past three years", ["FY2021", "FY2022", "FY2023"]),
        ("Revenue two years ago", ["FY2022"]),
        # "the prior year" is relative to the year the question names, not to the as-of date
        ("FY2021 revenue compared with the prior year", ["FY2021", "FY2020"]),
        ("How did revenue change from the prior year?", ["FY2023"]),
    ],
)
def test_relative_periods_resolve_against_the_as_of_date(question, labels) -> None:
    periods, _ = find_periods(question, AS_OF)
    assert [p.label() for p in periods] == labels
    assert all(p.relative for p in periods if not p.text.upper().startswith("FY2"))


def test_relative_periods_move_with_the_as_of_date() -> None:
    [early], _ = find_periods("results last quarter", dt.date(2023, 2, 1))
    [late], _ = find_periods("results last quarter", dt.date(2023, 11, 30))
    assert (early.fiscal_year, early.fiscal_period) == (2022, "Q4")
    assert (late.fiscal_year, late.fiscal_period) == (2023, "Q3")


def test_latest_is_a_flag_not_a_guessed_year(matcher) -> None:
    found = intent(matcher, "Apple's latest 10-K risk factors")
    assert found.latest and found.fiscal_years == ()
    assert not intent(matcher, "Apple's current ratio").latest


def test_two_digit_years_pick_the_century_by_the_as_of_date() -> None:
    [p], _ = find_periods("FY99 results", AS_OF)
    [q], _ = find_periods("FY25 guidance", AS_OF)
    assert (p.fiscal_year, q.fiscal_year) == (1999, 2025)


def test_years_far_in_the_future_are_not_periods() -> None:
    assert find_periods("the 2099 notes", AS_OF)[0] == []


@pytest.mark.parametrize(
    ("question", "comparison", "scope"),
    [
        ("Compare Apple vs Microsoft operating margin", True, ("AAPL", "MSFT")),
        ("How does Apple's gross margin compare with its peers?", True, ()),
        ("Apple revenue relative to competitors", True, ()),
        ("Apple's revenue versus the prior year", True, ("AAPL",)),  # a period comparison needs no other company
        ("What was Apple's revenue in FY2022?", False, ("AAPL",)),
        ("Which retailer has the highest margin, compared across the sector?", True, ()),
    ],
)
def test_comparison_decides_which_companies_may_be_quoted(matcher, question, comparison, scope) -> None:
    found = intent(matcher, question)
    assert found.comparison is comparison
    assert found.company_scope() == scope


def test_intent_serialises_for_the_response(matcher) -> None:
    found = intent(matcher, "Compare $AAPL and Microsoft in FY2022 vs FY2023")
    body = found.to_dict()
    assert [c["ticker"] for c in body["companies"]] == ["AAPL", "MSFT"]
    assert body["fiscal_years"] == [2022, 2023]
    assert body["as_of"] == "2024-05-10" and body["comparison"] is True


@pytest.mark.parametrize(
    ("period_end", "year"),
    [
        (dt.date(2023, 12, 31), 2023),
        (dt.date(2010, 1, 3), 2009),  # a 52/53-week year ending in the first days of January
        (dt.date(2022, 9, 24), 2022),
        (dt.date(2024, 1, 31), 2024),
    ],
)
def test_fiscal_year_of_a_period_end(period_end, year) -> None:
    assert fiscal_year_for_period_end(period_end) == year


def test_query_understanding_imports_no_django_or_spacy() -> None:
    code = (
        "import sys, pipelines.query; "
        "assert not any(m.split('.')[0] in ('django', 'spacy', 'torch') for m in sys.modules), sys.modules.keys()"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.fixture(scope="module")
def filer_matcher() -> CompanyMatcher:
    return CompanyMatcher(
        [
            MasterCompany("CIK100240", "Turner Broadcasting System Inc"),
            MasterCompany("CIK1002682", "Horizon Financial Corp"),
            MasterCompany("BAC", "Bank of America Corporation"),
            MasterCompany("RCL", "Royal Caribbean Cruises Ltd."),
            MasterCompany("USB", "U.S. Bancorp"),
            MasterCompany("ZBRA", "Zebra Technologies Corporation"),
        ]
    )


@pytest.mark.parametrize(
    ("question", "tickers"),
    [
        ("How big was Turner Broadcasting's film library?", ("CIK100240",)),  # the name's leading words
        ("What did Turner gain from the joint venture?", ("CIK100240",)),
        ("How many people did Horizon Bank employ in 2006?", ("CIK1002682",)),  # not Bank of America
        ("What did Nuance acquire from Royal Philips in 2008?", ()),  # not Royal Caribbean
        ("How many U.S. households had cable TV?", ()),  # not U.S. Bancorp
        ("Zebra migration patterns in the Serengeti", ()),  # a sentence's first word is just a word
    ],
)
def test_shortened_names_link_only_where_they_cannot_be_something_longer(filer_matcher, question, tickers) -> None:
    assert intent(filer_matcher, question).tickers == tickers
