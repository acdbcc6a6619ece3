"""Signed checkpoints outside the database, and verification that continues from the last one.

The two attacks that a walk of the database alone cannot see, with an attacker who has
database superuser rights but not the signing key:
- the newest records deleted and the head row set back to the new last record;
- the chain rewritten from some record on, every hash recomputed, the head row rewritten.
"""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import connection

import apps.audit.selectors as selectors
from apps.audit.checkpoints import DirectoryCheckpointSink, key_id, load_public_key, signing_key
from apps.audit.hashing import GENESIS_HASH, chain_hash
from apps.audit.models import AppendOnlyError, AuditCheckpoint, AuditVerification, InferenceRecord
from apps.audit.services import audit_chain_verification_run
from tests.audit.conftest import tamper

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain(append_record):
    return [append_record(output_text=f"answer {n}") for n in range(1, 6)]


@pytest.fixture
def public_key_file(tmp_path) -> Path:
    """The public key exported the way an auditor receives it (no private key anywhere near)."""
    path = tmp_path / "audit-public.pem"
    call_command("audit_public_key", "--output", str(path), stderr=StringIO())
    return path


def verify(*args: str) -> str:
    out = StringIO()
    call_command("verify_audit", *args, stdout=out)
    return out.getvalue()


def verify_failure(*args: str) -> str:
    with pytest.raises(CommandError) as caught:
        call_command("verify_audit", *args, stdout=StringIO())
    assert caught.value.returncode == 1
    return str(caught.value)


def delete_newest_and_reset_head(count: int) -> None:
    """Remove the newest ``count`` records and set the head back so the rest looks complete."""
    last = InferenceRecord.objects.order_by("-seq").values_list("seq", flat=True).first()
    tamper("DELETE FROM audit_inferencerecord WHERE seq > %s", [last - count])
    new_tip = InferenceRecord.objects.get(seq=last - count)
    tamper("UPDATE audit_auditchainhead SET last_seq = %s, last_hash = %s", [new_tip.seq, new_tip.record_hash])


def rewrite_from(seq: int) -> None:
    """Doctor record ``seq`` and recompute every hash after it, head included: a careful attacker."""
    previous = InferenceRecord.objects.filter(seq=seq - 1).values_list("record_hash", flat=True).first()
    prev_hash = previous or GENESIS_HASH
    for record in InferenceRecord.objects.filter(seq__gte=seq).order_by("seq"):
        if record.seq == seq:
            record.output_text = "BUY (doctored)"
        record.prev_hash = prev_hash
        record_hash = chain_hash(prev_hash, record.hashed_content())
        tamper(
            "UPDATE audit_inferencerecord SET output_text = %s, prev_hash = %s, record_hash = %s WHERE seq = %s",
            [record.output_text, prev_hash, record_hash, record.seq],
        )
        prev_hash = record_hash
    tamper("UPDATE audit_auditchainhead SET last_hash = %s", [prev_hash])


def test_verification_writes_a_signed_checkpoint_to_the_database_and_the_directory(chain, checkpoint_dir):
    run = audit_chain_verification_run()
    assert run.ok and run.checked == 5 and run.head_seq == 5

    stored = AuditCheckpoint.objects.get()
    assert (stored.seq, stored.record_hash) == (5, chain[-1].record_hash)
    [outside] = list(DirectoryCheckpointSink(checkpoint_dir).read_all())
    assert (outside.seq, outside.record_hash, outside.signature) == (5, stored.record_hash, stored.signature)
    assert outside.key_id == key_id(signing_key().public_key())
    # Appended as one JSON object per line.
    [file] = list(checkpoint_dir.glob("*.jsonl"))
    assert json.loads(file.read_text().splitlines()[0])["seq"] == 5


def test_incremental_verification_hashes_only_the_records_since_the_last_checkpoint(chain, append_record):
    audit_chain_verification_run()
    append_record()
    append_record()

    run = audit_chain_verification_run()
    assert run.ok and run.mode == "incremental"
    assert (run.from_seq, run.checked, run.head_seq) == (6, 2, 7)
    assert list(AuditCheckpoint.objects.order_by("seq").values_list("seq", flat=True)) == [5, 7]
    # Nothing new: nothing hashed, no new checkpoint.
    assert audit_chain_verification_run().checked == 0
    assert AuditCheckpoint.objects.count() == 2


def test_incremental_verification_catches_a_change_after_the_checkpoint(chain, append_record):
    audit_chain_verification_run()
    append_record()
    tamper("UPDATE audit_inferencerecord SET output_text = 'doctored' WHERE seq = 6")
    run = audit_chain_verification_run()
    assert not run.ok and run.broken_seq == 6 and "altered" in run.reason


def test_incremental_verification_catches_a_rewrite_behind_the_checkpoint(chain):
    audit_chain_verification_run()
    rewrite_from(3)
    run = audit_chain_verification_run()
    assert not run.ok and run.broken_seq == 5 and "rewritten" in run.reason


def test_a_checkpoint_forged_in_the_database_is_refused(chain):
    audit_chain_verification_run()
    rewrite_from(3)
    # The attacker also rewrites the stored checkpoint to vouch for the new tip, but cannot sign it.
    new_tip = InferenceRecord.objects.get(seq=5).record_hash
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE audit_auditcheckpoint DISABLE TRIGGER audit_auditcheckpoint_append_only")
        cursor.execute("UPDATE audit_auditcheckpoint SET record_hash = %s", [new_tip])
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditcheckpoint ENABLE TRIGGER audit_auditcheckpoint_append_only")
    run = audit_chain_verification_run()
    assert not run.ok and "no valid signature" in run.reason


def test_the_daily_full_walk_holds_the_chain_against_the_checkpoints_outside(chain):
    """Even with every checkpoint row deleted from the database, the outside copies decide."""
    audit_chain_verification_run()
    rewrite_from(2)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE audit_auditcheckpoint DISABLE TRIGGER audit_auditcheckpoint_append_only")
        cursor.execute("DELETE FROM audit_auditcheckpoint")
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditcheckpoint ENABLE TRIGGER audit_auditcheckpoint_append_only")
    # The walk of the database alone sees nothing wrong ...
    assert selectors.audit_chain_verify().ok
    # ... the full run does.
    run = audit_chain_verification_run(full=True)
    assert not run.ok and run.broken_seq == 5 and "rewritten" in run.reason


def test_checkpoints_are_append_only_in_django(chain):
    audit_chain_verification_run()
    checkpoint = AuditCheckpoint.objects.get()
    with pytest.raises(AppendOnlyError):
        checkpoint.delete()
    with pytest.raises(AppendOnlyError):
        AuditCheckpoint.objects.all().delete()
    with pytest.raises(AppendOnlyError):
        AuditCheckpoint.objects.update(seq=99)


# --- verify_audit --checkpoints: the two attacks of the issue ---------------------------


def test_chain_shortened_at_its_end_is_detected_with_checkpoints(chain, checkpoint_dir, public_key_file):
    audit_chain_verification_run()
    delete_newest_and_reset_head(2)

    # The database alone still reads intact: this is what a walk cannot see.
    assert "intact: 3 records verified" in verify()
    message = verify_failure("--checkpoints", str(checkpoint_dir), "--public-key", str(public_key_file))
    assert "seq=4" in message
    assert "ends at seq 3" in message and "vouches for seq 5" in message and "removed from its end" in message


def test_chain_rewritten_with_recomputed_hashes_is_detected_with_checkpoints(
    chain, append_record, checkpoint_dir, public_key_file
):
    audit_chain_verification_run()  # vouches for seq 5
    for _ in range(3):
        append_record()
    audit_chain_verification_run()  # vouches for seq 8
    rewrite_from(4)

    assert "intact: 8 records verified" in verify()
    message = verify_failure("--checkpoints", str(checkpoint_dir), "--public-key", str(public_key_file))
    # The first checkpoint the rewrite contradicts, and how far back it could have started.
    assert f"seq=5 id={chain[4].pk}" in message
    assert "rewritten" in message and "at or before seq 5" in message


def test_intact_chain_agrees_with_its_checkpoints_using_the_public_key_alone(
    chain, checkpoint_dir, public_key_file, settings, tmp_path
):
    audit_chain_verification_run()
    # The auditor's environment has no private key: pointing the setting at a missing file proves
    # that nothing but the public key file is read.
    settings.ARGUS_AUDIT_SIGNING_KEY_FILE = str(tmp_path / "no-such-private-key.pem")
    out = verify("--checkpoints", str(checkpoint_dir), "--public-key", str(public_key_file))
    assert "intact: 5 records verified; 1 signed checkpoint agree" in out


def test_a_checkpoint_line_edited_outside_is_refused(chain, checkpoint_dir, public_key_file):
    audit_chain_verification_run()
    delete_newest_and_reset_head(1)
    # Shortening the chain and editing the checkpoint to match: the signature no longer holds.
    [file] = list(checkpoint_dir.glob("*.jsonl"))
    line = json.loads(file.read_text())
    line.update(seq=4, record_hash=InferenceRecord.objects.get(seq=4).record_hash)
    file.write_text(json.dumps(line) + "\n")

    message = verify_failure("--checkpoints", str(checkpoint_dir), "--public-key", str(public_key_file))
    assert "no valid signature" in message


def test_checkpoints_signed_by_another_key_are_refused(chain, checkpoint_dir, tmp_path):
    audit_chain_verification_run()
    other = tmp_path / "other.pem"
    other.write_bytes(
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    message = verify_failure("--checkpoints", str(checkpoint_dir), "--public-key", str(other))
    assert "no valid signature" in message


def test_no_checkpoints_is_not_a_pass(chain, tmp_path, public_key_file):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "no signed checkpoints" in verify_failure("--checkpoints", str(empty), "--public-key", str(public_key_file))


# --- keys ------------------------------------------------------------------------------


def test_public_key_command_prints_the_pem_of_the_signing_key(db):
    out = StringIO()
    call_command("audit_public_key", stdout=out)
    pem = out.getvalue()
    assert pem.startswith("-----BEGIN PUBLIC KEY-----")
    loaded = serialization.load_pem_public_key(pem.encode())
    assert key_id(loaded) == key_id(signing_key().public_key())


def test_signing_key_comes_from_the_file_setting(chain, settings, tmp_path, public_key_file):
    key = Ed25519PrivateKey.generate()
    path = tmp_path / "signing.pem"
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    settings.ARGUS_AUDIT_SIGNING_KEY_FILE = str(path)

    audit_chain_verification_run()
    assert AuditCheckpoint.objects.get().key_id == key_id(key.public_key())
    # The development key (exported before the switch) did not sign it.
    assert key_id(load_public_key(public_key_file)) != key_id(key.public_key())


def test_production_refuses_to_sign_without_a_configured_key(chain, settings):
    settings.IS_PRODUCTION = True
    settings.ARGUS_AUDIT_SIGNING_KEY_FILE = ""
    with pytest.raises(ImproperlyConfigured, match="ARGUS_AUDIT_SIGNING_KEY_FILE"):
        audit_chain_verification_run()
    assert not AuditCheckpoint.objects.exists()
    assert not AuditVerification.objects.exists()


def test_metrics_say_whether_the_chain_is_intact_and_how_far_behind_verification_is(chain, admin_user, append_record):
    from tests.conftest import client_for
    from tests.ops.test_metrics import samples, scrape, value

    def scraped():
        return samples(scrape(client_for(admin_user)))

    assert value(scraped(), "argus_audit_chain_intact") == 0  # never verified
    assert value(scraped(), "argus_audit_chain_unverified_records") == 5
    audit_chain_verification_run()
    append_record()
    parsed = scraped()
    assert value(parsed, "argus_audit_chain_intact") == 1
    assert value(parsed, "argus_audit_chain_unverified_records") == 1
    assert value(parsed, "argus_audit_chain_verified_timestamp_seconds") > 0
    tamper("UPDATE audit_inferencerecord SET output_text = 'doctored' WHERE seq = 6")
    audit_chain_verification_run()
    assert value(scraped(), "argus_audit_chain_intact") == 0


def test_after_a_key_rotation_the_next_run_walks_from_the_start(chain, settings, tmp_path, append_record):
    audit_chain_verification_run()
    path = tmp_path / "rotated.pem"
    path.write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    settings.ARGUS_AUDIT_SIGNING_KEY_FILE = str(path)
    append_record()
    run = audit_chain_verification_run()
    assert run.ok and (run.from_seq, run.checked) == (1, 6)
