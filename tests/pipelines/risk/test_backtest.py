"""Backtest helper: lead time before planted events and false alerts on quiet companies."""

from __future__ import annotations

from datetime import date, timedelta

from pipelines.risk.alerts import AlertLevel, AlertThresholds
from pipelines.risk.backtest import PlantedEvent, lead_times, replay_levels

START = date(2026, 1, 1)
THRESHOLDS = AlertThresholds(watch=40.0, warning=60.0, critical=80.0, hysteresis=5.0)


def timeline(values: list[float]) -> list[tuple[date, float]]:
    return [(START + timedelta(days=i), value) for i, value in enumerate(values)]


def test_lead_time_is_days_from_first_warning_to_the_event() -> None:
    # Warning reached on day 5, event on day 9: 4 days of lead.
    rising = timeline([10, 20, 30, 45, 55, 62, 70, 75, 85, 90])
    report = lead_times({"AAA": rising}, [PlantedEvent("AAA", START + timedelta(days=9))], THRESHOLDS)
    [lead] = report.leads
    assert lead.first_alert == START + timedelta(days=5) and lead.lead_days == 4
    assert report.detection_rate == 1.0 and report.median_lead_days == 4.0


def test_event_without_warning_in_the_lookback_is_missed() -> None:
    flat = timeline([10] * 20)
    early = timeline([70] + [10] * 59)
    report = lead_times(
        {"AAA": flat, "BBB": early},
        [PlantedEvent("AAA", START + timedelta(days=10)), PlantedEvent("BBB", START + timedelta(days=50))],
        THRESHOLDS,
        lookback_days=30,
    )
    assert [lead.lead_days for lead in report.leads] == [None, None]
    assert report.detection_rate == 0.0 and report.median_lead_days is None


def test_false_alerts_count_rises_on_quiet_companies_with_hysteresis() -> None:
    hovering = timeline([59, 61, 58, 60, 57, 62, 40, 65])  # one rise; falls below 55 once, then rises again
    quiet = timeline([10, 20, 15])
    report = lead_times({"QQQ": hovering, "ZZZ": quiet}, [], THRESHOLDS)
    assert report.false_alerts == {"QQQ": 2, "ZZZ": 0}
    assert report.false_alerts_total == 2 and report.quiet_companies_alerted == 1


def test_replay_sorts_days() -> None:
    levels = replay_levels(list(reversed(timeline([10, 65, 58]))), THRESHOLDS)
    assert [level for _, level in levels] == [AlertLevel.NONE, AlertLevel.WARNING, AlertLevel.WARNING]
