"""The chain walk split into ``seq`` ranges, checked by worker processes on every core.

Verification is CPU-bound in Python (hashing a record costs more than PostgreSQL takes to
send it), so one process walks at the speed of one core. Here each worker checks whole
ranges on its own connection: every record's hash recomputed from its fields and its own
``prev_hash``, and every link inside the range. What a worker cannot see, the link from the
previous range's last record to its first, the parent checks while it takes the ranges back
in ``seq`` order, so the verdict, the record it names and the count before it are the ones
the sequential walk gives.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from django.db import connection, connections

# Below this many records the pool's start-up (forking, one connection per worker) costs
# more than a second core saves.
PARALLEL_MIN_RECORDS = 50_000
# Ranges per worker: small enough that the workers finish together, large enough that
# a range is many batches long.
RANGES_PER_WORKER = 8


def default_workers() -> int:
    """One worker per core this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class RangeCheck:
    """What a worker found in the records with ``after_seq < seq <= up_to_seq``.

    The first record is checked against its own ``prev_hash`` only (``first_ok``): whether
    it continues the previous range is the parent's to say. ``broken`` is the first record
    after it that does not hold, with ``checked`` counting the records of the range before it.
    """

    count: int = 0
    first_seq: int | None = None
    first_id: int | None = None
    first_prev_hash: str = ""
    first_ok: bool = True
    broken: Any = None  # a ChainVerdict (checked, tip_* relative to this range) or None
    tip_seq: int = 0
    tip_hash: str = ""
    tip_id: int | None = None


def split_ranges(after_seq: int, last_seq: int, parts: int) -> list[tuple[int, int | None]]:
    """``(after, up_to]`` bounds covering ``after_seq < seq``; the last one open-ended.

    Open-ended so that rows past ``last_seq`` (appended or inserted while the walk runs)
    are walked too, exactly as the sequential walk, which has no upper bound, walks them.
    """
    span = max(last_seq - after_seq, 0)
    size = max(-(-span // max(parts, 1)), 1)
    bounds: list[tuple[int, int | None]] = []
    lower = after_seq
    while lower + size < last_seq:
        bounds.append((lower, lower + size))
        lower += size
    bounds.append((lower, None))
    return bounds


def check_range(bounds: tuple[int, int | None]) -> RangeCheck:
    """Check one range on this process's own connection (run in a worker process)."""
    # Imported here: selectors imports this module for the walk.
    from apps.audit import selectors

    after_seq, up_to_seq = bounds
    try:
        rows = selectors._records_in_chain_order(after_seq=after_seq, up_to_seq=up_to_seq, rendered=True)
        return check_rows(rows, rendered=True)
    finally:
        if multiprocessing.parent_process() is not None:
            connections.close_all()


def check_rows(rows: Iterable[Sequence[Any]], *, rendered: bool) -> RangeCheck:
    """Check a range's rows (in ``seq`` order, as ``_records_in_chain_order`` yields them)."""
    from apps.audit import selectors

    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        return RangeCheck()
    seq, record_hash, pk = first[selectors._SEQ], first[-2], first[-1]
    if rendered:
        prev_hash = first[selectors._RENDERED_PREV_HASH]
        content_ok = selectors._rendered_row_hash_matches(prev_hash, first, record_hash)
    else:
        prev_hash = first[selectors._PREV_HASH]
        content_ok = selectors.row_hash_matches(prev_hash, first, record_hash)
    if not content_ok:
        return RangeCheck(count=1, first_seq=seq, first_id=pk, first_prev_hash=prev_hash, first_ok=False)
    walk = selectors._ChainWalk(checked=1, tip_seq=seq, tip_hash=record_hash, tip_id=pk, rendered=rendered)
    broken = walk.extend(rows)
    return RangeCheck(
        count=walk.checked,
        first_seq=seq,
        first_id=pk,
        first_prev_hash=prev_hash,
        broken=broken,
        tip_seq=walk.tip_seq,
        tip_hash=walk.tip_hash,
        tip_id=walk.tip_id,
    )


def walk_ranges(walk: Any, checks: Iterable[RangeCheck]) -> Any:
    """Join range checks, in ``seq`` order, onto ``walk``; the first break is the verdict (None: all held)."""
    from apps.audit import selectors

    for check in checks:
        if check.first_seq is None:
            continue
        # The first record of the range, checked as the sequential walk checks it.
        verdict = selectors.link_verdict(walk, check.first_seq, check.first_id, check.first_prev_hash)
        if verdict is not None:
            return verdict
        if not check.first_ok:
            return walk.verdict(False, check.first_seq, check.first_id, selectors.ALTERED)
        if check.broken is not None:
            return selectors.ChainVerdict(
                False,
                walk.checked + check.broken.checked,
                check.broken.broken_seq,
                check.broken.broken_id,
                check.broken.reason,
                check.broken.tip_seq,
                check.broken.tip_hash,
            )
        walk.checked += check.count
        walk.tip_seq, walk.tip_hash, walk.tip_id = check.tip_seq, check.tip_hash, check.tip_id
    return None


def parallel_walk_possible() -> bool:
    """Workers need their own connections that see what this one sees: committed rows only."""
    return (
        connection.vendor == "postgresql"
        and not connection.in_atomic_block
        and not multiprocessing.current_process().daemon
    )


def walk_in_parallel(walk: Any, *, after_seq: int, last_seq: int, workers: int) -> Any:
    """Check ``after_seq < seq`` in ranges on ``workers`` processes; the verdict as ``walk.extend`` gives it."""
    bounds = split_ranges(after_seq, last_seq, workers * RANGES_PER_WORKER)
    # Forked children must not share this process's socket: each opens its own connection.
    connections.close_all()
    # Not multiprocessing.Pool: terminating it with ranges still queued (a break found early)
    # can leave its task thread blocked on a queue lock forever. The executor cancels the
    # queued ranges and waits for the few already running.
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork")) as executor:
        pending = [executor.submit(check_range, range_bounds) for range_bounds in bounds]
        try:
            # Results taken in seq order while later ranges are still being checked.
            return walk_ranges(walk, (future.result() for future in pending))
        finally:
            for future in pending:
                future.cancel()
