from __future__ import annotations

import threading

import pytest

from gpu_workers.generation.batching import DynamicBatcher, collect_batch


class FakeClock:
    """Time that moves only when the code under test sleeps: waits are exact, instant and assertable."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds


def source(clock: FakeClock, arrivals: list[tuple[float, int]]):
    """A ``take`` fed by (arrival time, item) pairs on ``clock``; records what each call asked for."""
    pending = list(arrivals)
    asked: list[int] = []

    def take(n: int) -> list[int]:
        asked.append(n)
        ready = [item for at, item in pending if at <= clock()][:n]
        for item in ready:
            pending.remove(next(p for p in pending if p[1] == item))
        return ready

    return take, asked


def test_full_batch_returns_at_once_and_asks_only_for_the_room_left():
    clock = FakeClock()
    take, asked = source(clock, [(0, 1), (0, 2), (0, 3), (0.01, 4), (0.01, 5), (0.01, 6)])
    batch = collect_batch(take, max_size=4, max_wait_s=5.0, poll_s=0.001, clock=clock, sleep=clock.sleep)
    assert batch == [1, 2, 3, 4]
    # Returned when the fourth item arrived, not at the 5 s deadline.
    assert clock.now == pytest.approx(0.01, abs=0.0015)
    assert asked[0] == 4 and all(n == 1 for n in asked[1:])


def test_partial_batch_returns_after_max_wait_from_the_first_item():
    clock = FakeClock()
    take, _ = source(clock, [(0.05, 1), (0.06, 2), (1.0, 3)])
    batch = collect_batch(take, max_size=8, max_wait_s=0.1, poll_s=0.002, clock=clock, sleep=clock.sleep)
    assert batch == [1, 2]
    # The wait counts from the first item (0.05), not from the call (which would end at 0.1).
    assert clock.now == pytest.approx(0.15, abs=0.0025)
    assert max(clock.sleeps) <= 0.002  # it polls; it never sleeps through an arrival


def test_nothing_arriving_returns_empty_after_max_wait():
    clock = FakeClock()
    take, asked = source(clock, [])
    assert collect_batch(take, max_size=4, max_wait_s=0.05, clock=clock, sleep=clock.sleep) == []
    assert clock.now == pytest.approx(0.05)
    assert len(asked) > 1 and set(asked) == {4}


def test_take_returning_too_much_is_an_error():
    with pytest.raises(ValueError, match="returned 3"):
        collect_batch(lambda n: [1, 2, 3], max_size=2, max_wait_s=0.1)


def test_batcher_gives_every_future_its_own_result():
    calls: list[list[int]] = []
    all_submitted = threading.Event()

    def predict(batch: list[int]) -> list[int]:
        # The first batch holds the engine until every client has submitted: the rest queue up
        # behind it, so later batches are full whatever the scheduling.
        all_submitted.wait(timeout=30)
        calls.append(list(batch))
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
        all_submitted.set()
        results = {i: f.result(timeout=30) for i, f in futures.items()}
    assert results == {i: i * 10 for i in range(20)}
    assert sorted(x for call in calls for x in call) == list(range(20))
    assert max(len(call) for call in calls) <= 4
    assert sum(len(call) == 4 for call in calls) >= 3  # queued requests were batched together
    assert batcher.batch_sizes == [len(call) for call in calls]


def test_batch_waits_for_company_but_not_forever():
    clock = FakeClock()
    with DynamicBatcher(
        lambda batch: [len(batch)] * len(batch), max_size=8, max_wait_s=0.05, clock=clock, sleep=clock.sleep
    ) as batcher:
        assert batcher.submit("alone").result(timeout=30) == 1
    assert batcher.batch_sizes == [1]
    # It waited max_wait_s for company (on its clock), then ran the lone request.
    assert clock.now == pytest.approx(0.05)


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
