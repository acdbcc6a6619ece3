"""Finance sentiment at sentence level, aggregated per entity (plain Python, no Django).

Public API (model loading is lazy; importing this package loads no torch):

- ``classify(texts) -> list[str]``: ``positive`` / ``negative`` / ``neutral`` from the *registered*
  classifier;
- ``classify_with_scores(texts) -> list[SentimentResult]``: label, score in [-1, 1]
  (P(positive) - P(negative)), the probabilities and ``model_label`` (which model said it);
- ``entity_sentiment(sentences) -> {ticker: EntitySentiment}``: mean score and label counts over
  the sentences that mention each entity, and only those.

"Registered" goes through an on-disk pointer, ``<models_dir>/sentiment/active.json``, which the
registry service writes (``apps.registry.services.text_classifier_register``). The classifier it
names is loaded once per process, after its directory's content hash is checked against the
pointer (a mismatch raises ``SentimentModelHashMismatch``). Without a registered classifier the
FinVADER lexicon serves, and every result says so: ``model_label == "lexicon-fallback:finvader"``
(FinVADER beat Loughran-McDonald on held-out macro-F1: bench/sentiment.py).

``models_dir`` defaults to the settings' ``ARGUS_MODELS_DIR`` / ``$ARGUS_VAR_DIR/models``; callers
that know it pass it in. Every call from app code goes through ``apps.audit.services.audited``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipelines.sentiment.artifacts import (
    ActiveClassifier,
    SentimentModelHashMismatch,
    directory_content_hash,
    read_active_pointer,
)
from pipelines.sentiment.entities import (
    EntitySentence,
    EntitySentiment,
    aggregate_entity_sentiment,
    split_sentences,
    tag_entity_mentions,
)
from pipelines.sentiment.results import SentimentResult

__all__ = [
    "FALLBACK_MODEL_LABEL",
    "EntitySentence",
    "EntitySentiment",
    "SentimentModelHashMismatch",
    "SentimentResult",
    "active_model_label",
    "classify",
    "classify_with_scores",
    "entity_sentiment",
    "reset_cache",
    "split_sentences",
    "tag_entity_mentions",
]

FALLBACK_MODEL_LABEL = "lexicon-fallback:finvader"

_lock = threading.Lock()
_classifiers: dict[tuple[str, str], Any] = {}  # (path, content hash) -> loaded SentimentClassifier
_fallback: list[Any] = []


def _threads() -> int:
    return int(os.environ.get("ARGUS_TORCH_THREADS", "1"))


def _load_classifier(active: ActiveClassifier) -> Any:
    from pipelines.sentiment.classifier import SentimentClassifier

    key = (active.path, active.content_hash)
    with _lock:
        if key not in _classifiers:
            path = Path(active.path)
            if not path.is_dir():
                raise FileNotFoundError(f"registered sentiment classifier {active.model_label} is missing: {path}")
            actual = directory_content_hash(path)
            if actual != active.content_hash:
                raise SentimentModelHashMismatch(
                    f"sentiment classifier {active.name}@{active.version} at {path} hashes to {actual[:16]}, "
                    f"the registry recorded {active.content_hash[:16]}: refusing to load a changed model"
                )
            classifier = SentimentClassifier(path, model_label=active.model_label, threads=_threads())
            classifier.setup()
            _classifiers.clear()  # one registered classifier per process: a new registration replaces it
            _classifiers[key] = classifier
        return _classifiers[key]


def _fallback_lexicon() -> Any:
    from pipelines.sentiment.lexicons import FinVaderLexicon

    with _lock:
        if not _fallback:
            lexicon = FinVaderLexicon()
            lexicon.name = FALLBACK_MODEL_LABEL
            lexicon.setup()
            _fallback.append(lexicon)
        return _fallback[0]


def active_model_label(models_dir: Path | None = None) -> str:
    """What ``classify`` would run with, without loading it (for the audit record)."""
    active = read_active_pointer(models_dir)
    return active.model_label if active else FALLBACK_MODEL_LABEL


def classify_with_scores(texts: Sequence[str], *, models_dir: Path | None = None) -> list[SentimentResult]:
    if not texts:
        return []
    active = read_active_pointer(models_dir)
    model = _load_classifier(active) if active is not None else _fallback_lexicon()
    return model.predict(list(texts))


def classify(texts: Sequence[str], *, models_dir: Path | None = None) -> list[str]:
    return [r.label for r in classify_with_scores(texts, models_dir=models_dir)]


def entity_sentiment(
    sentences: Sequence[EntitySentence], *, models_dir: Path | None = None
) -> dict[str, EntitySentiment]:
    """Classify the sentences that mention at least one entity; aggregate per entity."""
    relevant = [s for s in sentences if s.entities]
    results = classify_with_scores([s.text for s in relevant], models_dir=models_dir)
    return aggregate_entity_sentiment(relevant, results)


def reset_cache() -> None:
    """Forget loaded models (tests; a worker picks a new registration up through the pointer anyway)."""
    with _lock:
        _classifiers.clear()
        _fallback.clear()
