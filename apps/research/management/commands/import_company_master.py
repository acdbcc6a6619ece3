"""Extend the company master (the entity linker's dictionary) from a packaged list of companies."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from apps.research.services import company_master_import_sp500


class Command(BaseCommand):
    help = "Add companies to the company master; existing companies keep their names and gain aliases."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--sp500", action="store_true", help="the S&P 500 members known to pytickersymbols")

    def handle(self, *args, **options) -> None:
        if not options["sp500"]:
            raise CommandError("Say which list to import: --sp500.")
        result = company_master_import_sp500()
        self.stdout.write(
            f"Company master (S&P 500): {result.created} created, {result.updated} with new aliases, "
            f"{result.unchanged} unchanged."
        )
