"""As-of retrieval and company scope with the real pipelines, embedding model and embedded store.

No look-ahead: a document published after ``as_of`` is never returned by search and never cited by
ask, however well it matches. Answers quote only the companies the question names.
"""

from __future__ import annotations

import datetime as dt

import pytest

from apps.research.models import Company
from apps.research.selectors import SearchQuery, chunk_search_understood
from apps.research.services import UploadMetadata, documents_upload
from gpu_workers.tasks.answers import answer_from_retrieval
from tests.research.asking import ask_now

pytestmark = pytest.mark.django_db(transaction=True)

EARLY = b"""# Acme Industrial annual report 2023

## Leverage
Acme Industrial ended fiscal 2023 with net debt of $1.1 billion; net debt to EBITDA was 1.4 times.
"""
LATE = b"""# Acme Industrial update June 2024

## Leverage
Acme Industrial net debt to EBITDA rose to 2.9 times after the Initech acquisition; net debt is $2.6 billion.
"""
GLOBEX = b"""# Globex Capital leverage review

## Leverage
Globex Capital net debt to EBITDA rose to 3.9 times; Acme Industrial is its closest peer on leverage.
"""


@pytest.fixture
def master(db):
    Company.objects.create(ticker="ACME", name="Acme Industrial Corp", aliases=["Acme"])
    Company.objects.create(ticker="GLBX", name="Globex Capital", aliases=["Globex"])


def upload(user, name, data, **meta):
    return documents_upload(
        uploader=user, filename=name, content_type="text/markdown", data=data, meta=UploadMetadata(**meta)
    ).documents[0]


def test_nothing_published_after_as_of_is_returned_or_cited(eager_models_worker, analyst, master):
    early = upload(analyst, "early.md", EARLY, ticker="ACME", doc_type="10-K", published_on=dt.date(2024, 2, 20),
                   fiscal_year=2023, fiscal_period="FY")  # fmt: skip
    late = upload(analyst, "late.md", LATE, ticker="ACME", doc_type="release", published_on=dt.date(2024, 6, 3))
    question = "What is Acme's latest net debt to EBITDA?"

    # Without as_of the newest document is the best match: the filter below is what keeps it out.
    today = chunk_search_understood(analyst, SearchQuery(text=question, understand=False))
    assert late.pk in {r.document.pk for r in today.results}

    as_of = dt.date(2024, 3, 1)
    for mode in ("hybrid", "dense", "keyword"):
        then = chunk_search_understood(analyst, SearchQuery(text=question, as_of=as_of, mode=mode))
        assert then.results and {r.document.pk for r in then.results} == {early.pk}, mode
        assert all(r.document.published_on <= as_of for r in then.results)
    answer = ask_now(analyst, SearchQuery(text=question, as_of=as_of))
    assert not answer.insufficient_evidence
    assert {s.citation.document_id for s in answer.sentences} == {str(early.pk)}
    assert all("2.9" not in s.text for s in answer.sentences)
    assert answer.query_understanding["applied_filters"]["published_to"] == "2024-03-01"
    assert answer.query_understanding["latest_fiscal_year"] == 2023


def test_answers_quote_only_the_company_the_question_names(eager_models_worker, analyst, master):
    upload(analyst, "early.md", EARLY, ticker="ACME", published_on=dt.date(2024, 2, 20))
    globex = upload(analyst, "globex.md", GLOBEX, ticker="GLBX", published_on=dt.date(2024, 2, 21))
    levels = ["internal", "public"]
    common = {"query": "Acme net debt to EBITDA leverage", "allowed_access_levels": levels, "filters": {},
              "actor_label": f"user:{analyst.username}", "actor_user_id": analyst.pk}  # fmt: skip

    unscoped = answer_from_retrieval(**common)
    assert str(globex.pk) in {h["document_id"] for h in unscoped["hits"]}  # Globex's review mentions Acme
    scoped = answer_from_retrieval(**common, company_scope=["ACME"])
    assert scoped["hits"] and str(globex.pk) not in {h["document_id"] for h in scoped["hits"]}

    # Through ask: the question names Acme, so Globex's passage is neither a source nor quoted.
    answer = ask_now(analyst, SearchQuery(text="What is Acme's net debt to EBITDA?"))
    assert answer.sources and all(r.document.company.ticker == "ACME" for r in answer.sources)
    assert all("3.9" not in s.text for s in answer.sentences)
    # A peer comparison may quote the peer.
    peers = ask_now(analyst, SearchQuery(text="How does Acme's leverage compare with its peers?"))
    assert {r.document.company.ticker for r in peers.sources} == {"ACME", "GLBX"}


def test_documents_without_a_fiscal_year_stay_searchable_under_a_year_filter(eager_models_worker, analyst, master):
    # Indexed without fiscal fields, like a corpus indexed before they existed.
    undated_year = upload(analyst, "early.md", EARLY, ticker="ACME", published_on=dt.date(2024, 2, 20))
    outcome = chunk_search_understood(analyst, SearchQuery(text="Acme net debt to EBITDA in FY2023"))
    assert outcome.understanding["applied_filters"]["fiscal_years"] == [2023]
    assert outcome.understanding["fallback"] is None  # found with the filter, not by falling back
    assert [r.document.pk for r in outcome.results][:1] == [undated_year.pk]
