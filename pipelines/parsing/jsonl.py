"""JSON lines batches: one document per line, every bad line reported with its number and reason.

Each line is an object with a non-empty ``text`` and optional ``title``, ``company``, ``ticker``,
``type``, ``date`` (ISO 8601), ``source``, ``access_level`` and ``format`` (``text`` default,
``markdown``, ``html``).
Other scalar fields are kept under ``metadata["extra"]``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

from pipelines.cleaning import normalize_text
from pipelines.documents import BlockDraft, DocumentFormat, LineError, ParsedDocument, build_document
from pipelines.parsing.errors import TooManyDocuments
from pipelines.parsing.html import html_to_blocks, markdown_to_blocks
from pipelines.parsing.text import guess_title, text_to_blocks

STRING_FIELDS = ("title", "company", "ticker", "type", "date", "source", "access_level", "format")
TEXT_FORMATS = ("text", "markdown", "html")
_TICKER = re.compile(r"^[A-Z0-9][A-Z0-9.\-^:]{0,14}$")


class _LineProblem(Exception):
    def __init__(self, reason_code: str, message: str) -> None:
        super().__init__(message)
        self.reason_code = reason_code
        self.message = message


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _iso_date(value: str) -> str:
    """ISO date or date-time ("2023-07-31", "2023-07-31T16:05:00Z") -> "2023-07-31"."""
    for parse in (dt.date.fromisoformat, lambda v: dt.datetime.fromisoformat(v).date()):
        try:
            return parse(value).isoformat()
        except ValueError:
            continue
    raise _LineProblem("invalid_field", f"field 'date' must be an ISO date (YYYY-MM-DD), got {value!r}")


def _fields(record: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name in STRING_FIELDS:
        value = record.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise _LineProblem("invalid_field", f"field '{name}' must be a string, got {type(value).__name__}")
        value = " ".join(normalize_text(value).split())
        if value:
            found[name] = value
    if "ticker" in found:
        found["ticker"] = found["ticker"].upper()
        if not _TICKER.match(found["ticker"]):
            raise _LineProblem("invalid_field", f"field 'ticker' is not a ticker symbol: {found['ticker']!r}")
    if "date" in found:
        found["date"] = _iso_date(found["date"])
    for name in ("type", "access_level"):
        if name in found:
            found[name] = found[name].lower()
    if found.get("format", "text").lower() not in TEXT_FORMATS:
        raise _LineProblem("invalid_field", f"field 'format' must be one of {', '.join(TEXT_FORMATS)}")
    return found


def _blocks(text: str, text_format: str) -> tuple[list[BlockDraft], str | None]:
    converters: dict[str, Callable[[str], Any]] = {"markdown": markdown_to_blocks, "html": html_to_blocks}
    if text_format in converters:
        content = converters[text_format](text)
        return content.drafts, content.title
    drafts = text_to_blocks(text)
    return drafts, guess_title(drafts)


def _parse_line(raw: bytes, line_number: int, source_name: str | None) -> ParsedDocument:
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _LineProblem("invalid_encoding", f"not valid UTF-8 (invalid byte at column {exc.start + 1})") from None
    try:
        record = json.loads(decoded, parse_constant=_reject_constant)
    except ValueError as exc:
        detail = f"{exc.msg} at column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise _LineProblem("invalid_json", f"invalid JSON ({detail}); each line must be one JSON object") from None
    if not isinstance(record, dict):
        raise _LineProblem("not_an_object", f"expected a JSON object, got {type(record).__name__}")
    text = record.get("text")
    if text is None:
        raise _LineProblem("missing_text", "the object has no 'text' field")
    if not isinstance(text, str):
        raise _LineProblem("invalid_field", f"field 'text' must be a string, got {type(text).__name__}")
    if not text.strip():
        raise _LineProblem("empty_text", "field 'text' is empty")
    fields = _fields(record)
    text_format = fields.pop("format", "text").lower()
    drafts, title_guess = _blocks(text, text_format)
    if not drafts:
        raise _LineProblem("empty_text", "no text left after parsing field 'text'")
    extra = {
        key: value
        for key, value in record.items()
        if key not in {"text", *STRING_FIELDS} and (value is None or isinstance(value, (str, int, float, bool)))
    }
    title = fields.pop("title", None) or title_guess
    metadata: dict[str, Any] = {**fields, "text_format": text_format}
    if extra:
        metadata["extra"] = extra
    return build_document(
        drafts,
        format=DocumentFormat.JSONL,
        title=title,
        metadata=metadata,
        source_name=source_name,
        source_sha256=hashlib.sha256(raw).hexdigest(),
        line_number=line_number,
    )


def parse_jsonl(
    data: bytes, *, max_documents: int, source_name: str | None = None
) -> tuple[list[ParsedDocument], list[LineError]]:
    """All good lines as documents, and one ``LineError`` per bad line (blank lines are skipped)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    raw_lines = [(number, raw.rstrip(b"\r")) for number, raw in enumerate(data.split(b"\n"), start=1)]
    raw_lines = [(number, raw) for number, raw in raw_lines if raw.strip()]
    if len(raw_lines) > max_documents:
        raise TooManyDocuments(
            f"The batch has {len(raw_lines)} documents; the limit is {max_documents} per upload.",
            {"documents": len(raw_lines), "limit": max_documents},
        )
    documents: list[ParsedDocument] = []
    errors: list[LineError] = []
    for number, raw in raw_lines:
        try:
            documents.append(_parse_line(raw, number, source_name))
        except _LineProblem as problem:
            errors.append(LineError(number, problem.reason_code, f"line {number}: {problem.message}"))
    return documents, errors
