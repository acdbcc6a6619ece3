"""LoRA training engine: a tiny random Llama with the real SmolLM2 tokenizer (fast), and the real model (slow)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from fixtures.instruction_data import report_examples
from gpu_workers.training import (
    ADAPTER_FORMAT_VERSION,
    AdapterTrainingError,
    ChatExample,
    LoraTrainingConfig,
    adapter_file_hash,
    chat_examples,
    dataset_hash,
    train_lora_adapter,
)
from gpu_workers.training.lora import IGNORE_INDEX, tokenize_example

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

torch = pytest.importorskip("torch")
REPO = Path(__file__).resolve().parents[2]
CHECKPOINT = REPO / "var" / "models" / "smollm2-135m-instruct"


def _smollm2_tokenizer():
    from transformers import AutoTokenizer

    if (CHECKPOINT / "tokenizer.json").is_file():
        return AutoTokenizer.from_pretrained(str(CHECKPOINT))
    from gpu_workers.generation.checkpoints import packaged_smollm2_gguf

    folder, name = packaged_smollm2_gguf()
    return AutoTokenizer.from_pretrained(str(folder), gguf_file=name)


@pytest.fixture(scope="module")
def tokenizer():
    return _smollm2_tokenizer()


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory, tokenizer) -> Path:
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.set_num_threads(1)
    torch.manual_seed(0)
    config = LlamaConfig(
        num_hidden_layers=2,
        hidden_size=64,
        intermediate_size=128,
        num_attention_heads=4,
        num_key_value_heads=2,
        vocab_size=len(tokenizer),
        max_position_embeddings=1024,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    path = tmp_path_factory.mktemp("tiny-llama")
    LlamaForCausalLM(config).save_pretrained(str(path))
    tokenizer.save_pretrained(str(path))
    return path


@pytest.fixture(scope="module")
def examples() -> list[ChatExample]:
    return chat_examples(report_examples(seed=3, count=6))


# 1024 holds every report example whole (test_instruction_data checks it), so no response is cut.
FAST = LoraTrainingConfig(steps=8, batch_size=2, max_length=1024, learning_rate=5e-3, seed=1)


@pytest.fixture(scope="module")
def trained(tiny_model_dir, examples, tmp_path_factory):
    calls: list[tuple[int, int, float]] = []
    out = tmp_path_factory.mktemp("adapters") / "report-lora"
    report = train_lora_adapter(tiny_model_dir, examples, out, config=FAST, progress=lambda *a: calls.append(a))
    return report, calls


def test_labels_cover_only_the_response_and_keep_it_when_truncated(tokenizer):
    example = ChatExample(
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "word " * 400}],
        response='{"answer": [], "insufficient_evidence": true}',
    )
    features = tokenize_example(tokenizer, example, max_length=64)
    response = tokenizer(example.response, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    assert len(features["input_ids"]) == 64 == len(features["labels"])
    learned = [t for t in features["labels"] if t != IGNORE_INDEX]
    assert learned == response
    assert features["input_ids"][-len(response) :] == response
    # The prompt lost its start (left truncation) but still ends with the assistant header.
    assert tokenizer.decode(features["input_ids"][: -len(response)]).endswith("<|im_start|>assistant\n")


def test_chat_examples_are_the_workers_prompt_and_the_target_json():
    items = report_examples(seed=3, count=3)
    examples = chat_examples(items)
    assert [(e.messages, e.response) for e in examples] == [i.chat_pair() for i in items]
    assert chat_examples([(e.messages, e.response) for e in examples]) == examples


def test_loss_over_the_response_window_equals_the_loss_over_all_logits(tiny_model_dir, tokenizer, examples):
    from transformers import AutoModelForCausalLM

    from gpu_workers.training.lora import _PadCollator, per_example_loss, response_window

    model = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir), dtype=torch.float32).eval()
    batch = _PadCollator(tokenizer.pad_token_id)([tokenize_example(tokenizer, e, 1024) for e in examples[:3]])
    start = response_window(batch["labels"])
    assert 0 < start < batch["input_ids"].size(1) - 1
    with torch.no_grad():
        full = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        kept = model(
            input_ids=batch["input_ids"],
            attention_mask=batch["attention_mask"],
            logits_to_keep=batch["input_ids"].size(1) - start,
        ).logits
    assert kept.size(1) == batch["input_ids"].size(1) - start
    torch.testing.assert_close(
        per_example_loss(kept, batch["labels"][:, start:]), per_example_loss(full, batch["labels"])
    )


def test_training_lowers_the_loss_and_reports_progress(trained):
    report, calls = trained
    assert [c[0] for c in calls] == list(range(1, FAST.steps + 1))
    assert all(c[1] == FAST.steps for c in calls)
    assert report.loss_first == calls[0][2] and report.loss_last == calls[-1][2]
    first, last = sum(report.losses[:2]) / 2, sum(report.losses[-2:]) / 2
    assert last < first, report.losses
    assert report.train_tokens > 0 and report.tokens_per_second > 0
    assert report.steps == FAST.steps and report.examples == 6


def test_adapter_is_saved_with_its_hash_and_provenance(trained, examples):
    report, _ = trained
    path = report.adapter_path
    assert (path / "adapter_model.safetensors").is_file() and (path / "adapter_config.json").is_file()
    assert report.file_hash == adapter_file_hash(path)
    # The registry records this hash and the generation engine verifies it before loading the adapter.
    from gpu_workers.generation import adapter_fingerprint

    assert report.file_hash == adapter_fingerprint(path)
    provenance = json.loads((path / "training_report.json").read_text())
    assert provenance["file_hash"] == report.file_hash
    assert provenance["dataset_hash"] == dataset_hash(examples) == report.dataset_hash
    assert provenance["format_version"] == ADAPTER_FORMAT_VERSION
    assert provenance["config"]["rank"] == FAST.rank and "adapter_path" not in provenance
    # Nothing left behind by the atomic write.
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def test_lora_b_matrices_changed(trained):
    from safetensors.torch import load_file

    tensors = load_file(str(trained[0].adapter_path / "adapter_model.safetensors"))
    b = {k: v for k, v in tensors.items() if "lora_B" in k}
    assert len(b) == 2 * len(FAST.target_modules)  # two layers
    assert all(v.abs().sum() > 0 for v in b.values())


def test_same_seed_gives_the_same_adapter(trained, tiny_model_dir, examples, tmp_path):
    # CPU float32 with one thread is bitwise deterministic here, so the file hash itself must repeat.
    again = train_lora_adapter(tiny_model_dir, examples, tmp_path / "again", config=FAST)
    assert again.losses == trained[0].losses
    assert again.file_hash == trained[0].file_hash


def test_adapter_that_did_not_change_is_refused(tiny_model_dir, examples, tmp_path):
    frozen = LoraTrainingConfig(steps=1, batch_size=2, max_length=128, learning_rate=0.0)
    with pytest.raises(AdapterTrainingError, match="still zero"):
        train_lora_adapter(tiny_model_dir, examples, tmp_path / "frozen", config=frozen)
    assert not (tmp_path / "frozen").exists()


def test_make_private_seam_receives_the_training_objects(tiny_model_dir, examples, tmp_path):
    seen = {}

    def make_private(objects):
        seen["loader"] = type(objects.data_loader).__name__
        seen["params"] = sum(p.numel() for g in objects.optimizer.param_groups for p in g["params"])
        seen["trainable"] = sum(p.numel() for p in objects.model.parameters() if p.requires_grad)
        return objects

    config = LoraTrainingConfig(steps=1, batch_size=2, max_length=128)
    train_lora_adapter(tiny_model_dir, examples, tmp_path / "seam", config=config, make_private=make_private)
    assert seen["loader"] == "DataLoader"
    assert seen["params"] == seen["trainable"] > 0


@pytest.mark.slow
def test_real_smollm2_trains_and_the_adapter_loads_and_generates(tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base = CHECKPOINT
    if not (base / "model.safetensors").is_file():
        from gpu_workers.generation.checkpoints import convert_gguf_checkpoint

        base = convert_gguf_checkpoint(tmp_path / "base")
    examples = chat_examples(report_examples(seed=0, count=6))
    config = LoraTrainingConfig(steps=3, batch_size=2, max_length=1024)
    report = train_lora_adapter(base, examples, tmp_path / "adapter", config=config)
    assert all(torch.isfinite(torch.tensor(report.losses)))
    tokenizer = AutoTokenizer.from_pretrained(str(base))
    model = PeftModel.from_pretrained(
        AutoModelForCausalLM.from_pretrained(str(base), dtype=torch.float32), str(report.adapter_path)
    )
    prompt = tokenizer.apply_chat_template(examples[0].messages, tokenize=False, add_generation_prompt=True)
    inputs = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
    out = model.generate(**inputs, max_new_tokens=8, do_sample=False, pad_token_id=tokenizer.eos_token_id)
    assert out.shape[1] > inputs["input_ids"].shape[1]
