"""Canonical content and hashes for the audit chain. Plain Python, no Django."""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import uuid
from typing import Any

GENESIS_HASH = "0" * 64


def _default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID | decimal.Decimal):
        return str(value)
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return value.tolist()
    raise TypeError(f"not canonicalisable: {type(value).__name__}")


# What json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default)
# builds on every call, built once: verification encodes a million records in a row.
_CANONICAL_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default)


def canonical_json(value: Any) -> str:
    """One spelling per value: sorted keys, no whitespace, UTF-8, ISO datetimes in UTC."""
    return _CANONICAL_ENCODER.encode(value)


def content_hash(value: Any) -> str:
    """SHA-256 of a model input or output.

    Arrays are hashed from their raw bytes (with dtype and shape), so hashing a
    large embedding matrix costs no JSON round trip.
    """
    if value is None:
        return ""
    digest = hashlib.sha256()
    if hasattr(value, "tobytes") and hasattr(value, "dtype"):
        digest.update(f"ndarray:{value.dtype.str}:{tuple(value.shape)}:".encode())
        digest.update(value.tobytes())
    elif isinstance(value, bytes):
        digest.update(value)
    elif isinstance(value, str):
        digest.update(value.encode())
    else:
        digest.update(canonical_json(value).encode())
    return digest.hexdigest()


def chain_hash(prev_hash: str, content: dict[str, Any]) -> str:
    """The hash a record stores: its canonical content chained to its predecessor."""
    return hashlib.sha256((prev_hash + canonical_json(content)).encode()).hexdigest()
