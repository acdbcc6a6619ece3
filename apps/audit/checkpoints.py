"""Signed chain checkpoints kept outside the database.

A checkpoint says "the chain held up to ``seq``, whose hash was ``record_hash``",
signed with an Ed25519 key that the database never holds. Each one is appended to
a sink outside the database (append-only JSON lines files in a directory by
default; an object store with retention lock in production implements the same
two methods). Whoever rewrites the rows and the head afterwards cannot produce a
signed checkpoint that agrees with the rewrite, and cannot make the chain longer
than it was without it showing: ``verify_audit --checkpoints`` compares them.

A checkpoint line is a JSON object::

    {"v": 1, "seq": 42, "record_hash": "...", "created_at": "2026-12-03T18:00:00.000000+00:00",
     "key_id": "...", "signature": "<base64 Ed25519 signature>"}

The signature covers the canonical JSON (:func:`apps.audit.hashing.canonical_json`)
of the object without its ``signature`` key. ``key_id`` is the SHA-256 of the raw
public key, so a verifier can tell which key (after a rotation) signed a line.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from apps.audit.hashing import canonical_json

CHECKPOINT_FORMAT_VERSION = 1


@dataclass(frozen=True)
class SignedCheckpoint:
    seq: int
    record_hash: str
    created_at: str  # canonical UTC ISO string, as signed
    key_id: str
    signature: str
    # Where it was read from (file and line), for messages; empty when just made.
    origin: str = ""

    def payload(self) -> dict[str, Any]:
        return {
            "v": CHECKPOINT_FORMAT_VERSION,
            "seq": self.seq,
            "record_hash": self.record_hash,
            "created_at": self.created_at,
            "key_id": self.key_id,
        }

    def to_line(self) -> str:
        return canonical_json({**self.payload(), "signature": self.signature})

    @classmethod
    def from_json(cls, data: dict[str, Any], *, origin: str = "") -> SignedCheckpoint:
        if data.get("v") != CHECKPOINT_FORMAT_VERSION:
            raise ValueError(f"unknown checkpoint format {data.get('v')!r}")
        return cls(
            seq=int(data["seq"]),
            record_hash=str(data["record_hash"]),
            created_at=str(data["created_at"]),
            key_id=str(data["key_id"]),
            signature=str(data["signature"]),
            origin=origin,
        )


# --- keys ---------------------------------------------------------------------------


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def public_key_pem(public_key: Ed25519PublicKey) -> str:
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def load_public_key(path: Path) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(Path(path).read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{path} is not an Ed25519 public key")
    return key


def _generate_private_key(path: Path) -> None:
    """Development only: a fresh key, readable by its owner alone.

    Written to a temporary file and linked into place, so a process racing this one
    either finds no key or a whole one, and the first key made is the one kept.
    """
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    try:
        os.link(temporary, path)
    except FileExistsError:  # another process made it first: use theirs
        pass
    finally:
        temporary.unlink()


def signing_key() -> Ed25519PrivateKey:
    """The private key from ``ARGUS_AUDIT_SIGNING_KEY_FILE``; generated under var/ in development.

    Production never generates one: a key made on the server and kept next to the
    database would sign whatever an intruder asked it to.
    """
    configured = settings.ARGUS_AUDIT_SIGNING_KEY_FILE
    if configured:
        path = Path(configured)
    elif settings.IS_PRODUCTION:
        raise ImproperlyConfigured("ARGUS_AUDIT_SIGNING_KEY_FILE must be set when DJANGO_ENV=production")
    else:
        path = Path(settings.VAR_DIR) / "audit-signing-key.pem"
        if not path.exists():
            _generate_private_key(path)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ImproperlyConfigured(f"ARGUS_AUDIT_SIGNING_KEY_FILE ({path}) is not an Ed25519 private key")
    return key


def checkpoint_sign(*, seq: int, record_hash: str, created_at: dt.datetime, key: Ed25519PrivateKey) -> SignedCheckpoint:
    unsigned = SignedCheckpoint(
        seq=seq,
        record_hash=record_hash,
        created_at=json.loads(canonical_json(created_at)),
        key_id=key_id(key.public_key()),
        signature="",
    )
    signature = key.sign(canonical_json(unsigned.payload()).encode())
    return SignedCheckpoint(**{**unsigned.__dict__, "signature": base64.b64encode(signature).decode()})


def checkpoint_signature_valid(checkpoint: SignedCheckpoint, public_keys: Iterable[Ed25519PublicKey]) -> bool:
    """True when one of ``public_keys`` (the one whose id the checkpoint names) signed exactly this content."""
    for public_key in public_keys:
        if key_id(public_key) != checkpoint.key_id:
            continue
        try:
            public_key.verify(base64.b64decode(checkpoint.signature), canonical_json(checkpoint.payload()).encode())
        except (InvalidSignature, ValueError):
            return False
        return True
    return False


# --- sinks --------------------------------------------------------------------------


class CheckpointSink(Protocol):
    """Where signed checkpoints go, outside the database. Append-only: nothing is ever rewritten."""

    def append(self, checkpoint: SignedCheckpoint) -> None: ...

    def read_all(self) -> Iterator[SignedCheckpoint]:
        """Every checkpoint ever appended, oldest first; a malformed line raises ValueError naming it."""
        ...


class DirectoryCheckpointSink:
    """JSON lines files in a directory, one file per UTC day, appended with O_APPEND and fsynced.

    Give the directory to another machine or mount (or sync it to WORM storage):
    its value is that the database's owner cannot rewrite it.
    """

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)

    def append(self, checkpoint: SignedCheckpoint) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        day = checkpoint.created_at[:10]
        line = (checkpoint.to_line() + "\n").encode()
        # One write() with O_APPEND: lines from concurrent writers never interleave.
        fd = os.open(self.directory / f"checkpoints-{day}.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)

    def read_all(self) -> Iterator[SignedCheckpoint]:
        if not self.directory.is_dir():
            return
        for path in sorted(self.directory.glob("*.jsonl")):
            with path.open(encoding="utf-8") as handle:
                for number, line in enumerate(handle, start=1):
                    if not line.strip():
                        continue
                    origin = f"{path.name}:{number}"
                    try:
                        yield SignedCheckpoint.from_json(json.loads(line), origin=origin)
                    except (ValueError, KeyError, TypeError) as exc:
                        raise ValueError(f"{origin}: not a checkpoint line ({exc})") from exc


def checkpoint_sink() -> CheckpointSink:
    """The configured sink: ``ARGUS_AUDIT_CHECKPOINT_SINK`` (a class taking no arguments) or the directory."""
    dotted = settings.ARGUS_AUDIT_CHECKPOINT_SINK
    if dotted:
        return import_string(dotted)()
    return DirectoryCheckpointSink(settings.ARGUS_AUDIT_CHECKPOINT_DIR)
