"""Dynamic batching: the one policy for gathering requests into a batch, and a thread that applies it.

``collect_batch`` is the policy (full batch, or ``max_wait_s`` after the first item);
the Celery task uses it with a ``take`` that claims queued jobs from the database,
``DynamicBatcher`` with an in-process queue (benchmarks, a threaded server).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")
S = TypeVar("S")


def collect_batch(
    take: Callable[[int], list[T]],
    *,
    max_size: int,
    max_wait_s: float,
    poll_s: float = 0.005,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> list[T]:
    """Call ``take(room_left)`` until ``max_size`` items, or ``max_wait_s`` after the first item arrived.

    Returns as soon as the batch is full; returns [] when nothing arrived within
    ``max_wait_s`` of the call (so a worker loop can check for shutdown). ``take`` must
    not block for long: it returns what is available now, at most ``n`` items.
    ``clock`` and ``sleep`` are injectable so that tests can run the policy on a fake clock.
    """
    if max_size < 1:
        raise ValueError("max_size must be at least 1")
    batch: list[T] = []
    first_at: float | None = None
    started = clock()
    while True:
        items = take(max_size - len(batch))
        if len(items) > max_size - len(batch):
            raise ValueError(f"take({max_size - len(batch)}) returned {len(items)} items")
        if items:
            if first_at is None:
                first_at = clock()
            batch.extend(items)
            if len(batch) >= max_size:
                return batch
        now = clock()
        deadline = (first_at if first_at is not None else started) + max_wait_s
        if now >= deadline:
            return batch
        sleep(min(poll_s, deadline - now))


class DynamicBatcher(Generic[R, S]):
    """Runs submitted requests through ``engine_predict`` in batches, on one background thread.

    ``engine_predict`` gets a list and returns one result per request, in order. When it
    raises, every future of that batch gets the exception; the batcher carries on.
    """

    def __init__(
        self,
        engine_predict: Callable[[list[R]], list[S]],
        *,
        max_size: int = 8,
        max_wait_s: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.engine_predict = engine_predict
        self.max_size = max_size
        self.max_wait_s = max_wait_s
        self.clock = clock
        self.sleep = sleep
        self.batch_sizes: list[int] = []
        self._queue: queue.SimpleQueue[tuple[R, Future[S]]] = queue.SimpleQueue()
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="dynamic-batcher", daemon=True)
        self._thread.start()

    def submit(self, request: R) -> Future[S]:
        future: Future[S] = Future()
        # The lock orders submit against close: nothing is queued after the last drain.
        with self._lock:
            if self._closed.is_set():
                raise RuntimeError("DynamicBatcher is closed")
            self._queue.put((request, future))
        return future

    def close(self, timeout: float | None = None) -> None:
        """Stop taking requests; those already submitted still run."""
        with self._lock:
            self._closed.set()
        self._thread.join(timeout)

    def __enter__(self) -> DynamicBatcher[R, S]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _take(self, n: int) -> list[tuple[R, Future[S]]]:
        items: list[tuple[R, Future[S]]] = []
        while len(items) < n:
            try:
                items.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return items

    def _run(self) -> None:
        while True:
            # Block for the first item (an idle batcher must not spin), then let the policy
            # gather the rest of the batch.
            try:
                first = self._queue.get(timeout=0.05)
            except queue.Empty:
                if self._closed.is_set():
                    return
                continue
            pending = [first]

            def take(n: int, pending: list[tuple[R, Future[S]]] = pending) -> list[tuple[R, Future[S]]]:
                head = pending[:n]
                del pending[:n]
                return head + self._take(n - len(head))

            batch = collect_batch(
                take,
                max_size=self.max_size,
                max_wait_s=self.max_wait_s,
                poll_s=0.002,
                clock=self.clock,
                sleep=self.sleep,
            )
            batch = [(request, future) for request, future in batch if future.set_running_or_notify_cancel()]
            if batch:
                self._run_batch(batch)

    def _run_batch(self, batch: list[tuple[R, Future[S]]]) -> None:
        self.batch_sizes.append(len(batch))
        try:
            results = self.engine_predict([request for request, _ in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"engine returned {len(results)} results for {len(batch)} requests")
        except BaseException as exc:  # every caller must hear about it, whatever it was
            for _, future in batch:
                future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for (_, future), result in zip(batch, results, strict=True):
            future.set_result(result)
