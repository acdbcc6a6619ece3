"""BM25 sparse vectors, computed on our side so every backend indexes the same vectors.

Uses Qdrant's own BM25 embedder (shipped in qdrant-edge-py, the same tokeniser, English
stopword list and Snowball stemmer as the server's built-in ``Bm25Config`` inference). A
document vector holds saturated, length-normalised term frequencies; a query vector holds
1.0 per distinct term; the collection's sparse vector has ``modifier=Idf``, so Qdrant
multiplies in the inverse document frequency from live corpus statistics at query time.
Score = sum over query terms of idf(term) * tf-part(term, chunk): classic BM25.

Before tokenising, both sides go through the finance vocabulary (``finance_vocabulary.py``):
numbers, filing forms and fiscal periods become single tokens ("10-K" -> "10k", "$383.3" ->
"383p3", "FY 22" -> "fy2022"), and each metric mention gains its concept token, so "capex"
matches "purchases of property, plant and equipment" and back. ``vocabulary=None`` turns
this off (the plain Qdrant tokeniser, as before).

Changing the parameters below changes the stored vectors: re-index after doing so.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.retrieval.finance_vocabulary import FinanceVocabulary, default_vocabulary

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

    def __init__(
        self,
        *,
        k: float = BM25_K,
        b: float = BM25_B,
        avg_len: float = BM25_AVG_LEN,
        vocabulary: FinanceVocabulary | bool | None = True,
    ) -> None:
        from qdrant_edge import Bm25, Bm25Config

        self._model = Bm25(Bm25Config(k=k, b=b, avg_len=avg_len, language="english"))
        if vocabulary is True:
            vocabulary = default_vocabulary()
        self.vocabulary: FinanceVocabulary | None = vocabulary or None

    def keyword_text(self, text: str) -> str:
        """The text the BM25 tokeniser sees (normalised, with concept tokens)."""
        return self.vocabulary.keyword_text(text) if self.vocabulary is not None else text

    def encode_document(self, text: str) -> SparseTerms:
        vector = self._model.embed_document(self.keyword_text(text))
        return SparseTerms(list(vector.indices), list(vector.values))

    def encode_query(self, text: str) -> SparseTerms:
        vector = self._model.embed_query(self.keyword_text(text))
        return SparseTerms(list(vector.indices), list(vector.values))


_default_encoder: KeywordEncoder | None = None


def default_encoder() -> KeywordEncoder:
    global _default_encoder
    if _default_encoder is None:
        _default_encoder = KeywordEncoder()
    return _default_encoder
