"""The whole risk pipeline on a synthetic news world: one company slides into default, four stay quiet.

Daily scores come from ``score_universe`` over entity-linked, sentiment-scored sentences (as
``pipelines.entities`` and ``pipelines.sentiment`` would produce), alerts from ``next_level``,
and the figures from the backtest helper.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

from pipelines.risk.alerts import AlertLevel, AlertThresholds
from pipelines.risk.backtest import PlantedEvent, lead_times
from pipelines.risk.scoring import RiskInputs, score_universe
from pipelines.risk.signals import SentenceSignal

START = datetime(2026, 1, 1, 9, tzinfo=UTC)
QUIET = ("QAA", "QBB", "QCC", "QDD")
ROUTINE_NEWS = (
    "{t} reported quarterly sales in line with expectations.",
    "{t} opened a new office in Austin.",
    "{t} shares were little changed.",
    "{t} named a new head of marketing.",
    "{t} shares slipped 1% in a weak market.",
)
# The slide: guidance cut, downgrade, covenant breach, going-concern doubt, then Chapter 11 on day 40.
STORY = {
    25: ("{t} slashed its full-year guidance.", "{t} shares plunged 20% after the guidance cut."),
    30: ("Moody's downgraded {t} to junk status.",),
    33: ("{t} breached the financial covenants of its credit facility.",),
    35: ("Auditors raised doubt about {t}'s ability to continue as a going concern.",),
    40: ("{t} filed for Chapter 11 bankruptcy protection.",),
}
DEFAULT_DAY = 40


def synthetic_world(seed: int = 7) -> list[SentenceSignal]:
    rng = random.Random(seed)
    signals: list[SentenceSignal] = []

    def publish(day: int, template: str, ticker: str, score: float) -> None:
        signals.append(
            SentenceSignal(
                article_id=f"art{len(signals)}",
                published_at=START + timedelta(days=day, hours=rng.random() * 8),
                sentence_index=0,
                text=template.format(t=ticker),
                tickers=(ticker,),
                sentiment_score=score,
                sentiment_label="negative" if score < -0.1 else "neutral",
            )
        )

    for day in range(60):
        for ticker in (*QUIET, "DOOM"):
            if rng.random() < 0.5:
                publish(day, rng.choice(ROUTINE_NEWS), ticker, rng.uniform(-0.4, 0.3))
    for day, templates in STORY.items():
        for template in templates:
            for _ in range(3):  # each story covered by three outlets
                publish(day, template, "DOOM", -0.85)
    return signals


def test_default_is_preceded_by_a_warning_and_quiet_companies_do_not_alert() -> None:
    inputs = RiskInputs(tuple(synthetic_world()))
    timelines: dict[str, list] = {}
    for day in range(50):
        as_of = (START + timedelta(days=day)).date()
        for ticker, breakdown in score_universe(inputs, as_of).items():
            timelines.setdefault(ticker, []).append((as_of, breakdown.score))
    thresholds = AlertThresholds()
    event = PlantedEvent("DOOM", (START + timedelta(days=DEFAULT_DAY)).date(), "chapter 11")
    report = lead_times(timelines, [event], thresholds, level=AlertLevel.WARNING, lookback_days=30)
    quiet_peak = max(score for ticker in QUIET for _, score in timelines[ticker])
    [lead] = report.leads
    print(
        f"\nsynthetic world: DOOM warning lead {lead.lead_days} days before default; quiet companies peak "
        f"score {quiet_peak:.1f}, false warnings {report.false_alerts_total} on {report.quiet_companies} companies"
    )
    assert lead.lead_days is not None and lead.lead_days >= 5
    assert report.false_alerts_total == 0
    assert quiet_peak < thresholds.watch
    doom_on_default = dict(timelines["DOOM"])[event.event_date]
    assert doom_on_default >= thresholds.critical


def test_breakdown_detail_is_json_serialisable_for_storage() -> None:
    inputs = RiskInputs(tuple(synthetic_world()))
    breakdown = score_universe(inputs, (START + timedelta(days=DEFAULT_DAY)).date())["DOOM"]
    payload = [
        {
            "kind": c.kind,
            "amount": c.amount,
            "article_id": c.article_id,
            "sentence_index": c.sentence_index,
            "evidence_text": c.evidence_text,
            "event_type": c.event_type,
            "neighbour": c.neighbour,
            "detail": c.detail,
        }
        for c in breakdown.contributions
    ]
    assert json.loads(json.dumps(payload))[0]["kind"] in {"event", "sentiment_level", "sentiment_shift", "volume"}
