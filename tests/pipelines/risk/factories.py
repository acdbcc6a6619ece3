"""Builders for risk-pipeline inputs (plain data, no database)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pipelines.risk.signals import EntityMention, SentenceSignal

REPO_ROOT = Path(__file__).resolve().parents[3]
AS_OF = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def shared_data_dir() -> Path:
    return Path(os.environ.get("ARGUS_SHARED_DATA") or REPO_ROOT.parent / "shared" / "data")


def sentence(
    text: str,
    tickers: tuple[str, ...],
    *,
    article_id: str = "a1",
    days_ago: float = 1.0,
    index: int = 0,
    score: float = 0.0,
    with_spans: bool = False,
) -> SentenceSignal:
    """A signal ``days_ago`` before ``AS_OF``; ``with_spans`` locates each ticker as a linker would."""
    label = "negative" if score < -0.1 else "positive" if score > 0.1 else "neutral"
    mentions: tuple[EntityMention, ...] = ()
    if with_spans:
        mentions = tuple(
            EntityMention(ticker, text.index(ticker), text.index(ticker) + len(ticker)) for ticker in tickers
        )
    return SentenceSignal(
        article_id=article_id,
        published_at=AS_OF - timedelta(days=days_ago),
        sentence_index=index,
        text=text,
        tickers=tickers,
        sentiment_score=score,
        sentiment_label=label,
        mentions=mentions,
    )
