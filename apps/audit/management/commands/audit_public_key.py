"""``manage.py audit_public_key``: the public half of the audit signing key, as PEM.

Give it to auditors and regulators: with it alone (no access to the private key or the
application) they can check every signed checkpoint with ``verify_audit --public-key``
or any Ed25519 implementation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.audit.checkpoints import key_id, public_key_pem, signing_key


class Command(BaseCommand):
    help = "Print (or write to --output) the Ed25519 public key that verifies the audit checkpoints."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", type=Path, metavar="FILE", help="Write the PEM to FILE instead of stdout.")

    def handle(self, *args: Any, output: Path | None = None, **options: Any) -> None:
        public_key = signing_key().public_key()
        pem = public_key_pem(public_key)
        if output is None:
            self.stdout.write(pem, ending="")
            return
        output.write_text(pem)
        self.stderr.write(f"public key (key id {key_id(public_key)}) written to {output}")
