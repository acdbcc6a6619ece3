"""Generation in the model worker: the engine of this process, the result cache, the audited call.

Every generation (report, answer, replay) goes through :func:`generate_audited`, which
writes one audit record per request, also for cache hits and failures.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.cache import caches

from apps.audit.hashing import content_hash
from apps.audit.models import InferenceKind
from apps.audit.services import Actor, audited
from gpu_workers.runtime import model_cache

logger = logging.getLogger(__name__)

RESULT_CACHE_PREFIX = "argus:generation:v2:"


class GenerationUnavailable(RuntimeError):
    """No base model is registered, or its checkpoint does not match the registry."""


def generation_engine() -> Any:
    """The generation engine of this worker process: the registry's default base model, loaded once."""
    from apps.registry.selectors import base_model_default

    base = base_model_default()
    if base is None:
        raise GenerationUnavailable("No base model is registered: run `manage.py prepare_models`.")

    def load() -> Any:
        from pathlib import Path

        from gpu_workers.generation import GenerationEngine

        engine = GenerationEngine(
            Path(base.path),
            device=settings.ARGUS_DEVICE,
            threads=settings.ARGUS_TORCH_THREADS,
            max_loaded_adapters=settings.ARGUS_MAX_LOADED_ADAPTERS,
            max_batch_size=max(1, settings.ARGUS_GENERATION_BATCH_SIZE),
            # Reuses the system prompt's KV for single requests (answers, lone reports); same output.
            prefix_cache=settings.ARGUS_PREFIX_CACHE,
        )
        engine.setup()
        if engine.model_version != base.content_hash:
            raise GenerationUnavailable(
                f"Checkpoint {base.path} hashes to {engine.model_version[:16]}, the registry says "
                f"{base.content_hash[:16]}: refusing to serve a model that is not the registered one."
            )
        engine.registry_name = base.name
        return engine

    # One generation slot: when the registry's default changes, the old base model is dropped.
    return model_cache.get(f"generation:{base.name}:{base.content_hash}", load, slot="generation")


def adapter_label(adapter: Any) -> str:
    """The engine's name for a registry adapter row."""
    return f"{adapter.name}@{adapter.version}"


def adapter_load(engine: Any, adapter: Any) -> str:
    """Make ``adapter`` (a registry row) available in the engine; returns the engine's adapter name."""
    from pathlib import Path

    from gpu_workers.generation import AdapterSpec

    label = adapter_label(adapter)
    engine.ensure_adapter(
        AdapterSpec(name=label, version=str(adapter.version), path=Path(adapter.path), file_hash=adapter.file_hash)
    )
    return label


@dataclass
class GenerationItem:
    """One generation to run, with what its audit record must say."""

    request: Any  # gpu_workers.generation.GenerationRequest
    actor: Actor
    purpose: str  # "report" | "answer" | "replay"
    adapter_version: str = ""  # the adapter's file hash ("" for the base model)
    job_id: Any = None
    task_id: str = ""
    chunk_ids: list[str] = field(default_factory=list)
    document_ids: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    use_cache: bool = True


@dataclass
class GenerationOutcome:
    text: str
    tokens_in: int
    tokens_out: int
    finish_reason: str
    cache_hit: bool
    record_seq: int | None
    prompt_hash: str


def _constraint(request: Any) -> dict[str, Any]:
    if request.json_schema is not None:
        return {"json_schema": request.json_schema}
    if request.regex is not None:
        return {"regex": request.regex}
    if request.choices is not None:
        return {"choices": list(request.choices)}
    return {}


def _parameters(request: Any) -> dict[str, Any]:
    return {
        "max_new_tokens": request.max_new_tokens,
        "temperature": request.temperature,
        "top_p": request.top_p,
        "seed": request.seed,
        "decoding": "greedy" if request.temperature == 0 else "sampled",
        "constraint": next(iter(_constraint(request)), "none"),
    }


def result_cache_key(*, engine: Any, item: GenerationItem) -> str:
    """Model, adapter, prompt, constraint, decoding parameters and the retrieved chunks: all of it."""
    request = item.request
    return RESULT_CACHE_PREFIX + content_hash(
        {
            "model": engine.model_version,
            "adapter": request.adapter or "",
            "adapter_version": item.adapter_version,
            "messages": request.messages,
            "constraint": _constraint(request),
            "parameters": _parameters(request),
            "chunk_ids": item.chunk_ids,
        }
    )


def _cache() -> Any:
    return caches["default"]


def generate_audited(engine: Any, items: list[GenerationItem]) -> list[GenerationOutcome]:
    """Run the items as one batch (cache hits answered first), one audit record per item."""
    outcomes: list[GenerationOutcome | None] = [None] * len(items)
    misses: list[int] = []
    for index, item in enumerate(items):
        cached = _cache().get(result_cache_key(engine=engine, item=item)) if item.use_cache else None
        if cached is None:
            misses.append(index)
            continue
        with _audit(engine, item, batch_size=1) as call:
            call.cache_hit = True
            _fill_call(call, cached, item)
        outcomes[index] = GenerationOutcome(
            **cached, cache_hit=True, record_seq=call.record.seq if call.record else None
        )

    if misses:
        with ExitStack() as stack:
            calls = [stack.enter_context(_audit(engine, items[i], batch_size=len(misses))) for i in misses]
            results = engine.predict([items[i].request for i in misses])
            for index, call, result in zip(misses, calls, results, strict=True):
                produced = {
                    "text": result.text,
                    "tokens_in": result.tokens_in,
                    "tokens_out": result.tokens_out,
                    "finish_reason": result.finish_reason,
                    "prompt_hash": result.prompt_hash,
                }
                _fill_call(call, produced, items[index])
                if items[index].use_cache:
                    _cache().set(
                        result_cache_key(engine=engine, item=items[index]),
                        produced,
                        timeout=settings.ARGUS_RESULT_CACHE_SECONDS,
                    )
                outcomes[index] = GenerationOutcome(**produced, cache_hit=False, record_seq=None)
        # Records are written when the audit contexts close; fill in their positions now.
        for index, call in zip(misses, calls, strict=True):
            outcome = outcomes[index]
            if outcome is not None and call.record is not None:
                outcome.record_seq = call.record.seq
    return [o for o in outcomes if o is not None]


@contextmanager
def _audit(engine: Any, item: GenerationItem, *, batch_size: int) -> Iterator[Any]:
    from gpu_workers.generation import constraint_hash

    request = item.request
    constraint = _constraint(request)
    with audited(
        kind=InferenceKind.GENERATE,
        actor=item.actor,
        model_name=getattr(engine, "registry_name", "") or engine.model_name,
        model_version=engine.model_version,
        adapter_name=request.adapter or "",
        adapter_version=item.adapter_version,
        parameters=_parameters(request),
        model_input={"messages": request.messages, **constraint},
        # Prompts are built from chunks redacted at ingest: they hold no PII. The text is for
        # reading (and may be cut); the messages are kept whole, for replay.
        input_redacted=json.dumps(request.messages, ensure_ascii=False),
        input_messages=list(request.messages),
        job_id=item.job_id,
        task_id=item.task_id,
    ) as call:
        call.chunk_ids = list(item.chunk_ids)
        call.document_ids = list(item.document_ids)
        call.details = {
            "purpose": item.purpose,
            "batch_size": batch_size,
            # The engine's hash of the canonical constraint (what its grammar cache is keyed by).
            "schema_hash": constraint_hash(
                json_schema=request.json_schema, regex=request.regex, choices=request.choices
            ),
            **({"constraint": constraint} if constraint else {}),
            **item.details,
        }
        yield call


def _fill_call(call: Any, produced: dict[str, Any], item: GenerationItem) -> None:
    call.output = produced["text"]
    call.output_text = produced["text"]
    call.tokens_in = produced["tokens_in"]
    call.tokens_out = produced["tokens_out"]
    call.details = {
        **call.details,
        "prompt_hash": produced["prompt_hash"],
        "finish_reason": produced["finish_reason"],
    }


def _recorded_messages(record: Any) -> list[dict[str, Any]]:
    """The messages as sent; records written before ``input_messages`` existed hold them only as text."""
    if record.input_messages is not None:
        return record.input_messages
    return json.loads(record.input_redacted)


def replay_request(record: Any) -> Any:
    """Rebuild the generation request of an audit record from what the record holds."""
    from gpu_workers.generation import GenerationRequest

    constraint = (record.details or {}).get("constraint") or {}
    params = record.parameters or {}
    return GenerationRequest(
        request_id=f"replay-{record.seq}",
        messages=_recorded_messages(record),
        adapter=record.adapter_name or None,
        json_schema=constraint.get("json_schema"),
        regex=constraint.get("regex"),
        choices=constraint.get("choices"),
        max_new_tokens=int(params.get("max_new_tokens", 256)),
        temperature=float(params.get("temperature", 0.0)),
        top_p=float(params.get("top_p", 1.0)),
        seed=int(params.get("seed", 0)),
    )


__all__ = [
    "GenerationItem",
    "GenerationOutcome",
    "GenerationUnavailable",
    "adapter_label",
    "adapter_load",
    "generate_audited",
    "generation_engine",
    "replay_request",
    "result_cache_key",
]
