"""Feed items from RSS/Atom documents, JSON lines and the SEC 8-K item stream; duplicate fingerprints.

Plain Python: bytes and lines in, ``FeedItem``/``ItemRejection`` out. A document that cannot be read
at all raises ``FeedMalformed`` (the feed is broken); one bad item becomes an ``ItemRejection`` and the
others proceed.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz

# A line longer than this is refused before json.loads sees it (a runaway file must not exhaust memory).
MAX_LINE_BYTES = 1_000_000
MAX_TITLE_CHARS = 1000
RAW_EXCERPT_CHARS = 500
SEC_8K_SOURCE = "SEC EDGAR 8-K"


class FeedMalformed(Exception):
    """The whole document is unreadable (not XML, not a feed): the feed is in error, nothing was taken."""


@dataclass
class FeedItem:
    title: str
    body: str
    published: datetime | None  # aware, UTC; None when the source gave no date
    url: str = ""
    source: str = ""
    external_id: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    # Part of the exact-duplicate hash besides the text: filings repeat boilerplate, yet each is its own item.
    identity: str = ""


@dataclass
class ItemRejection:
    reason: str
    raw_excerpt: str = ""
    line_number: int | None = None
    item_index: int | None = None
    location: str = ""


@dataclass
class ParsedBatch:
    items: list[FeedItem] = field(default_factory=list)
    rejections: list[ItemRejection] = field(default_factory=list)


# --- normalisation and fingerprints -----------------------------------------------------------------

_WS = re.compile(r"\s+")
_TAG = re.compile(r"<[^>]+>")
_WORD = re.compile(r"[A-Za-z0-9$%.,'-]+")
_DISTINCTIVE = re.compile(r"\b(?:[A-Z][A-Za-z&.-]+|\$?\d[\d.,]*%?)")


def normalise_text(text: str) -> str:
    return _WS.sub(" ", text).strip()


def content_hash(title: str, body: str, identity: str = "") -> str:
    """sha256 of the case- and whitespace-normalised text: the same story fetched twice hashes the same."""
    canonical = "\x1f".join((normalise_text(title).lower(), normalise_text(body).lower(), identity))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def dedup_text(title: str, body: str, limit: int = 4000) -> str:
    """What near-duplicate matching compares: title and the start of the body (syndication rewrites little)."""
    return normalise_text(f"{title}. {body}")[:limit]


def _distinctive_tokens(text: str) -> set[str]:
    # Names and figures: template news about two companies differs mostly here.
    return {t.strip(".,").lower() for t in _DISTINCTIVE.findall(text)} - {""}


def near_duplicate_similarity(a: str, b: str) -> float:
    """0..100: how likely one text is a reworded copy of the other.

    ``token_set_ratio`` tolerates reordering, added sentences and a few changed words. It would also
    call two template stories about different companies near-identical (same words, other names and
    figures), so it is weighted by how much of the shorter text's names and figures the other text
    holds, squared: a copy keeps them (adding a byline or "UPDATE 1" costs nothing), a template twin
    about another company or with other numbers loses a third or more of its score.
    """
    textual = fuzz.token_set_ratio(a, b)
    names_a, names_b = _distinctive_tokens(a), _distinctive_tokens(b)
    if not names_a or not names_b:
        return float(textual)
    # The smaller set is checked against every word of the other text, so a word capitalised only
    # because a reworded sentence starts with it ("Deliveries of ..." / "... deliveries of") still counts.
    (small, _), (other_names, other_text) = sorted(((names_a, a), (names_b, b)), key=lambda pair: len(pair[0]))
    other_words = _words(other_text) | other_names
    containment = sum(1 for token in small if token in other_words) / len(small)
    return float(textual) * containment**2


def _words(text: str) -> set[str]:
    return {t.strip(".,").lower() for t in _WORD.findall(text)} - {""}


def best_near_duplicate(text: str, candidates: Iterable[tuple[Any, str]], threshold: float) -> tuple[Any, float] | None:
    """The candidate (key, text) most similar to ``text`` at or above ``threshold``, or None."""
    best: tuple[Any, float] | None = None
    for key, other in candidates:
        similarity = near_duplicate_similarity(text, other)
        if similarity >= threshold and (best is None or similarity > best[1]):
            best = (key, similarity)
    return best


# --- dates ------------------------------------------------------------------------------------------


def parse_published(value: Any) -> datetime:
    """ISO date or datetime (a trailing Z too) -> aware UTC datetime; ValueError otherwise."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str) or not value.strip():
        raise ValueError("missing published date")
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise ValueError(f"unparseable published date {value!r}") from None
        parsed = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _bounded_body(body: str, max_body_chars: int, metadata: dict[str, Any]) -> str:
    if len(body) > max_body_chars:
        metadata["truncated_from_chars"] = len(body)
        return body[:max_body_chars]
    return body


# --- RSS / Atom ---------------------------------------------------------------------------------------


def parse_feed_document(
    data: bytes, *, source: str = "", max_items: int = 200, max_body_chars: int = 100_000
) -> ParsedBatch:
    """Entries of an RSS or Atom document, in document order, at most ``max_items``."""
    import feedparser  # imported here: only feed polling needs it

    parsed = feedparser.parse(data)
    version = parsed.get("version", "")
    if parsed.get("bozo") and not parsed.entries:
        raise FeedMalformed(f"not a readable RSS/Atom document: {parsed.get('bozo_exception')}")
    if not version and not parsed.entries:
        raise FeedMalformed("not an RSS or Atom document")
    feed_title = normalise_text(parsed.feed.get("title", "")) if parsed.get("feed") else ""
    batch = ParsedBatch()
    for index, entry in enumerate(parsed.entries[:max_items]):
        raw = json.dumps({k: str(entry.get(k, ""))[:200] for k in ("id", "title", "link", "published")})[
            :RAW_EXCERPT_CHARS
        ]
        title = normalise_text(_TAG.sub(" ", entry.get("title", "")))[:MAX_TITLE_CHARS]
        body = _entry_body(entry)
        if not title:
            batch.rejections.append(ItemRejection("item has no title", raw, item_index=index))
            continue
        # dict.get, not entry.get: feedparser maps missing published_* keys to updated_* with a warning.
        published_struct = dict.get(entry, "published_parsed") or dict.get(entry, "updated_parsed")
        stated = dict.get(entry, "published") or dict.get(entry, "updated")
        if published_struct is None and stated:
            batch.rejections.append(ItemRejection(f"unparseable published date {stated!r}", raw, item_index=index))
            continue
        published = (
            datetime.fromtimestamp(calendar.timegm(published_struct), tz=UTC) if published_struct is not None else None
        )
        metadata: dict[str, Any] = {}
        body = _bounded_body(body, max_body_chars, metadata)
        entry_source = entry.get("source", {}).get("title", "") if isinstance(entry.get("source"), dict) else ""
        batch.items.append(
            FeedItem(
                title=title,
                body=body,
                published=published,
                url=entry.get("link", "")[:2000],
                source=(entry_source or feed_title or source)[:200],
                external_id=(entry.get("id") or entry.get("link") or "")[:500],
                metadata=metadata,
            )
        )
    return batch


def _entry_body(entry: Any) -> str:
    if entry.get("content"):
        text = " ".join(part.get("value", "") for part in entry["content"])
    else:
        text = entry.get("summary", "") or entry.get("description", "")
    return normalise_text(_TAG.sub(" ", text))


# --- JSON lines --------------------------------------------------------------------------------------


def parse_jsonl_record(
    line: str, *, line_number: int, location: str = "", source: str = "", max_body_chars: int = 100_000
) -> FeedItem | ItemRejection:
    """One JSON lines record: ``{"title", "body"|"summary"|"text", "url", "published"|"date", "source", "id"}``."""
    excerpt = line[:RAW_EXCERPT_CHARS]
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        return ItemRejection(f"invalid JSON: {exc.msg}", excerpt, line_number=line_number, location=location)
    if not isinstance(record, dict):
        return ItemRejection("a line must hold a JSON object", excerpt, line_number=line_number, location=location)
    title = record.get("title")
    if not isinstance(title, str) or not title.strip():
        return ItemRejection("missing title", excerpt, line_number=line_number, location=location)
    body = record.get("body", record.get("summary", record.get("text", "")))
    if not isinstance(body, str):
        return ItemRejection("body must be a string", excerpt, line_number=line_number, location=location)
    try:
        published = parse_published(record.get("published", record.get("date")))
    except ValueError as exc:
        return ItemRejection(str(exc), excerpt, line_number=line_number, location=location)
    metadata = record.get("metadata") if isinstance(record.get("metadata"), dict) else {}
    metadata = dict(metadata)
    for key in ("ticker", "tickers", "planted", "syndicated_from"):
        if key in record:
            metadata[key] = record[key]
    return FeedItem(
        title=normalise_text(title)[:MAX_TITLE_CHARS],
        body=_bounded_body(body.strip(), max_body_chars, metadata),
        published=published,
        url=str(record.get("url") or "")[:2000],
        source=str(record.get("source") or source)[:200],
        external_id=str(record.get("id") or "")[:500],
        metadata=metadata,
    )


@dataclass
class FileChunk:
    batch: ParsedBatch
    offset: int  # byte offset after the last complete line consumed
    line_number: int  # lines consumed so far (for rejection line numbers)
    exhausted: bool  # no complete line left after ``offset``


def read_jsonl_file(
    path: Path,
    *,
    offset: int = 0,
    line_number: int = 0,
    max_items: int = 200,
    source: str = "",
    max_body_chars: int = 100_000,
) -> FileChunk:
    """Complete lines of ``path`` from byte ``offset``: a line still being written (no newline yet) waits."""
    batch = ParsedBatch()
    consumed = 0
    with path.open("rb") as handle:
        handle.seek(offset)
        while consumed < max_items:
            raw = handle.readline(MAX_LINE_BYTES + 1)
            if not raw:
                return FileChunk(batch, offset, line_number, exhausted=True)
            if not raw.endswith(b"\n"):
                if len(raw) > MAX_LINE_BYTES:
                    # Skip the oversized line entirely so the cursor never sticks on it.
                    line_number += 1
                    rest = handle.readline()
                    while rest and not rest.endswith(b"\n"):
                        rest = handle.readline()
                    offset = handle.tell()
                    batch.rejections.append(
                        ItemRejection(
                            f"line longer than {MAX_LINE_BYTES} bytes",
                            raw[:RAW_EXCERPT_CHARS].decode("utf-8", "replace"),
                            line_number=line_number,
                            location=path.name,
                        )
                    )
                    consumed += 1
                    continue
                return FileChunk(batch, offset, line_number, exhausted=True)
            offset += len(raw)
            line_number += 1
            text = raw.decode("utf-8", "replace").strip()
            if not text:
                continue
            consumed += 1
            result = parse_jsonl_record(
                text, line_number=line_number, location=path.name, source=source, max_body_chars=max_body_chars
            )
            if isinstance(result, ItemRejection):
                batch.rejections.append(result)
            else:
                batch.items.append(result)
        exhausted = handle.read(1) == b""
    return FileChunk(batch, offset, line_number, exhausted=exhausted)


def parse_jsonl_bytes(
    data: bytes, *, source: str = "", max_items: int = 200, max_body_chars: int = 100_000
) -> ParsedBatch:
    """An uploaded JSON lines file, whole."""
    batch = ParsedBatch()
    for line_number, raw in enumerate(data.splitlines(), start=1):
        text = raw.decode("utf-8", "replace").strip()
        if not text:
            continue
        if len(batch.items) + len(batch.rejections) >= max_items:
            batch.rejections.append(
                ItemRejection(f"more than {max_items} items; the rest were not read", "", line_number)
            )
            break
        result = parse_jsonl_record(text, line_number=line_number, source=source, max_body_chars=max_body_chars)
        (batch.rejections if isinstance(result, ItemRejection) else batch.items).append(result)
    return batch


def looks_like_jsonl(data: bytes) -> bool:
    return data.lstrip()[:1] == b"{"


# --- SEC 8-K items -------------------------------------------------------------------------------------


def sec_8k_rows(path: Path) -> list[dict[str, Any]]:
    """Every row of the 8-K item file in replay order: filing date, then the file's own order."""
    with path.open(encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    order = sorted(range(len(rows)), key=lambda i: (rows[i].get("filing_date", ""), i))
    return [rows[i] for i in order]


def sec_8k_item(row: dict[str, Any], *, max_body_chars: int = 100_000) -> FeedItem:
    """One (filing, item) row as an article; the item code stays in metadata for the event mapping."""
    company = normalise_text(row.get("company", "")) or f"CIK {row.get('cik', '?')}"
    item_code = str(row.get("item", ""))
    item_title = row.get("item_title", "")
    metadata: dict[str, Any] = {
        "item_code": item_code,
        "item_title": item_title,
        "cik": row.get("cik", ""),
        "ticker": row.get("ticker", ""),
        "company": company,
        "risk_relevant": bool(row.get("risk_relevant", False)),
        "filename": row.get("filename", ""),
        "form": "8-K",
    }
    external_id = f"{row.get('filename', '')}#{item_code}"
    return FeedItem(
        title=f"{company}: 8-K item {item_code} {item_title}".strip()[:MAX_TITLE_CHARS],
        body=_bounded_body(row.get("text", ""), max_body_chars, metadata),
        published=parse_published(row["filing_date"]),
        url=row.get("filing_html_index", "")[:2000],
        source=SEC_8K_SOURCE,
        external_id=external_id,
        metadata=metadata,
        identity=external_id,
    )


def iter_jsonl_folder(folder: Path) -> Iterator[Path]:
    """The *.jsonl files of a folder in name order (a date-stamped name then reads in date order)."""
    yield from sorted(p for p in folder.glob("*.jsonl") if p.is_file())
