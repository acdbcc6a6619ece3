"""The risk pipeline end to end: throughput, full rescore, demo backtest and a replay of real 8-K filings.

    python -m bench.risk_pipeline [--quick] [--threads 1]

Plain Python (no Django): the same steps as ``apps.risk.monitoring`` (entities -> sentence sentiment ->
text events + the 8-K item's event -> stated relations -> ``SentenceSignal``s; ``score_universe`` per day
over the 98-day window the app reads; alert levels through ``next_level`` with the default thresholds
40/60/80 and hysteresis 5). A syndicated copy is skipped, as the app skips it.

1. Throughput: articles/s through the whole pipeline, batched (``linker.analyse`` over 32 articles, one
   sentiment call per batch) against one article at a time, on the same first-of-story demo articles.
2. Full rescore: every company of a 50-company demo world (seed 7) scored on each of the last 90 days of
   its window; then the leave-one-out counterfactuals the app stores (top 8 articles of scores >= 20) as a
   ratio to plain scoring.
3. Demo backtest (the app's 32-company demo world, seed 7, 2023-2024): daily scores for every company;
   per planted event the first day at watch and at warning within [event - 30 d, event + 7 d] and its
   lead (negative: after the event); false alerts on the quiet companies; propagation of the supplier
   failure to its customers.
4. Real 8-K replay (``$ARGUS_SHARED_DATA/sec_8k_events``, read in place; skipped when absent): items in
   filing-date order, each filer scored on each of its filing days. See ``eight_k_replay`` for the
   definition of the right level and of routine days.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import statistics
import time
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import REPO_ROOT, pin_threads, print_table, print_thread_settings
from pipelines.risk.scoring import COUNTERFACTUAL_MAX_ARTICLES, COUNTERFACTUAL_MIN_SCORE

BATCH_SIZE = 32
# apps.risk.monitoring.WINDOW_DAYS (that module imports Django, so the value is repeated here;
# tests/bench checks they still agree).
WINDOW_DAYS = 98.0
# 8-K items that report nothing adverse by themselves: results, Reg FD, other events, exhibits.
ROUTINE_ONLY_ITEMS = frozenset({"2.02", "7.01", "8.01", "9.01"})
DETECTION_AFTER_DAYS = 7
LOOKBACK_DAYS = 30


def shared_data_dir() -> Path:
    return Path(os.environ.get("ARGUS_SHARED_DATA") or REPO_ROOT.parent / "shared" / "data")


# --------------------------------------------------------------------------------------- pipeline


@dataclass(frozen=True)
class PipelineArticle:
    article_id: str
    published_at: datetime
    title: str
    body: str
    filer: str = ""  # 8-K: the filer's ticker (or CIK placeholder)
    item_code: str = ""

    @property
    def text(self) -> str:
        # as apps.risk.monitoring._article_text
        title = self.title.strip()
        if title and title[-1] not in ".!?:":
            title += "."
        return f"{title}\n\n{self.body.strip()}" if self.body.strip() else title

    @property
    def body_offset(self) -> int:
        return len(self.text) - len(self.body.strip())


@dataclass
class ProcessedArticle:
    article: PipelineArticle
    signals: list[Any]
    text_events: list[Any]
    filing_events: list[Any]
    relations: list[Any]
    body_tickers: frozenset[str] = frozenset()


def signals_for(article: PipelineArticle, analysed: Any, sentiments: Sequence[Any]) -> list[Any]:
    """As ``apps.risk.monitoring._signals_for``: the shared ``pipelines.risk.signals.sentence_signals``."""
    from pipelines.risk.signals import sentence_signals

    return sentence_signals(
        article_id=article.article_id,
        published_at=article.published_at,
        sentences=analysed.sentences,
        mentions=analysed.mentions,
        sentiments=sentiments,
        filer=article.filer or "",
    )


def _finish(article: PipelineArticle, analysed: Any, sentiments: Sequence[Any], known: set[str]) -> ProcessedArticle:
    from pipelines.risk.events import detect_events, events_from_8k_item
    from pipelines.risk.graph import extract_relations

    signals = signals_for(article, analysed, sentiments)
    text_events = [hit for s in signals if s.tickers for hit in detect_events(s)]
    filing_events = []
    if article.item_code and article.filer in known:
        filing_events = events_from_8k_item(
            article.item_code,
            " ".join(s.text for s in signals),
            article_id=article.article_id,
            published_at=article.published_at,
            tickers=(article.filer,),
        )
    relations = [r for s in signals if len(s.tickers) > 1 for r in extract_relations(s)]
    offset = article.body_offset
    body_tickers = frozenset(m.ticker for m in analysed.mentions if m.ticker and m.start >= offset)
    return ProcessedArticle(article, signals, text_events, filing_events, relations, body_tickers)


def process_articles(
    linker: Any, articles: Sequence[PipelineArticle], *, batch_size: int = BATCH_SIZE
) -> list[ProcessedArticle]:
    """Articles through entities, sentiment, events and relations, ``batch_size`` articles per model call."""
    from pipelines.sentiment import classify_with_scores

    known = set(linker.companies)
    processed: list[ProcessedArticle] = []
    for first in range(0, len(articles), batch_size):
        batch = articles[first : first + batch_size]
        analysed = linker.analyse([a.text for a in batch], batch_size=batch_size)
        sentences = [s.text for a in analysed for s in a.sentences]
        results = classify_with_scores(sentences) if sentences else []
        offset = 0
        for article, text_analysis in zip(batch, analysed, strict=True):
            count = len(text_analysis.sentences)
            processed.append(_finish(article, text_analysis, results[offset : offset + count], known))
            offset += count
    return processed


class ScoringWindow:
    """The inputs ``apps.risk.monitoring.risk_inputs_for`` would read for a day, from processed articles."""

    def __init__(self, processed: Sequence[ProcessedArticle]) -> None:
        ordered = sorted(processed, key=lambda p: (p.article.published_at, p.article.article_id))
        self.moments = [p.article.published_at for p in ordered]
        self.processed = ordered

    def inputs(self, as_of: date) -> Any:
        from pipelines.risk.scoring import RiskInputs
        from pipelines.risk.signals import as_utc

        end = as_utc(as_of)
        start = end - timedelta(days=WINDOW_DAYS)
        chosen = self.processed[bisect_right(self.moments, start) : bisect_right(self.moments, end)]
        # Text events are re-detected by score_universe and stated relations re-extracted from the
        # mentions, exactly as the app relies on; only the 8-K item events come in stored.
        return RiskInputs(
            signals=tuple(s for p in chosen for s in p.signals if s.tickers),
            events=tuple(e for p in chosen for e in p.filing_events),
        )


def counterfactuals_for(breakdown: Any) -> dict[str, float]:
    """``apps.risk.monitoring.counterfactuals_for``: exact leave-one-out for the top articles."""
    from pipelines.risk.scoring import top_article_counterfactuals

    return top_article_counterfactuals(breakdown)


def demo_linker(companies: Sequence[Any]) -> Any:
    """The app's master for the demo: the demo companies merged with the S&P 500."""
    from pipelines.entities import CompanyRecord, EntityLinker
    from pipelines.entities.master import MasterEntry, merge_entries, sp500_entries

    demo = [MasterEntry(c.ticker, c.name, tuple(c.aliases), c.sector, c.cik or "") for c in companies]
    entries = merge_entries(demo, sp500_entries())
    return EntityLinker([CompanyRecord(e.ticker, e.name, e.aliases, e.cik) for e in entries])


def demo_articles(feed: Any) -> list[PipelineArticle]:
    """First-of-story items only: a syndicated copy is one story counted once."""
    articles = []
    for item in feed.items:
        if item["metadata"].get("syndicated_from"):
            continue
        published = datetime.fromisoformat(item["published"].replace("Z", "+00:00")).astimezone(UTC)
        articles.append(PipelineArticle(item["id"], published, item["title"], item["body"]))
    return articles


def daily_scores(
    window: ScoringWindow, days: Sequence[date], watch: set[str] | None = None
) -> tuple[dict[str, dict[date, float]], dict[tuple[str, date], Any], float]:
    """Scores per ticker per day (absent: 0), the breakdowns of ``watch`` tickers, seconds spent scoring."""
    from pipelines.risk.scoring import score_universe

    scores: dict[str, dict[date, float]] = defaultdict(dict)
    kept: dict[tuple[str, date], Any] = {}
    seconds = 0.0
    for day in days:
        inputs = window.inputs(day)
        started = time.perf_counter()
        breakdowns = score_universe(inputs, day)
        seconds += time.perf_counter() - started
        for ticker, breakdown in breakdowns.items():
            scores[ticker][day] = breakdown.score
            if watch and ticker in watch:
                kept[(ticker, day)] = breakdown
    return scores, kept, seconds


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


# -------------------------------------------------------------------------------------------- sections


def throughput(linker: Any, articles: Sequence[PipelineArticle]) -> dict[str, float]:
    process_articles(linker, articles[:4])  # load the spaCy pipeline and the sentiment model first
    started = time.perf_counter()
    batched = process_articles(linker, articles, batch_size=BATCH_SIZE)
    batched_s = time.perf_counter() - started
    started = time.perf_counter()
    single = [p for a in articles for p in process_articles(linker, [a], batch_size=1)]
    single_s = time.perf_counter() - started
    same = [len(p.signals) for p in batched] == [len(p.signals) for p in single]
    sentences = sum(len(p.signals) for p in batched)
    rows = [
        [f"batched ({BATCH_SIZE}/call)", len(articles), sentences, batched_s, len(articles) / batched_s],
        ["one at a time", len(articles), sentences, single_s, len(articles) / single_s],
    ]
    print_table(["mode", "articles", "sentences", "seconds", "articles/s"], rows, "1. Throughput (whole pipeline)")
    ratio = single_s / batched_s
    print(f"  batched / one at a time = {ratio:.2f}x articles/s (same signals per article: {same})")
    print()
    return {"batched_per_s": len(articles) / batched_s, "single_per_s": len(articles) / single_s, "ratio": ratio}


def full_rescore(feed: Any, linker: Any, days: int) -> dict[str, float]:
    processed = process_articles(linker, demo_articles(feed))
    window = ScoringWindow(processed)
    master = {c.ticker for c in feed.companies}
    # The 90 days up to a week after the last planted event: a quiet stretch would leave no score >= 20
    # and so no counterfactual to time.
    planted = [e.date for e in feed.events] + [date.fromisoformat(feed.supply_event["date"])]
    last = min(feed.end, max(planted) + timedelta(days=DETECTION_AFTER_DAYS))
    span = days_between(last - timedelta(days=days - 1), last)
    from pipelines.risk.scoring import score_universe

    plain_s = cf_s = 0.0
    evidence: set[str] = set()
    scored = reruns = 0
    for day in span:
        inputs = window.inputs(day)
        started = time.perf_counter()
        breakdowns = score_universe(inputs, day)
        plain_s += time.perf_counter() - started
        started = time.perf_counter()
        for breakdown in breakdowns.values():
            reruns += len(counterfactuals_for(breakdown))
        cf_s += time.perf_counter() - started
        evidence |= set(breakdowns) & master
        scored += len(breakdowns)
    print(f"== 2. Full rescore: {len(master)} companies x {len(span)} days ({span[0]} .. {span[-1]}) ==")
    print(f"  demo world: seed {feed.seed}, {len(master)} companies, {len(processed)} first-of-story articles")
    print(f"  companies of the master with evidence on some day: {len(evidence)} of {len(master)}")
    print(f"  companies scored per day (mean, any linked company): {scored / len(span):.1f}")
    print(f"  plain scoring: {plain_s:.2f} s total, {1000 * plain_s / len(span):.1f} ms per day")
    print(
        f"  + leave-one-out counterfactuals (top {COUNTERFACTUAL_MAX_ARTICLES} articles of scores >= "
        f"{COUNTERFACTUAL_MIN_SCORE:.0f}): {reruns} reruns, {cf_s:.2f} s, "
        f"{cf_s / plain_s if plain_s else math.nan:.1f}x plain scoring"
    )
    print()
    return {"plain_s": plain_s, "counterfactual_s": cf_s, "evidence": len(evidence), "reruns": reruns}


def _first_reach(levels: Sequence[tuple[date, Any]], start: date, end: date, level: Any) -> date | None:
    return next((day for day, reached in levels if start <= day <= end and reached >= level), None)


def demo_backtest(feed: Any, linker: Any) -> dict[str, Any]:
    from fixtures.demo_feed import ground_truth
    from pipelines.risk.alerts import AlertLevel, AlertThresholds
    from pipelines.risk.backtest import replay_levels
    from pipelines.risk.scoring import ContributionKind

    truth = ground_truth(feed)
    thresholds = AlertThresholds()
    processed = process_articles(linker, demo_articles(feed))
    window = ScoringWindow(processed)
    days = days_between(feed.start, feed.end)
    propagation = truth["propagation"]
    customers = {c for targets in propagation.values() for c in targets}
    scores, kept, seconds = daily_scores(window, days, watch=customers)
    tickers = sorted({c.ticker for c in feed.companies})
    levels = {t: replay_levels([(d, scores.get(t, {}).get(d, 0.0)) for d in days], thresholds) for t in tickers}
    print(f"== 3. Demo backtest: {len(tickers)} companies x {len(days)} days ({feed.start} .. {feed.end}) ==")
    print(f"  {len(processed)} first-of-story articles; scoring {seconds:.1f} s; thresholds {thresholds}")
    print(
        f"  detected: the level reached within [event - {LOOKBACK_DAYS} d, event + {DETECTION_AFTER_DAYS} d]; "
        "lead = event date - first day (negative: after the event)"
    )
    rows = []
    leads: dict[str, list[int]] = {"watch": [], "warning": []}
    events = [(t, e) for t, evs in truth["events_by_ticker"].items() for e in evs]
    events.sort(key=lambda te: (te[1]["date"], te[0]))
    for ticker, event in events:
        when = date.fromisoformat(event["date"])
        start, end = when - timedelta(days=LOOKBACK_DAYS), when + timedelta(days=DETECTION_AFTER_DAYS)
        row = [ticker, event["type"] + (f" (via {event['via']})" if event.get("via") else ""), event["severity"]]
        row.append(event["date"])
        for name, level in (("watch", AlertLevel.WATCH), ("warning", AlertLevel.WARNING)):
            first = _first_reach(levels[ticker], start, end, level)
            lead = None if first is None else (when - first).days
            if lead is not None:
                leads[name].append(lead)
            row.append("missed" if lead is None else lead)
        window_scores = [scores.get(ticker, {}).get(d, 0.0) for d in days_between(start, min(end, feed.end))]
        row += [max(window_scores), scores.get(ticker, {}).get(when, 0.0)]
        rows.append(row)
    headers = ["ticker", "event", "severity", "date", "watch lead d", "warning lead d", "peak score", "score on day"]
    print_table(headers, rows)
    summary: dict[str, Any] = {"events": len(events)}
    for name in ("watch", "warning"):
        found = leads[name]
        median = statistics.median(found) if found else None
        before = sum(1 for d in found if d > 0)
        print(
            f"  {name:>7}: detected {len(found)}/{len(events)} ({len(found) / len(events):.0%}), "
            f"{before} before the event day, median lead {median} d"
        )
        summary[f"{name}_detected"], summary[f"{name}_median_lead"] = len(found), median
    quiet = truth["quiet_tickers"]
    for name, level in (("watch", AlertLevel.WATCH), ("warning", AlertLevel.WARNING)):
        rises: Counter[str] = Counter()
        for ticker in quiet:
            previous = AlertLevel.NONE
            for _, reached in levels.get(ticker, []):
                if reached >= level > previous:
                    rises[ticker] += 1
                previous = reached
        total = sum(rises.values())
        named = ", ".join(f"{t} {n}" for t, n in sorted(rises.items()))
        print(
            f"  false alerts >= {name} on {len(quiet)} quiet companies: {total} rises on "
            f"{len(rises)} companies{': ' + named if named else ''}"
        )
        summary[f"false_{name}"] = total
    for supplier, targets in propagation.items():
        event_day = next(date.fromisoformat(e["date"]) for e in truth["events"] if e["ticker"] == supplier
                         and e.get("customers"))  # fmt: skip
        span = days_between(event_day, min(feed.end, event_day + timedelta(days=14)))
        print(
            f"  supplier failure {supplier} on {event_day} (own score that day "
            f"{scores.get(supplier, {}).get(event_day, 0.0):.1f}); customers over the following 14 days:"
        )
        for customer in targets:
            amounts = [
                sum(
                    c.amount
                    for c in kept[(customer, d)].contributions
                    if c.kind is ContributionKind.NEIGHBOUR and c.neighbour == supplier
                )
                if (customer, d) in kept
                else 0.0
                for d in span
            ]
            peak = max(scores.get(customer, {}).get(d, 0.0) for d in span)
            top_level = max(reached for d, reached in levels[customer] if d in set(span))
            print(
                f"    {customer}: neighbour contribution from {supplier} on {sum(a > 0 for a in amounts)} of "
                f"{len(span)} days, max {max(amounts):.2f} points; peak score {peak:.1f}; "
                f"highest level {top_level.name.lower()}"
            )
            summary[f"neighbour_{customer}"] = max(amounts)
    print()
    return summary


# -------------------------------------------------------------------------------------------- 8-K replay


def _share(count: int, total: int) -> str:
    return f"{count} ({count / total:.0%})"


_FILER_NOISE = re.compile(r"\s*(\\[A-Z]{2}\\|/[A-Z]{2}/|/$)")


def filer_key(row: dict[str, Any]) -> str:
    """The filer's ticker; a placeholder from the CIK when the row has none (the app cannot score those)."""
    return (row.get("ticker") or "").strip().upper() or f"CIK{row.get('cik', '')}"


def eight_k_linker(rows: Sequence[dict[str, Any]]) -> Any:
    from pipelines.entities import CompanyRecord, EntityLinker
    from pipelines.entities.master import MasterEntry, merge_entries, sp500_entries

    names: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        name = _FILER_NOISE.sub("", row.get("company", "")).strip()
        # Filings write "Tyson Foods, Inc." where EDGAR's index says "TYSON FOODS INC".
        for variant in (name, name.title()):
            if variant and variant not in names[filer_key(row)]:
                names[filer_key(row)].append(variant)
    filers = [MasterEntry(key, spellings[0], tuple(spellings)) for key, spellings in sorted(names.items())]
    entries = merge_entries(filers, sp500_entries())
    return EntityLinker([CompanyRecord(e.ticker, e.name, e.aliases, e.cik) for e in entries])


def eight_k_replay(path: Path, *, limit: int | None = None) -> dict[str, Any]:
    """Each item through the pipeline; each filer scored on each of its filing days.

    The level of a filer on a filing day is ``next_level`` from its level after the day before (scored
    too, so that a level can fall between filings as the daily job would let it). Right level: the
    level the mapped event's severity calls for (critical -> critical, high -> warning, medium ->
    watch, low -> watch) or higher. An alert is a rise of the level to watch or above; a routine
    day is a filer's filing day whose items are all 2.02, 7.01, 8.01 or 9.01.
    """
    from pipelines.feeds import sec_8k_item, sec_8k_rows
    from pipelines.risk.alerts import AlertLevel, AlertThresholds, dominant_story, next_level
    from pipelines.risk.events import Severity, map_8k_item
    from pipelines.risk.scoring import score_universe

    expected = {
        Severity.CRITICAL: AlertLevel.CRITICAL,
        Severity.HIGH: AlertLevel.WARNING,
        Severity.MEDIUM: AlertLevel.WATCH,
        Severity.LOW: AlertLevel.NONE,
    }
    from pipelines.risk.events import events_from_8k_item

    rows = sec_8k_rows(path)[:limit]
    started = time.perf_counter()
    linker = eight_k_linker(rows)
    built = time.perf_counter() - started
    articles = []
    for row in rows:
        item = sec_8k_item(row)
        articles.append(
            PipelineArticle(
                item.external_id, item.published, item.title, item.body, filer_key(row), str(row.get("item", ""))
            )
        )
    started = time.perf_counter()
    processed = process_articles(linker, articles)
    pipeline_s = time.perf_counter() - started
    window = ScoringWindow(processed)
    by_day: dict[date, list[tuple[dict[str, Any], ProcessedArticle]]] = defaultdict(list)
    for row, p in zip(rows, processed, strict=True):
        by_day[p.article.published_at.date()].append((row, p))
    thresholds = AlertThresholds()
    level: dict[str, Any] = defaultdict(lambda: AlertLevel.NONE)
    day_level: dict[tuple[str, date], Any] = {}
    day_score: dict[tuple[str, date], float] = {}
    raised: dict[tuple[str, date], str] = {}
    started = time.perf_counter()
    for day in sorted(by_day):
        filers = {p.article.filer for _, p in by_day[day]}
        if any(level[f] > AlertLevel.NONE for f in filers):
            before = score_universe(window.inputs(day - timedelta(days=1)), day - timedelta(days=1))
            for f in filers:
                level[f] = next_level(level[f], before[f].score if f in before else 0.0, thresholds)
        breakdowns = score_universe(window.inputs(day), day)
        for f in filers:
            score = breakdowns[f].score if f in breakdowns else 0.0
            new = next_level(level[f], score, thresholds)
            if new > level[f] and new >= AlertLevel.WATCH:
                raised[(f, day)] = dominant_story(breakdowns[f])
            level[f] = day_level[(f, day)] = new
            day_score[(f, day)] = score
    scoring_s = time.perf_counter() - started

    print(f"== 4. Real 8-K replay: {path} ==")
    print(
        f"  {len(rows)} items, {len(by_day)} filing days, {len({filer_key(r) for r in rows})} filers "
        f"({sum(1 for r in rows if not r.get('ticker'))} items from filers without a ticker, scored under CIK "
        "placeholders; the app would have no company for them)"
    )
    print(
        f"  linker over {len(linker.companies)} companies built in {built:.1f} s; pipeline {pipeline_s:.1f} s "
        f"({len(rows) / pipeline_s:.1f} items/s); scoring {scoring_s:.1f} s"
    )
    print("  right level = at least the level of the item's event severity: critical -> critical, high -> warning,")
    print("  medium -> watch, low -> none (a director's or another officer's departure, an unconfirmed 5.02: no alert")
    print("  needed); 'alerting' = the items whose severity calls for an alert")
    # The severity is the item's own (a departure's depends on who left), not the code's.
    per_code: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for row, p in ((r, p) for items in by_day.values() for r, p in items):
        if not row.get("risk_relevant"):
            continue
        code = str(row["item"])
        hits = events_from_8k_item(code, str(row.get("text", "")))
        severity = hits[0].severity if hits else Severity.LOW
        reached = day_level[(p.article.filer, p.article.published_at.date())]
        want = expected[severity]
        counts = per_code[(code, severity.name.lower())]
        counts[0] += 1
        counts[1] += reached >= AlertLevel.WATCH
        counts[2] += reached >= want
        counts[3] += reached == want
    table = []
    for code, severity in sorted(per_code):
        rule = map_8k_item(code)
        n, watch, right, exact = per_code[(code, severity)]
        want = expected[Severity[severity.upper()]].name.lower()
        table.append([code, rule.event_type.value if rule else "?", severity, want, n,
                      _share(watch, n), _share(right, n), _share(exact, n)])  # fmt: skip
    totals = [sum(c[i] for c in per_code.values()) for i in range(4)]
    relevant = totals[0] or 1
    table.append(["all", "", "", "", totals[0], _share(totals[1], relevant), _share(totals[2], relevant),
                  _share(totals[3], relevant)])  # fmt: skip
    alerting = [c for (_, sev), c in per_code.items() if expected[Severity[sev.upper()]] >= AlertLevel.WATCH]
    sums = [sum(c[i] for c in alerting) for i in range(4)]
    should = sums[0] or 1
    table.append(["alerting", "", "", ">= watch", sums[0], *(_share(sums[i], should) for i in (1, 2, 3))])
    print_table(
        ["item", "event", "severity", "right level", "items", ">= watch", ">= right", "exactly right"],
        table,
        "risk_relevant items: the filer's level on the filing day",
    )
    filer_days: dict[tuple[str, date], set[str]] = defaultdict(set)
    for day, items in by_day.items():
        for row, p in items:
            filer_days[(p.article.filer, day)].add(str(row["item"]))
    routine_days = [key for key, codes in filer_days.items() if codes <= ROUTINE_ONLY_ITEMS]
    routine_alerts = [key for key in routine_days if key in raised]
    print(
        f"  alerts (rises to >= watch): {len(raised)} on {len(filer_days)} filer-days; on routine-only days "
        f"({', '.join(sorted(ROUTINE_ONLY_ITEMS))}): {len(routine_alerts)} of {len(routine_days)} days "
        f"({len(routine_alerts) / max(1, len(routine_days)):.1%}), "
        f"{len(routine_alerts) / max(1, len(raised)):.0%} of all alerts"
    )
    for key in sorted(routine_alerts, key=lambda k: (k[1], k[0]))[:10]:
        print(f"    {key[1]} {key[0]}: score {day_score[key]:.1f}, dominant story {raised[key]}")
    linked = sum(1 for p in processed if p.article.filer in p.body_tickers)
    with_ticker = [p for r, p in zip(rows, processed, strict=True) if r.get("ticker")]
    linked_ticker = sum(1 for p in with_ticker if p.article.filer in p.body_tickers)
    print(
        f"  NER: filer linked in the item text (title excluded) in {linked}/{len(processed)} items "
        f"({linked / max(1, len(processed)):.1%}); filers with a ticker {linked_ticker}/{len(with_ticker)} "
        f"({linked_ticker / max(1, len(with_ticker)):.1%})"
    )
    print()
    return {
        "relevant": totals[0],
        "watch_share": totals[1] / relevant,
        "right_share": totals[2] / relevant,
        "routine_days": len(routine_days),
        "routine_alerts": len(routine_alerts),
        "alerts": len(raised),
        "ner_share": linked / max(1, len(processed)),
    }


# ------------------------------------------------------------------------------------------------ main


@dataclass
class Sizes:
    throughput_articles: int = 256
    rescore_companies: int = 50
    rescore_days: int = 90
    demo_start: date = date(2023, 1, 1)
    demo_end: date = date(2024, 12, 31)
    routine_items: int = 720
    eight_k_items: int | None = None


QUICK = Sizes(16, 50, 5, date(2023, 1, 1), date(2023, 4, 30), 40, 60)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks that every section runs")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--skip-8k", action="store_true")
    args = parser.parse_args(argv)
    pin_threads(args.threads)
    print_thread_settings()
    sizes = QUICK if args.quick else Sizes()

    from fixtures.demo_feed import build_demo_feed
    from pipelines.sentiment import active_model_label

    print(f"sentiment model: {active_model_label()}")
    demo = build_demo_feed(seed=7, start=sizes.demo_start, end=sizes.demo_end, routine_items=sizes.routine_items)
    started = time.perf_counter()
    linker = demo_linker(demo.companies)
    print(f"linker: {linker.model_name} {linker.model_version}, {len(linker.companies)} companies, "
          f"built in {time.perf_counter() - started:.1f} s")  # fmt: skip
    print()
    articles = demo_articles(demo)
    if len(articles) < sizes.throughput_articles:
        raise SystemExit(f"the demo feed has {len(articles)} first-of-story articles, fewer than asked")
    throughput(linker, articles[: sizes.throughput_articles])

    wide = build_demo_feed(
        seed=7,
        n_companies=sizes.rescore_companies,
        start=sizes.demo_start,
        end=sizes.demo_end,
        routine_items=sizes.routine_items,
    )
    full_rescore(wide, demo_linker(wide.companies), sizes.rescore_days)

    demo_backtest(demo, linker)

    source = shared_data_dir() / "sec_8k_events" / "sec_8k_items.jsonl"
    if args.skip_8k:
        print("== 4. Real 8-K replay: skipped (--skip-8k) ==")
    elif not source.exists():
        print(f"== 4. Real 8-K replay: skipped, {source} not found (set ARGUS_SHARED_DATA to the shared/data folder)")
    else:
        eight_k_replay(source, limit=sizes.eight_k_items)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
