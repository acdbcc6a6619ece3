"""BM25 sparse vectors, computed on our side so every backend indexes the same vectors.

Uses Qdrant's own BM25 embedder (shipped in qdrant-edge-py, the same tokeniser, English
stopword list and Snowball stemmer as the server's built-in ``Bm25Config`` inference). A
document vector holds saturated, length-normalised term frequencies; a query vector holds
1.0 per distinct term; the collection's sparse vector has ``modifier=Idf``, so Qdrant
multiplies in the inverse document frequency from live corpus statistics at query time.
Score = sum over query terms of idf(term) * tf-part(term, chunk): classic BM25.

Changing the parameters below changes the stored vectors: re-index after doing so.
"""

from __future__ import annotations

from dataclasses import dataclass

# Chunks are token-bounded (a few hundred model tokens, fewer after stopword removal);
# avg_len only sets where length normalisation is neutral.
BM25_K = 1.2
BM25_B = 0.75
BM25_AVG_LEN = 150.0


@dataclass(frozen=True, slots=True)
class SparseTerms:
    indices: list[int]
    values: list[float]

    def __bool__(self) -> bool:
        return bool(self.indices)


class KeywordEncoder:
    """Text -> BM25 sparse vector (document side) or term set (query side)."""

    def __init__(self, *, k: float = BM25_K, b: float = BM25_B, avg_len: float = BM25_AVG_LEN) -> None:
        from qdrant_edge import Bm25, Bm25Config

        self._model = Bm25(Bm25Config(k=k, b=b, avg_len=avg_len, language="english"))

    def encode_document(self, text: str) -> SparseTerms:
        vector = self._model.embed_document(text)
        return SparseTerms(list(vector.indices), list(vector.values))

    def encode_query(self, text: str) -> SparseTerms:
        vector = self._model.embed_query(text)
        return SparseTerms(list(vector.indices), list(vector.values))


_default_encoder: KeywordEncoder | None = None


def default_encoder() -> KeywordEncoder:
    global _default_encoder
    if _default_encoder is None:
        _default_encoder = KeywordEncoder()
    return _default_encoder
