"""The fast verification paths give the reference walk's verdict, record for record.

Fast: rows spelled by PostgreSQL (a template of the canonical content), the row encoder,
and the walk split into seq ranges checked by worker processes. Reference: the walk as
it was, one process, a content dict and ``canonical_json`` per record.
"""

from __future__ import annotations

import itertools
import math
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

import apps.audit.chain_ranges as chain_ranges
import apps.audit.selectors as selectors
from apps.audit.hashing import CanonicalRowEncoder, canonical_json, chain_hash
from apps.audit.models import InferenceRecord, record_hashed_content
from tests.audit.conftest import tamper

pytestmark = pytest.mark.django_db

postgresql_only = pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="rendered rows and worker processes are PostgreSQL-only"
)

AWKWARD_TEXT = 'naïve 数据 "quoted" back\\slash 100% %s %% tab\t newline\n bell\x07 del\x7f \u2028 emoji 📈'


def awkward_records(append_record, make_user) -> list[InferenceRecord]:
    """Records holding every kind of value the canonical spelling must get right."""
    user = make_user("ana-analyst", None)
    # JSON numbers that jsonb gives back as written: it keeps no -0.0 and reads 1e16 back as an integer.
    big_json = {f"key {n} é": [n, n / 7, None, True, {"z": "%", "a": AWKWARD_TEXT}] for n in range(200)}
    variants = [
        {"output_text": AWKWARD_TEXT, "input_redacted": AWKWARD_TEXT * 50},
        {"parameters": big_json, "details": {"b": 1, "a": [1.5, 1e-7, 2.5e-10, 123456789.123, -3]}},
        {"document_ids": ["dok-ü", "%s", ""], "chunk_ids": [AWKWARD_TEXT]},
        {"input_messages": [{"role": "user", "content": AWKWARD_TEXT}, {"role": "assistant", "content": None}]},
        {"input_messages": []},
        {"latency_ms": 1e16},
        {"latency_ms": 1e-7},
        {"latency_ms": 0.1 + 0.2, "tokens_in": 2**31 - 1, "cache_hit": True},
        {"error": "ValueError: 50% off", "status": "error", "output_hash": ""},
        {"job_id": "5c2d3ad6-0a5e-4d4c-9b8e-2f3c1d7f0a11", "task_id": "t-%(x)s"},
    ]
    records = []
    for n, fields in enumerate(variants):
        records.append(append_record(actor_user_id=user.pk if n % 2 else None, actor=f"user:ana {n}", **fields))
    return records


def test_row_encoder_spells_every_record_as_canonical_json(append_record, make_user):
    awkward_records(append_record, make_user)
    encoder = CanonicalRowEncoder(selectors._CONTENT_COLUMNS, optional=InferenceRecord.OPTIONAL_HASHED_FIELDS)
    rows = list(selectors._records_in_chain_order())
    assert len(rows) == 10
    for row in rows:
        reference = canonical_json(record_hashed_content(dict(zip(selectors._CONTENT_COLUMNS, row, strict=False))))
        assert encoder.encode(row) == reference


def test_row_encoder_leaves_values_it_cannot_spell_to_the_reference():
    encoder = CanonicalRowEncoder(("b", "a"))
    assert encoder.encode(("x", math.nan)) == canonical_json({"b": "x", "a": math.nan})
    assert encoder.encode(("x", object())) is None


@postgresql_only
def test_rendered_rows_hash_without_the_reference_fallback(append_record, make_user, monkeypatch):
    """PostgreSQL's spelling is byte-identical: not one record needs the slow confirmation."""
    records = awkward_records(append_record, make_user)

    def fallback_refused(prev_hash, seq, record_hash):
        raise AssertionError(f"record seq {seq} needed the reference spelling")

    monkeypatch.setattr(selectors, "_reference_hash_of_seq_matches", fallback_refused)
    verdict = selectors.audit_chain_verify(workers=1)
    assert verdict.ok, str(verdict)
    assert verdict.checked == len(records) and verdict.tip_hash == records[-1].record_hash


@pytest.mark.parametrize(
    ("sql", "params"),
    [
        ("UPDATE audit_inferencerecord SET output_text = %s WHERE seq = 4", ["doctored 100%"]),
        ("UPDATE audit_inferencerecord SET input_messages = NULL WHERE seq = 4", []),
        ("UPDATE audit_inferencerecord SET latency_ms = 1e16 + 2 WHERE seq = 7", []),
        ("UPDATE audit_inferencerecord SET actor_user_id = NULL WHERE seq = 2", []),
        ("UPDATE audit_inferencerecord SET created_at = created_at + interval '1 microsecond' WHERE seq = 9", []),
        # The same moment BC: to_char writes no era, so an unguarded spelling would not change.
        (
            "UPDATE audit_inferencerecord SET created_at = created_at"
            " - make_interval(years => 2 * extract(year from created_at AT TIME ZONE 'UTC')::int - 1) WHERE seq = 6",
            [],
        ),
        ("DELETE FROM audit_inferencerecord WHERE seq = 5", []),
    ],
)
def test_fast_and_reference_walks_agree_on_tampering(append_record, make_user, sql, params):
    if "interval" in sql and connection.vendor != "postgresql":
        pytest.skip("PostgreSQL interval arithmetic")
    awkward_records(append_record, make_user)
    tamper(sql, params)

    fast, reference = selectors.audit_chain_verify(workers=1), selectors.audit_chain_verify(reference=True)
    assert not fast.ok
    assert fast == reference


def test_an_intact_awkward_chain_passes_both_ways(append_record, make_user):
    awkward_records(append_record, make_user)
    fast, reference = selectors.audit_chain_verify(workers=1), selectors.audit_chain_verify(reference=True)
    assert fast.ok and fast == reference


# --- seq ranges -----------------------------------------------------------------------


def test_split_ranges_cover_every_seq_once_and_leave_the_end_open():
    bounds = chain_ranges.split_ranges(-1, 30, 6)
    assert bounds[0][0] == -1 and bounds[-1][1] is None
    assert all(upper == following for (_, upper), (following, _) in itertools.pairwise(bounds))
    assert chain_ranges.split_ranges(10, 10, 4) == [(10, None)]


@pytest.fixture
def chain_of_30(append_record):
    return [append_record(output_text=f"answer {n}") for n in range(1, 31)]


def walk_ranges_in_this_process(parts: int = 6):
    """The parallel walk's range checks and join, run one range after another here."""
    walk = selectors._ChainWalk(rendered=connection.vendor == "postgresql")
    checks = (
        chain_ranges.check_rows(
            selectors._records_in_chain_order(after_seq=lower, up_to_seq=upper, rendered=walk.rendered),
            rendered=walk.rendered,
        )
        for lower, upper in chain_ranges.split_ranges(-1, 30, parts)
    )
    return chain_ranges.walk_ranges(walk, checks) or walk.verdict(True)


# split_ranges(-1, 30, 6): (-1, 5], (5, 11], (11, 17], (17, 23], (23, 29], (29, ...)
RANGE_TAMPERING = [
    pytest.param("UPDATE audit_inferencerecord SET output_text = 'x' WHERE seq = 14", 14, id="altered-mid-range"),
    pytest.param("UPDATE audit_inferencerecord SET output_text = 'x' WHERE seq = 12", 12, id="altered-first-of-range"),
    pytest.param("UPDATE audit_inferencerecord SET output_text = 'x' WHERE seq = 11", 11, id="altered-last-of-range"),
    pytest.param("DELETE FROM audit_inferencerecord WHERE seq = 12", 13, id="removed-first-of-range"),
    pytest.param("DELETE FROM audit_inferencerecord WHERE seq = 11", 12, id="removed-last-of-range"),
    pytest.param(
        "UPDATE audit_inferencerecord SET prev_hash = repeat('e', 64) WHERE seq = 18", 18, id="relinked-first"
    ),
]


@pytest.mark.parametrize(("sql", "broken_seq"), RANGE_TAMPERING)
def test_range_checks_joined_give_the_reference_verdict(chain_of_30, sql, broken_seq):
    intact = walk_ranges_in_this_process()
    assert intact.ok and intact.checked == 30 and intact.tip_hash == chain_of_30[-1].record_hash

    tamper(sql)
    verdict, reference = walk_ranges_in_this_process(), selectors.audit_chain_verify(reference=True)
    assert verdict.broken_seq == broken_seq
    assert (verdict.ok, verdict.checked, verdict.broken_seq, verdict.broken_id, verdict.reason) == (
        False,
        reference.checked,
        reference.broken_seq,
        reference.broken_id,
        reference.reason,
    )
    assert (verdict.tip_seq, verdict.tip_hash) == (reference.tip_seq, reference.tip_hash)


def test_a_record_rewritten_with_its_hash_at_a_range_end_breaks_the_next_range(chain_of_30):
    doctored = InferenceRecord.objects.get(seq=17)
    doctored.output_text = "BUY (doctored)"
    new_hash = chain_hash(doctored.prev_hash, doctored.hashed_content())
    tamper(
        "UPDATE audit_inferencerecord SET output_text = %s, record_hash = %s WHERE seq = 17",
        [doctored.output_text, new_hash],
    )
    verdict = walk_ranges_in_this_process()
    assert (verdict.broken_seq, verdict.checked) == (18, 17)
    assert "prev_hash" in verdict.reason


@postgresql_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("sql", "broken_seq"), RANGE_TAMPERING)
def test_worker_processes_name_the_record_the_reference_names(append_record, monkeypatch, sql, broken_seq):
    monkeypatch.setattr(chain_ranges, "PARALLEL_MIN_RECORDS", 10)
    monkeypatch.setattr(chain_ranges, "RANGES_PER_WORKER", 3)  # 2 workers: 6 ranges, as above
    records = [append_record(output_text=f"answer {n}") for n in range(1, 31)]
    used_workers = []
    real_walk_in_parallel = chain_ranges.walk_in_parallel

    def counting_walk(walk, **kwargs):
        used_workers.append(kwargs["workers"])
        return real_walk_in_parallel(walk, **kwargs)

    monkeypatch.setattr(chain_ranges, "walk_in_parallel", counting_walk)
    intact = selectors.audit_chain_verify(workers=2)
    assert used_workers == [2]
    assert intact.ok and intact.checked == 30 and intact.tip_hash == records[-1].record_hash

    tamper(sql)
    verdict = selectors.audit_chain_verify(workers=2)
    reference = selectors.audit_chain_verify(reference=True)
    assert verdict.broken_seq == broken_seq
    assert verdict == reference


def test_verify_audit_takes_a_worker_count(chain_of_30):
    out = StringIO()
    call_command("verify_audit", "--workers", "1", stdout=out)
    assert "intact: 30 records verified" in out.getvalue()
    with pytest.raises(CommandError) as caught:
        call_command("verify_audit", "--workers", "0", stdout=StringIO())
    assert caught.value.returncode == 2


def test_no_worker_processes_inside_a_transaction(chain_of_30, monkeypatch):
    """Workers on other connections could not see this transaction's rows: the walk stays here."""
    monkeypatch.setattr(chain_ranges, "PARALLEL_MIN_RECORDS", 1)

    def refused(*args, **kwargs):
        raise AssertionError("worker processes started inside a transaction")

    monkeypatch.setattr(chain_ranges, "walk_in_parallel", refused)
    assert selectors.audit_chain_verify(workers=2).checked == 30
