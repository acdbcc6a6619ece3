"""Constrained decoding on a random model: whatever it would say, the output parses and validates.

The tiny model's unconstrained output is garbage, so valid output here proves the
grammar (and the engine's wiring of it), not the model.
"""

from __future__ import annotations

import re

import jsonschema
import pytest

from gpu_workers.generation.constrained import (
    ConstrainedOutputError,
    ConstraintError,
    canonical_constraint,
    constraint_hash,
    parse_json_output,
)
from gpu_workers.generation.engine import GenerationEngine, GenerationRequest

SCHEMAS = {
    "enum": {"type": "object", "properties": {"rating": {"enum": ["buy", "hold", "sell"]}}, "required": ["rating"]},
    "const": {
        "type": "object",
        "properties": {"currency": {"const": "USD"}, "audited": {"type": "boolean"}},
        "required": ["currency", "audited"],
        "additionalProperties": False,
    },
    "pattern": {
        "type": "object",
        "properties": {"ticker": {"type": "string", "pattern": "^[A-Z]{1,5}$"}},
        "required": ["ticker"],
    },
    "integer-range": {
        "type": "object",
        "properties": {"score": {"type": "integer", "minimum": -5, "maximum": 250}},
        "required": ["score"],
    },
    "prefix-items": {
        "type": "object",
        "properties": {
            "metrics": {
                "type": "array",
                "prefixItems": [{"const": "RSI"}, {"const": "MACD"}],
                "items": {"enum": ["EPS", "ROE", "FCF"]},
                "minItems": 3,
                "maxItems": 4,
            }
        },
        "required": ["metrics"],
    },
    "nested": {
        "type": "object",
        "properties": {
            "company": {
                "type": "object",
                "properties": {
                    "ticker": {"type": "string", "pattern": "^[A-Z]{2,4}$"},
                    "risk": {"type": "object", "properties": {"level": {"enum": ["watch", "warning", "critical"]}}},
                },
                "required": ["ticker", "risk"],
                "additionalProperties": False,
            }
        },
        "required": ["company"],
        "additionalProperties": False,
    },
    "any-of": {
        "type": "object",
        "properties": {
            "value": {
                "anyOf": [
                    {"type": "integer", "minimum": 0, "maximum": 100},
                    {"type": "string", "enum": ["n/a", "withheld"]},
                ]
            }
        },
        "required": ["value"],
    },
}


@pytest.fixture(scope="module")
def engine(tiny_checkpoint):
    engine = GenerationEngine(tiny_checkpoint)
    engine.setup()
    return engine


def chat(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def test_unconstrained_tiny_model_output_is_not_json(engine):
    # The premise of this file: without the grammar the model does not produce the schema.
    result = engine.predict([GenerationRequest("u", chat("Give JSON"), max_new_tokens=20)])[0]
    with pytest.raises(ConstrainedOutputError):
        parse_json_output(result.text, SCHEMAS["enum"])


def test_constrained_output_always_parses_and_validates(engine):
    requests = [
        GenerationRequest(
            f"{name}-{seed}",
            chat(f"Report {seed}"),
            json_schema=schema,
            max_new_tokens=80,
            temperature=1.0 if seed else 0.0,
            seed=seed,
        )
        for name, schema in SCHEMAS.items()
        for seed in range(3)
    ]
    results = engine.predict(requests)
    for request, result in zip(requests, results, strict=True):
        assert result.finish_reason == "stop", result.text
        value = parse_json_output(result.text, request.json_schema)
        jsonschema.validate(value, request.json_schema)
        assert result.schema_hash == constraint_hash(json_schema=request.json_schema)
    metrics = [parse_json_output(r.text)["metrics"] for r in results if r.request_id.startswith("prefix-items")]
    assert all(m[:2] == ["RSI", "MACD"] and 3 <= len(m) <= 4 for m in metrics)


def test_regex_and_choices_constraints(engine):
    pattern = r"(BUY|HOLD|SELL) [0-9]{2,3}"
    requests = [
        GenerationRequest(f"re-{seed}", chat("Call?"), regex=pattern, temperature=1.0, seed=seed, max_new_tokens=20)
        for seed in range(3)
    ]
    options = ['watch "list"', "warning", "crit\\ical"]  # quotes and backslashes survive the grammar
    requests += [
        GenerationRequest(f"ch-{seed}", chat("Level?"), choices=options, temperature=1.0, seed=seed)
        for seed in range(3)
    ]
    for request, result in zip(requests, engine.predict(requests), strict=True):
        if request.regex:
            assert re.fullmatch(pattern, result.text), result.text
        else:
            assert result.text in options


def test_grammars_are_compiled_once_per_constraint(engine):
    before = engine.grammars.compilations
    schema = {"type": "object", "properties": {"x": {"type": "integer", "minimum": 0, "maximum": 9}}}
    reordered = {"properties": {"x": {"maximum": 9, "minimum": 0, "type": "integer"}}, "type": "object"}
    for s in (schema, schema, reordered):
        engine.predict([GenerationRequest("c", chat("x"), json_schema=s, max_new_tokens=20)])
    assert engine.grammars.compilations == before + 1


def test_constraint_hash_is_canonical_and_exclusive():
    a = {"type": "object", "properties": {"a": {"type": "integer"}}}
    b = {"properties": {"a": {"type": "integer"}}, "type": "object"}
    assert constraint_hash(json_schema=a) == constraint_hash(json_schema=b)
    assert len(constraint_hash(json_schema=a)) == 64
    assert constraint_hash() == "" and canonical_constraint() == ""
    assert constraint_hash(regex="a+") != constraint_hash(choices=["a+"])
    assert constraint_hash(choices=["x", "y"]) != constraint_hash(choices=["y", "x"])  # order is part of it
    with pytest.raises(ConstraintError, match="at most one"):
        constraint_hash(json_schema=a, regex="x")
    with pytest.raises(ConstraintError):
        constraint_hash(choices=[])


def test_parse_json_output_errors_are_clear():
    assert parse_json_output('{"note": "line\nbreak"}') == {"note": "line\nbreak"}  # raw control char allowed
    with pytest.raises(ConstrainedOutputError, match="not valid JSON"):
        parse_json_output('{"rating": "bu')
    with pytest.raises(ConstrainedOutputError, match="does not match the schema"):
        parse_json_output('{"rating": "short"}', SCHEMAS["enum"])
