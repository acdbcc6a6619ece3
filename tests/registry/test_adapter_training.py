"""The training job: a LoRA adapter of the registered base model, trained, hashed, registered, audited."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command

from apps.audit.models import InferenceKind, InferenceRecord
from apps.jobs.models import Job, JobStatus
from apps.registry.models import Adapter, AdapterStatus, BaseModel
from apps.registry.selectors import adapter_latest_ready
from apps.registry.services import adapter_training_job_create, base_model_register
from gpu_workers.generation import adapter_fingerprint, checkpoint_fingerprint
from tests.gpu_workers.conftest import tiny_checkpoint  # noqa: F401 - fixture

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def eager(settings, tmp_path):
    from config.celery import app

    settings.ARGUS_ADAPTERS_DIR = tmp_path / "adapters"
    was = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = was


@pytest.fixture
def tiny_base(tiny_checkpoint):  # noqa: F811
    return BaseModel.objects.create(
        name="tiny",
        path=str(tiny_checkpoint),
        source="t",
        content_hash=checkpoint_fingerprint(tiny_checkpoint),
        is_default=True,
    )


def test_training_job_registers_a_ready_adapter_with_hash_and_provenance(eager, tiny_base, analyst):
    adapter = adapter_training_job_create(name="writer", base_model=tiny_base, steps=2, examples=4, owner=analyst)
    adapter.refresh_from_db()
    job = Job.objects.get(pk=adapter.job_id)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert adapter.status == AdapterStatus.READY and adapter.version == 1
    assert adapter.file_hash == adapter_fingerprint(Path(adapter.path))
    provenance = adapter.provenance
    assert provenance["steps"] == 2 and provenance["dataset_hash"] and provenance["format_version"] >= 1
    record = InferenceRecord.objects.get(kind=InferenceKind.TRAIN, job_id=job.pk)
    assert record.adapter_name == "writer@1" and record.model_version == tiny_base.content_hash
    assert provenance["training_record"] == record.seq
    assert adapter_latest_ready("writer") == adapter

    second = adapter_training_job_create(name="writer", base_model=tiny_base, steps=1, examples=2)
    second.refresh_from_db()
    assert second.version == 2 and adapter_latest_ready("writer") == second


def test_base_model_registration_keeps_one_default(db, tiny_checkpoint):  # noqa: F811
    first = base_model_register(name="a", path=str(tiny_checkpoint), source="t", content_hash="1" * 64)
    second = base_model_register(name="b", path=str(tiny_checkpoint), source="t", content_hash="2" * 64)
    assert first.is_default and not second.is_default
    base_model_register(name="b", path=str(tiny_checkpoint), source="t", content_hash="2" * 64, make_default=True)
    assert list(BaseModel.objects.filter(is_default=True).values_list("name", flat=True)) == ["b"]


def test_register_base_model_command_hashes_the_directory(db, tiny_checkpoint, capsys):  # noqa: F811
    call_command("register_base_model", str(tiny_checkpoint), "--name", "tiny-cmd", "--default")
    model = BaseModel.objects.get(name="tiny-cmd")
    assert model.is_default and model.content_hash == checkpoint_fingerprint(tiny_checkpoint)
    assert model.architecture and model.context_length == 2048
    assert not Adapter.objects.exists()
