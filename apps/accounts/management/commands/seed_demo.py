"""Create the demo users from fixtures/demo_users.json (idempotent). Refused in production."""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.accounts.roles import Role
from apps.accounts.services import user_create

DEMO_USERS_FILE = Path(settings.BASE_DIR) / "fixtures" / "demo_users.json"
DEFAULT_DEMO_PASSWORD = "argus-demo-2026"


class Command(BaseCommand):
    help = "Create demo users (one per role) for the zero-setup run."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--password", default="", help="demo password (default: ARGUS_DEMO_PASSWORD or built-in)")

    def handle(self, *args, **options) -> None:
        if settings.IS_PRODUCTION:
            raise CommandError("seed_demo creates users with a known password and is refused in production.")
        import os

        password = options["password"] or os.environ.get("ARGUS_DEMO_PASSWORD", DEFAULT_DEMO_PASSWORD)
        rows = json.loads(DEMO_USERS_FILE.read_text())
        for row in rows:
            user_create(
                username=row["username"],
                password=password,
                role=Role(row["role"]),
                email=row.get("email", ""),
                display_name=row.get("display_name", ""),
            )
        self.stdout.write(f"Demo logins (password for all: {password}):")
        for row in rows:
            self.stdout.write(f"  {row['username']:<14} {Role(row['role']).label}")
