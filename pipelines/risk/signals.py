"""The inputs of the risk pipeline: one entity-linked, sentiment-scored sentence per record.

``pipelines.entities`` gives, per text, sentences and mentions linked to tickers;
``pipelines.sentiment`` gives a label and a score in [-1, 1] per sentence. A
:class:`SentenceSignal` is the join of the two for one sentence of one article.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time


@dataclass(frozen=True, slots=True)
class EntityMention:
    """A company mention inside a sentence: character offsets into ``SentenceSignal.text``."""

    ticker: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class SentenceSignal:
    """One sentence of one article, with the companies it mentions and its sentiment.

    ``sentiment_score`` is in [-1, 1] (negative is bearish); ``sentiment_label`` is
    ``positive``, ``negative`` or ``neutral``. ``mentions`` (optional) locate each company in
    the text, which stated-relation extraction needs ("X, a key supplier to Y"); without them
    only co-mentions are derived from ``tickers``.
    """

    article_id: str
    published_at: datetime
    sentence_index: int
    text: str
    tickers: tuple[str, ...]
    sentiment_score: float = 0.0
    sentiment_label: str = "neutral"
    mentions: tuple[EntityMention, ...] = ()

    def __post_init__(self) -> None:
        if not -1.0 <= self.sentiment_score <= 1.0:
            raise ValueError(f"sentiment_score must be in [-1, 1], got {self.sentiment_score}")

    @property
    def key(self) -> tuple[str, int]:
        """Identity of the sentence: re-ingesting an article must not count it twice."""
        return (self.article_id, self.sentence_index)

    @property
    def negativity(self) -> float:
        """How bearish the sentence is, in [0, 1]: ``max(0, -sentiment_score)``."""
        return max(0.0, -self.sentiment_score)


def as_utc(moment: datetime | date) -> datetime:
    """An aware UTC datetime; a naive datetime is taken as UTC, a date as the end of that day."""
    if isinstance(moment, datetime):
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return datetime.combine(moment, time(23, 59, 59), tzinfo=UTC)


def age_days(published_at: datetime, as_of: datetime) -> float:
    """Days from publication to ``as_of`` (negative for a sentence published after it)."""
    return (as_utc(as_of) - as_utc(published_at)).total_seconds() / 86400.0
