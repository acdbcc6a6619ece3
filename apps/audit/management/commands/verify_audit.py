"""``manage.py verify_audit``: walk the whole audit hash chain and fail loudly on the first broken record.

Meant for cron, CI and auditors: exit status 0 means intact, 1 means broken, and the
message names the record (its ``seq`` and ``id``) where the chain stops holding.

With ``--checkpoints DIR`` the chain is also held against the signed checkpoints kept
outside the database, which catches what the database alone cannot show: the newest
records removed with the head row rewritten, or the chain rewritten from some record on
with every hash recomputed. ``--public-key FILE`` verifies their signatures with the
public key alone (``manage.py audit_public_key`` exports it); without it, the public
half of the configured signing key is used.

On PostgreSQL a long chain is checked in ``seq`` ranges by one worker process per core;
``--workers 1`` keeps the walk in this process.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.audit.checkpoints import DirectoryCheckpointSink, load_public_key, signing_key
from apps.audit.selectors import audit_chain_check_checkpoints, audit_chain_verify


class Command(BaseCommand):
    help = "Verify the audit hash chain; exit 1 and name the first broken record if any row was tampered with."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--json",
            action="store_true",
            dest="as_json",
            help="Print the verdict as one JSON object on stdout (exit status as usual).",
        )
        parser.add_argument(
            "--checkpoints",
            type=Path,
            metavar="DIR",
            help="A directory of signed checkpoint files (JSON lines) to hold the chain against.",
        )
        parser.add_argument(
            "--public-key",
            type=Path,
            action="append",
            dest="public_keys",
            metavar="FILE",
            help="Ed25519 public key (PEM) the checkpoints must be signed with; repeat after a key rotation.",
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            metavar="N",
            help="Processes checking seq ranges of a long chain on PostgreSQL (default: one per core).",
        )

    def handle(
        self,
        *args: Any,
        as_json: bool = False,
        checkpoints: Path | None = None,
        public_keys: list[Path] | None = None,
        workers: int | None = None,
        **options: Any,
    ) -> None:
        if workers is not None and workers < 1:
            raise CommandError("--workers must be at least 1", returncode=2)
        verdict = audit_chain_verify(workers=workers)
        if verdict.ok and checkpoints is not None:
            if not checkpoints.is_dir():
                raise CommandError(f"--checkpoints {checkpoints}: no such directory", returncode=2)
            try:
                keys = [load_public_key(path) for path in public_keys] if public_keys else [signing_key().public_key()]
            except (OSError, ValueError, ImproperlyConfigured) as exc:
                raise CommandError(f"no public key to check the checkpoints with: {exc}", returncode=2) from exc
            try:
                signed = list(DirectoryCheckpointSink(checkpoints).read_all())
            except ValueError as exc:
                raise CommandError(f"unreadable checkpoint file: {exc}", returncode=1) from exc
            verdict = audit_chain_check_checkpoints(signed, public_keys=keys, verdict=verdict)
            summary = f"{len(signed)} signed checkpoint{'s' if len(signed) != 1 else ''} agree"
        else:
            summary = ""
        if as_json:
            self.stdout.write(json.dumps({**asdict(verdict), "message": str(verdict)}, sort_keys=True))
        elif verdict.ok:
            self.stdout.write(self.style.SUCCESS(str(verdict) + (f"; {summary}" if summary else "")))
        if not verdict.ok:
            # CommandError: manage.py prints it on stderr and exits with status 1.
            raise CommandError(str(verdict), returncode=1)
