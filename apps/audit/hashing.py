"""Canonical content and hashes for the audit chain. Plain Python, no Django."""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import operator
import uuid
from json.encoder import encode_basestring as _encode_str
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


# --- the same bytes, faster, for verification ------------------------------------------

try:  # CPython's C encoder: the one JSONEncoder itself uses, here without its per-call set-up
    from json.encoder import c_make_encoder as _c_make_encoder
except ImportError:  # pragma: no cover - only on Pythons built without the _json accelerator
    _c_make_encoder = None

if _c_make_encoder is not None:
    # No circular-reference markers: the values come from json.loads or plain columns, never cyclic.
    _c_canonical = _c_make_encoder(None, _default, _encode_str, None, ":", ",", True, False, True)

    def _encode_json_value(value: Any) -> str:
        return "".join(_c_canonical(value, 0))

else:  # pragma: no cover

    def _encode_json_value(value: Any) -> str:
        return _CANONICAL_ENCODER.encode(value)


def _encode_float(value: float) -> str:
    # As the encoder spells floats with allow_nan: repr when finite.
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return float.__repr__(value)


# Per exact type: a subclass (an IntEnum, a str enum) or any other type is not handled here
# and the caller falls back to canonical_json, so only spellings identical to it are produced.
CANONICAL_SPELLING_BY_TYPE: dict[type, Any] = {
    str: _encode_str,
    int: int.__repr__,
    bool: {True: "true", False: "false"}.__getitem__,
    type(None): lambda _: "null",
    float: _encode_float,
    dict: _encode_json_value,
    list: _encode_json_value,
    uuid.UUID: lambda value: _encode_str(str(value)),
    dt.datetime: lambda value: _encode_str(value.astimezone(dt.UTC).isoformat(timespec="microseconds")),
}


class CanonicalRowEncoder:
    """``canonical_json`` of a fixed-key dict built from a row tuple, without building the dict.

    ``columns`` name the row's positions; the dict has every name in ``columns`` except the
    ``optional`` ones, which it has only when their value is not None (as
    ``record_hashed_content`` does). Keys are sorted once here instead of for every row,
    and each value is spelled by the encoder's own routines for its type.
    ``encode`` returns None for a row holding a value of another type: the caller then
    takes the reference path, so this never spells a value differently from ``canonical_json``.
    """

    def __init__(self, columns: tuple[str, ...], *, optional: tuple[str, ...] = ()) -> None:
        self._optional_at = tuple(columns.index(name) for name in optional)
        self._variants: dict[tuple[bool, ...], tuple[str, Any]] = {}
        for mask in range(2 ** len(optional)):
            present = tuple(bool(mask >> bit & 1) for bit in range(len(optional)))
            skipped = {name for name, here in zip(optional, present, strict=True) if not here}
            keys = sorted(name for name in columns if name not in skipped)
            template = "{" + ",".join(_encode_str(key).replace("%", "%%") + ":%s" for key in keys) + "}"
            self._variants[present] = (template, operator.itemgetter(*(columns.index(key) for key in keys)))

    def encode(self, row: tuple[Any, ...] | list[Any]) -> str | None:
        template, values_in_key_order = self._variants[tuple(row[i] is not None for i in self._optional_at)]
        encode_by_type = CANONICAL_SPELLING_BY_TYPE
        try:
            return template % tuple([encode_by_type[type(value)](value) for value in values_in_key_order(row)])
        except KeyError:
            return None
