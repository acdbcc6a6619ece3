"""A tiny labelled set in the shape of sent_train.csv, for tests that must not need the shared data."""

from __future__ import annotations

import csv
from pathlib import Path

from pipelines.sentiment.data import TWEETS_FILE, TWEETS_FOLDER

# (text, dataset label): 0 bearish, 1 bullish, 2 neutral
TINY_TWEETS: list[tuple[str, str]] = [
    ("$ABC shares plunge after profit warning https://t.co/aaa", "0"),
    ("$ABC shares plunge after profit warning https://t.co/bbb", "0"),  # same tweet, another link
    ("$abc SHARES plunge after profit warning!!", "0"),  # near-duplicate: case and punctuation
    ("Moody's downgrades Delta Corp to junk on weak cash flow", "0"),
    ("Retailer misses estimates and cuts full-year guidance", "0"),
    ("Bank reports loan losses as defaults rise", "0"),
    ("Shipping firm files for bankruptcy protection", "0"),
    ("Chipmaker slumps as orders fall sharply", "0"),
    ("Carrier faces lawsuit over data breach, stock drops", "0"),
    ("Oil producer posts quarterly loss on lower prices", "0"),
    ("$XYZ beats estimates and raises guidance https://t.co/ccc", "1"),
    ("Software maker posts record revenue, shares jump", "1"),
    ("Analysts upgrade Omega Inc to buy on strong growth", "1"),
    ("Airline profit surges as travel demand rebounds", "1"),
    ("Bank lifts dividend after strong quarter", "1"),
    ("Retailer rallies on better-than-expected sales", "1"),
    ("Drugmaker wins approval, stock soars", "1"),
    ("Utility raises outlook on higher demand", "1"),
    ("Miner gains after record copper output", "1"),
    ("Fed minutes due on Wednesday https://t.co/ddd", "2"),
    ("Company to present at investor conference next week", "2"),
    ("CEO to speak at industry event in Chicago", "2"),
    ("Shareholders meeting scheduled for May 12", "2"),
    ("Firm names new chief financial officer", "2"),
    ("Markets open for trading on Monday", "2"),
    ("Index rebalancing takes effect Friday", "2"),
    ("Bank to report earnings on Thursday", "2"),
    ("The mayor visited the new library downtown", "2"),
    ("Weather forecast calls for rain this weekend", "2"),
    ("Conference call transcript now available", "2"),
    ("Company relocates headquarters to Austin", "2"),
    ("Board meeting set for next month", "2"),
]


def write_tiny_tweets(shared_data: Path, rows: list[tuple[str, str]] = TINY_TWEETS) -> Path:
    """``<shared_data>/twitter_financial_news_sentiment/sent_train.csv`` with ``rows``."""
    folder = shared_data / TWEETS_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / TWEETS_FILE
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    return path
