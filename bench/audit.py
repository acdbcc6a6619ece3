"""Audit chain: the cost of a chained append against a plain insert, and verification throughput.

    python -m bench.audit [--appends 2000] [--verify-records 20000] [--rounds 5]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/argus_audit python -m bench.audit --verify-records 1000000

Runs on the database of ``DATABASE_URL`` (SQLite under var/bench/ when unset), in a
throw-away test database created for the run and dropped after it.

Append: the same row (a typical embedding record) inserted ``--appends`` times, in
interleaved rounds, three ways:
- plain: ``Model.objects.create`` into a table with the same columns and indexes but no
  chain (the baseline: what logging without a hash chain would cost);
- chained: ``inference_record_append``, what every audited model call does;
- locked: the head-row-locking transaction (SELECT ... FOR UPDATE, INSERT, UPDATE) that
  every append used before, and that SQLite still uses.
Ratios are against the plain insert of the same round.

Verify: ``--verify-records`` records written as one valid chain (bulk, not through the
service), then full walks timed in this process, each against the same chain:
- reference: ``audit_chain_verify(reference=True)``, the walk as it was before the fast paths
  (one process, the prefetching fetch thread, a content dict and ``canonical_json`` per record);
- fast with 1 worker: rows spelled by PostgreSQL, hashed in this process;
- fast with N workers (``--workers``, default: one per core): seq ranges in N processes.
Each walk prints records/s, the time projected for one million records and the speed-up
over the reference walk of the same run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import uuid
from typing import Any

from bench.common import BENCH_VAR, pin_threads, print_table, print_thread_settings


def _django() -> None:
    BENCH_VAR.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{BENCH_VAR / 'audit-bench.sqlite3'}")
    os.environ.setdefault("DATABASE_TEST_NAME", "bench_audit")
    os.environ.setdefault("ARGUS_VAR_DIR", str(BENCH_VAR / "audit-var"))
    import django

    django.setup()


def _row(n: int) -> dict[str, Any]:
    """One typical record: a query embedding, as the research search writes it."""
    from apps.audit.models import InferenceKind, InferenceStatus

    return {
        "actor": "user:ana-analyst",
        "job_id": uuid.UUID(int=n),
        "task_id": f"celery-task-{n}",
        "kind": InferenceKind.EMBED,
        "model_name": "all-MiniLM-L6-v2",
        "model_version": "c" * 64,
        "parameters": {"purpose": "query", "normalize": True},
        "input_redacted": "gross margin guidance for ACME Corp in fiscal 2025, compared with peers " * 2,
        "input_hash": f"{n:064x}",
        "output_hash": f"{n + 1:064x}",
        "document_ids": ["doc-1", "doc-2"],
        "chunk_ids": ["doc-1:3", "doc-2:7"],
        "tokens_in": 18,
        "latency_ms": 12.5,
        "status": InferenceStatus.OK,
        "details": {"batch_size": 1},
    }


def _plain_model() -> Any:
    """A table with the record's columns and indexes and none of the chain."""
    from django.db import models

    from apps.audit.models import InferenceRecord

    attrs: dict[str, Any] = {"__module__": __name__}
    for field in InferenceRecord._meta.concrete_fields:
        if not field.primary_key:
            attrs[field.name] = field.clone()
    attrs["Meta"] = type("Meta", (), {"app_label": "audit", "db_table": "bench_plain_inferencerecord"})
    return type("BenchPlainRecord", (models.Model,), attrs)


def bench_appends(count: int, rounds: int) -> dict[str, float]:
    from django.db import connection
    from django.utils import timezone

    from apps.audit.hashing import chain_hash
    from apps.audit.services import _append_locked, inference_record_append

    plain_model = _plain_model()
    with connection.schema_editor() as editor:
        editor.create_model(plain_model)

    seconds: dict[str, list[float]] = {"plain insert": [], "chained append": [], "locked append (before)": []}
    per_round = max(count // rounds, 1)
    n = 0
    for _ in range(rounds):
        for label in seconds:
            started = time.perf_counter()
            for _ in range(per_round):
                n += 1
                fields = _row(n)
                if label == "plain insert":
                    # The same work per row that is not the chain: the timestamp, a content hash, the insert.
                    fields.update(seq=n, created_at=timezone.now(), prev_hash="0" * 64)
                    fields["record_hash"] = chain_hash("0" * 64, {"n": n})
                    plain_model.objects.create(**fields)
                elif label == "chained append":
                    inference_record_append(**fields)
                else:
                    _append_locked(fields)
            seconds[label].append((time.perf_counter() - started) / per_round)
    with connection.schema_editor() as editor:
        editor.delete_model(plain_model)

    baseline = statistics.median(seconds["plain insert"])
    rows = [
        (label, statistics.median(values) * 1e6, min(values) * 1e6, statistics.median(values) / baseline)
        for label, values in seconds.items()
    ]
    print_table(
        ["append path", "median µs/row", "best µs/row", "x plain insert"],
        rows,
        title=f"Append: {per_round * rounds} rows each, {rounds} interleaved rounds ({connection.vendor})",
    )
    return {label: ratio for label, *_, ratio in rows}


def _write_chain(total: int, batch: int = 5000) -> None:
    """``total`` records forming one valid chain, bulk-inserted after the ones already there."""
    import datetime as dt

    from apps.audit.hashing import chain_hash
    from apps.audit.models import AuditChainHead, InferenceRecord

    head, _ = AuditChainHead.objects.get_or_create(pk=1)
    seq, prev_hash = head.last_seq, head.last_hash
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    written = 0
    while written < total:
        records = []
        for _ in range(min(batch, total - written)):
            seq += 1
            record = InferenceRecord(
                seq=seq, created_at=start + dt.timedelta(seconds=seq), prev_hash=prev_hash, **_row(seq)
            )
            record.record_hash = prev_hash = chain_hash(prev_hash, record.hashed_content())
            records.append(record)
        InferenceRecord.objects.bulk_create(records)
        written += len(records)
    AuditChainHead.objects.filter(pk=1).update(last_seq=seq, last_hash=prev_hash)


def _orm_walk() -> int:
    """The walk as it was before the reference one: model instances from an ORM iterator."""
    from apps.audit.hashing import GENESIS_HASH, chain_hash
    from apps.audit.models import InferenceRecord

    tip_hash, checked = GENESIS_HASH, 0
    for record in InferenceRecord.objects.order_by("seq").iterator(chunk_size=2000):
        assert record.prev_hash == tip_hash
        assert chain_hash(record.prev_hash, record.hashed_content()) == record.record_hash
        tip_hash, checked = record.record_hash, checked + 1
    return checked


def _timed_walk(label: str, walk: Any, reference_rate: float | None) -> tuple[Any, ...]:
    started, cpu = time.perf_counter(), time.process_time()
    verdict = walk()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert verdict.ok, str(verdict)
    rate = verdict.checked / elapsed
    speed_up = rate / reference_rate if reference_rate else 1.0
    return (label, verdict.checked, elapsed, cpu, rate, 1_000_000 / rate, speed_up)


def bench_verify(records: int, *, orm_baseline: bool, workers: list[int]) -> float:
    from django.db import connection

    from apps.audit import chain_ranges, selectors
    from apps.audit.models import InferenceRecord
    from apps.audit.selectors import audit_chain_verify

    missing = records - InferenceRecord.objects.count()
    if missing > 0:
        started = time.perf_counter()
        _write_chain(missing)
        print(f"wrote {missing:,} chained records in {time.perf_counter() - started:.1f} s")
        if connection.vendor == "postgresql":
            # As autovacuum would leave a table of old records: hint bits set, statistics current.
            # Without it the first walk also pays for setting hint bits on every freshly written page.
            with connection.cursor() as cursor:
                cursor.execute("VACUUM (ANALYZE) audit_inferencerecord")
    print("== Verification settings ==")
    print(f"  cores this process may use      {chain_ranges.default_workers()}")
    print(f"  worker counts timed             {', '.join(map(str, workers))} (1 = in this process)")
    print(f"  parallel from                   {chain_ranges.PARALLEL_MIN_RECORDS:,} records")
    print(f"  ranges per worker               {chain_ranges.RANGES_PER_WORKER}")
    print(f"  batch size (rows per fetch)     {selectors.VERIFY_BATCH_SIZE:,}")
    print(f"  worker processes possible here  {chain_ranges.parallel_walk_possible()}\n")
    reference = _timed_walk("reference (before)", lambda: audit_chain_verify(reference=True), None)
    rows = [reference]
    for count in workers:
        label = f"fast, {count} worker{'s' if count > 1 else ''}"
        rows.append(_timed_walk(label, lambda count=count: audit_chain_verify(workers=count), reference[4]))
    if orm_baseline:
        rows.append(_timed_walk("ORM walk (older)", lambda: selectors.ChainVerdict(True, _orm_walk()), reference[4]))
    print_table(
        ["walk", "records", "wall s", "cpu s (this process)", "records/s", "1M projected s", "x reference"],
        rows,
        title=f"Verify: full walk of the chain ({connection.vendor})",
    )
    return max(row[4] for row in rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appends", type=int, default=2000, help="rows per append path (default 2000)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    parser.add_argument("--verify-records", type=int, default=20000, help="chain length to verify (default 20000)")
    parser.add_argument("--no-orm-baseline", action="store_true", help="skip timing the ORM walk (older)")
    parser.add_argument(
        "--workers",
        default=None,
        help="comma-separated worker counts to time the fast walk with (default: 1 and one per core)",
    )
    args = parser.parse_args(argv)
    _django()
    pin_threads(1)

    from django.db import connection

    print_thread_settings()
    test_db = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    print(f"database: {connection.vendor} ({test_db}, dropped afterwards)\n")
    try:
        if args.appends:
            bench_appends(args.appends, args.rounds)
        if args.verify_records:
            from apps.audit.chain_ranges import default_workers

            workers = [int(n) for n in args.workers.split(",")] if args.workers else sorted({1, default_workers()})
            bench_verify(args.verify_records, orm_baseline=not args.no_orm_baseline, workers=workers)
    finally:
        connection.creation.destroy_test_db(test_db, verbosity=0)


if __name__ == "__main__":
    main()
