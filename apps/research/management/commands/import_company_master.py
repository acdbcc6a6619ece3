"""Extend the company master (the entity linker's and query parser's dictionary) from lists of companies."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.research.services import company_master_import_sec, company_master_import_sp500
from pipelines.entities.master import sec_entries_from_file, sec_entries_from_shared_data


class Command(BaseCommand):
    help = "Add companies to the company master; existing companies keep their names and gain aliases (and CIKs)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--sp500", action="store_true", help="the S&P 500 members known to pytickersymbols")
        parser.add_argument(
            "--sec",
            metavar="FILE",
            help="an SEC ticker/CIK list: company_tickers.json, company_tickers_exchange.json, or a CSV with "
            "ticker, cik and name columns",
        )
        parser.add_argument(
            "--sec-shared",
            action="store_true",
            help="the filers of the shared 10-K index and 8-K items under ARGUS_SHARED_DATA",
        )

    def handle(self, *args, **options) -> None:
        if not (options["sp500"] or options["sec"] or options["sec_shared"]):
            raise CommandError("Say which list to import: --sp500, --sec FILE and/or --sec-shared.")
        if options["sp500"]:
            self._report("S&P 500", company_master_import_sp500())
        if options["sec"]:
            path = Path(options["sec"])
            if not path.is_file():
                raise CommandError(f"{path} not found.")
            self._report(f"SEC list {path.name}", company_master_import_sec(entries=sec_entries_from_file(path)))
        if options["sec_shared"]:
            shared = Path(settings.ARGUS_SHARED_DATA)
            entries = sec_entries_from_shared_data(shared)
            if not entries:
                raise CommandError(f"No 10-K index or 8-K items under {shared}: set ARGUS_SHARED_DATA.")
            self._report("SEC filers of the shared data", company_master_import_sec(entries=entries))

    def _report(self, label: str, result) -> None:
        self.stdout.write(
            f"Company master ({label}): {result.created} created, {result.updated} updated, "
            f"{result.unchanged} unchanged."
        )
