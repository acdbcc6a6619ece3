"""The inputs of the risk pipeline: one entity-linked, sentiment-scored sentence per record.

``pipelines.entities`` gives, per text, sentences and mentions linked to tickers;
``pipelines.sentiment`` gives a label and a score in [-1, 1] per sentence. A
:class:`SentenceSignal` is the join of the two for one sentence of one article.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any


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


def mention_spans(signal: SentenceSignal) -> list[tuple[int, int, str]]:
    """(start, end, ticker) of each company mention, non-overlapping and in text order.

    Uses the entity linker's spans when given; otherwise the ticker symbol itself ("Acme (ACME)").
    """
    if signal.mentions:
        spans = [(m.start, m.end, m.ticker) for m in signal.mentions]
    else:
        spans = [
            (found.start(), found.end(), ticker)
            for ticker in signal.tickers
            for found in re.finditer(rf"(?<![\w$]){re.escape(ticker)}(?!\w)", signal.text)
        ]
    spans.sort()
    kept: list[tuple[int, int, str]] = []
    for span in spans:
        if not kept or span[0] >= kept[-1][1]:
            kept.append(span)
    return kept


_POSSESSIVE = re.compile(r"^(?:'s|\u2019s|')(?!\w)")
_APPOSITIVE_OBJECT = re.compile(r",\s*(?:a|an|the|its|one of)\b[^,]{0,60}\b(?:to|of|for|with|by)\s*$", re.IGNORECASE)


def event_subjects(signal: SentenceSignal) -> tuple[str, ...]:
    """The companies an event in this sentence happens to.

    In "CUST's supplier SUPX filed for bankruptcy" and "SUPX, a key supplier to CUST, filed for
    bankruptcy" the default is SUPX's; CUST is named only to say whom SUPX supplies, and its
    exposure is the graph's job (propagation), not a direct event. A company every mention of
    which is a possessive owner or the object inside an appositive is left out; if that leaves
    nobody, every company of the sentence is kept.
    """
    spans = mention_spans(signal)
    if len({ticker for *_, ticker in spans}) < 2:
        return signal.tickers
    modifier_only: dict[str, bool] = {}
    for start, end, ticker in spans:
        is_modifier = bool(_POSSESSIVE.match(signal.text[end:]) or _APPOSITIVE_OBJECT.search(signal.text[:start]))
        modifier_only[ticker] = modifier_only.get(ticker, True) and is_modifier
    subjects = tuple(t for t in signal.tickers if not modifier_only.get(t, False))
    return subjects or signal.tickers


# A sentence that names no company but speaks of "the company" / "its" continues the story of the
# article's subject: "The company suspended its dividend." is the subject's, not nobody's.
_SUBJECT_REFERENCE = re.compile(
    r"\b(?:the (?:company|group|firm|issuer|bank|lender|insurer|retailer|borrower|registrant)|its|it)\b",
    re.IGNORECASE,
)


def article_subject(mentions: Sequence[Any], *, filer: str = "") -> str:
    """The company an article is about: its filer when known, else the company named first in it."""
    if filer:
        return filer
    for mention in sorted((m for m in mentions if m.ticker), key=lambda m: (m.sentence_index, m.start)):
        return mention.ticker
    return ""


def sentence_signals(
    *,
    article_id: str,
    published_at: datetime,
    sentences: Sequence[Any],
    mentions: Sequence[Any],
    sentiments: Sequence[Any],
    filer: str = "",
) -> list[SentenceSignal]:
    """One :class:`SentenceSignal` per sentence of an analysed article.

    ``sentences`` have ``index``, ``text`` and ``start`` (offset in the article), ``mentions`` have
    ``ticker``, ``sentence_index``, ``start`` and ``end`` (``pipelines.entities`` output),
    ``sentiments`` have ``label`` and ``score`` (``pipelines.sentiment``), one per sentence. A sentence
    without a linked company that refers to "the company"/"its" is the article subject's (see
    :func:`article_subject`), without a mention span: no relation is read from it.
    """
    by_sentence: dict[int, list[Any]] = {}
    for mention in mentions:
        if mention.ticker:
            by_sentence.setdefault(mention.sentence_index, []).append(mention)
    subject = article_subject(mentions, filer=filer)
    signals = []
    for sentence, sentiment in zip(sentences, sentiments, strict=True):
        own = by_sentence.get(sentence.index, [])
        tickers = tuple(dict.fromkeys(m.ticker for m in own))
        if not tickers and subject and _SUBJECT_REFERENCE.search(sentence.text):
            tickers = (subject,)
        signals.append(
            SentenceSignal(
                article_id=article_id,
                published_at=published_at,
                sentence_index=sentence.index,
                text=sentence.text,
                tickers=tickers,
                sentiment_score=max(-1.0, min(1.0, float(sentiment.score))),
                sentiment_label=sentiment.label,
                mentions=tuple(EntityMention(m.ticker, m.start - sentence.start, m.end - sentence.start) for m in own),
            )
        )
    return signals
