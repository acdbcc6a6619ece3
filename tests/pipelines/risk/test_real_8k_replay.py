"""Replay of the real 8-K feed (shared data) through event detection and scoring.

Each filing is an article dated on its filing day, its items give events by item code and its
sentences by text. A company is scored on each of its filing days; filing days are grouped by
what they contain: a severe risk item (risk_relevant, other than 5.02), an officer change (5.02),
or routine items only. The score should separate the groups; routine days above the watch line
include real events that 8.01/7.01 items report in prose (DOJ indictments, consent decrees).
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from dataclasses import replace
from datetime import date

import pytest

from pipelines.risk.events import (
    ROUTINE_8K_ITEMS,
    EventHit,
    detect_events_in_text,
    events_from_8k_item,
    split_sentences,
)
from pipelines.risk.scoring import RiskInputs, score_company
from pipelines.risk.signals import as_utc
from tests.pipelines.risk.factories import shared_data_dir

WATCH = 40.0


@pytest.mark.shared_data
def test_real_8k_feed_scores_separate_severe_filings_from_routine_ones() -> None:
    path = shared_data_dir() / "sec_8k_events" / "sec_8k_items.jsonl"
    if not path.exists():
        pytest.skip(f"shared data not found at {path} (set ARGUS_SHARED_DATA to the shared/data folder)")
    with path.open(encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    events: dict[str, list[EventHit]] = defaultdict(list)
    filings: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for row in rows:
        company, filed = row["cik"], row["filing_date"]
        when = as_utc(date.fromisoformat(filed)).replace(hour=12)
        filings[company, filed].append(row)
        link = {"article_id": row["filename"], "published_at": when, "tickers": (company,)}
        events[company] += events_from_8k_item(row["item"], row["text"], **link)
        for index, text in enumerate(split_sentences(row["text"])):
            events[company] += [replace(hit, **link) for hit in detect_events_in_text(text, index)]
    scores: dict[str, list[float]] = defaultdict(list)
    for (company, filed), items in sorted(filings.items()):
        codes = {row["item"] for row in items}
        if any(row["risk_relevant"] and row["item"] != "5.02" for row in items):
            group = "severe"
        elif "5.02" in codes:
            group = "officer"
        elif codes <= ROUTINE_8K_ITEMS:
            group = "routine"
        else:
            continue  # legacy items without a routine/risk label
        inputs = RiskInputs(events=tuple(events[company]), detect=False)
        scores[group].append(score_company(inputs, company, date.fromisoformat(filed)).score)

    def share(group: str) -> float:
        return sum(score >= WATCH for score in scores[group]) / len(scores[group])

    print()
    for group in ("severe", "officer", "routine"):
        print(
            f"8-K replay {group}: {len(scores[group])} filing days, median score "
            f"{statistics.median(scores[group]):.1f}, at or above watch ({WATCH:.0f}) {share(group):.0%}"
        )
    assert statistics.median(scores["severe"]) > WATCH > statistics.median(scores["officer"])
    assert statistics.median(scores["officer"]) > statistics.median(scores["routine"])
    assert share("severe") >= 0.7
    assert share("routine") <= 0.2
