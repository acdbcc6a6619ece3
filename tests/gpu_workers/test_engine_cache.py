"""The worker's generation engine follows the registry's default base model and never keeps two."""

from __future__ import annotations

import gc
import weakref

import pytest

from apps.registry.services import base_model_register
from gpu_workers.generation.checkpoints import checkpoint_fingerprint
from gpu_workers.runtime import ProcessModelCache, model_cache
from gpu_workers.tasks.generation import generation_engine
from tests.gpu_workers.conftest import save_tiny_llama


@pytest.fixture(scope="session")
def second_tiny_checkpoint(tmp_path_factory):
    return save_tiny_llama(tmp_path_factory.mktemp("tiny-llama-2") / "tiny-smollm2-b", seed=4321)


@pytest.fixture
def empty_model_cache():
    model_cache.clear()
    yield model_cache
    model_cache.clear()


def register(name, path, *, default=True):
    return base_model_register(
        name=name, path=str(path), source="test", content_hash=checkpoint_fingerprint(path), make_default=default
    )


@pytest.mark.django_db
def test_a_new_default_base_model_replaces_the_old_one_in_memory(
    tiny_checkpoint, second_tiny_checkpoint, empty_model_cache
):
    register("tiny-a", tiny_checkpoint)
    first = generation_engine()
    assert generation_engine() is first, "loaded once, then reused"
    first_weights = weakref.ref(first.base_model)
    first_engine = weakref.ref(first)
    del first

    register("tiny-b", second_tiny_checkpoint)
    second = generation_engine()

    assert second.registry_name == "tiny-b" and second.model_version == checkpoint_fingerprint(second_tiny_checkpoint)
    assert [key for key in model_cache.loaded() if key.startswith("generation:")] == [
        f"generation:tiny-b:{second.model_version}"
    ]
    gc.collect()
    assert first_engine() is None and first_weights() is None, "the old base model is still in memory"

    # Back to the first default: it is loaded again and the second one goes.
    register("tiny-a", tiny_checkpoint)
    assert generation_engine().registry_name == "tiny-a"
    assert len([key for key in model_cache.loaded() if key.startswith("generation:")]) == 1


def test_a_slot_holds_one_model_and_other_models_stay():
    cache = ProcessModelCache()
    loads = []

    def factory(name):
        def load():
            loads.append(name)
            return {"model": name}

        return load

    cache.get("embedding", factory("embedder"))
    cache.get("generation:a", factory("a"), slot="generation")
    cache.get("generation:a", factory("a again"), slot="generation")
    cache.get("generation:b", factory("b"), slot="generation")

    assert loads == ["embedder", "a", "b"]
    assert cache.loaded() == ["embedding", "generation:b"]
    assert cache.evict("generation:b") is True and cache.evict("generation:b") is False
    cache.get("generation:a", factory("a"), slot="generation")
    assert cache.loaded() == ["embedding", "generation:a"]
