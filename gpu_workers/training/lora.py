"""LoRA instruction tuning of the base causal LM on chat examples (prompt messages -> assistant response).

The loop has the shape Opacus wraps: a ``torch.utils.data.DataLoader`` over tokenised examples, an
optimizer over the trainable LoRA parameters only, and a loss that is the mean of per-example
losses (each example's mean token loss over its response). ``build_training_objects()`` builds the
three; ``train_lora_adapter(make_private=...)`` is the seam where the differentially private
variant will hand them to ``PrivacyEngine.make_private`` and get the wrapped ones back.

Adapters are versioned artefacts: ``ADAPTER_FORMAT_VERSION`` plus a content hash over the adapter
files, written next to them in ``training_report.json`` with the dataset hash and the config.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ADAPTER_FORMAT_VERSION = 2  # bump when the adapter files or the prompt/label layout change (2: S1..Sn handles)
TRAINING_REPORT_FILE = "training_report.json"
IGNORE_INDEX = -100  # torch cross-entropy's ignore_index: prompt and padding carry no loss


class AdapterTrainingError(RuntimeError):
    """Training finished but the adapter is unusable (unchanged weights, non-finite values, no generation)."""


@dataclass(frozen=True)
class ChatExample:
    messages: list[dict[str, str]]  # system/user messages (the prompt)
    response: str  # the assistant's answer the model learns


@dataclass(frozen=True)
class LoraTrainingConfig:
    rank: int = 8
    alpha: int = 16
    dropout: float = 0.05
    target_modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj")
    learning_rate: float = 2e-4
    steps: int = 40
    batch_size: int = 2
    max_length: int = 768
    seed: int = 0
    threads: int = 1

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["target_modules"] = list(self.target_modules)
        return data


@dataclass(frozen=True)
class TrainingReport:
    adapter_path: Path
    file_hash: str  # adapter_file_hash(adapter_path)
    base_model_path: str
    steps: int
    examples: int
    train_tokens: int  # non-padding tokens through the model (prompt + response), summed over steps
    loss_first: float
    loss_last: float
    seconds: float  # the optimisation loop only (not model loading or saving)
    tokens_per_second: float
    dataset_hash: str
    config: dict[str, Any]
    format_version: int
    losses: list[float] = field(default_factory=list)  # one per step, for the loss curve

    def to_json_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("adapter_path")
        return data


@dataclass
class TrainingObjects:
    """What a training step needs; the DP variant replaces all three with Opacus' wrapped versions."""

    model: Any  # the peft model (or GradSampleModule)
    optimizer: Any
    data_loader: Any


MakePrivate = Callable[[TrainingObjects], TrainingObjects]


def chat_examples(items: Iterable[Any]) -> list[ChatExample]:
    """ChatExamples from ``fixtures.instruction_data`` examples (``chat_pair()``) or (messages, response) pairs."""
    examples = []
    for item in items:
        messages, response = item.chat_pair() if hasattr(item, "chat_pair") else item
        examples.append(ChatExample(messages=list(messages), response=response))
    return examples


def dataset_hash(examples: Sequence[ChatExample]) -> str:
    canonical = json.dumps(
        [{"messages": e.messages, "response": e.response} for e in examples],
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def adapter_file_hash(path: Path) -> str:
    """The adapter's identity: the model worker's ``adapter_fingerprint``, so the hash the registry records
    at training is the one ``GenerationEngine.ensure_adapter`` verifies before loading."""
    from gpu_workers.generation.checkpoints import adapter_fingerprint

    return adapter_fingerprint(Path(path))


# --- data ------------------------------------------------------------------------------------------


def tokenize_example(tokenizer: Any, example: ChatExample, max_length: int) -> dict[str, list[int]]:
    """input_ids and labels: the chat-template prompt (labels -100) then the response and EOS.

    An over-long example loses the start of its prompt, never its response: the response is what
    the loss is computed on.
    """
    prompt_text = tokenizer.apply_chat_template(example.messages, tokenize=False, add_generation_prompt=True)
    prompt = tokenizer(prompt_text, add_special_tokens=False)["input_ids"]
    response = [*tokenizer(example.response, add_special_tokens=False)["input_ids"], tokenizer.eos_token_id]
    if len(response) >= max_length:
        response = response[: max_length - 1]
    keep = max_length - len(response)
    prompt = prompt[-keep:] if len(prompt) > keep else prompt
    return {"input_ids": prompt + response, "labels": [IGNORE_INDEX] * len(prompt) + response}


class _PadCollator:
    """Pads each batch to its longest example (right padding; labels -100 on the padding)."""

    def __init__(self, pad_token_id: int) -> None:
        self.pad_token_id = pad_token_id

    def __call__(self, features: list[dict[str, list[int]]]) -> dict[str, Any]:
        import torch

        width = max(len(f["input_ids"]) for f in features)
        ids, labels, mask = [], [], []
        for f in features:
            pad = width - len(f["input_ids"])
            ids.append(f["input_ids"] + [self.pad_token_id] * pad)
            labels.append(f["labels"] + [IGNORE_INDEX] * pad)
            mask.append([1] * len(f["input_ids"]) + [0] * pad)
        return {"input_ids": torch.tensor(ids), "labels": torch.tensor(labels), "attention_mask": torch.tensor(mask)}


def response_window(labels: Any) -> int:
    """The first position whose logits any row's loss needs: the token before the earliest response.

    Only positions from there on are projected onto the 49k-entry vocabulary (``logits_to_keep``):
    the prompt's logits, most of a batch's, are never computed or stored.
    """
    import torch

    learned = labels != IGNORE_INDEX
    if not bool(learned.any()):
        return 0
    first = torch.where(
        learned.any(dim=1), learned.float().argmax(dim=1), torch.full_like(labels[:, 0], labels.size(1))
    )
    return max(int(first.min()) - 1, 0)


def per_example_loss(logits: Any, labels: Any) -> Any:
    """Mean token cross-entropy of each example's response, shape (batch,).

    Per-example (not per-token) means keep every example's weight equal whatever its length, which
    is also the unit Opacus clips.
    """
    import torch.nn.functional as F

    shifted_logits = logits[:, :-1, :].float()
    shifted_labels = labels[:, 1:]
    token_loss = F.cross_entropy(
        shifted_logits.reshape(-1, shifted_logits.size(-1)),
        shifted_labels.reshape(-1),
        ignore_index=IGNORE_INDEX,
        reduction="none",
    ).view(shifted_labels.shape)
    counts = (shifted_labels != IGNORE_INDEX).sum(dim=1).clamp(min=1)
    return token_loss.sum(dim=1) / counts


# --- training --------------------------------------------------------------------------------------


def build_training_objects(
    model: Any, features: Sequence[dict[str, list[int]]], pad_token_id: int, config: LoraTrainingConfig
) -> TrainingObjects:
    """The model, an AdamW over its trainable (LoRA) parameters and a seeded, shuffling DataLoader."""
    import torch
    from torch.utils.data import DataLoader

    generator = torch.Generator().manual_seed(config.seed)
    loader = DataLoader(
        list(features),
        batch_size=config.batch_size,
        shuffle=True,
        generator=generator,
        collate_fn=_PadCollator(pad_token_id),
        num_workers=0,
    )
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=config.learning_rate)
    return TrainingObjects(model=model, optimizer=optimizer, data_loader=loader)


def _load_peft_model(base_model_path: Path, config: LoraTrainingConfig) -> tuple[Any, Any]:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(base_model_path))
    base = AutoModelForCausalLM.from_pretrained(str(base_model_path), dtype=torch.float32)
    base.config.use_cache = False
    lora = LoraConfig(
        task_type="CAUSAL_LM",
        r=config.rank,
        lora_alpha=config.alpha,
        lora_dropout=config.dropout,
        target_modules=list(config.target_modules),
        bias="none",
    )
    return get_peft_model(base, lora), tokenizer


def _lora_b_norms(named_tensors: Iterable[tuple[str, Any]]) -> dict[str, float]:
    return {name: float(t.detach().float().abs().sum()) for name, t in named_tensors if "lora_B" in name}


def _verify_adapter(model: Any, tokenizer: Any, out_dir: Path, probe: ChatExample) -> None:
    """Guards against LoRA updates silently lost or corrupted (seen upstream with Opacus and some peft
    versions): every saved B matrix must be finite and non-zero, and the adapted model must generate."""
    import torch
    from safetensors.torch import load_file

    saved = load_file(str(out_dir / "adapter_model.safetensors"))
    norms = _lora_b_norms(saved.items())
    if not norms:
        raise AdapterTrainingError(f"no LoRA B matrices in {out_dir / 'adapter_model.safetensors'}")
    if not all(math.isfinite(v) for v in norms.values()) or not all(torch.isfinite(t).all() for t in saved.values()):
        raise AdapterTrainingError("the adapter has non-finite weights")
    unchanged = sorted(name for name, value in norms.items() if value == 0.0)
    if unchanged:
        raise AdapterTrainingError(f"{len(unchanged)} of {len(norms)} LoRA B matrices are still zero: {unchanged[0]}")
    prompt = tokenizer.apply_chat_template(probe.messages, tokenize=False, add_generation_prompt=True)
    inputs = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
    model.eval()
    with torch.no_grad():
        output = model.generate(
            **inputs, max_new_tokens=4, do_sample=False, pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id
        )
    if output.shape[1] <= inputs["input_ids"].shape[1]:
        raise AdapterTrainingError("the adapted model generated no tokens")


def _write_atomically(out_dir: Path, write: Callable[[Path], None]) -> None:
    """Write into a temporary sibling and rename into place: readers never see a half-written adapter."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.parent / f".{out_dir.name}.tmp-{uuid.uuid4().hex}"
    old = out_dir.parent / f".{out_dir.name}.old-{uuid.uuid4().hex}"
    try:
        write(tmp)
        if out_dir.exists():
            out_dir.rename(old)
        tmp.rename(out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)


def train_lora_adapter(
    base_model_path: Path,
    examples: Sequence[ChatExample],
    out_dir: Path,
    *,
    config: LoraTrainingConfig = LoraTrainingConfig(),  # frozen, so sharing the default instance is safe
    progress: Callable[[int, int, float], None] | None = None,
    make_private: MakePrivate | None = None,
) -> TrainingReport:
    """Train a LoRA adapter on ``examples`` and save it (adapter files + training_report.json) at ``out_dir``.

    ``make_private`` receives the model/optimizer/DataLoader before the first step and returns the
    objects to train with (the differential-privacy seam); the saved module is unwrapped from
    ``_module`` when the returned model has one (Opacus' GradSampleModule).
    """
    if not examples:
        raise ValueError("no training examples")
    if config.steps < 1 or config.batch_size < 1:
        raise ValueError("steps and batch_size must be positive")
    import torch

    previous_threads = torch.get_num_threads()
    torch.set_num_threads(config.threads)
    try:
        torch.manual_seed(config.seed)
        model, tokenizer = _load_peft_model(Path(base_model_path), config)
        pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        features = [tokenize_example(tokenizer, e, config.max_length) for e in examples]
        objects = build_training_objects(model, features, pad_id, config)
        if make_private is not None:
            objects = make_private(objects)
        trained, optimizer, loader = objects.model, objects.optimizer, objects.data_loader

        losses: list[float] = []
        tokens = 0
        trained.train()
        started = time.perf_counter()
        batches = iter(loader)
        for step in range(1, config.steps + 1):
            try:
                batch = next(batches)
            except StopIteration:  # next epoch, reshuffled by the loader's seeded generator
                batches = iter(loader)
                batch = next(batches)
            start = response_window(batch["labels"])
            width = batch["input_ids"].size(1)
            logits = trained(
                input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], logits_to_keep=width - start
            ).logits
            loss = per_example_loss(logits, batch["labels"][:, start:]).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            value = float(loss.detach())
            if not math.isfinite(value):
                raise AdapterTrainingError(f"non-finite loss at step {step}")
            losses.append(value)
            tokens += int(batch["attention_mask"].sum())
            if progress is not None:
                progress(step, config.steps, value)
        seconds = time.perf_counter() - started

        peft_model = getattr(trained, "_module", trained)
        report_fields = {
            "base_model_path": str(base_model_path),
            "steps": config.steps,
            "examples": len(examples),
            "train_tokens": tokens,
            "loss_first": losses[0],
            "loss_last": losses[-1],
            "seconds": round(seconds, 3),
            "tokens_per_second": round(tokens / seconds, 2) if seconds > 0 else 0.0,
            "dataset_hash": dataset_hash(examples),
            "config": config.to_dict(),
            "format_version": ADAPTER_FORMAT_VERSION,
            "losses": losses,
        }

        def write(tmp: Path) -> None:
            peft_model.save_pretrained(str(tmp))
            _verify_adapter(peft_model, tokenizer, tmp, examples[0])
            provenance = {"file_hash": adapter_file_hash(tmp), **report_fields}
            (tmp / TRAINING_REPORT_FILE).write_text(json.dumps(provenance, indent=2) + "\n", encoding="utf-8")

        out_dir = Path(out_dir)
        _write_atomically(out_dir, write)
        return TrainingReport(adapter_path=out_dir, file_hash=adapter_file_hash(out_dir), **report_fields)
    finally:
        torch.set_num_threads(previous_threads)
