"""The vector-store interface and the plain data it takes and returns.

Everything here is backend-neutral: the Qdrant implementations (``edge.py`` for the
embedded engine, ``qdrant_client_store.py`` for a Qdrant server) translate the neutral
filter conditions built by :func:`build_conditions` into their own models, so the
access-control condition is constructed in exactly one place.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from itertools import islice
from typing import Any, Self

import numpy as np

# Named vectors inside one collection: the dense embedding and the BM25 sparse vector.
DENSE_VECTOR = "dense"
KEYWORD_VECTOR = "bm25"

# Payload fields that carry a payload index (filters run on the index, not a scan).
KEYWORD_INDEX_FIELDS = ("document_id", "chunk_id", "company", "ticker", "doc_type", "access_level", "section")
INTEGER_INDEX_FIELDS = ("published_ts", "fiscal_year")
INDEXED_FIELDS = KEYWORD_INDEX_FIELDS + INTEGER_INDEX_FIELDS

# Fields the store itself writes; ChunkRecord.extra may not overwrite them.
RESERVED_PAYLOAD_FIELDS = frozenset(
    {*INDEXED_FIELDS, "text", "published_date", "fiscal_period", "page", "char_start", "char_end"}
)

# Fixed namespace: a chunk id always maps to the same point id, so re-upserting a chunk
# overwrites it instead of leaving a stale twin behind.
_POINT_ID_NAMESPACE = uuid.UUID("6f1c2f5e-4d0b-5b8e-9a43-1d7f0c2a9b11")


class SearchMode(StrEnum):
    DENSE = "dense"
    KEYWORD = "keyword"
    HYBRID = "hybrid"


class Distance(StrEnum):
    COSINE = "cosine"
    DOT = "dot"
    EUCLID = "euclid"


class VectorStoreError(Exception):
    """Base class of the errors this package raises on purpose."""


class CollectionNotReadyError(VectorStoreError):
    """The collection does not exist yet: call ensure_collection() first."""


class CollectionMismatchError(VectorStoreError):
    """The existing collection was created with another vector size or distance."""


class StoreAlreadyOpenError(VectorStoreError):
    """An embedded store directory is already open (in this or another process)."""


class StoreClosedError(VectorStoreError):
    """The store was closed; open a new one."""


@dataclass(frozen=True, slots=True)
class ChunkRecord:
    """One chunk to index. ``vector`` is the dense embedding (list or numpy row).

    ``text`` is both stored (for highlights and answers) and turned into the BM25 sparse
    vector by the store. ``access_level`` is required and non-empty: a chunk without one
    could not be matched by any access filter, and defaulting it would be a leak.
    """

    chunk_id: str
    document_id: str | int
    text: str
    vector: Sequence[float] | np.ndarray
    access_level: str
    company: str = ""
    ticker: str = ""
    doc_type: str = ""
    published_at: date | datetime | None = None
    # The fiscal year and period a document reports on (a 10-K for FY2022 filed in 2023 is 2022).
    fiscal_year: int | None = None
    fiscal_period: str = ""
    section: str = ""
    page: int | None = None
    char_start: int | None = None
    char_end: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        if not self.chunk_id:
            raise ValueError("chunk_id must be non-empty")
        if not self.access_level:
            raise ValueError(f"chunk {self.chunk_id!r} has no access_level")
        clashing = RESERVED_PAYLOAD_FIELDS.intersection(self.extra)
        if clashing:
            raise ValueError(f"chunk {self.chunk_id!r}: extra payload may not set {sorted(clashing)}")
        payload: dict[str, Any] = dict(self.extra)
        payload.update(
            chunk_id=str(self.chunk_id),
            document_id=str(self.document_id),
            text=self.text,
            access_level=self.access_level,
            company=self.company,
            ticker=self.ticker.upper(),
            doc_type=self.doc_type,
            section=self.section,
            page=self.page,
            char_start=self.char_start,
            char_end=self.char_end,
        )
        if self.published_at is not None:
            payload["published_ts"] = to_timestamp(self.published_at)
            payload["published_date"] = self.published_at.isoformat()
        if self.fiscal_year is not None:
            payload["fiscal_year"] = int(self.fiscal_year)
        if self.fiscal_period:
            payload["fiscal_period"] = self.fiscal_period
        return payload


def _as_tuple(values: str | Iterable[Any] | None) -> tuple[str, ...]:
    if values is None:
        return ()
    # A bare string is a Sequence too; without this "AAPL" would become ("A", "A", "P", "L").
    if isinstance(values, str | int):
        return (str(values),)
    return tuple(str(v) for v in values)


@dataclass(frozen=True)
class SearchFilters:
    """Optional narrowing of a search (or a count). Empty tuples mean "no condition".

    Dates are inclusive; a plain ``date`` as ``published_to`` covers that whole day; a chunk without
    a publication date never matches a date condition (an as-of search must not guess).
    Lists and single strings are accepted and normalised to tuples.

    ``fiscal_years`` keeps chunks of those fiscal years *and* chunks whose fiscal year is unknown
    (news, notes, and chunks indexed before the field existed): it drops what is known to be about
    another year, never what might be about this one.
    """

    document_ids: tuple[str, ...] = ()
    companies: tuple[str, ...] = ()
    tickers: tuple[str, ...] = ()
    doc_types: tuple[str, ...] = ()
    sections: tuple[str, ...] = ()
    published_from: date | datetime | None = None
    published_to: date | datetime | None = None
    fiscal_years: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        for name in ("document_ids", "companies", "doc_types", "sections"):
            object.__setattr__(self, name, _as_tuple(getattr(self, name)))
        object.__setattr__(self, "tickers", tuple(t.upper() for t in _as_tuple(self.tickers)))
        object.__setattr__(self, "fiscal_years", tuple(sorted({int(y) for y in _as_tuple(self.fiscal_years)})))


@dataclass(frozen=True, slots=True)
class SearchHit:
    """A ranked chunk. ``score`` is the mode's own score (cosine, BM25, or fused RRF).

    ``ranks``/``scores`` explain a hit per retriever (``"dense"``, ``"keyword"``): the
    1-based rank and score it had in that retriever's candidate list, absent when it
    was not a candidate there.
    """

    chunk_id: str
    document_id: str
    rank: int
    score: float
    text: str
    payload: dict[str, Any]
    ranks: dict[str, int] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CollectionInfo:
    points_count: int
    # As Qdrant reports it: summed over the named vectors. Sparse vectors are indexed on
    # write; dense ones only once the optimizer built an HNSW graph (the rest are scanned).
    indexed_vectors_count: int
    vector_size: int
    distance: Distance
    indexed_fields: frozenset[str]  # payload fields with an index (local mode keeps none)


# --- neutral filter conditions -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MatchAnyCondition:
    key: str
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RangeCondition:
    key: str
    gte: int | None = None
    lte: int | None = None


@dataclass(frozen=True, slots=True)
class MatchAnyOrMissingCondition:
    """The integer field is one of ``values``, or the chunk has no such field."""

    key: str
    values: tuple[int, ...]


Condition = MatchAnyCondition | RangeCondition | MatchAnyOrMissingCondition


def to_timestamp(value: date | datetime) -> int:
    """Seconds since the epoch; naive datetimes and plain dates are taken as UTC."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    else:
        moment = datetime.combine(value, time.min, tzinfo=UTC)
    return int(moment.timestamp())


def _end_timestamp(value: date | datetime) -> int:
    if isinstance(value, datetime):
        return to_timestamp(value)
    return to_timestamp(value + timedelta(days=1)) - 1


def filter_conditions(filters: SearchFilters | None) -> list[Condition]:
    if filters is None:
        return []
    conditions: list[Condition] = []
    for key, values in (
        ("document_id", filters.document_ids),
        ("company", filters.companies),
        ("ticker", filters.tickers),
        ("doc_type", filters.doc_types),
        ("section", filters.sections),
    ):
        if values:
            conditions.append(MatchAnyCondition(key, values))
    if filters.fiscal_years:
        conditions.append(MatchAnyOrMissingCondition("fiscal_year", filters.fiscal_years))
    if filters.published_from is not None or filters.published_to is not None:
        conditions.append(
            RangeCondition(
                "published_ts",
                gte=None if filters.published_from is None else to_timestamp(filters.published_from),
                lte=None if filters.published_to is None else _end_timestamp(filters.published_to),
            )
        )
    return conditions


def build_conditions(filters: SearchFilters | None, allowed_access_levels: Collection[str]) -> list[Condition]:
    """The must-match conditions of a search. The access condition is always first and
    always present: every backend puts this list inside the vector query itself."""
    levels = _as_tuple(allowed_access_levels)
    if not levels:
        raise ValueError("allowed_access_levels must not be empty")
    return [MatchAnyCondition("access_level", levels), *filter_conditions(filters)]


def point_id_for(chunk_id: str) -> str:
    return str(uuid.uuid5(_POINT_ID_NAMESPACE, str(chunk_id)))


def dense_list(vector: Sequence[float] | np.ndarray, size: int, chunk_id: str = "") -> list[float]:
    array = np.asarray(vector, dtype=np.float32).reshape(-1)
    if array.shape[0] != size:
        raise ValueError(f"vector {chunk_id!r} has {array.shape[0]} dimensions, the collection has {size}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"vector {chunk_id!r} contains NaN or infinity")
    return array.tolist()


def batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def settle_ties(points: Any, limit: int) -> list[tuple[str, float, Any]]:
    """Fused points ordered by score, then by point id among equal scores; the first ``limit``.

    Rank fusion gives exact ties (dense 1 + keyword 3 scores like dense 3 + keyword 1) that the
    engines order arbitrarily; settled here, the same query always returns the same hits in the
    same order, which keeps prompts (and so cached and replayed generations) reproducible.
    """
    rows = sorted(((str(p.id), float(p.score), p.payload or {}) for p in points), key=lambda row: (-row[1], row[0]))
    return rows[:limit]


def hits_from(
    fused: Sequence[tuple[str, float, Mapping[str, Any]]],
    rankings: Mapping[str, Sequence[tuple[str, float]]],
) -> list[SearchHit]:
    """Build hits from (point id, score, payload) rows plus per-retriever candidate lists."""
    positions = {
        name: {pid: (rank, score) for rank, (pid, score) in enumerate(ranking, start=1)}
        for name, ranking in rankings.items()
    }
    hits = []
    for rank, (pid, score, payload) in enumerate(fused, start=1):
        ranks, scores = {}, {}
        for name, by_id in positions.items():
            if pid in by_id:
                ranks[name], scores[name] = by_id[pid]
        hits.append(
            SearchHit(
                chunk_id=str(payload.get("chunk_id", "")),
                document_id=str(payload.get("document_id", "")),
                rank=rank,
                score=float(score),
                text=str(payload.get("text", "")),
                payload=dict(payload),
                ranks=ranks,
                scores=scores,
            )
        )
    return hits


@dataclass(frozen=True, slots=True)
class SearchRequest:
    """A validated search, as the implementations receive it."""

    mode: SearchMode
    conditions: list[Condition]
    limit: int
    query_vector: list[float] | None
    query_text: str | None
    explain: bool


class VectorStore(ABC):
    """Chunks with a dense and a BM25 sparse vector, their metadata, and filtered search.

    Lifecycle: construct, ``ensure_collection()`` (idempotent, cheap), then upsert /
    search / delete, and ``close()`` (or use it as a context manager).
    """

    vector_size: int | None = None

    # --- collection -------------------------------------------------------------------

    @abstractmethod
    def ensure_collection(self, vector_size: int, distance: Distance | str = Distance.COSINE) -> None:
        """Create the collection and its payload indexes if absent; verify them if present.

        Raises CollectionMismatchError when it exists with another size or distance.
        """

    @abstractmethod
    def info(self) -> CollectionInfo: ...

    # --- writes -----------------------------------------------------------------------

    @abstractmethod
    def upsert(self, chunks: Iterable[ChunkRecord], *, batch_size: int = 256, optimize: bool = True) -> int:
        """Insert or overwrite chunks (keyed by chunk_id) in batches; returns how many.

        Not atomic across batches: on failure, delete the document and retry (upserting
        the same chunks again is idempotent). ``optimize=False`` defers index building
        in embedded stores during a bulk load; call :meth:`optimize` afterwards.
        """

    @abstractmethod
    def delete_by_document(self, document_id: str | int) -> int:
        """Remove every chunk of a document; returns how many were removed."""

    def replace_document(
        self, document_id: str | int, chunks: Iterable[ChunkRecord], *, batch_size: int = 256, optimize: bool = True
    ) -> int:
        """Re-index one document: drop its old chunks, then upsert the new ones.

        Chunks whose document_id differs are refused, so a re-index cannot write into
        another document's slot. Not atomic: between the two steps the document is briefly
        absent from search results (never present twice).
        """
        chunks = list(chunks)
        wrong = [c.chunk_id for c in chunks if str(c.document_id) != str(document_id)]
        if wrong:
            raise ValueError(f"chunks {wrong[:5]} do not belong to document {document_id!r}")
        self.delete_by_document(document_id)
        return self.upsert(chunks, batch_size=batch_size, optimize=optimize)

    def optimize(self) -> None:  # noqa: B027 - a no-op is right for servers, which optimise by themselves
        """Build pending indexes now (embedded stores). A server does this in the background."""

    # --- reads ------------------------------------------------------------------------

    @abstractmethod
    def count(self, filters: SearchFilters | None = None) -> int:
        """Exact number of chunks matching ``filters`` (all chunks when None). No access
        filter: this is an operator/consistency check, not a user-facing read."""

    def count_by_document(self, document_id: str | int) -> int:
        return self.count(SearchFilters(document_ids=(str(document_id),)))

    def search(
        self,
        *,
        allowed_access_levels: Collection[str],
        query_vector: Sequence[float] | np.ndarray | None = None,
        query_text: str | None = None,
        filters: SearchFilters | None = None,
        limit: int = 10,
        mode: SearchMode | str = SearchMode.HYBRID,
        explain: bool = True,
    ) -> list[SearchHit]:
        """Ranked chunks for a query, best first.

        ``allowed_access_levels`` is required and becomes a must-match condition of the
        Qdrant query itself (and of every prefetch), so a chunk at another level is never
        a candidate, let alone returned. An empty collection of levels returns nothing.
        ``dense`` needs ``query_vector``, ``keyword`` needs ``query_text``, ``hybrid``
        needs both and fuses the two rankings with reciprocal rank fusion.
        ``explain`` adds each hit's per-retriever rank (hybrid costs two more queries).
        """
        mode = SearchMode(mode)
        if isinstance(allowed_access_levels, str):
            raise TypeError("allowed_access_levels must be a collection of levels, not a string")
        if limit < 1:
            raise ValueError("limit must be at least 1")
        if mode in (SearchMode.DENSE, SearchMode.HYBRID) and query_vector is None:
            raise ValueError(f"{mode} search needs query_vector")
        if mode in (SearchMode.KEYWORD, SearchMode.HYBRID) and not (query_text and query_text.strip()):
            raise ValueError(f"{mode} search needs query_text")
        if not _as_tuple(allowed_access_levels):
            return []
        size = self._require_vector_size()
        request = SearchRequest(
            mode=mode,
            conditions=build_conditions(filters, allowed_access_levels),
            limit=limit,
            query_vector=None if query_vector is None else dense_list(query_vector, size, "query"),
            query_text=query_text,
            explain=explain,
        )
        return self._search(request)

    @abstractmethod
    def _search(self, request: SearchRequest) -> list[SearchHit]: ...

    def _require_vector_size(self) -> int:
        if self.vector_size is None:
            raise CollectionNotReadyError("the collection does not exist yet: call ensure_collection() first")
        return self.vector_size

    # --- lifecycle --------------------------------------------------------------------

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
