"""Query understanding in search and ask: detected filters, stated fallbacks, as-of dates, unknown tickers."""

from __future__ import annotations

import datetime as dt
import hashlib
from unittest import mock

import pytest

from apps.research.models import Company, Document, DocumentChunk, DocumentStatus
from apps.research.selectors import SearchQuery, query_plan_for_user
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def master(db):
    return {
        "ACME": Company.objects.create(ticker="ACME", name="Acme Industrial Corp", aliases=["Acme"]),
        "GLBX": Company.objects.create(ticker="GLBX", name="Globex Capital", aliases=["Globex"]),
    }


def make_document(company, *, title, published_on=None, fiscal_year=None, access_level="internal", text="Net debt."):
    document = Document.objects.create(
        title=title,
        company=company,
        access_level=access_level,
        status=DocumentStatus.INDEXED,
        published_on=published_on,
        fiscal_year=fiscal_year,
        fiscal_period="FY" if fiscal_year else "",
        content_hash=hashlib.sha256(title.encode()).hexdigest(),
    )
    DocumentChunk.objects.create(
        document=document, ordinal=0, chunk_id=f"{title}-0", char_start=0, char_end=len(text), text=text
    )
    return document


def search(user, body, hits=()):
    with mock.patch("apps.research.selectors.models_call", return_value=list(hits)) as models_call:
        response = client_for(user).post("/api/search/", body, content_type="application/json")
    return response, (models_call.call_args.kwargs["kwargs"] if models_call.called else None)


# --- unknown tickers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ["/api/search/", "/api/ask/"])
def test_unknown_ticker_is_a_400_naming_it(analyst, master, endpoint):
    text_field = "query" if endpoint == "/api/search/" else "question"
    with mock.patch("apps.research.selectors.models_call") as models_call:
        response = client_for(analyst).post(
            endpoint, {text_field: "net debt", "tickers": ["acme", "zzzz"]}, content_type="application/json"
        )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["fields"]["tickers"] == ["No company with ticker ZZZZ in the company master."]
    assert not models_call.called  # nothing was searched


def test_unknown_ticker_in_the_web_search_is_a_400_naming_it(analyst, master):
    with mock.patch("apps.research.selectors.models_call") as models_call:
        response = client_for(analyst).get("/research/search/", {"query": "net debt", "tickers": "ACME, NOPE"})
    assert response.status_code == 400
    assert "No company with ticker NOPE in the company master." in response.content.decode()
    assert not models_call.called


# --- detected filters and their fallbacks -----------------------------------------------------------


def test_named_company_and_fiscal_year_become_filters_with_stated_fallbacks(analyst, master):
    response, sent = search(analyst, {"query": "What was $ACME's net debt to EBITDA in FY2023?"})

    assert sent["filters"]["tickers"] == ["ACME"] and sent["filters"]["fiscal_years"] == [2023]
    first, second = sent["relaxed_filters"]
    assert first["tickers"] == ["ACME"] and first["fiscal_years"] == []  # the year goes first
    assert second["tickers"] == [] and second["fiscal_years"] == []
    understanding = response.json()["query_understanding"]
    assert [c["ticker"] for c in understanding["companies"]] == ["ACME"]
    assert [p["label"] for p in understanding["periods"]] == ["FY2023"]
    assert understanding["applied_filters"]["tickers"] == ["ACME"]
    # Every step came back empty: the response says how wide the last search was.
    assert "searched all companies" in understanding["fallback"]


def test_the_step_that_answered_is_named_in_the_response(analyst, master):
    document = make_document(master["ACME"], title="Acme 10-K", fiscal_year=2022)
    hit = {"chunk_id": "Acme 10-K-0", "document_id": str(document.pk), "rank": 1, "score": 0.5, "filter_step": 1}
    response, _ = search(analyst, {"query": "Acme net debt in fiscal 2023"}, hits=[hit])

    body = response.json()
    assert body["count"] == 1
    assert body["query_understanding"]["fallback"] == (
        "No passage matched fiscal year 2023 for ACME; searched without the fiscal-year filter."
    )


def test_filters_the_caller_gave_are_kept_and_never_relaxed(analyst, master):
    response, sent = search(analyst, {"query": "Acme net debt in FY2023", "tickers": ["GLBX"], "fiscal_years": [2021]})
    assert sent["filters"]["tickers"] == ["GLBX"] and sent["filters"]["fiscal_years"] == [2021]
    assert sent["relaxed_filters"] == []
    assert response.json()["query_understanding"]["fallback"] is None


def test_understanding_can_be_turned_off(analyst, master):
    _, sent = search(analyst, {"query": "Acme net debt in FY2023", "understand": False})
    assert sent["filters"]["tickers"] == [] and sent["filters"]["fiscal_years"] == [] and sent["relaxed_filters"] == []


def test_a_peer_comparison_searches_all_companies(analyst, master):
    _, sent = search(analyst, {"query": "How does Acme's leverage compare with its peers?"})
    assert sent["filters"]["tickers"] == []


def test_a_comparison_of_named_companies_keeps_to_them(analyst, master):
    _, sent = search(analyst, {"query": "Compare Acme vs Globex net debt"})
    assert sent["filters"]["tickers"] == ["ACME", "GLBX"]


# --- as-of ------------------------------------------------------------------------------------------


def test_as_of_bounds_publication_and_resolves_relative_periods(analyst, master):
    response, sent = search(analyst, {"query": "Acme revenue last year", "as_of": "2024-03-01"})
    assert sent["filters"]["published_to"] == "2024-03-01"
    assert sent["filters"]["fiscal_years"] == [2023]
    assert all(step["published_to"] == "2024-03-01" for step in sent["relaxed_filters"])  # never relaxed
    understanding = response.json()["query_understanding"]
    assert understanding["as_of"] == "2024-03-01"
    assert understanding["applied_filters"]["published_to"] == "2024-03-01"


def test_the_earlier_of_published_to_and_as_of_wins(analyst, master):
    _, sent = search(analyst, {"query": "net debt", "as_of": "2024-03-01", "published_to": "2025-01-01"})
    assert sent["filters"]["published_to"] == "2024-03-01"
    _, sent = search(analyst, {"query": "net debt", "as_of": "2024-03-01", "published_to": "2023-01-01"})
    assert sent["filters"]["published_to"] == "2023-01-01"


def test_latest_is_the_newest_fiscal_year_published_by_the_as_of_date(analyst, master):
    make_document(master["ACME"], title="Acme FY2022 10-K", published_on=dt.date(2023, 2, 20), fiscal_year=2022)
    make_document(master["ACME"], title="Acme FY2023 10-K", published_on=dt.date(2024, 2, 20), fiscal_year=2023)
    make_document(master["GLBX"], title="Globex FY2024 10-K", published_on=dt.date(2025, 2, 20), fiscal_year=2024)
    question = "Acme's latest risk factors"

    then = query_plan_for_user(analyst, SearchQuery(text=question, as_of=dt.date(2023, 6, 1)))
    now = query_plan_for_user(analyst, SearchQuery(text=question))

    assert then.steps[0]["fiscal_years"] == [2022] and then.latest_fiscal_year == 2022
    assert now.steps[0]["fiscal_years"] == [2023]  # Globex's 2024 is not Acme's


def test_latest_counts_only_documents_the_user_may_read(analyst, master):
    make_document(master["ACME"], title="Acme FY2022", published_on=dt.date(2023, 2, 1), fiscal_year=2022)
    make_document(
        master["ACME"],
        title="Acme FY2023 memo",
        published_on=dt.date(2024, 2, 1),
        fiscal_year=2023,
        access_level="restricted",
    )
    plan = query_plan_for_user(analyst, SearchQuery(text="Acme latest results"))
    assert plan.latest_fiscal_year == 2022


# --- answers quote only the companies named --------------------------------------------------------


def test_answer_drops_sources_of_companies_the_question_does_not_name(analyst, master):
    from apps.jobs.models import Job, JobKind, JobStatus
    from apps.research.selectors import answer_for_job

    acme = make_document(master["ACME"], title="Acme note", text="Acme net debt fell to 1.4 times EBITDA.")
    globex = make_document(master["GLBX"], title="Globex note", text="Globex net debt rose to 3.9 times EBITDA.")
    hits = [
        {"chunk_id": "Globex note-0", "document_id": str(globex.pk), "rank": 1, "score": 0.9},
        {"chunk_id": "Acme note-0", "document_id": str(acme.pk), "rank": 2, "score": 0.8},
    ]
    question = "What is Acme's net debt to EBITDA?"
    plan = query_plan_for_user(analyst, SearchQuery(text=question))
    assert plan.company_scope == ("ACME",)
    job = Job.objects.create(
        kind=JobKind.ANSWER,
        owner=analyst,
        status=JobStatus.SUCCEEDED,
        params={
            "question": question,
            "retrieval": {"company_scope": list(plan.company_scope)},
            "understanding": plan.understanding() | {"fallbacks": plan.notes},
        },
        result={"hits": hits},
    )
    answer = answer_for_job(analyst, job)
    assert [r.document for r in answer.sources] == [acme]
    assert answer.sentences and all("Globex" not in s.text for s in answer.sentences)
    assert answer.query_understanding["company_scope"] == ["ACME"]
