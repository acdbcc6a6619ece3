"""Train the finance sentiment classifier on the shared labelled tweets, register it, point classify at it.

Runs here by default (an audited training inference, then the registry row and ``active.json``).
``--queue`` creates the training-queue job instead and returns at once: that is what ``make run``'s
set-up does, so the login page is not held up by a 15-minute training run. Without the shared data
it logs why and exits 0 (a fresh clone elsewhere has no ``../shared/data``; classify then serves the
FinVADER lexicon fallback).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.registry.selectors import text_classifier_in_training, text_classifier_latest
from apps.registry.services import (
    SENTIMENT_CLASSIFIER_NAME,
    sentiment_training_job_create,
    text_classifier_create_training,
)


class Command(BaseCommand):
    help = "Fine-tune and register the finance sentiment classifier (MiniLM) on the shared labelled tweets."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--shared-data", type=Path, default=None, help="default: settings.ARGUS_SHARED_DATA")
        parser.add_argument("--models-dir", type=Path, default=None, help="default: settings.ARGUS_MODELS_DIR")
        parser.add_argument("--name", default=SENTIMENT_CLASSIFIER_NAME)
        parser.add_argument("--epochs", type=int, default=None)
        parser.add_argument("--max-steps", type=int, default=None, help="stop after this many optimizer steps")
        parser.add_argument("--max-seconds", type=float, default=900.0, help="wall-clock budget of the training loop")
        parser.add_argument("--batch-size", type=int, default=None)
        parser.add_argument("--eval-every", type=int, default=None)
        parser.add_argument("--limit", type=int, default=None, help="train on the first N training rows (smoke runs)")
        parser.add_argument("--queue", action="store_true", help="queue a training-queue job and return")
        parser.add_argument(
            "--if-absent", action="store_true", help="do nothing when a version is ready or in training (set-up)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from pipelines.sentiment.data import tweets_path

        shared = Path(options["shared_data"] or settings.ARGUS_SHARED_DATA)
        source = tweets_path(shared)
        if not source.is_file():
            self.stdout.write(
                f"sentiment training skipped: no labelled tweets at {source} (set ARGUS_SHARED_DATA); "
                "classify uses the lexicon fallback (lexicon-fallback:finvader)"
            )
            return
        if options["if_absent"]:
            existing = text_classifier_latest(task="sentiment") or text_classifier_in_training(task="sentiment")
            if existing is not None:
                self.stdout.write(f"sentiment classifier {existing.label} is {existing.status}; not training another")
                return
        params = {
            "epochs": options["epochs"],
            "max_steps": options["max_steps"],
            "max_seconds": options["max_seconds"],
            "batch_size": options["batch_size"],
            "eval_every": options["eval_every"],
            "limit": options["limit"],
        }
        params = {k: v for k, v in params.items() if v is not None}
        if options["queue"]:
            if options["shared_data"] or options["models_dir"]:
                raise CommandError("--queue trains with the worker's settings; --shared-data/--models-dir do not apply")
            classifier = sentiment_training_job_create(
                params=params, name=options["name"], actor_label="system:train_sentiment"
            )
            self.stdout.write(
                f"queued training of sentiment classifier {classifier.label} on the training queue "
                f"(job {classifier.job_id})"
            )
            return
        self._train_here(options, shared, params)

    def _train_here(self, options: dict[str, Any], shared: Path, params: dict[str, Any]) -> None:
        from apps.audit.services import Actor
        from gpu_workers.tasks.sentiment import sentiment_train_and_register

        classifier = text_classifier_create_training(name=options["name"], task="sentiment")
        self.stdout.write(f"training sentiment classifier {classifier.label} from {shared}")

        def progress(step: int, steps: int, loss: float) -> None:
            if step % 50 == 0 or step == steps:
                self.stdout.write(f"  step {step}/{steps} loss {loss:.3f}")

        outcome = sentiment_train_and_register(
            classifier_id=classifier.pk,
            actor=Actor.system("train_sentiment"),
            params=params,
            shared_data=shared,
            models_dir=options["models_dir"],
            progress=progress,
        )
        self.stdout.write(
            f"registered {outcome['classifier']} {outcome['content_hash'][:16]} at {outcome['path']}: held-out "
            f"accuracy {outcome['held_out_accuracy']:.3f}, macro-F1 {outcome['held_out_macro_f1']:.3f} "
            f"({outcome['train_seconds']} s)"
        )
