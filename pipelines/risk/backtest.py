"""Backtest helpers: lead time of alerts before planted events, and false alerts on quiet companies.

A timeline is a company's daily scores; levels are replayed through ``next_level`` so the
hysteresis of production applies. An event is caught when the alert level reached ``level``
(warning by default) on some day in ``[event_date - lookback_days, event_date]``; its lead time is
the days from the first such day to the event. A false alert is a rise to ``level`` on a company
with no planted event.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from pipelines.risk.alerts import AlertLevel, AlertThresholds, next_level


@dataclass(frozen=True, slots=True)
class PlantedEvent:
    ticker: str
    event_date: date
    label: str = ""


@dataclass(frozen=True, slots=True)
class EventLead:
    event: PlantedEvent
    first_alert: date | None
    lead_days: int | None  # None: missed


@dataclass(frozen=True, slots=True)
class BacktestReport:
    leads: tuple[EventLead, ...]
    false_alerts: Mapping[str, int]  # quiet company -> number of rises to the level
    quiet_companies: int

    @property
    def detected(self) -> int:
        return sum(1 for lead in self.leads if lead.lead_days is not None)

    @property
    def detection_rate(self) -> float:
        return self.detected / len(self.leads) if self.leads else 0.0

    @property
    def median_lead_days(self) -> float | None:
        days = [lead.lead_days for lead in self.leads if lead.lead_days is not None]
        return float(statistics.median(days)) if days else None

    @property
    def false_alerts_total(self) -> int:
        return sum(self.false_alerts.values())

    @property
    def quiet_companies_alerted(self) -> int:
        return sum(1 for count in self.false_alerts.values() if count > 0)


def replay_levels(
    daily_scores: Iterable[tuple[date, float]], thresholds: AlertThresholds
) -> list[tuple[date, AlertLevel]]:
    """The alert level of each day, in date order, starting from no alert."""
    level = AlertLevel.NONE
    levels = []
    for day, score in sorted(daily_scores):
        level = next_level(level, score, thresholds)
        levels.append((day, level))
    return levels


def lead_times(
    timelines: Mapping[str, Sequence[tuple[date, float]]],
    events: Iterable[PlantedEvent],
    thresholds: AlertThresholds,
    *,
    level: AlertLevel = AlertLevel.WARNING,
    lookback_days: int = 30,
) -> BacktestReport:
    """Lead time per planted event and false alerts on companies without one."""
    events = sorted(events, key=lambda e: (e.ticker, e.event_date, e.label))
    replayed = {ticker: replay_levels(scores, thresholds) for ticker, scores in timelines.items()}
    leads = []
    for event in events:
        window_start = event.event_date - timedelta(days=lookback_days)
        first = next(
            (
                day
                for day, reached in replayed.get(event.ticker, [])
                if window_start <= day <= event.event_date and reached >= level
            ),
            None,
        )
        leads.append(EventLead(event, first, None if first is None else (event.event_date - first).days))
    eventful = {event.ticker for event in events}
    false_alerts = {}
    for ticker in sorted(set(replayed) - eventful):
        rises = 0
        previous = AlertLevel.NONE
        for _, reached in replayed[ticker]:
            if reached >= level > previous:
                rises += 1
            previous = reached
        false_alerts[ticker] = rises
    return BacktestReport(tuple(leads), false_alerts, len(false_alerts))
