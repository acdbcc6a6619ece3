from __future__ import annotations

import hashlib
import shutil
from dataclasses import replace

import pytest

from gpu_workers.generation.checkpoints import adapter_fingerprint, checkpoint_fingerprint
from gpu_workers.generation.constrained import constraint_hash, parse_json_output
from gpu_workers.generation.engine import (
    AdapterHashMismatch,
    AdapterSpec,
    GenerationEngine,
    GenerationRequest,
    UnknownAdapter,
)

SYSTEM = {"role": "system", "content": "You are an equity research assistant. Cite your sources."}
RATING_SCHEMA = {
    "type": "object",
    "properties": {
        "rating": {"enum": ["buy", "hold", "sell"]},
        "target": {"type": "integer", "minimum": 1, "maximum": 999},
    },
    "required": ["rating", "target"],
    "additionalProperties": False,
}


def chat(text: str) -> list[dict[str, str]]:
    return [SYSTEM, {"role": "user", "content": text}]


def spec(adapters, name: str, version: str = "v1") -> AdapterSpec:
    path, file_hash = adapters[name]
    return AdapterSpec(name=name, version=version, path=path, file_hash=file_hash)


@pytest.fixture(scope="module")
def engine(tiny_checkpoint, lora_adapters):
    engine = GenerationEngine(tiny_checkpoint, threads=1, max_loaded_adapters=4)
    engine.setup()
    engine.ensure_adapter(spec(lora_adapters, "alpha"))
    engine.ensure_adapter(spec(lora_adapters, "beta"))
    return engine


def mixed_requests() -> list[GenerationRequest]:
    return [
        GenerationRequest("base-short", chat("EBITDA?"), max_new_tokens=12),
        GenerationRequest(
            "alpha-long",
            chat("Summarise the quarter: revenue up 12%, margin down 80bp, guidance raised, buyback of $2bn."),
            adapter="alpha",
            max_new_tokens=10,
        ),
        GenerationRequest("beta-mid", chat("What drove free cash flow this year?"), adapter="beta", max_new_tokens=7),
        GenerationRequest(
            "json-alpha", chat("Rate MSFT."), adapter="alpha", json_schema=RATING_SCHEMA, max_new_tokens=40
        ),
        GenerationRequest("choice-base", chat("Credit outlook?"), choices=["stable", "negative", "positive"]),
        GenerationRequest("sampled-beta", chat("Any risks?"), adapter="beta", temperature=0.9, top_p=0.9, seed=7),
    ]


def test_setup_loads_once_and_records_the_checkpoint(engine, tiny_checkpoint):
    model, tokenizer = engine.base_model, engine.tokenizer
    engine.setup()
    assert engine.base_model is model and engine.tokenizer is tokenizer
    assert engine.model_version == checkpoint_fingerprint(tiny_checkpoint)
    assert len(engine.model_version) == 64
    assert engine.context_length == 2048 and engine.device == "cpu" and engine.dtype == "float32"
    assert engine.tokenizer.padding_side == "left"


def test_one_batch_gives_the_same_output_as_one_by_one(engine):
    requests = [replace(r, max_new_tokens=min(r.max_new_tokens, 12)) for r in mixed_requests()]
    alone = [engine.predict([r])[0] for r in requests]
    batched = engine.predict(requests)
    assert [r.request_id for r in batched] == [r.request_id for r in requests]
    assert all(r.batch_size == len(requests) for r in batched) and all(r.batch_size == 1 for r in alone)
    for one, many in zip(alone, batched, strict=True):
        assert (one.text, one.tokens_out, one.finish_reason) == (many.text, many.tokens_out, many.finish_reason)
    # The batch's reverse order too: no row sees another's padding or adapter.
    reversed_batch = engine.predict(requests[::-1])[::-1]
    assert [r.text for r in reversed_batch] == [r.text for r in alone]


def test_results_carry_hashes_tokens_and_adapter_versions(engine):
    requests = mixed_requests()
    results = engine.predict(requests)
    by_id = {r.request_id: r for r in results}
    for request, result in zip(requests, results, strict=True):
        rendered = engine.render_prompt(request.messages)
        assert result.prompt_hash == hashlib.sha256(rendered.encode()).hexdigest()
        assert result.tokens_in == engine.count_prompt_tokens(request.messages)
        assert result.schema_hash == constraint_hash(request.json_schema, request.regex, request.choices)
        assert 1 <= result.tokens_out <= request.max_new_tokens
        assert result.finish_reason in {"stop", "length"}
        if result.finish_reason == "length":
            assert result.tokens_out == request.max_new_tokens
        assert result.adapter == request.adapter
        assert result.adapter_version == ("v1" if request.adapter else "")
    assert by_id["base-short"].schema_hash == ""
    assert by_id["beta-mid"].tokens_out <= 7
    parse_json_output(by_id["json-alpha"].text, RATING_SCHEMA)
    assert by_id["choice-base"].text in {"stable", "negative", "positive"}
    assert by_id["choice-base"].finish_reason == "stop"


def test_adapters_change_the_output(engine):
    request = GenerationRequest("q", chat("Explain the change in working capital."), max_new_tokens=12)
    base, alpha, beta = engine.predict([request, replace(request, adapter="alpha"), replace(request, adapter="beta")])
    assert len({base.text, alpha.text, beta.text}) == 3


def test_seeded_sampling_is_reproducible_alone_and_in_a_batch(engine):
    sampled = GenerationRequest("s", chat("Outlook for banks?"), temperature=1.0, seed=11, max_new_tokens=12)
    first = engine.predict([sampled])[0].text
    assert engine.predict([sampled])[0].text == first
    in_batch = engine.predict([GenerationRequest("g", chat("Hi"), max_new_tokens=5), sampled])[1].text
    assert in_batch == first
    others = {engine.predict([replace(sampled, seed=seed)])[0].text for seed in (12, 13, 14)}
    assert others - {first}


def test_decode_accepts_a_task_payload(engine):
    payload = {"request_id": "p", "messages": chat("hello"), "choices": ["yes", "no"], "max_new_tokens": 4}
    request = engine.decode(payload)
    assert isinstance(request, GenerationRequest)
    result = engine.encode(engine.predict([request])[0])
    assert result["request_id"] == "p" and result["text"] in {"yes", "no"}
    with pytest.raises(ValueError, match="at most one"):
        engine.decode({**payload, "regex": "[a-z]+"})


def test_tampered_adapter_is_refused_and_nothing_is_loaded(tiny_checkpoint, lora_adapters, tmp_path):
    from peft import PeftModel

    path, file_hash = lora_adapters["alpha"]
    tampered = tmp_path / "alpha-tampered"
    shutil.copytree(path, tampered)
    weights = tampered / "adapter_model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0x01
    weights.write_bytes(bytes(data))
    engine = GenerationEngine(tiny_checkpoint)
    engine.setup()
    with pytest.raises(AdapterHashMismatch):
        engine.ensure_adapter(AdapterSpec("alpha", "v1", tampered, file_hash))
    assert engine.loaded_adapters() == []
    assert not isinstance(engine.model, PeftModel)
    with pytest.raises(UnknownAdapter):
        engine.predict([GenerationRequest("x", chat("hi"), adapter="alpha", max_new_tokens=2)])


def test_least_recently_used_adapter_is_evicted(tiny_checkpoint, lora_adapters, make_lora_adapter):
    gamma = make_lora_adapter("gamma", 3)
    adapters = {**lora_adapters, "gamma": (gamma, adapter_fingerprint(gamma))}
    engine = GenerationEngine(tiny_checkpoint, max_loaded_adapters=2)
    engine.setup()
    engine.ensure_adapter(spec(adapters, "alpha"))
    engine.ensure_adapter(spec(adapters, "beta"))
    engine.predict([GenerationRequest("a", chat("hi"), adapter="alpha", max_new_tokens=2)])  # alpha now most recent
    engine.ensure_adapter(spec(adapters, "gamma"))
    assert engine.loaded_adapters() == ["alpha", "gamma"]
    assert len(engine.model.peft_config) == 2
    with pytest.raises(UnknownAdapter):
        engine.predict([GenerationRequest("b", chat("hi"), adapter="beta", max_new_tokens=2)])


def test_new_version_of_an_adapter_replaces_the_loaded_one(tiny_checkpoint, lora_adapters):
    engine = GenerationEngine(tiny_checkpoint, max_loaded_adapters=2)
    engine.setup()
    request = GenerationRequest("r", chat("Net debt?"), adapter="risk", max_new_tokens=10)
    alpha_path, alpha_hash = lora_adapters["alpha"]
    beta_path, beta_hash = lora_adapters["beta"]
    engine.ensure_adapter(AdapterSpec("risk", "v1", alpha_path, alpha_hash))
    v1 = engine.predict([request])[0]
    engine.ensure_adapter(AdapterSpec("risk", "v2", beta_path, beta_hash))
    v2 = engine.predict([request])[0]
    assert engine.loaded_adapters() == ["risk"] and len(engine.model.peft_config) == 1
    assert (v1.adapter_version, v2.adapter_version) == ("v1", "v2")
    assert v1.text != v2.text
    # Same as loading beta under its own name from scratch.
    engine.ensure_adapter(AdapterSpec("beta", "v1", beta_path, beta_hash))
    assert engine.predict([replace(request, adapter="beta")])[0].text == v2.text


def test_prefix_cache_gives_the_same_greedy_output(tiny_checkpoint, lora_adapters):
    plain = GenerationEngine(tiny_checkpoint)
    cached = GenerationEngine(tiny_checkpoint, prefix_cache=True)
    for engine in (plain, cached):
        engine.setup()
        engine.ensure_adapter(spec(lora_adapters, "alpha"))
    requests = [
        GenerationRequest("1", chat("Revenue drivers?"), max_new_tokens=10),
        GenerationRequest("2", chat("Margin outlook for the next two quarters?"), adapter="alpha", max_new_tokens=10),
        GenerationRequest("3", chat("Rate AAPL."), json_schema=RATING_SCHEMA, max_new_tokens=30),
        GenerationRequest("4", chat("Revenue drivers, again?"), max_new_tokens=10),
    ]
    for request in requests:
        assert cached.predict([request])[0].text == plain.predict([request])[0].text
    assert cached.prefix_hits >= 2  # the base prefix reused by requests 3 and 4
