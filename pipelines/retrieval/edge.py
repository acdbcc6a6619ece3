"""The embedded default: Qdrant's own engine in-process (qdrant-edge-py), one directory
per collection (for example ``var/qdrant/<collection>``).

One process per directory. The engine keeps its write-ahead log locked while a shard is
open, and this module adds two guards with clear errors: a registry refuses a second
open of the same directory within a process, and an exclusive ``flock`` on a lock file
next to the directory refuses it from another process. In embedded mode all vector-store
access therefore goes through one owner process (a single-process worker queue); the web
process must not open the store. A Qdrant server (``QdrantClientVectorStore``) has no
such limit.

Index building: new points land in a small appendable segment that is searched exactly;
``optimize()`` turns segments above ``indexing_threshold_kb`` into HNSW segments, merges
small ones and vacuums deleted points. It is a blocking call that returns at once when
nothing crossed a threshold, so the store runs it after every write call (the optimizer's
own thresholds decide whether any work happens). A bulk load passes ``optimize=False`` to
each ``upsert()`` and calls ``optimize()`` once at the end.
"""

from __future__ import annotations

import fcntl
import functools
import json
import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from pipelines.retrieval.base import (
    DENSE_VECTOR,
    INTEGER_INDEX_FIELDS,
    KEYWORD_INDEX_FIELDS,
    KEYWORD_VECTOR,
    ChunkRecord,
    CollectionInfo,
    CollectionMismatchError,
    CollectionNotReadyError,
    Condition,
    Distance,
    MatchAnyCondition,
    MatchAnyOrMissingCondition,
    SearchFilters,
    SearchHit,
    SearchMode,
    SearchRequest,
    StoreAlreadyOpenError,
    StoreClosedError,
    VectorStore,
    batched,
    dense_list,
    filter_conditions,
    hits_from,
    point_id_for,
    settle_ties,
)
from pipelines.retrieval.bm25 import KeywordEncoder, default_encoder
from pipelines.retrieval.hybrid import RRF_K, Fusion, candidate_limit

_CONFIG_FILE = "edge_config.json"

_open_paths: dict[Path, EdgeVectorStore] = {}
_open_paths_lock = threading.Lock()
_R = TypeVar("_R")


def _serialised(method: Callable[..., _R]) -> Callable[..., _R]:
    """One call at a time on a shard: the owner process may serve searches from several threads."""

    @functools.wraps(method)
    def call(self: EdgeVectorStore, *args: Any, **kwargs: Any) -> _R:
        with self._guard:
            return method(self, *args, **kwargs)

    return call


def _edge_distance(distance: Distance) -> Any:
    import qdrant_edge

    return {
        Distance.COSINE: qdrant_edge.Distance.Cosine,
        Distance.DOT: qdrant_edge.Distance.Dot,
        Distance.EUCLID: qdrant_edge.Distance.Euclid,
    }[distance]


_DISTANCE_FROM_CONFIG = {"Cosine": Distance.COSINE, "Dot": Distance.DOT, "Euclid": Distance.EUCLID}


class EdgeVectorStore(VectorStore):
    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        search_ef: int = 128,
        hnsw_m: int = 16,
        hnsw_ef_construct: int = 100,
        indexing_threshold_kb: int = 10_000,
        max_search_threads: int | None = None,
        fusion: Fusion | str = Fusion.RRF,
        rrf_k: int = RRF_K,
        keyword_encoder: KeywordEncoder | None = None,
    ) -> None:
        self._guard = threading.RLock()
        self.path = Path(path).resolve()
        self.fusion = Fusion(fusion)
        self.search_ef = search_ef
        self.hnsw_m = hnsw_m
        self.hnsw_ef_construct = hnsw_ef_construct
        self.indexing_threshold_kb = indexing_threshold_kb
        self.max_search_threads = max_search_threads
        self.rrf_k = rrf_k
        self.keywords = keyword_encoder or default_encoder()
        self.vector_size: int | None = None
        self.distance: Distance | None = None
        self._shard: Any = None
        self._lock_file: Any = None
        self._closed = False

        with _open_paths_lock:
            if self.path in _open_paths:
                raise StoreAlreadyOpenError(f"{self.path} is already open in this process; reuse that store")
            self._acquire_process_lock()
            _open_paths[self.path] = self
        try:
            if (self.path / _CONFIG_FILE).exists():
                self._load()
        except Exception:
            self.close()
            raise

    # --- opening ----------------------------------------------------------------------

    def _acquire_process_lock(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.path.parent / f".{self.path.name}.lock"
        handle = lock_path.open("a+")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise StoreAlreadyOpenError(
                f"{self.path} is open in {holder}; embedded Qdrant allows one process per directory"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        self._lock_file = handle

    def _load(self) -> None:
        from qdrant_edge import EdgeConfig, EdgeShard, EdgeSparseVectorParams, EdgeVectorParams, Modifier

        stored = json.loads((self.path / _CONFIG_FILE).read_text())
        dense = stored.get("vectors", {}).get(DENSE_VECTOR)
        if dense is None or KEYWORD_VECTOR not in stored.get("sparse_vectors", {}):
            raise CollectionMismatchError(
                f"{self.path} holds a shard without the {DENSE_VECTOR}/{KEYWORD_VECTOR} vectors"
            )
        self.vector_size = int(dense["size"])
        self.distance = _DISTANCE_FROM_CONFIG[dense["distance"]]
        config = None
        if self.max_search_threads:
            # Loading with a config checks its vectors against the stored ones and persists
            # the tunables it sets; left unset (HNSW, optimizers) they keep the stored values.
            config = EdgeConfig(
                vectors={DENSE_VECTOR: EdgeVectorParams(self.vector_size, _edge_distance(self.distance))},
                sparse_vectors={KEYWORD_VECTOR: EdgeSparseVectorParams(modifier=Modifier.Idf)},
                max_search_threads=self.max_search_threads,
            )
        self._shard = EdgeShard.load(str(self.path), config)

    def _config(self, vector_size: int, distance: Distance) -> Any:
        from qdrant_edge import (
            EdgeConfig,
            EdgeOptimizersConfig,
            EdgeSparseVectorParams,
            EdgeVectorParams,
            HnswIndexConfig,
            Modifier,
        )

        return EdgeConfig(
            vectors={DENSE_VECTOR: EdgeVectorParams(vector_size, _edge_distance(distance))},
            sparse_vectors={KEYWORD_VECTOR: EdgeSparseVectorParams(modifier=Modifier.Idf)},
            hnsw_config=HnswIndexConfig(
                m=self.hnsw_m, ef_construct=self.hnsw_ef_construct, full_scan_threshold=self.indexing_threshold_kb
            ),
            optimizers=EdgeOptimizersConfig(indexing_threshold=self.indexing_threshold_kb),
            max_search_threads=self.max_search_threads,
        )

    # --- collection -------------------------------------------------------------------

    @_serialised
    def ensure_collection(self, vector_size: int, distance: Distance | str = Distance.COSINE) -> None:
        from qdrant_edge import EdgeShard, IntegerIndexParams, PayloadSchemaType, UpdateOperation

        self._check_open()
        distance = Distance(distance)
        if self._shard is None:
            self._shard = EdgeShard.create(str(self.path), self._config(vector_size, distance))
            self.vector_size, self.distance = vector_size, distance
        elif (self.vector_size, self.distance) != (vector_size, distance):
            raise CollectionMismatchError(
                f"{self.path} holds {self.vector_size}-d {self.distance} vectors, asked for {vector_size}-d {distance}"
            )
        existing = set(self._shard.info().payload_schema)
        for name in KEYWORD_INDEX_FIELDS:
            if name not in existing:
                self._shard.update(UpdateOperation.create_field_index(name, PayloadSchemaType.Keyword))
        for name in INTEGER_INDEX_FIELDS:
            if name not in existing:
                self._shard.update(
                    UpdateOperation.create_field_index(name, IntegerIndexParams(lookup=True, range=True))
                )

    @_serialised
    def info(self) -> CollectionInfo:
        shard = self._ready()
        info = shard.info()
        return CollectionInfo(
            points_count=int(info.points_count),
            indexed_vectors_count=int(info.indexed_vectors_count),
            vector_size=self.vector_size or 0,
            distance=self.distance or Distance.COSINE,
            indexed_fields=frozenset(info.payload_schema),
        )

    # --- writes -----------------------------------------------------------------------

    @_serialised
    def upsert(self, chunks: Iterable[ChunkRecord], *, batch_size: int = 256, optimize: bool = True) -> int:
        from qdrant_edge import Point, SparseVector, UpdateOperation

        shard = self._ready()
        size = self._require_vector_size()
        written = 0
        for batch in batched(chunks, batch_size):
            points = []
            for chunk in batch:
                terms = self.keywords.encode_document(chunk.text)
                points.append(
                    Point(
                        point_id_for(chunk.chunk_id),
                        {
                            DENSE_VECTOR: dense_list(chunk.vector, size, chunk.chunk_id),
                            KEYWORD_VECTOR: SparseVector(terms.indices, terms.values),
                        },
                        chunk.payload(),
                    )
                )
            shard.update(UpdateOperation.upsert_points(points))
            written += len(points)
        if optimize:
            self.optimize()
        return written

    @_serialised
    def delete_by_document(self, document_id: str | int) -> int:
        from qdrant_edge import UpdateOperation

        shard = self._ready()
        document_filter = self._filter(filter_conditions(SearchFilters(document_ids=(str(document_id),))))
        removed = self.count(SearchFilters(document_ids=(str(document_id),)))
        if removed:
            shard.update(UpdateOperation.delete_points_by_filter(document_filter))
            self.optimize()
        return removed

    @_serialised
    def optimize(self) -> None:
        self._ready().optimize()

    # --- reads ------------------------------------------------------------------------

    @_serialised
    def count(self, filters: SearchFilters | None = None) -> int:
        from qdrant_edge import CountRequest

        shard = self._ready()
        conditions = filter_conditions(filters)
        return int(shard.count(CountRequest(exact=True, filter=self._filter(conditions) if conditions else None)))

    @_serialised
    def _search(self, request: SearchRequest) -> list[SearchHit]:
        from qdrant_edge import Fusion as EdgeFusion
        from qdrant_edge import (
            Prefetch,
            Query,
            QueryBatchRequest,
            QueryRequest,
            SearchParams,
            SparseVector,
        )

        shard = self._ready()
        # The access condition is inside this filter, and the filter goes into every
        # query and prefetch below: restricted points are never candidates.
        query_filter = self._filter(request.conditions)
        params = SearchParams(hnsw_ef=max(self.search_ef, request.limit))
        sources: dict[str, Any] = {}
        if request.mode in (SearchMode.DENSE, SearchMode.HYBRID):
            sources["dense"] = Query.Nearest(request.query_vector, using=DENSE_VECTOR)
        if request.mode in (SearchMode.KEYWORD, SearchMode.HYBRID):
            terms = self.keywords.encode_query(request.query_text or "")
            if terms:
                sources["keyword"] = Query.Nearest(SparseVector(terms.indices, terms.values), using=KEYWORD_VECTOR)
        if not sources:
            return []  # only stopwords in a keyword query: nothing can match

        if request.mode is not SearchMode.HYBRID:
            name, query = next(iter(sources.items()))
            points = shard.query(
                QueryRequest(limit=request.limit, query=query, filter=query_filter, params=params, with_payload=True)
            )
            rows = [(str(p.id), p.score, p.payload or {}) for p in points]
            return hits_from(rows, {name: [(pid, score) for pid, score, _ in rows]})

        candidates = candidate_limit(request.limit)
        fused_request = QueryRequest(
            # Every fused candidate, not just the top: rank fusion gives exact score ties (dense 1 +
            # keyword 3 = dense 3 + keyword 1) that qdrant-edge orders arbitrarily, so the order and
            # the cut at ``limit`` are decided here, by score then point id, the same on every call.
            limit=candidates * len(sources),
            query=EdgeFusion.Rrf(k=self.rrf_k) if self.fusion is Fusion.RRF else EdgeFusion.Dbsf(),
            prefetches=[
                Prefetch(limit=candidates, query=query, filter=query_filter, params=params)
                for query in sources.values()
            ],
            filter=query_filter,
            with_payload=True,
        )
        if not request.explain:
            points = shard.query(fused_request)
            return hits_from(settle_ties(points, request.limit), {})
        explain_requests = [
            QueryRequest(limit=candidates, query=query, filter=query_filter, params=params, with_payload=False)
            for query in sources.values()
        ]
        fused, *per_source = shard.query_batch(QueryBatchRequest([fused_request, *explain_requests]))
        rankings = {
            name: [(str(p.id), p.score) for p in points] for name, points in zip(sources, per_source, strict=True)
        }
        return hits_from(settle_ties(fused, request.limit), rankings)

    @staticmethod
    def _filter(conditions: list[Condition]) -> Any:
        from qdrant_edge import FieldCondition, Filter, IsEmptyCondition, MatchAny, RangeFloat

        must: list[Any] = []
        for condition in conditions:
            if isinstance(condition, MatchAnyCondition):
                must.append(FieldCondition(condition.key, match=MatchAny(list(condition.values))))
            elif isinstance(condition, MatchAnyOrMissingCondition):
                matches = FieldCondition(condition.key, match=MatchAny([int(v) for v in condition.values]))
                must.append(Filter(should=[matches, IsEmptyCondition(condition.key)]))
            else:
                must.append(FieldCondition(condition.key, range=RangeFloat(gte=condition.gte, lte=condition.lte)))
        return Filter(must=must)

    # --- lifecycle --------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosedError(f"the store at {self.path} was closed")

    def _ready(self) -> Any:
        self._check_open()
        if self._shard is None:
            raise CollectionNotReadyError(f"no collection at {self.path}: call ensure_collection() first")
        return self._shard

    @_serialised
    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._shard is not None:
            self._shard.flush()
            self._shard.close()
            self._shard = None
        if self._lock_file is not None:
            fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_UN)
            self._lock_file.close()
            self._lock_file = None
        with _open_paths_lock:
            if _open_paths.get(self.path) is self:
                del _open_paths[self.path]
