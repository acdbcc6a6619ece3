"""train_sentiment and the training-queue task: a registered, hashed, audited classifier and its active.json.

Each run is one optimizer step on the tiny tweet set written into a temporary shared-data folder,
so these tests need neither the real shared data nor more than a few seconds of training.
"""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

import pipelines.sentiment as sentiment
from apps.audit.models import InferenceKind, InferenceRecord
from apps.jobs.models import Job, JobStatus
from apps.registry.models import TextClassifier, TextClassifierStatus
from apps.registry.selectors import text_classifier_latest
from apps.registry.services import sentiment_training_job_create
from pipelines.sentiment.artifacts import directory_content_hash, read_active_pointer
from tests.pipelines.sentiment_rows import write_tiny_tweets

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

QUICK = {"max_steps": 1, "batch_size": 8, "eval_every": 1}


@pytest.fixture
def folders(settings, tmp_path):
    shared, models = tmp_path / "shared", tmp_path / "models"
    write_tiny_tweets(shared)
    settings.ARGUS_SHARED_DATA, settings.ARGUS_MODELS_DIR = shared, models
    sentiment.reset_cache()
    yield shared, models
    sentiment.reset_cache()


def test_command_trains_registers_a_row_and_points_classify_at_it(folders):
    _, models = folders
    out = StringIO()
    call_command("train_sentiment", "--max-steps=1", "--batch-size=8", "--eval-every=1", stdout=out)

    row = TextClassifier.objects.get()
    assert row.status == TextClassifierStatus.READY and row.task == "sentiment" and row.version == 1
    assert row.path == str(models / "sentiment" / "v1")
    assert row.content_hash == directory_content_hash(Path(row.path))
    assert row.base_encoder_hash and row.metrics["held_out"]["macro_f1"] >= 0.0
    assert row.provenance["split"]["seed"] == 13 and len(row.provenance["dataset_sha256"]) == 64
    record = InferenceRecord.objects.get(kind=InferenceKind.TRAIN)
    assert record.adapter_name == row.label and row.provenance["training_record"] == record.seq
    assert record.actor == "system:train_sentiment"

    active = read_active_pointer(models)
    assert active is not None and (active.path, active.content_hash) == (row.path, row.content_hash)
    assert sentiment.classify_with_scores(["Shares fell."], models_dir=models)[0].model_label == active.model_label
    assert "registered argus-finance-sentiment@1" in out.getvalue()
    assert text_classifier_latest() == row


def test_command_without_shared_data_skips_with_a_clear_line(settings, tmp_path):
    settings.ARGUS_SHARED_DATA = tmp_path / "nowhere"
    out = StringIO()
    call_command("train_sentiment", stdout=out)
    assert "sentiment training skipped: no labelled tweets" in out.getvalue()
    assert "lexicon-fallback:finvader" in out.getvalue()
    assert not TextClassifier.objects.exists()


def test_setup_step_queues_one_training_job_and_then_leaves_it(folders):
    out = StringIO()
    call_command("train_sentiment", "--queue", "--if-absent", stdout=out)
    row = TextClassifier.objects.get()
    assert row.status == TextClassifierStatus.TRAINING and row.job is not None
    assert row.job.task_name == "gpu_workers.tasks.sentiment_train"
    call_command("train_sentiment", "--queue", "--if-absent", stdout=out)
    assert TextClassifier.objects.count() == 1
    assert "not training another" in out.getvalue()


@pytest.fixture
def eager():
    from config.celery import app

    was = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = was


def test_training_queue_job_registers_the_classifier(folders, eager):
    _, models = folders
    classifier = sentiment_training_job_create(params=QUICK, actor_label="system:test")
    classifier.refresh_from_db()
    job = Job.objects.get(pk=classifier.job_id)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert classifier.status == TextClassifierStatus.READY
    assert job.result["content_hash"] == classifier.content_hash
    assert InferenceRecord.objects.get(kind=InferenceKind.TRAIN).job_id == job.pk
    pointer = json.loads((models / "sentiment" / "active.json").read_text())
    assert pointer["version"] == str(classifier.version) and pointer["content_hash"] == classifier.content_hash


def test_training_job_without_data_fails_the_job_and_the_version(settings, tmp_path, eager):
    settings.ARGUS_SHARED_DATA, settings.ARGUS_MODELS_DIR = tmp_path / "nowhere", tmp_path / "models"
    from pipelines.sentiment.data import SentimentDataError

    with pytest.raises(SentimentDataError):  # eager tasks re-raise; a worker logs it and moves on
        sentiment_training_job_create(params=QUICK, actor_label="system:test")
    classifier = TextClassifier.objects.get()
    job = Job.objects.get(pk=classifier.job_id)
    assert job.status == JobStatus.FAILED and "labelled tweets not found" in job.error
    assert classifier.status == TextClassifierStatus.FAILED and "ARGUS_SHARED_DATA" in classifier.provenance["failure"]
    assert read_active_pointer(tmp_path / "models") is None
