"""Batched chat generation over one base causal LM, with LoRA adapters and constrained decoding.

One ``generate()`` runs a whole batch: left padding, one grammar per row (or none),
one adapter per row (peft mixed-adapter batches, ``"__base__"`` for the base model),
one decoding setting per row. Sampling is done row by row in a logits processor with
a generator seeded from the request, so ``generate()`` itself runs greedy and a
sampled request's tokens do not depend on what else is in its batch.
"""

from __future__ import annotations

import copy
import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from gpu_workers.generation.checkpoints import adapter_fingerprint, checkpoint_fingerprint, is_complete_checkpoint
from gpu_workers.generation.constrained import GrammarCache, constraint_hash, grammar_logits_processor
from gpu_workers.runtime import configure_torch_threads, select_device

BASE_ADAPTER = "__base__"  # peft's name for "no adapter" in a mixed batch


class AdapterHashMismatch(ValueError):
    """An adapter's files do not hash to the version the registry recorded: refused, nothing loaded."""


class UnknownAdapter(KeyError):
    """A request names an adapter that is not loaded (call ensure_adapter first)."""


class PromptTooLong(ValueError):
    """The rendered prompt leaves no room for a single new token in the model's context."""


@dataclass(frozen=True)
class AdapterSpec:
    name: str
    version: str
    path: Path
    file_hash: str  # the expected adapter_fingerprint(path)


@dataclass(frozen=True)
class GenerationRequest:
    request_id: str
    messages: list[dict[str, str]]  # chat messages, rendered with the tokenizer's chat template
    adapter: str | None = None  # a loaded adapter's name; None = base model
    json_schema: dict[str, Any] | None = None  # at most one of json_schema, regex, choices
    regex: str | None = None
    choices: list[str] | None = None
    max_new_tokens: int = 256
    temperature: float = 0.0  # 0 = greedy
    top_p: float = 1.0
    seed: int = 0


@dataclass(frozen=True)
class GenerationResult:
    request_id: str
    text: str
    tokens_in: int
    tokens_out: int  # generated tokens, the closing EOS included
    finish_reason: str  # "stop" | "length"
    prompt_hash: str  # sha256 of the rendered prompt text
    schema_hash: str  # sha256 of the canonical constraint ("" when unconstrained)
    adapter: str | None
    adapter_version: str  # "" for the base model
    batch_size: int  # rows in the generate() call that produced it
    latency_ms: float  # wall time of that generate() call


@dataclass
class _LoadedAdapter:
    spec: AdapterSpec
    peft_name: str  # name inside the peft model: name@hash, so a new version loads before the old goes


@dataclass
class _Prepared:
    index: int
    request: GenerationRequest
    prompt: str
    input_ids: list[int]
    adapter: _LoadedAdapter | None
    grammar: Any | None
    schema_hash: str
    max_new_tokens: int
    prefix_len: int = 0  # prompt tokens served from the prefix KV cache


class GenerationEngine:
    """setup() loads the tokenizer and model once; predict() generates for a batch of requests.

    Thread-safe: a lock serialises model use (one batch at a time per process).
    """

    def __init__(
        self,
        model_path: Path,
        *,
        device: str = "auto",
        threads: int = 1,
        dtype: str = "auto",
        max_loaded_adapters: int = 4,
        max_batch_size: int = 16,
        prefix_cache: bool = False,
        prefix_cache_entries: int = 8,
        grammar_cache_entries: int = 256,
    ) -> None:
        if max_loaded_adapters < 1:
            raise ValueError("max_loaded_adapters must be at least 1")
        self.model_path = Path(model_path)
        self.device_preference = device
        self.threads = threads
        self.dtype_preference = dtype
        self.max_loaded_adapters = max_loaded_adapters
        self.max_batch_size = max_batch_size
        self.prefix_cache = prefix_cache
        self.prefix_cache_entries = prefix_cache_entries
        self.grammar_cache_entries = grammar_cache_entries
        self.tokenizer: Any = None
        self.base_model: Any = None
        # The peft model once an adapter is loaded. peft injects the LoRA layers into base_model in
        # place, so base_model's own forward then runs the active adapter: generate through self.model.
        self.model: Any = None
        self.grammars: GrammarCache | None = None
        self.device = "cpu"
        self.dtype = ""
        self.model_name = ""
        self.model_version = ""
        self.context_length = 0
        self.eos_token_ids: list[int] = []
        self.pad_token_id = 0
        self._adapters: OrderedDict[str, _LoadedAdapter] = OrderedDict()  # LRU, most recent last
        self._prefixes: OrderedDict[tuple[str, tuple[int, ...]], Any] = OrderedDict()
        self._lock = threading.RLock()
        self.prefix_hits = 0

    # --- set-up ------------------------------------------------------------------------

    def setup(self) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if self.model is not None:
            return
        if not is_complete_checkpoint(self.model_path):
            raise FileNotFoundError(f"no checkpoint (config.json, *.safetensors, tokenizer) at {self.model_path}")
        configure_torch_threads(self.threads)
        self.device = select_device(self.device_preference)
        torch_dtype = self._resolve_dtype(torch)
        self.tokenizer = AutoTokenizer.from_pretrained(str(self.model_path), local_files_only=True)
        # Decoder-only batches pad on the left so that every row's next token follows its prompt.
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        model = AutoModelForCausalLM.from_pretrained(str(self.model_path), dtype=torch_dtype, local_files_only=True)
        self.base_model = model.to(self.device).eval()
        self.model = self.base_model
        config = self.base_model.config
        self.dtype = str(torch_dtype).removeprefix("torch.")
        self.model_name = self.model_path.name
        self.model_version = checkpoint_fingerprint(self.model_path)
        self.context_length = int(getattr(config, "max_position_embeddings", 0) or 0)
        self.pad_token_id = int(self.tokenizer.pad_token_id)
        eos = getattr(self.base_model.generation_config, "eos_token_id", None)
        eos_ids = [eos] if isinstance(eos, int) else list(eos or [])
        if self.tokenizer.eos_token_id is not None:
            eos_ids.append(int(self.tokenizer.eos_token_id))
        self.eos_token_ids = sorted(set(eos_ids))
        self.grammars = GrammarCache(self.tokenizer, config.vocab_size, max_entries=self.grammar_cache_entries)

    def _resolve_dtype(self, torch: Any) -> Any:
        if self.dtype_preference != "auto":
            return getattr(torch, self.dtype_preference)
        if self.device.startswith("cuda"):
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32

    # --- adapters ----------------------------------------------------------------------

    def ensure_adapter(self, spec: AdapterSpec) -> None:
        """Load an adapter unless this version is loaded; verify its hash first, evict the least recent."""
        from peft import PeftModel

        with self._lock:
            loaded = self._adapters.get(spec.name)
            if loaded is not None and loaded.spec.file_hash == spec.file_hash and loaded.spec.version == spec.version:
                self._adapters.move_to_end(spec.name)
                return
            actual = adapter_fingerprint(Path(spec.path))
            if actual != spec.file_hash:
                raise AdapterHashMismatch(
                    f"adapter {spec.name} {spec.version}: files hash to {actual}, registry says {spec.file_hash}"
                )
            peft_name = f"{spec.name}@{spec.file_hash[:16]}"
            if isinstance(self.model, PeftModel):
                if peft_name in self.model.peft_config:  # same files, new version label: reuse the weights
                    pass
                else:
                    self.model.load_adapter(str(spec.path), adapter_name=peft_name, is_trainable=False)
            else:
                self.model = PeftModel.from_pretrained(
                    self.base_model, str(spec.path), adapter_name=peft_name, is_trainable=False
                )
                self.model.eval()
            if loaded is not None:
                del self._adapters[spec.name]
                self._drop_peft_adapter(loaded.peft_name)
            self._adapters[spec.name] = _LoadedAdapter(spec=spec, peft_name=peft_name)
            while len(self._adapters) > self.max_loaded_adapters:
                _, evicted = self._adapters.popitem(last=False)
                self._drop_peft_adapter(evicted.peft_name)

    def _drop_peft_adapter(self, peft_name: str) -> None:
        if any(a.peft_name == peft_name for a in self._adapters.values()):
            return
        for key in [k for k in self._prefixes if k[0] == peft_name]:
            del self._prefixes[key]
        if peft_name in self.model.peft_config:
            # peft keeps one adapter active; make it one that stays before deleting.
            remaining = [name for name in self.model.peft_config if name != peft_name]
            if remaining and self.model.active_adapter == peft_name:
                self.model.set_adapter(remaining[0])
            self.model.delete_adapter(peft_name)

    def loaded_adapters(self) -> list[str]:
        """Names of the loaded adapters, least recently used first."""
        with self._lock:
            return list(self._adapters)

    def adapter_version(self, name: str) -> str:
        with self._lock:
            return self._adapters[name].spec.version

    # --- ModelStep hooks ----------------------------------------------------------------

    def decode(self, request: GenerationRequest | Mapping[str, Any]) -> GenerationRequest:
        """A request from a task payload (a dict) or as it is; checks the constraint and the adapter."""
        if not isinstance(request, GenerationRequest):
            request = GenerationRequest(**dict(request))
        constraint_hash(json_schema=request.json_schema, regex=request.regex, choices=request.choices)
        if request.max_new_tokens < 1:
            raise ValueError("max_new_tokens must be at least 1")
        if request.temperature < 0 or not 0 < request.top_p <= 1:
            raise ValueError("temperature must be >= 0 and top_p in (0, 1]")
        return request

    def encode(self, result: GenerationResult) -> dict[str, Any]:
        return asdict(result)

    def render_prompt(self, messages: Sequence[Mapping[str, str]]) -> str:
        return self.tokenizer.apply_chat_template(list(messages), tokenize=False, add_generation_prompt=True)

    def count_prompt_tokens(self, messages: Sequence[Mapping[str, str]]) -> int:
        return len(self._tokenize(self.render_prompt(messages)))

    def _tokenize(self, text: str) -> list[int]:
        # The chat template already holds the special tokens.
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def check(self, request: GenerationRequest) -> None:
        """Raise what :meth:`predict` would raise for this request alone (bad parameters or constraint,
        an adapter that is not loaded, a prompt that fills the context), without generating."""
        if self.model is None:
            raise RuntimeError("GenerationEngine.setup() has not run")
        with self._lock:
            self._prepare(0, self.decode(request))

    def predict(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        """Generate for every request, in order; one generate() per max_batch_size rows."""
        if not requests:
            return []
        if self.model is None:
            raise RuntimeError("GenerationEngine.setup() has not run")
        with self._lock:
            prepared = [self._prepare(i, self.decode(r)) for i, r in enumerate(requests)]
            results: list[GenerationResult | None] = [None] * len(prepared)
            if self.prefix_cache and len(prepared) == 1:
                groups = [prepared]
            else:
                # Similar lengths together: less padding per generate().
                ordered = sorted(prepared, key=lambda p: len(p.input_ids))
                groups = [ordered[i : i + self.max_batch_size] for i in range(0, len(ordered), self.max_batch_size)]
            for group in groups:
                for item, result in zip(group, self._generate(group), strict=True):
                    results[item.index] = result
            return [r for r in results if r is not None]

    # --- internals ---------------------------------------------------------------------

    def _prepare(self, index: int, request: GenerationRequest) -> _Prepared:
        adapter = None
        if request.adapter is not None:
            adapter = self._adapters.get(request.adapter)
            if adapter is None:
                raise UnknownAdapter(f"adapter {request.adapter!r} is not loaded")
            self._adapters.move_to_end(request.adapter)
        prompt = self.render_prompt(request.messages)
        input_ids = self._tokenize(prompt)
        room = self.context_length - len(input_ids) if self.context_length else request.max_new_tokens
        if room < 1:
            raise PromptTooLong(
                f"request {request.request_id}: prompt of {len(input_ids)} tokens fills the "
                f"{self.context_length}-token context"
            )
        assert self.grammars is not None
        grammar = self.grammars.get(json_schema=request.json_schema, regex=request.regex, choices=request.choices)
        return _Prepared(
            index=index,
            request=request,
            prompt=prompt,
            input_ids=input_ids,
            adapter=adapter,
            grammar=grammar,
            schema_hash=constraint_hash(json_schema=request.json_schema, regex=request.regex, choices=request.choices),
            max_new_tokens=min(request.max_new_tokens, room),
        )

    def _generate(self, group: list[_Prepared]) -> list[GenerationResult]:
        import torch
        from transformers import GenerationConfig, LogitsProcessorList, StoppingCriteriaList

        started = time.perf_counter()
        width = max(len(p.input_ids) for p in group)
        input_ids = torch.full((len(group), width), self.pad_token_id, dtype=torch.long)
        attention_mask = torch.zeros((len(group), width), dtype=torch.long)
        for row, item in enumerate(group):
            input_ids[row, width - len(item.input_ids) :] = torch.tensor(item.input_ids)
            attention_mask[row, width - len(item.input_ids) :] = 1
        max_new = max(p.max_new_tokens for p in group)
        generation_config = GenerationConfig(
            do_sample=False,
            max_new_tokens=max_new,
            eos_token_id=self.eos_token_ids,
            pad_token_id=self.pad_token_id,
        )
        processors = LogitsProcessorList()
        if any(p.grammar is not None for p in group):
            processors.append(grammar_logits_processor([p.grammar for p in group]))
        if any(p.request.temperature > 0 for p in group):
            processors.append(_row_sampler([p.request for p in group]))
        kwargs: dict[str, Any] = {}
        if self.model is not self.base_model:
            kwargs["adapter_names"] = [p.adapter.peft_name if p.adapter else BASE_ADAPTER for p in group]
        elif any(p.adapter for p in group):
            raise UnknownAdapter("an adapter was requested but none is loaded")
        if self.prefix_cache and len(group) == 1:
            kwargs["past_key_values"] = self._prefix_kv(group[0])
        with torch.inference_mode():
            output = self.model.generate(
                input_ids=input_ids.to(self.device),
                attention_mask=attention_mask.to(self.device),
                generation_config=generation_config,
                logits_processor=processors,
                stopping_criteria=StoppingCriteriaList([_row_length_limit(width, [p.max_new_tokens for p in group])]),
                **kwargs,
            )
        sequences = output.sequences if hasattr(output, "sequences") else output
        latency_ms = (time.perf_counter() - started) * 1000
        results = []
        eos = set(self.eos_token_ids)
        for row, item in enumerate(group):
            new_tokens = sequences[row, width : width + item.max_new_tokens].tolist()
            stop_at = next((i for i, token in enumerate(new_tokens) if token in eos), None)
            finish_reason = "length" if stop_at is None else "stop"
            kept = new_tokens if stop_at is None else new_tokens[:stop_at]
            results.append(
                GenerationResult(
                    request_id=item.request.request_id,
                    text=self.tokenizer.decode(kept, skip_special_tokens=True),
                    tokens_in=len(item.input_ids),
                    tokens_out=len(kept) + (0 if stop_at is None else 1),
                    finish_reason=finish_reason,
                    prompt_hash=hashlib.sha256(item.prompt.encode()).hexdigest(),
                    schema_hash=item.schema_hash,
                    adapter=item.request.adapter,
                    adapter_version=item.adapter.spec.version if item.adapter else "",
                    batch_size=len(group),
                    latency_ms=round(latency_ms, 3),
                )
            )
        return results

    def _prefix_kv(self, item: _Prepared) -> Any:
        """A copy of the cached KV of the prompt's leading system message (computed on first use)."""
        import torch
        from transformers import DynamicCache

        messages = item.request.messages
        if not messages or messages[0].get("role") != "system":
            return None
        prefix_text = self.tokenizer.apply_chat_template([messages[0]], tokenize=False, add_generation_prompt=False)
        prefix_ids = self._tokenize(prefix_text)
        # Only when the system turn tokenises to the same ids inside the full prompt, and
        # leaves at least one prompt token for generate() to feed.
        if len(prefix_ids) >= len(item.input_ids) or item.input_ids[: len(prefix_ids)] != prefix_ids:
            return None
        peft_name = item.adapter.peft_name if item.adapter else BASE_ADAPTER
        key = (peft_name, tuple(prefix_ids))
        cache = self._prefixes.get(key)
        if cache is None:
            cache = DynamicCache(config=self.base_model.config)
            kwargs = {"adapter_names": [peft_name]} if self.model is not self.base_model else {}
            with torch.inference_mode():
                self.model(
                    input_ids=torch.tensor([prefix_ids], device=self.device),
                    past_key_values=cache,
                    use_cache=True,
                    **kwargs,
                )
            self._prefixes[key] = cache
            while len(self._prefixes) > self.prefix_cache_entries:
                self._prefixes.popitem(last=False)
        else:
            self.prefix_hits += 1
        self._prefixes.move_to_end(key)
        item.prefix_len = len(prefix_ids)
        return copy.deepcopy(cache)


def _row_length_limit(prompt_width: int, limits: list[int]) -> Any:
    """Stop each row at its own max_new_tokens (generate() only knows one)."""
    import torch
    from transformers import StoppingCriteria

    class RowLengthLimit(StoppingCriteria):
        def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs: Any) -> torch.BoolTensor:
            generated = input_ids.shape[1] - prompt_width
            return torch.tensor([generated >= limit for limit in limits], device=input_ids.device)

    return RowLengthLimit()


def _row_sampler(requests: list[GenerationRequest]) -> Any:
    """Sample sampled rows with their own seeded generator; greedy rows pass through to argmax.

    The chosen token is made the only finite logit, so generate()'s greedy step picks it.
    A generator per row (seeded from the request) makes the draw independent of the batch.
    """
    import torch
    from transformers import LogitsProcessor

    generators = {
        i: torch.Generator(device="cpu").manual_seed(int(r.seed)) for i, r in enumerate(requests) if r.temperature > 0
    }

    class RowSampler(LogitsProcessor):
        def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
            for i, generator in generators.items():
                request = requests[i]
                logits = scores[i].float().cpu() / request.temperature
                probs = torch.softmax(logits, dim=-1)
                if request.top_p < 1.0:
                    sorted_probs, order = torch.sort(probs, descending=True)
                    cumulative = torch.cumsum(sorted_probs, dim=-1)
                    # Keep the smallest head whose mass reaches top_p (always at least one token).
                    drop = cumulative - sorted_probs >= request.top_p
                    sorted_probs[drop] = 0
                    probs = torch.zeros_like(probs).scatter(0, order, sorted_probs)
                token = int(torch.multinomial(probs, 1, generator=generator))
                scores[i] = float("-inf")
                scores[i, token] = 0.0
            return scores

    return RowSampler()
