"""The S&P 500 import into the company master, and the records the entity linker is built from."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from apps.research.models import Company
from apps.research.selectors import company_records
from apps.research.services import company_master_import_sp500
from pipelines.entities import CompanyRecord
from pipelines.entities.master import MasterEntry

pytestmark = pytest.mark.django_db

ENTRIES = [
    MasterEntry("AAPL", "Apple Inc.", ("Apple Inc.", "Apple"), "Information Technology"),
    MasterEntry("BRK.B", "Berkshire Hathaway", ("Berkshire Hathaway", "BRK-B")),
]


def test_import_creates_missing_companies_and_keeps_an_existing_name():
    Company.objects.create(ticker="AAPL", name="Apple (demo)", aliases=["AAPL"], sector="")
    result = company_master_import_sp500(entries=ENTRIES)
    assert (result.created, result.updated, result.unchanged) == (1, 1, 0)
    apple = Company.objects.get(ticker="AAPL")
    assert apple.name == "Apple (demo)"
    assert apple.aliases == ["AAPL", "Apple", "Apple Inc."]
    assert apple.sector == "Information Technology"


def test_import_is_idempotent():
    company_master_import_sp500(entries=ENTRIES)
    before = list(Company.objects.values_list("ticker", "name", "aliases", "sector"))
    result = company_master_import_sp500(entries=ENTRIES)
    assert (result.created, result.updated, result.unchanged) == (0, 0, 2)
    assert list(Company.objects.values_list("ticker", "name", "aliases", "sector")) == before


def test_sp500_command_imports_the_packaged_list_with_word_like_tickers():
    call_command("import_company_master", "--sp500")
    assert Company.objects.count() > 450
    assert Company.objects.get(ticker="ALL").name.startswith("Allstate")
    berkshire = Company.objects.get(ticker="BRK.B")
    assert "BRK-B" in berkshire.aliases


def test_company_records_are_what_the_linker_takes():
    Company.objects.create(ticker="KO", name="The Coca-Cola Company", aliases=["Coca-Cola"], cik="21344")
    assert company_records() == [CompanyRecord("KO", "The Coca-Cola Company", ("Coca-Cola",), "21344")]
