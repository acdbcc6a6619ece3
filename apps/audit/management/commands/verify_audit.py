"""``manage.py verify_audit``: walk the audit hash chain and fail loudly on the first broken record.

Meant for cron and CI: exit status 0 means intact, 1 means broken, and the
message names the record (its ``seq`` and ``id``) where the chain stops holding.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.audit.selectors import audit_chain_verify


class Command(BaseCommand):
    help = "Verify the audit hash chain; exit 1 and name the first broken record if any row was tampered with."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--json",
            action="store_true",
            dest="as_json",
            help="Print the verdict as one JSON object on stdout (exit status as usual).",
        )

    def handle(self, *args: Any, as_json: bool = False, **options: Any) -> None:
        verdict = audit_chain_verify()
        if as_json:
            self.stdout.write(json.dumps({**asdict(verdict), "message": str(verdict)}, sort_keys=True))
        elif verdict.ok:
            self.stdout.write(self.style.SUCCESS(str(verdict)))
        if not verdict.ok:
            # CommandError: manage.py prints it on stderr and exits with status 1.
            raise CommandError(str(verdict), returncode=1)
