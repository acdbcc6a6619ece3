"""Sentences of an analysed article become signals; "the company" continues the article subject's story."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from pipelines.risk.signals import article_subject, sentence_signals

WHEN = datetime(2024, 3, 1, 9, tzinfo=UTC)


@dataclass
class S:
    index: int
    text: str
    start: int


@dataclass
class M:
    ticker: str | None
    sentence_index: int
    start: int
    end: int


@dataclass
class Sent:
    label: str
    score: float


SENTENCES = [
    S(0, "Acme Corp drew its full revolving credit facility.", 0),
    S(1, "The company suspended its dividend.", 52),
    S(2, "Markets were calm elsewhere.", 89),
]
MENTIONS = [M("ACME", 0, 0, 9), M(None, 2, 0, 7)]
SENTIMENTS = [Sent("negative", -0.6), Sent("negative", -0.8), Sent("neutral", 0.0)]


def test_a_sentence_about_the_company_is_the_subjects_and_others_stay_unattributed():
    signals = sentence_signals(
        article_id="a1", published_at=WHEN, sentences=SENTENCES, mentions=MENTIONS, sentiments=SENTIMENTS
    )

    assert [s.tickers for s in signals] == [("ACME",), ("ACME",), ()]
    assert signals[0].mentions[0].start == 0 and signals[0].mentions[0].end == 9
    assert signals[1].mentions == ()  # carried over: no span, so no relation is read from it
    assert signals[1].sentiment_score == -0.8


def test_the_filer_is_the_subject_of_a_filing_even_when_another_company_is_named_first():
    assert article_subject([M("GLBX", 0, 0, 6)], filer="ACME") == "ACME"
    assert article_subject([M(None, 0, 0, 3), M("GLBX", 1, 4, 9), M("ACME", 0, 10, 14)]) == "ACME"
    assert article_subject([]) == ""


def test_sentiment_scores_are_clamped_to_the_signal_range():
    signals = sentence_signals(
        article_id="a1",
        published_at=WHEN,
        sentences=SENTENCES[:1],
        mentions=MENTIONS,
        sentiments=[Sent("negative", -1.2)],
    )
    assert signals[0].sentiment_score == -1.0
