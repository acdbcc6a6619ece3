"""Register any Hugging Face causal LM directory as a base model (production GPU workers use larger ones)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.registry.services import base_model_register


class Command(BaseCommand):
    help = "Register a Hugging Face causal LM directory (config.json + weights) in the model registry."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--name", required=True)
        parser.add_argument("--default", action="store_true", help="serve reports and answers with it")

    def handle(self, *args: Any, **options: Any) -> None:
        from gpu_workers.generation import checkpoint_fingerprint, checkpoint_info

        path: Path = options["path"].resolve()
        if not (path / "config.json").is_file():
            raise CommandError(f"{path} is not a model directory (no config.json)")
        info = checkpoint_info(path)
        model = base_model_register(
            name=options["name"],
            path=str(path),
            source=str(path),
            content_hash=checkpoint_fingerprint(path),
            architecture=str(info.get("architecture", "")),
            dtype=str(info.get("dtype", "")),
            context_length=int(info.get("context_length") or 0),
            parameter_count=info.get("parameter_count"),
            make_default=options["default"],
            registered_by="manage.py register_base_model",
        )
        self.stdout.write(
            f"registered {model.name} {model.content_hash[:16]}{' (default)' if model.is_default else ''}"
        )
