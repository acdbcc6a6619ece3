"""Device and thread set-up for model workers, and the per-process model cache.

Plain Python: no Django. Heavy imports (torch) happen inside functions so that
importing this module costs nothing in the web process.
"""

from __future__ import annotations

import gc
import math
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
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


def usable_cores() -> int:
    """Cores this process may run on (a container's CPU set, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@dataclass
class EmbeddingThreadPolicy:
    """How many intra-op threads an embedding call gets.

    The rule: a bulk ingest (``documents_index``) gets ``bulk_threads`` when the rest of the machine
    is idle, every other call (queries, embedding jobs, and ingests on a busy machine) gets
    ``threads``. "Idle" reads the 1-minute load average (``os.getloadavg``) minus this worker's own
    share: the threads of its previous bulk call, decayed as the kernel decays the average (time
    constant 60 s). The others' load must be at most ``cores - bulk_threads + idle_load``: on two
    cores with 2 bulk threads and the default 0.5, the second core must be under half busy.
    Two threads on a busy 2-core machine are slower than one (docs/models.md), hence the default 1.
    """

    threads: int = 1  # ARGUS_EMBEDDING_THREADS
    bulk_threads: int = 2  # ARGUS_EMBEDDING_BULK_THREADS
    idle_load: float = 0.5  # ARGUS_EMBEDDING_IDLE_LOAD
    cores: int = field(default_factory=lambda: usable_cores())
    load_average: Callable[[], float] = field(default=lambda: os.getloadavg()[0], repr=False)
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    _last_bulk: tuple[float, int] = field(default=(-math.inf, 0), repr=False)

    def own_load(self) -> float:
        ended, threads = self._last_bulk
        return threads * math.exp(-max(self.clock() - ended, 0.0) / 60.0)

    def choose(self, *, bulk: bool) -> int:
        bulk_threads = min(self.bulk_threads, self.cores)
        if not bulk or bulk_threads <= self.threads:
            return self.threads
        try:
            others = max(self.load_average() - self.own_load(), 0.0)
        except OSError:  # no load average on this platform: do not guess
            return self.threads
        return bulk_threads if others <= self.cores - bulk_threads + self.idle_load else self.threads

    def bulk_finished(self, threads: int) -> None:
        self._last_bulk = (self.clock(), threads)


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
