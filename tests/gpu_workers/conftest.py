"""A tiny Llama checkpoint with the real SmolLM2 tokenizer, and LoRA adapters for it.

The checkpoint is saved like a real one so that the engine loads it through the same
code path; its weights are random (seeded), so tests assert structure and equalities,
never what the model says.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from gpu_workers.generation.checkpoints import (
    DEFAULT_CHECKPOINT_DIR,
    adapter_fingerprint,
    is_complete_checkpoint,
    packaged_smollm2_gguf,
)

LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj"]


def _smollm2_tokenizer():
    from transformers import AutoTokenizer

    if is_complete_checkpoint(DEFAULT_CHECKPOINT_DIR):
        return AutoTokenizer.from_pretrained(str(DEFAULT_CHECKPOINT_DIR), local_files_only=True)
    folder, file = packaged_smollm2_gguf()
    return AutoTokenizer.from_pretrained(str(folder), gguf_file=file, local_files_only=True)


def save_tiny_llama(path: Path, *, seed: int) -> Path:
    """A 2-layer Llama with the SmolLM2 tokenizer and seeded random weights, saved like a real checkpoint."""
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    torch.set_num_threads(1)
    tokenizer = _smollm2_tokenizer()
    config = LlamaConfig(
        num_hidden_layers=2,
        hidden_size=64,
        intermediate_size=128,
        num_attention_heads=4,
        num_key_value_heads=2,
        vocab_size=len(tokenizer),
        max_position_embeddings=2048,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        # Wider than the default 0.02 so that logits are far apart: a random model's
        # near-ties would make greedy decoding hinge on float rounding.
        initializer_range=0.2,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config).eval()
    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id
    )
    model.save_pretrained(str(path), safe_serialization=True)
    tokenizer.save_pretrained(str(path))
    return path


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    return save_tiny_llama(tmp_path_factory.mktemp("tiny-llama") / "tiny-smollm2", seed=1234)


@pytest.fixture(scope="session")
def make_lora_adapter(tiny_checkpoint, tmp_path_factory) -> Callable[[str, int], Path]:
    """``make_lora_adapter(name, seed)`` saves an r=4 LoRA (random non-zero B) for the tiny model."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    root = tmp_path_factory.mktemp("adapters")

    def make(name: str, seed: int) -> Path:
        path = root / name
        if path.exists():
            return path
        base = AutoModelForCausalLM.from_pretrained(str(tiny_checkpoint), local_files_only=True)
        peft_model = get_peft_model(base, LoraConfig(r=4, lora_alpha=8, target_modules=LORA_TARGETS))
        generator = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for param_name, param in peft_model.named_parameters():
                # peft starts B at zero (an adapter that changes nothing); make it matter.
                if "lora_" in param_name:
                    param.copy_(torch.randn(param.shape, generator=generator) * 0.5)
        peft_model.save_pretrained(str(path))
        return path

    return make


@pytest.fixture(scope="session")
def lora_adapters(make_lora_adapter) -> dict[str, tuple[Path, str]]:
    """Two adapters, ``alpha`` and ``beta``: name -> (path, adapter_fingerprint)."""
    adapters = {}
    for name, seed in (("alpha", 1), ("beta", 2)):
        path = make_lora_adapter(name, seed)
        adapters[name] = (path, adapter_fingerprint(path))
    return adapters
