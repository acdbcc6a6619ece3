from __future__ import annotations

import threading
import time

import pytest

from gpu_workers.generation.batching import DynamicBatcher, collect_batch


def source(arrivals: list[tuple[float, int]]):
    """A ``take`` fed by (delay after the first call, item) pairs; records what each call asked for."""
    started = time.monotonic()
    pending = list(arrivals)
    asked: list[int] = []

    def take(n: int) -> list[int]:
        asked.append(n)
        now = time.monotonic() - started
        ready = [item for at, item in pending if at <= now][:n]
        for item in ready:
            pending.remove(next(p for p in pending if p[1] == item))
        return ready

    return take, asked


def test_full_batch_returns_at_once_and_asks_only_for_the_room_left():
    take, asked = source([(0, 1), (0, 2), (0, 3), (0.01, 4), (0.01, 5), (0.01, 6)])
    started = time.monotonic()
    batch = collect_batch(take, max_size=4, max_wait_s=5.0, poll_s=0.001)
    assert batch == [1, 2, 3, 4]
    assert time.monotonic() - started < 1.0
    assert asked[0] == 4 and all(n == 1 for n in asked[1:])


def test_partial_batch_returns_after_max_wait_from_the_first_item():
    take, _ = source([(0.05, 1), (0.06, 2), (1.0, 3)])
    started = time.monotonic()
    batch = collect_batch(take, max_size=8, max_wait_s=0.1, poll_s=0.002)
    elapsed = time.monotonic() - started
    assert batch == [1, 2]
    assert 0.14 <= elapsed < 0.5  # the wait counts from the first item (0.05 s), not from the call


def test_nothing_arriving_returns_empty_after_max_wait():
    take, _ = source([])
    started = time.monotonic()
    assert collect_batch(take, max_size=4, max_wait_s=0.05) == []
    assert time.monotonic() - started < 0.5


def test_take_returning_too_much_is_an_error():
    with pytest.raises(ValueError, match="returned 3"):
        collect_batch(lambda n: [1, 2, 3], max_size=2, max_wait_s=0.1)


def test_batcher_gives_every_future_its_own_result():
    calls: list[list[int]] = []

    def predict(batch: list[int]) -> list[int]:
        calls.append(list(batch))
        time.sleep(0.02)
        return [x * 10 for x in batch]

    with DynamicBatcher(predict, max_size=4, max_wait_s=0.05) as batcher:
        futures = {}

        def client(start: int) -> None:
            for i in range(start, start + 5):
                futures[i] = batcher.submit(i)

        threads = [threading.Thread(target=client, args=(k * 5,)) for k in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        results = {i: f.result(timeout=5) for i, f in futures.items()}
    assert results == {i: i * 10 for i in range(20)}
    assert sorted(x for call in calls for x in call) == list(range(20))
    assert max(len(call) for call in calls) <= 4
    assert any(len(call) > 1 for call in calls)  # concurrent clients were batched together
    assert batcher.batch_sizes == [len(call) for call in calls]


def test_batch_waits_for_company_but_not_forever():
    with DynamicBatcher(lambda batch: [len(batch)] * len(batch), max_size=8, max_wait_s=0.05) as batcher:
        started = time.monotonic()
        assert batcher.submit("alone").result(timeout=5) == 1
        assert time.monotonic() - started < 1.0


def test_an_error_reaches_every_future_of_its_batch_and_the_batcher_carries_on():
    def predict(batch: list[str]) -> list[str]:
        if "bad" in batch:
            raise RuntimeError("model exploded")
        return [s.upper() for s in batch]

    batcher = DynamicBatcher(predict, max_size=3, max_wait_s=0.2)
    futures = [batcher.submit(s) for s in ("ok", "bad", "fine")]
    for future in futures:
        with pytest.raises(RuntimeError, match="model exploded"):
            future.result(timeout=5)
    assert batcher.submit("later").result(timeout=5) == "LATER"
    batcher.close()
    with pytest.raises(RuntimeError, match="closed"):
        batcher.submit("too late")


def test_wrong_number_of_results_fails_the_batch():
    with (
        DynamicBatcher(lambda batch: [], max_size=2, max_wait_s=0.01) as batcher,
        pytest.raises(RuntimeError, match="0 results for 1"),
    ):
        batcher.submit("x").result(timeout=5)
