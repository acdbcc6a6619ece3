"""A Qdrant server through qdrant-client: the production path (``QDRANT_URL``), scaled out
as a Qdrant cluster, any number of processes.

``location=":memory:"`` or ``path=...`` runs qdrant-client's local mode instead. Local mode
is pure Python (brute force, Python-side filters, about 15 queries/s at 100k chunks) and
one process per path; it stands in for the server API in tests, since it speaks the same
request models: the code path is the same as against a server.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Any

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

DEFAULT_COLLECTION = "argus_chunks"


def _client_distance(distance: Distance) -> Any:
    from qdrant_client import models

    return {
        Distance.COSINE: models.Distance.COSINE,
        Distance.DOT: models.Distance.DOT,
        Distance.EUCLID: models.Distance.EUCLID,
    }[distance]


_DISTANCE_FROM_CLIENT = {"Cosine": Distance.COSINE, "Dot": Distance.DOT, "Euclid": Distance.EUCLID}


class QdrantClientVectorStore(VectorStore):
    def __init__(
        self,
        url: str | None = None,
        *,
        collection: str = DEFAULT_COLLECTION,
        location: str | None = None,
        path: str | None = None,
        api_key: str | None = None,
        timeout: int = 30,
        search_ef: int = 128,
        hnsw_m: int = 16,
        hnsw_ef_construct: int = 100,
        fusion: Fusion | str = Fusion.RRF,
        rrf_k: int = RRF_K,
        keyword_encoder: KeywordEncoder | None = None,
    ) -> None:
        from qdrant_client import QdrantClient

        if sum(x is not None for x in (url, location, path)) != 1:
            raise ValueError("give exactly one of url (a Qdrant server), location=':memory:' or path (local mode)")
        self.collection = collection
        self.is_local = url is None
        self.search_ef = search_ef
        self.hnsw_m = hnsw_m
        self.hnsw_ef_construct = hnsw_ef_construct
        self.fusion = Fusion(fusion)
        self.rrf_k = rrf_k
        self.keywords = keyword_encoder or default_encoder()
        self.vector_size: int | None = None
        self.distance: Distance | None = None
        if url is not None:
            self._client = QdrantClient(url=url, api_key=api_key, timeout=timeout)
        elif location is not None:
            self._client = QdrantClient(location=location)
        else:
            self._client = QdrantClient(path=path)
        self._closed = False
        if self._client.collection_exists(collection):
            self._read_params()

    # --- collection -------------------------------------------------------------------

    def _read_params(self) -> Any:
        info = self._client.get_collection(self.collection)
        vectors = info.config.params.vectors
        dense = vectors.get(DENSE_VECTOR) if isinstance(vectors, dict) else None
        sparse = info.config.params.sparse_vectors or {}
        if dense is None or KEYWORD_VECTOR not in sparse:
            raise CollectionMismatchError(
                f"collection {self.collection!r} lacks the {DENSE_VECTOR}/{KEYWORD_VECTOR} vectors"
            )
        self.vector_size = int(dense.size)
        self.distance = _DISTANCE_FROM_CLIENT[str(dense.distance.value)]
        return info

    def ensure_collection(self, vector_size: int, distance: Distance | str = Distance.COSINE) -> None:
        from qdrant_client import models
        from qdrant_client.http.exceptions import UnexpectedResponse

        self._check_open()
        distance = Distance(distance)
        if not self._client.collection_exists(self.collection):
            try:
                self._client.create_collection(
                    self.collection,
                    vectors_config={
                        DENSE_VECTOR: models.VectorParams(size=vector_size, distance=_client_distance(distance))
                    },
                    sparse_vectors_config={KEYWORD_VECTOR: models.SparseVectorParams(modifier=models.Modifier.IDF)},
                    hnsw_config=models.HnswConfigDiff(m=self.hnsw_m, ef_construct=self.hnsw_ef_construct),
                )
            except (UnexpectedResponse, ValueError):
                # Another worker created it between the check and the create: fine, the
                # parameters are verified below like for any existing collection.
                if not self._client.collection_exists(self.collection):
                    raise
        info = self._read_params()
        if (self.vector_size, self.distance) != (vector_size, distance):
            raise CollectionMismatchError(
                f"collection {self.collection!r} holds {self.vector_size}-d {self.distance} vectors, "
                f"asked for {vector_size}-d {distance}"
            )
        existing = set(info.payload_schema or {})
        wanted: dict[str, Any] = dict.fromkeys(KEYWORD_INDEX_FIELDS, models.PayloadSchemaType.KEYWORD)
        wanted.update(
            dict.fromkeys(
                INTEGER_INDEX_FIELDS,
                models.IntegerIndexParams(type=models.IntegerIndexType.INTEGER, lookup=True, range=True),
            )
        )
        with warnings.catch_warnings():
            # Local mode records the index but warns that it cannot use it; the server does.
            warnings.filterwarnings("ignore", message="Payload indexes have no effect", category=UserWarning)
            for name, schema in wanted.items():
                if name not in existing:
                    self._client.create_payload_index(self.collection, name, field_schema=schema, wait=True)

    def info(self) -> CollectionInfo:
        self._ready()
        info = self._client.get_collection(self.collection)
        return CollectionInfo(
            points_count=int(self._client.count(self.collection, exact=True).count),
            indexed_vectors_count=int(info.indexed_vectors_count or 0),
            vector_size=self.vector_size or 0,
            distance=self.distance or Distance.COSINE,
            indexed_fields=frozenset(info.payload_schema or {}),
        )

    # --- writes -----------------------------------------------------------------------

    def upsert(self, chunks: Iterable[ChunkRecord], *, batch_size: int = 256, optimize: bool = True) -> int:
        from qdrant_client import models

        self._ready()
        size = self._require_vector_size()
        written = 0
        for batch in batched(chunks, batch_size):
            points = []
            for chunk in batch:
                terms = self.keywords.encode_document(chunk.text)
                points.append(
                    models.PointStruct(
                        id=point_id_for(chunk.chunk_id),
                        vector={
                            DENSE_VECTOR: dense_list(chunk.vector, size, chunk.chunk_id),
                            KEYWORD_VECTOR: models.SparseVector(indices=terms.indices, values=terms.values),
                        },
                        payload=chunk.payload(),
                    )
                )
            self._client.upsert(self.collection, points=points, wait=True)
            written += len(points)
        return written

    def delete_by_document(self, document_id: str | int) -> int:
        from qdrant_client import models

        self._ready()
        only_document = SearchFilters(document_ids=(str(document_id),))
        removed = self.count(only_document)
        if removed:
            self._client.delete(
                self.collection,
                points_selector=models.FilterSelector(filter=self._filter(filter_conditions(only_document))),
                wait=True,
            )
        return removed

    # --- reads ------------------------------------------------------------------------

    def count(self, filters: SearchFilters | None = None) -> int:
        self._ready()
        conditions = filter_conditions(filters)
        result = self._client.count(
            self.collection, count_filter=self._filter(conditions) if conditions else None, exact=True
        )
        return int(result.count)

    def _search(self, request: SearchRequest) -> list[SearchHit]:
        from qdrant_client import models

        self._ready()
        # The access condition is inside this filter, and the filter goes into every
        # query and prefetch below: restricted points are never candidates.
        query_filter = self._filter(request.conditions)
        # Local mode is exact and warns about HNSW parameters; the server needs them.
        params = None if self.is_local else models.SearchParams(hnsw_ef=max(self.search_ef, request.limit))
        sources: dict[str, tuple[Any, str]] = {}
        if request.mode in (SearchMode.DENSE, SearchMode.HYBRID):
            sources["dense"] = (request.query_vector, DENSE_VECTOR)
        if request.mode in (SearchMode.KEYWORD, SearchMode.HYBRID):
            terms = self.keywords.encode_query(request.query_text or "")
            if terms:
                sources["keyword"] = (models.SparseVector(indices=terms.indices, values=terms.values), KEYWORD_VECTOR)
        if not sources:
            return []  # only stopwords in a keyword query: nothing can match

        def single(query: Any, using: str, limit: int, with_payload: bool) -> models.QueryRequest:
            return models.QueryRequest(
                query=query, using=using, filter=query_filter, params=params, limit=limit, with_payload=with_payload
            )

        if request.mode is not SearchMode.HYBRID:
            name, (query, using) = next(iter(sources.items()))
            (response,) = self._client.query_batch_points(
                self.collection, requests=[single(query, using, request.limit, True)]
            )
            rows = [(str(p.id), p.score, p.payload or {}) for p in response.points]
            return hits_from(rows, {name: [(pid, score) for pid, score, _ in rows]})

        candidates = candidate_limit(request.limit)
        fused_request = models.QueryRequest(
            prefetch=[
                models.Prefetch(query=query, using=using, filter=query_filter, params=params, limit=candidates)
                for query, using in sources.values()
            ],
            query=(
                models.RrfQuery(rrf=models.Rrf(k=self.rrf_k))
                if self.fusion is Fusion.RRF
                else models.FusionQuery(fusion=models.Fusion.DBSF)
            ),
            filter=query_filter,
            # Every fused candidate: exact rank-fusion ties are settled here (see settle_ties).
            limit=candidates * len(sources),
            with_payload=True,
        )
        requests = [fused_request]
        if request.explain:
            requests += [single(query, using, candidates, False) for query, using in sources.values()]
        fused, *per_source = self._client.query_batch_points(self.collection, requests=requests)
        rankings = {
            name: [(str(p.id), p.score) for p in response.points]
            for name, response in zip(sources, per_source, strict=False)
        }
        return hits_from(settle_ties(fused.points, request.limit), rankings)

    @staticmethod
    def _filter(conditions: list[Condition]) -> Any:
        from qdrant_client import models

        must: list[Any] = []
        for condition in conditions:
            if isinstance(condition, MatchAnyCondition):
                must.append(models.FieldCondition(key=condition.key, match=models.MatchAny(any=list(condition.values))))
            elif isinstance(condition, MatchAnyOrMissingCondition):
                matches = models.FieldCondition(
                    key=condition.key, match=models.MatchAny(any=[int(v) for v in condition.values])
                )
                missing = models.IsEmptyCondition(is_empty=models.PayloadField(key=condition.key))
                must.append(models.Filter(should=[matches, missing]))
            else:
                must.append(
                    models.FieldCondition(key=condition.key, range=models.Range(gte=condition.gte, lte=condition.lte))
                )
        return models.Filter(must=must)

    # --- lifecycle --------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosedError(f"the store for collection {self.collection!r} was closed")

    def _ready(self) -> None:
        self._check_open()
        if self.vector_size is None:
            raise CollectionNotReadyError(f"no collection {self.collection!r}: call ensure_collection() first")

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._client.close()
