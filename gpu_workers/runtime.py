"""Device and thread set-up for model workers, and the per-process model cache.

Plain Python: no Django. Heavy imports (torch) happen inside functions so that
importing this module costs nothing in the web process.
"""

from __future__ import annotations

import gc
import os
import sys
import threading
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

_T = TypeVar("_T")


class ModelStep(Protocol):
    """The four hooks of a model-backed step (load once, then batch through it)."""

    def setup(self) -> None: ...
    def decode(self, request: Any) -> Any: ...
    def predict(self, inputs: Any) -> Any: ...
    def encode(self, outputs: Any) -> Any: ...


def configure_torch_threads(num_threads: int) -> int:
    """Pin torch's intra-op threads. On shared 2-core machines more threads collapse throughput."""
    import torch

    if num_threads > 0:
        os.environ.setdefault("OMP_NUM_THREADS", str(num_threads))
        torch.set_num_threads(num_threads)
    return torch.get_num_threads()


def select_device(preference: str = "auto") -> str:
    """``auto`` picks CUDA when a GPU is visible, the CPU otherwise; same code on both."""
    import torch

    if preference == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if preference.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"ARGUS_DEVICE={preference} but no CUDA device is available")
    return preference


class ProcessModelCache:
    """Models loaded once per worker process, lazily, keyed by name.

    A lock keeps two threads of one process from loading the same model twice. A ``slot`` holds
    one model at a time: the generation engine's key names the base model and its hash, so
    without a slot a new default base model would be loaded next to the old one, and a worker
    that sees the default change twice would hold three models.
    """

    def __init__(self) -> None:
        self._models: dict[str, Any] = {}
        self._slots: dict[str, str] = {}  # slot -> the key it holds
        self._lock = threading.RLock()  # a factory may load another model (the store needs the embedder)
        self.pid = os.getpid()

    def get(self, key: str, factory: Callable[[], _T], *, slot: str | None = None) -> _T:
        if os.getpid() != self.pid:  # forked child: never share a parent's loaded model
            self._models, self._slots, self.pid = {}, {}, os.getpid()
        with self._lock:
            if key not in self._models:
                previous = self._slots.get(slot) if slot is not None else None
                if previous is not None and previous != key:
                    # Dropped before the new one loads: memory holds one of them at a time.
                    self.evict(previous)
                self._models[key] = factory()
                if slot is not None:
                    self._slots[slot] = key
            return self._models[key]

    def evict(self, key: str) -> bool:
        """Forget a model and return its memory (a CUDA model's too); False when it was not loaded."""
        with self._lock:
            model = self._models.pop(key, None)
            for slot in [slot for slot, held in self._slots.items() if held == key]:
                del self._slots[slot]
        if model is None:
            return False
        del model
        gc.collect()  # engines hold reference cycles (peft wrappers, hooks): free them now, not later
        torch = sys.modules.get("torch")
        if torch is not None and torch.cuda.is_available():
            torch.cuda.empty_cache()
        return True

    def loaded(self) -> list[str]:
        return sorted(self._models)

    def clear(self) -> None:
        with self._lock:
            self._models.clear()
            self._slots.clear()


model_cache = ProcessModelCache()
