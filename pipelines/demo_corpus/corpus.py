"""Plans the documents (how many of each kind, about whom, when) and renders them."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from pipelines.demo_corpus import filings, news, other, reports, transcripts
from pipelines.demo_corpus.companies import (
    SIMULATION_END_YEAR,
    SIMULATION_START_YEAR,
    CompanyProfile,
    QuarterFinancials,
    SupplyLink,
    quarterly_financials,
)
from pipelines.demo_corpus.context import CorpusContext, Plan, Rendered, RiskEvent
from pipelines.demo_corpus.events import plan_risk_events
from pipelines.demo_corpus.text import DocWriter

DOC_TYPES = ("filing", "news", "report", "transcript", "other")
ACCESS_LEVELS = ("public", "internal", "restricted")
DOC_TYPE_SHARES = {"filing": 0.22, "news": 0.36, "report": 0.20, "transcript": 0.14, "other": 0.08}
DISCLAIMER = (
    "Synthetic document generated for the Argus demo: the companies are real, but all figures, events, "
    "people and contact details are fictional."
)

Renderer = Callable[[CorpusContext, Plan], tuple[DocWriter, Rendered]]
# kind -> (renderer, doc type, access level)
KINDS: dict[str, tuple[Renderer, str, str]] = {
    "earnings-news": (news.earnings_news, "news", "public"),
    "event-news": (news.event_news, "news", "public"),
    "event-followup": (news.event_followup, "news", "public"),
    "exposure-news": (news.exposure_news, "news", "public"),
    "supply-news": (news.supply_news, "news", "public"),
    "executive-news": (news.executive_news, "news", "public"),
    "product-news": (news.product_news, "news", "public"),
    "capital-return-news": (news.capital_return_news, "news", "public"),
    "analyst-action-news": (news.analyst_action_news, "news", "public"),
    "periodic-filing": (filings.periodic_filing, "filing", "public"),
    "current-report": (filings.current_report, "filing", "public"),
    "earnings-transcript": (transcripts.earnings_transcript, "transcript", "public"),
    "broker-report": (reports.broker_report, "report", "public"),
    "internal-note": (reports.internal_note, "report", "internal"),
    "event-note": (reports.internal_note, "report", "internal"),
    "mna-screen": (reports.mna_screen, "report", "restricted"),
    "credit-memo": (other.credit_memo, "other", "restricted"),
    "credit-review": (other.credit_memo, "other", "restricted"),
    "settlement-instructions": (other.settlement_instructions, "other", "internal"),
    "meeting-notes": (other.meeting_notes, "other", "internal"),
    "sustainability-update": (other.sustainability_update, "other", "public"),
}
_MISC_NEWS = ("product-news", "capital-return-news", "executive-news", "analyst-action-news", "supply-news")


@dataclass(frozen=True)
class DemoDocument:
    doc_id: str
    ticker: str
    company: str
    doc_type: str  # one of DOC_TYPES
    title: str
    source: str
    published: date
    access_level: str  # one of ACCESS_LEVELS
    text: str
    text_format: str  # "markdown" or "text"
    planted: dict[str, Any] = field(default_factory=dict, compare=False)

    def to_json_dict(self) -> dict[str, Any]:
        """The JSON lines record: the fields the ingest batch format reads (text, title, company, ticker,
        type, date, source, format) plus doc_id, access_level and the planted ground truth."""
        return {
            "doc_id": self.doc_id,
            "ticker": self.ticker,
            "company": self.company,
            "type": self.doc_type,
            "title": self.title,
            "source": self.source,
            "date": self.published.isoformat(),
            "access_level": self.access_level,
            "format": self.text_format,
            "text": self.text,
            "planted": self.planted,
        }


@dataclass(frozen=True)
class DemoCorpus:
    seed: int
    start_date: date
    end_date: date
    companies: list[CompanyProfile]
    documents: list[DemoDocument]
    events: list[RiskEvent]
    links: list[SupplyLink]
    financials: dict[str, list[QuarterFinancials]]  # the quarters inside the corpus window, by ticker


def _weekday(day: date) -> date:
    return day + timedelta(days=(7 - day.weekday()) % 7) if day.weekday() >= 5 else day


def _random_day(rng: random.Random, first: date, last: date) -> date:
    day = first + timedelta(days=rng.randint(0, max(0, (last - first).days)))
    day = _weekday(day)
    return day if day <= last else last


def _company_periods(ctx: CorpusContext, rng: random.Random) -> list[tuple[str, str]]:
    """Reportable (company, quarter) pairs in round-robin order: every company once, then again..."""
    available: dict[str, list[str]] = {}
    for ticker in sorted(ctx.companies):
        periods = [
            q.period
            for q in ctx.quarters[ticker].values()
            if q.earnings_date >= ctx.start
            and q.filing_date <= ctx.end
            and q.earnings_date + timedelta(days=4) <= ctx.end
        ]
        rng.shuffle(periods)
        available[ticker] = periods
    order: list[tuple[str, str]] = []
    for round_index in range(max((len(p) for p in available.values()), default=0)):
        tickers = sorted(available)
        rng.shuffle(tickers)
        order += [(t, available[t][round_index]) for t in tickers if round_index < len(available[t])]
    return order


def _event_plans(ctx: CorpusContext, rng: random.Random) -> list[Plan]:
    plans: list[Plan] = []

    def add(kind: str, ticker: str, day: date, event: RiskEvent, link: SupplyLink | None = None) -> None:
        day = _weekday(day)
        if ctx.start <= day <= ctx.end:
            _, doc_type, access = KINDS[kind]
            plans.append(Plan(kind, doc_type, access, ticker, day, event=event, link=link))

    for event in ctx.events:
        add("event-news", event.ticker, event.date, event)
        add("event-followup", event.ticker, event.date + timedelta(days=rng.randint(4, 21)), event)
        if event.event_type != "downgrade" and not (event.event_type == "litigation" and event.severity == "low"):
            add("current-report", event.ticker, event.date + timedelta(days=rng.randint(1, 4)), event)
        if event.event_type in ("default", "liquidity_stress", "downgrade"):
            add("credit-memo", event.ticker, event.date + timedelta(days=rng.randint(2, 10)), event)
        if event.event_type in ("fraud", "default", "regulatory_action") or event.severity in ("high", "critical"):
            add("event-note", event.ticker, event.date + timedelta(days=rng.randint(1, 5)), event)
        if event.event_type in ("default", "liquidity_stress", "fraud"):
            for link in ctx.links_of(event.ticker)[:2]:
                counterpart = link.customer if link.supplier == event.ticker else link.supplier
                add("exposure-news", counterpart, event.date + timedelta(days=rng.randint(5, 25)), event, link)
        if event.event_type == "fraud":
            add("executive-news", event.ticker, event.date - timedelta(days=rng.randint(30, 60)), event)
    return plans


def _targets(n_documents: int) -> dict[str, int]:
    targets = {t: int(n_documents * share) for t, share in DOC_TYPE_SHARES.items()}
    targets["news"] += n_documents - sum(targets.values())
    return targets


def _filler_plans(ctx: CorpusContext, rng: random.Random, needed: dict[str, int]) -> list[Plan]:
    order = _company_periods(ctx, rng)
    tickers = sorted(ctx.companies)
    plans: list[Plan] = []

    def add(kind: str, ticker: str, day: date, **kwargs: Any) -> None:
        _, doc_type, access = KINDS[kind]
        plans.append(Plan(kind, doc_type, access, ticker, day, **kwargs))

    overflow = 0
    for ticker, period in order[: needed["filing"]]:
        add("periodic-filing", ticker, ctx.quarter(ticker, period).filing_date, period=period)
    overflow += max(0, needed["filing"] - len(order))
    for ticker, period in order[: needed["transcript"]]:
        add("earnings-transcript", ticker, ctx.quarter(ticker, period).earnings_date, period=period)
    overflow += max(0, needed["transcript"] - len(order))

    reports_needed = needed["report"]
    notes = round(reports_needed * 0.2) if reports_needed >= 5 else 0
    screens = max(2, round(reports_needed * 0.06)) if reports_needed >= 5 else 0
    broker = reports_needed - notes - screens
    for index in range(broker):
        ticker, period = order[index % len(order)]
        q = ctx.quarter(ticker, period)
        add(
            "broker-report",
            ticker,
            min(ctx.end, _weekday(q.earnings_date + timedelta(days=rng.randint(1, 3)))),
            period=period,
            extra={"coverage": index // len(order)},
        )
    for ticker, period in order[:notes]:
        q = ctx.quarter(ticker, period)
        add(
            "internal-note",
            ticker,
            min(ctx.end, _weekday(q.earnings_date + timedelta(days=rng.randint(2, 6)))),
            period=period,
        )
    for _ in range(screens):
        add("mna-screen", rng.choice(tickers), _random_day(rng, ctx.start + timedelta(days=60), ctx.end))

    others = needed["other"]
    reviews = max(2, round(others * 0.15)) if others >= 4 else 0
    ssi = round(others * 0.3)
    meetings = round(others * 0.3)
    esg = max(0, others - reviews - ssi - meetings)
    for kind, count in (
        ("credit-review", reviews),
        ("settlement-instructions", ssi),
        ("meeting-notes", meetings),
        ("sustainability-update", esg),
    ):
        for _ in range(count):
            add(kind, rng.choice(tickers), _random_day(rng, ctx.start + timedelta(days=14), ctx.end))

    news_needed = needed["news"] + overflow
    earnings = min(len(order), round(news_needed * 0.45))
    for ticker, period in order[:earnings]:
        add("earnings-news", ticker, ctx.quarter(ticker, period).earnings_date, period=period)
    misc = news_needed - earnings
    links = list(ctx.links)
    rng.shuffle(links)
    # One story per supply link when the budget allows, so that every relationship is written down
    # somewhere; the rest goes to launches, payouts, appointments and analyst calls.
    supply_budget = min(len(links), max(misc // 3, misc - 30))
    for link in links[:supply_budget]:
        add("supply-news", link.supplier, _random_day(rng, ctx.start, ctx.end), link=link)
    kinds = [k for k in _MISC_NEWS if k != "supply-news"]
    for index in range(misc - supply_budget):
        add(kinds[index % len(kinds)], rng.choice(tickers), _random_day(rng, ctx.start, ctx.end))
    return plans


def _assign_ids(plans: list[Plan]) -> list[Plan]:
    ordered = sorted(enumerate(plans), key=lambda item: (item[1].day, item[1].ticker, item[1].kind, item[0]))
    seen: dict[str, int] = {}
    result = []
    for _, plan in ordered:
        base = f"{plan.ticker.lower().replace('.', '-')}-{plan.day:%Y%m%d}-{plan.kind}"
        seen[base] = seen.get(base, 0) + 1
        plan.doc_id = base if seen[base] == 1 else f"{base}-{seen[base]}"
        result.append(plan)
    return result


def _alias_pattern(alias: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w&])" + re.escape(alias) + r"(?![\w&])")


def _render(ctx: CorpusContext, plan: Plan) -> DemoDocument:
    renderer, doc_type, access = KINDS[plan.kind]
    writer, rendered = renderer(ctx, plan)
    company = ctx.company(plan.ticker)
    separator = "\n\n"
    text = (
        rendered.text.rstrip() + separator + (f"*{DISCLAIMER}*" if rendered.text_format == "markdown" else DISCLAIMER)
    )
    # The subject company is named by templates directly (titles, headings); find its forms in the text.
    subject_forms = [alias for alias in company.aliases if _alias_pattern(alias).search(rendered.title + "\n" + text)]
    entities = [
        {
            "ticker": company.ticker,
            "mentions": sorted(set(subject_forms) | set(writer.mentions.get(company.ticker, []))),
        }
    ]
    entities += [
        {"ticker": ticker, "mentions": sorted(set(forms))}
        for ticker, forms in sorted(writer.mentions.items())
        if ticker != company.ticker
    ]
    score = rendered.sentiment
    polarity = "positive" if score > 0.15 else "negative" if score < -0.15 else "neutral"
    planted = {
        "kind": plan.kind,
        "period": plan.period,
        "sentiment": {"polarity": polarity, "score": score},
        "risk_events": _unique(writer.risk_events),
        "metrics": writer.metrics,
        "metrics_text": {k: v for k, v in writer.metrics_text.items() if k in writer.metrics},
        "relationships": _unique(writer.relationships),
        "entities": entities,
        "pii": writer.pii,
    }
    return DemoDocument(
        doc_id=plan.doc_id,
        ticker=plan.ticker,
        company=company.name,
        doc_type=doc_type,
        title=rendered.title,
        source=rendered.source,
        published=plan.day,
        access_level=access,
        text=text,
        text_format=rendered.text_format,
        planted=planted,
    )


def _unique(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


def build_demo_corpus(
    companies: list[CompanyProfile],
    n_documents: int = 480,
    seed: int = 7,
    start_date: date = date(2023, 1, 1),
    end_date: date = date(2024, 12, 31),
) -> DemoCorpus:
    if end_date <= start_date + timedelta(days=180):
        raise ValueError("the corpus needs at least six months between start_date and end_date")
    # Documents cite the latest reported quarter, so the window must sit inside the simulated years.
    if start_date < date(SIMULATION_START_YEAR, 7, 1) or end_date > date(SIMULATION_END_YEAR, 12, 31):
        raise ValueError(
            f"dates must lie between {SIMULATION_START_YEAR}-07-01 and {SIMULATION_END_YEAR}-12-31, "
            f"got {start_date} to {end_date}"
        )
    if not companies:
        raise ValueError("no companies")
    quarters = {c.ticker: {q.period: q for q in quarterly_financials(c)} for c in companies}
    ctx = CorpusContext(companies, quarters, seed, start_date, end_date)
    ctx.events = plan_risk_events(ctx)
    rng = random.Random(f"demo-corpus|{seed}|plans")
    mandatory = _event_plans(ctx, rng)
    # Event coverage comes first; when n_documents is tiny, keep the primary stories.
    priority = {"event-news": 0, "current-report": 1, "credit-memo": 2, "event-note": 3, "event-followup": 4}
    mandatory.sort(key=lambda p: (priority.get(p.kind, 5), p.day, p.ticker))
    mandatory = mandatory[:n_documents]
    targets = _targets(n_documents)
    needed = {t: max(0, targets[t] - sum(1 for p in mandatory if p.doc_type == t)) for t in DOC_TYPES}
    surplus = len(mandatory) + sum(needed.values()) - n_documents
    for doc_type in ("news", "report", "filing", "other", "transcript"):  # trim if events overshot their shares
        cut = min(surplus, needed[doc_type]) if surplus > 0 else 0
        needed[doc_type] -= cut
        surplus -= cut
    plans = _assign_ids(mandatory + _filler_plans(ctx, rng, needed))
    documents = [_render(ctx, plan) for plan in plans]
    window = {
        ticker: [q for q in by_period.values() if q.earnings_date >= start_date and q.period_end <= end_date]
        for ticker, by_period in quarters.items()
    }
    return DemoCorpus(seed, start_date, end_date, list(companies), documents, list(ctx.events), list(ctx.links), window)


def generate_demo_corpus(
    companies: list[CompanyProfile],
    n_documents: int = 480,
    seed: int = 7,
    start_date: date = date(2023, 1, 1),
    end_date: date = date(2024, 12, 31),
) -> list[DemoDocument]:
    """``n_documents`` documents about ``companies`` dated ``start_date``..``end_date``, sorted by date."""
    return build_demo_corpus(companies, n_documents, seed, start_date, end_date).documents
