"""The company-master API (readers list, admins write), the SEC CIK import, and filing metadata on upload."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from unittest import mock

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from apps.research.models import Company, Document
from apps.research.selectors import SearchQuery, query_plan_for_user
from apps.research.services import company_master_import_sec
from pipelines.entities.master import MasterEntry, sec_entries_from_file
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

SHARED = Path(settings.ARGUS_SHARED_DATA)


@pytest.fixture
def master(db):
    Company.objects.create(ticker="AAPL", name="Apple Inc.", aliases=["Apple"], cik="320193")
    Company.objects.create(ticker="ALL", name="The Allstate Corporation", aliases=["Allstate"])
    Company.objects.create(ticker="KO", name="The Coca-Cola Company", aliases=["Coca-Cola"])


def test_readers_list_and_search_the_master(analyst, risk_officer, master):
    for user in (analyst, risk_officer):
        body = client_for(user).get("/api/companies/", {"q": "all"}).json()
        # The exact ticker first, then names containing the word.
        assert [c["ticker"] for c in body["results"]][:1] == ["ALL"]
    by_name = client_for(analyst).get("/api/companies/", {"q": "coca-cola"}).json()
    assert [c["ticker"] for c in by_name["results"]] == ["KO"]
    by_cik = client_for(analyst).get("/api/companies/", {"cik": "0000320193"}).json()
    assert [c["ticker"] for c in by_cik["results"]] == ["AAPL"]
    assert client_for(analyst).get("/api/companies/aapl/").json()["name"] == "Apple Inc."


def test_unknown_ticker_detail_is_a_404_naming_it(analyst, master):
    response = client_for(analyst).get("/api/companies/NOPE/")
    assert response.status_code == 404 and "NOPE" in response.json()["error"]["detail"]


def test_only_admins_create_and_update_companies(analyst, risk_officer, admin_user, master):
    body = {"ticker": "msft", "name": "Microsoft Corporation", "aliases": ["Microsoft"], "cik": "789019"}
    for user in (analyst, risk_officer):
        assert client_for(user).post("/api/companies/", body, content_type="application/json").status_code == 403
        patch = client_for(user).patch("/api/companies/AAPL/", {"sector": "x"}, content_type="application/json")
        assert patch.status_code == 403
    assert not Company.objects.filter(ticker="MSFT").exists()

    created = client_for(admin_user).post("/api/companies/", body, content_type="application/json")
    assert created.status_code == 201 and created.json()["ticker"] == "MSFT"
    again = client_for(admin_user).post("/api/companies/", body, content_type="application/json")
    assert again.status_code == 400 and "MSFT" in again.json()["error"]["fields"]["ticker"][0]
    updated = client_for(admin_user).patch(
        "/api/companies/MSFT/", {"aliases": ["Microsoft", "MSFT Corp"]}, content_type="application/json"
    )
    assert updated.status_code == 200
    assert Company.objects.get(ticker="MSFT").aliases == ["MSFT Corp", "Microsoft"]
    assert Company.objects.get(ticker="MSFT").name == "Microsoft Corporation"  # untouched


def test_a_new_company_is_understood_in_the_next_question(admin_user, analyst, master):
    question = SearchQuery(text="What did Contoso say about margins?")
    assert query_plan_for_user(analyst, question).applied["tickers"] == []
    client_for(admin_user).post(
        "/api/companies/", {"ticker": "CTSO", "name": "Contoso Ltd"}, content_type="application/json"
    )
    assert query_plan_for_user(analyst, question).applied["tickers"] == ["CTSO"]
    client_for(admin_user).patch("/api/companies/KO/", {"aliases": ["Coke"]}, content_type="application/json")
    assert query_plan_for_user(analyst, SearchQuery(text="Coke volumes?")).applied["tickers"] == ["KO"]


# --- SEC CIKs ---------------------------------------------------------------------------------------


def test_sec_company_tickers_json_and_csv_are_read(tmp_path):
    tickers_json = tmp_path / "company_tickers.json"
    tickers_json.write_text(
        json.dumps({"0": {"cik_str": 320193, "ticker": "AAPL", "title": "Apple Inc."}, "1": {"cik_str": 0}})
    )
    csv_file = tmp_path / "ciks.csv"
    csv_file.write_text("ticker,cik,name\nBRK-B,0001067983,BERKSHIRE HATHAWAY INC\n,1000564,SPACEHAB INC \\WA\\\n")
    assert sec_entries_from_file(tickers_json) == [MasterEntry("AAPL", "Apple Inc.", ("Apple",), "", "320193")]
    entries = {e.ticker: e for e in sec_entries_from_file(csv_file)}
    assert entries["BRK.B"].cik == "1067983" and entries["BRK.B"].name == "Berkshire Hathaway Inc"
    assert entries["CIK1000564"].name == "Spacehab Inc"  # no ticker: named by its CIK, as the 10-K loader does


def test_sec_import_fills_ciks_and_never_renames(master):
    entries = [
        MasterEntry("KO", "COCA COLA CO", (), "", "21344"),
        MasterEntry("AAPL2", "Apple Inc.", (), "", "320193"),  # a CIK the master holds under another ticker
        MasterEntry("ZZZ", "Zeta Corp", ("Zeta",), "", "999"),
    ]
    result = company_master_import_sec(entries=entries)
    assert (result.created, result.updated, result.unchanged) == (1, 1, 1)
    coke = Company.objects.get(ticker="KO")
    assert coke.name == "The Coca-Cola Company" and coke.cik == "21344" and "COCA COLA CO" in coke.aliases
    assert not Company.objects.filter(ticker="AAPL2").exists()
    assert company_master_import_sec(entries=entries).created == 0  # idempotent


def test_import_command_reads_an_sec_file(tmp_path, master):
    csv_file = tmp_path / "ciks.csv"
    csv_file.write_text("ticker,cik_str,title\nMSFT,789019,Microsoft Corp\n")
    call_command("import_company_master", "--sec", str(csv_file))
    assert Company.objects.get(ticker="MSFT").cik == "789019"


@pytest.mark.shared_data
@pytest.mark.skipif(not (SHARED / "sec_10k_items" / "index.csv").exists(), reason=f"shared data not found at {SHARED}")
def test_import_command_adds_the_filers_of_the_shared_10k_and_8k_data():
    call_command("import_company_master", "--sec-shared")
    sandisk = Company.objects.get(ticker="SNDK")
    assert sandisk.cik == "1000180" and sandisk.name == "Sandisk Corp"
    index_ciks = {line.split(",")[0] for line in (SHARED / "sec_10k_items" / "index.csv").read_text().splitlines()[1:]}
    assert index_ciks <= set(Company.objects.values_list("cik", flat=True))


# --- filing metadata on upload ----------------------------------------------------------------------


@pytest.fixture
def no_broker(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    with mock.patch("apps.jobs.services.celery_app.send_task"):
        yield


def test_upload_records_form_fiscal_year_period_and_period_end(no_broker, analyst, master):
    response = client_for(analyst).post(
        "/api/documents/",
        {
            "files": SimpleUploadedFile("aapl-10k.txt", b"Apple annual report. Net sales rose.", "text/plain"),
            "ticker": "AAPL",
            "doc_type": "10-K",
            "published_on": "2022-10-28",
            "period_end": "2022-09-24",
            "fiscal_period": "FY",
        },
    )
    assert response.status_code == 202, response.content
    document = Document.objects.get()
    assert (document.doc_type, document.fiscal_year, document.fiscal_period) == ("10-K", 2022, "FY")
    assert document.period_end == dt.date(2022, 9, 24)
    detail = client_for(analyst).get(f"/api/documents/{document.pk}/").json()
    assert (detail["fiscal_year"], detail["fiscal_period"], detail["period_end"]) == (2022, "FY", "2022-09-24")
    page = client_for(analyst).get(f"/research/documents/{document.pk}/").content.decode()
    assert "FY2022" in page and "2022-09-24" in page


def test_upload_refuses_a_fiscal_period_that_is_not_one(no_broker, analyst, master):
    response = client_for(analyst).post(
        "/api/documents/",
        {"files": SimpleUploadedFile("a.txt", b"Some text here.", "text/plain"), "fiscal_period": "Q5"},
    )
    assert response.status_code == 400 and "fiscal_period" in response.json()["error"]["fields"]
    assert not Document.objects.exists()


def test_json_lines_batch_carries_form_and_fiscal_fields(no_broker, analyst, master):
    lines = [
        {"text": "Quarterly report text.", "ticker": "KO", "type": "filing", "form": "10-Q", "fiscal_year": 2023,
         "fiscal_period": "Q2", "period_end": "2023-06-30", "date": "2023-07-28"},
        {"text": "A news story.", "ticker": "KO", "type": "news", "date": "2023-07-29"},
    ]  # fmt: skip
    data = "\n".join(json.dumps(line) for line in lines).encode()
    response = client_for(analyst).post(
        "/api/documents/", {"files": SimpleUploadedFile("batch.jsonl", data, "application/x-ndjson")}
    )
    assert response.status_code == 202, response.content
    filing, story = Document.objects.order_by("published_on")
    assert (filing.doc_type, filing.fiscal_year, filing.fiscal_period) == ("10-Q", 2023, "Q2")
    assert (story.doc_type, story.fiscal_year, story.fiscal_period) == ("news", None, "")
