"""The ONNX Runtime embedding engine: export, agreement with torch, selection, fallback, threads.

The export runs on a tiny BERT (2 layers, hidden 64, seeded random weights) saved in the packaged
all-MiniLM-L6-v2's sentence-transformers layout with its real tokenizer, so every test runs the
same export and serving code as set-up does, in seconds. bench/embedding_backends.py measures the
real model on 10-K chunks.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from gpu_workers.embedding import (
    SentenceEmbedder,
    load_sentence_embedder,
    packaged_minilm_path,
    resolve_backend,
)
from gpu_workers.embedding_onnx import (
    MANIFEST,
    OnnxArtifactError,
    OnnxSentenceEmbedder,
    artifact_is_current,
    export_onnx_embedder,
    file_sha256,
    read_manifest,
)
from gpu_workers.runtime import EmbeddingThreadPolicy

TEXTS = [
    "Revenue rose 12% on strong demand for services.",
    "Gross margin was 43.3% compared with 41.8% a year earlier.",
    "The Company repurchased $77.6 billion of its common stock.",
    "Who won the 1998 football world cup?",
    "Purchases of property, plant and equipment were $10.7 billion, " * 12,  # truncated at 256 tokens
]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    """A 2-layer BERT with MiniLM's tokenizer and sentence-transformers config, saved like the real one."""
    import torch
    from transformers import BertConfig, BertModel

    torch.set_num_threads(1)
    torch.manual_seed(7)
    source = packaged_minilm_path()
    path = tmp_path_factory.mktemp("tiny-minilm")
    config = BertConfig(
        vocab_size=30522,
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=128,
        max_position_embeddings=512,
    )
    BertModel(config).eval().save_pretrained(path)
    for name in (
        "tokenizer.json",
        "tokenizer_config.json",
        "vocab.txt",
        "special_tokens_map.json",
        "modules.json",
        "sentence_bert_config.json",
    ):
        shutil.copy(source / name, path / name)
    (path / "1_Pooling").mkdir()
    pooling = json.loads((source / "1_Pooling" / "config.json").read_text()) | {"word_embedding_dimension": 64}
    (path / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    return path


@pytest.fixture(scope="module")
def exported(tiny_model, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("onnx") / "tiny-onnx"
    export_onnx_embedder(tiny_model, out, validation_texts=TEXTS)
    return out


@pytest.fixture(scope="module")
def torch_engine(tiny_model) -> SentenceEmbedder:
    engine = SentenceEmbedder(tiny_model, device="cpu", threads=1, batch_size=4)
    engine.setup()
    return engine


def test_onnx_vectors_match_the_sentence_transformers_model(exported, tiny_model, torch_engine):
    torch_vectors = torch_engine.predict(TEXTS).vectors
    engine = OnnxSentenceEmbedder(exported, tiny_model, threads=1, batch_size=2)
    engine.setup()
    progress = []
    batch = engine.predict(TEXTS, progress=lambda done, total: progress.append(done))

    assert batch.vectors.shape == torch_vectors.shape == (len(TEXTS), 64)
    assert np.allclose(np.linalg.norm(batch.vectors, axis=1), 1.0, atol=1e-4)
    cosines = (batch.vectors * torch_vectors).sum(axis=1)
    assert cosines.min() >= 0.99, cosines
    # Batches are sorted by length inside predict: the vectors still come back in input order.
    single = np.concatenate([engine.predict([text]).vectors for text in TEXTS])
    assert np.allclose(batch.vectors, single, atol=1e-4)
    assert progress == [2, 4, 5]
    # Tokens as the model sees them: the long text is cut at sentence-transformers' 256.
    assert engine.max_seq_length == 256
    assert batch.tokens == torch_engine.count_tokens(TEXTS)


def test_export_writes_a_manifest_whose_hash_is_the_model_version(exported, tiny_model):
    manifest = read_manifest(exported)
    served = exported / manifest["served_file"]
    assert manifest["sha256"] == file_sha256(served)
    assert manifest["cosine_to_torch"]["fp32"]["min"] >= 0.99
    assert artifact_is_current(exported, tiny_model)

    engine = OnnxSentenceEmbedder(exported, tiny_model)
    engine.setup()
    assert engine.model_version == f"onnx-{manifest['precision']}:{manifest['sha256'][:16]}"


def test_int8_is_served_only_when_it_keeps_the_cosine(tiny_model, tmp_path):
    accepted = export_onnx_embedder(tiny_model, tmp_path / "a", validation_texts=TEXTS[:3], int8_min_cosine=0.5)
    # No int8 vector reaches a cosine above 1: the gate must refuse it and serve fp32.
    refused = export_onnx_embedder(tiny_model, tmp_path / "b", validation_texts=TEXTS[:3], int8_min_cosine=1.5)

    assert accepted["precision"] == "int8" and accepted["served_file"] == "model.int8.onnx"
    assert refused["precision"] == "fp32" and refused["served_file"] == "model.fp32.onnx"
    assert refused["cosine_to_torch"]["int8"]["min"] < 1.5
    assert accepted["sha256"] != refused["sha256"]
    assert (tmp_path / "b" / "model.int8.onnx").is_file()  # kept for inspection, not served


def test_missing_export_falls_back_to_torch_with_a_log_line(tiny_model, tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="gpu_workers.embedding"):
        engine = load_sentence_embedder(backend="onnx", model_path=tiny_model, onnx_dir=tmp_path / "absent")

    assert isinstance(engine, SentenceEmbedder) and engine.backend == "torch"
    assert engine.predict(TEXTS[:2]).vectors.shape == (2, 64)
    assert any("falling back to torch" in r.getMessage() and "absent" in r.getMessage() for r in caplog.records)


def test_corrupt_or_stale_export_falls_back_to_torch(exported, tiny_model, tmp_path, caplog):
    corrupt = tmp_path / "corrupt"
    shutil.copytree(exported, corrupt)
    manifest = read_manifest(corrupt)
    (corrupt / manifest["served_file"]).write_bytes(b"not a model")
    with pytest.raises(OnnxArtifactError, match="hashes to"):
        OnnxSentenceEmbedder(corrupt, tiny_model).setup()

    stale = tmp_path / "stale"
    shutil.copytree(exported, stale)
    (stale / MANIFEST).write_text(json.dumps(manifest | {"source_fingerprint": "another-model"}))
    assert not artifact_is_current(stale, tiny_model)
    with caplog.at_level(logging.WARNING, logger="gpu_workers.embedding"):
        engine = load_sentence_embedder(backend="auto", device="cpu", model_path=tiny_model, onnx_dir=stale)
    assert engine.backend == "torch"
    assert any("another model" in r.getMessage() for r in caplog.records)


def test_auto_selects_onnx_on_the_cpu_and_torch_on_cuda(exported, tiny_model, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_backend("auto", "auto") == "onnx"
    engine = load_sentence_embedder(backend="auto", model_path=tiny_model, onnx_dir=exported)
    assert engine.backend == "onnx"
    assert resolve_backend("torch", "cpu") == "torch"

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_backend("auto", "auto") == "torch"
    assert resolve_backend("onnx", "auto") == "onnx"
    with pytest.raises(ValueError, match="use one of"):
        resolve_backend("tensorrt")


@pytest.mark.parametrize(
    ("bulk", "load", "own", "expected"),
    [
        (True, 0.2, 0, 2),  # an idle machine: the ingest takes both cores
        (True, 1.4, 0, 1),  # another process keeps a core busy
        (False, 0.0, 0, 1),  # queries and embedding jobs: always the base threads
        (True, 2.3, 2, 2),  # the load is this worker's own previous bulk call (2 threads, just now)
        (True, 3.0, 2, 1),  # ...plus a busy neighbour
    ],
)
def test_thread_policy_uses_the_idle_core_only_for_bulk_ingest(bulk, load, own, expected):
    clock = [1000.0]
    policy = EmbeddingThreadPolicy(
        threads=1, bulk_threads=2, idle_load=0.5, cores=2, load_average=lambda: load, clock=lambda: clock[0]
    )
    if own:
        policy.bulk_finished(own)
    assert policy.choose(bulk=bulk) == expected


def test_thread_policy_forgets_its_own_load_as_the_average_decays():
    clock = [0.0]
    policy = EmbeddingThreadPolicy(cores=2, load_average=lambda: 1.9, clock=lambda: clock[0])
    policy.bulk_finished(2)
    assert policy.choose(bulk=True) == 2  # 1.9 is this worker's own two threads
    clock[0] = 600.0  # ten minutes later the same load is someone else's
    assert policy.choose(bulk=True) == 1


def test_bulk_predict_runs_the_session_the_policy_chose(exported, tiny_model):
    policy = EmbeddingThreadPolicy(threads=1, bulk_threads=2, cores=2, load_average=lambda: 0.0)
    engine = OnnxSentenceEmbedder(exported, tiny_model, threads=1, thread_policy=policy)
    engine.setup()
    bulk = engine.predict(TEXTS, bulk=True).vectors
    assert engine.last_threads == 2
    query = engine.predict(TEXTS).vectors
    assert engine.last_threads == 1
    assert np.allclose(bulk, query, atol=1e-4)
    assert sorted(engine._sessions) == [1, 2]


@pytest.mark.django_db
def test_embedding_job_audit_record_carries_the_onnx_model_hash(exported, tiny_model, analyst, settings):
    from apps.audit.models import InferenceRecord
    from apps.jobs.models import Job, JobKind, JobStatus
    from gpu_workers.runtime import model_cache
    from gpu_workers.tasks import embedding

    settings.ARGUS_EMBEDDING_BACKEND = "onnx"
    settings.ARGUS_EMBEDDING_MODEL_PATH = str(tiny_model)
    settings.ARGUS_EMBEDDING_ONNX_DIR = str(exported)
    model_cache.evict("embedding")
    try:
        job = Job.objects.create(
            kind=JobKind.EMBED, owner=analyst, actor_label=f"user:{analyst.username}", params={"texts": TEXTS[:3]}
        )
        outcome = embedding.embed_texts.apply(args=[str(job.id)])
        assert outcome.successful(), outcome.traceback
    finally:
        model_cache.evict("embedding")  # the next test's engine follows its own settings

    job.refresh_from_db()
    manifest = read_manifest(exported)
    record = InferenceRecord.objects.get(seq=job.result["inference_record"])
    assert job.status == JobStatus.SUCCEEDED
    assert record.model_version == f"onnx-{manifest['precision']}:{manifest['sha256'][:16]}"
    assert record.model_version == job.result["model_version"]
    assert record.parameters["backend"] == "onnx" and record.parameters["precision"] == manifest["precision"]
    assert record.details["threads"] == 1
