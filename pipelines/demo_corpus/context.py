"""What every document renderer sees: the plan of one document and the corpus-wide facts."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from pipelines.demo_corpus.companies import CompanyProfile, QuarterFinancials, SupplyLink, rating_after
from pipelines.demo_corpus.people import BROKERS, HOUSE, Organization, Person, make_person
from pipelines.demo_corpus.text import DocWriter, Figure, Mention, PiiValue, multiple, pct, usd_compact, usd_millions

RISK_EVENT_TYPES = ("default", "fraud", "litigation", "downgrade", "regulatory_action", "liquidity_stress")
SEVERITIES = ("low", "medium", "high", "critical")


@dataclass(frozen=True)
class RiskEvent:
    event_id: str
    ticker: str
    event_type: str  # one of RISK_EVENT_TYPES
    date: date
    severity: str  # one of SEVERITIES
    summary: str
    details: dict[str, Any] = field(default_factory=dict, compare=False)

    def planted(self, role: str) -> dict[str, Any]:
        """How a document records this event; role: primary, follow_up, filing, assessment, mention,
        exposure (a counterparty's document) or precursor (an early warning before the event)."""
        return {
            "event_id": self.event_id,
            "type": self.event_type,
            "ticker": self.ticker,
            "date": self.date.isoformat(),
            "severity": self.severity,
            "role": role,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "ticker": self.ticker,
            "type": self.event_type,
            "date": self.date.isoformat(),
            "severity": self.severity,
            "summary": self.summary,
            "details": self.details,
        }


@dataclass
class Plan:
    """One document to write: which kind, about whom, when, and the event or link it is about."""

    kind: str
    doc_type: str
    access_level: str
    ticker: str
    day: date
    period: str | None = None
    event: RiskEvent | None = None
    link: SupplyLink | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    doc_id: str = ""


@dataclass
class Rendered:
    title: str
    text: str
    source: str
    sentiment: float  # -1 (very negative) .. 1 (very positive), the tone the template was written with
    text_format: str = "markdown"


class CorpusContext:
    def __init__(
        self,
        companies: list[CompanyProfile],
        quarters: dict[str, dict[str, QuarterFinancials]],
        seed: int,
        start: date,
        end: date,
    ) -> None:
        self.companies = {c.ticker: c for c in companies}
        self.quarters = quarters
        self.seed = seed
        self.start = start
        self.end = end
        self.events: list[RiskEvent] = []
        self.links: list[SupplyLink] = sorted(
            {link for c in companies for link in c.supply_links}, key=lambda link: (link.supplier, link.customer)
        )
        rng = random.Random(f"demo-corpus|{seed}|people")
        taken = {p.name for c in companies for p in (c.ceo, c.cfo, c.investor_relations)}
        self.broker_analysts: dict[str, list[Person]] = {
            broker.name: [
                make_person(rng, title="Equity Research Analyst", organization=broker, taken=taken) for _ in range(4)
            ]
            for broker in BROKERS
        }
        self.coverage: dict[str, list[tuple[Organization, Person]]] = {}
        for ticker in sorted(self.companies):
            brokers = rng.sample(list(BROKERS), 3)
            self.coverage[ticker] = [(b, rng.choice(self.broker_analysts[b.name])) for b in brokers]
        sectors = sorted({c.sector for c in companies})
        self.house_analysts = {
            sector: make_person(rng, title=f"Senior Analyst, {sector}", organization=HOUSE, taken=taken)
            for sector in sectors
        }
        self.credit_officers = [
            make_person(rng, title=title, organization=HOUSE, taken=taken)
            for title in ("Credit Officer", "Senior Credit Officer", "Head of Credit Risk", "Credit Analyst")
        ]
        self.deal_team = [
            make_person(rng, title=title, organization=HOUSE, taken=taken)
            for title in (
                "Managing Director, Corporate Development",
                "Vice President, Corporate Development",
                "Associate, Corporate Development",
            )
        ]
        self.treasury = [
            make_person(rng, title=title, organization=HOUSE, taken=taken)
            for title in ("Treasury Operations Manager", "Settlements Analyst")
        ]
        self.taken_names = taken

    # --- lookups -----------------------------------------------------------------------------------

    def company(self, ticker: str) -> CompanyProfile:
        return self.companies[ticker]

    def quarter(self, ticker: str, period: str) -> QuarterFinancials:
        return self.quarters[ticker][period]

    def latest_quarter(self, ticker: str, day: date) -> QuarterFinancials:
        """The last quarter whose results were public on ``day``."""
        reported = [q for q in self.quarters[ticker].values() if q.earnings_date <= day]
        return max(reported, key=lambda q: q.period_end)

    def previous_quarter(self, quarter: QuarterFinancials) -> QuarterFinancials | None:
        year, q = quarter.fiscal_year, quarter.fiscal_quarter
        key = f"{year}Q{q - 1}" if q > 1 else f"{year - 1}Q4"
        return self.quarters[quarter.ticker].get(key)

    def events_for(
        self, ticker: str, before: date, *, within_days: int = 365, types: tuple[str, ...] = RISK_EVENT_TYPES
    ) -> list[RiskEvent]:
        earliest = before - timedelta(days=within_days)
        return [e for e in self.events if e.ticker == ticker and earliest <= e.date < before and e.event_type in types]

    def rating_on(self, ticker: str, day: date) -> str:
        rating = self.companies[ticker].credit_rating
        for event in sorted(self.events, key=lambda e: e.date):
            if event.ticker == ticker and event.date <= day:
                if event.event_type == "downgrade":
                    rating = event.details["to_rating"]
                elif event.event_type == "default":
                    rating = "D"
        return rating

    def rating_before(self, ticker: str, day: date) -> str:
        return self.rating_on(ticker, day - timedelta(days=1))

    def links_of(self, ticker: str) -> list[SupplyLink]:
        return [link for link in self.links if ticker in (link.supplier, link.customer)]

    # --- writing -----------------------------------------------------------------------------------

    def writer(self, plan: Plan) -> DocWriter:
        company = self.companies[plan.ticker]
        rng = random.Random(f"demo-corpus|{self.seed}|doc|{plan.doc_id}")
        base: dict[str, Any] = {
            "co": Mention(company.ticker, company.name),
            "short": Mention(company.ticker, company.short_name),
            "tk": Mention(company.ticker, company.ticker),
            "ceo": PiiValue("person", company.ceo.name),
            "cfo": PiiValue("person", company.cfo.name),
            "ir": PiiValue("person", company.investor_relations.name),
            "sector": company.sector,
            "industry": company.sub_industry.lower(),
        }
        return DocWriter(rng=rng, base=base)

    def names(self, ticker: str, prefix: str) -> dict[str, Mention]:
        """Placeholders for another company: ``{prefix}`` full name, ``{prefix}_short``, ``{prefix}_tk``."""
        company = self.companies[ticker]
        return {
            prefix: Mention(ticker, company.name),
            f"{prefix}_short": Mention(ticker, company.short_name),
            f"{prefix}_tk": Mention(ticker, ticker),
        }


def person_fields(person: Person, prefix: str) -> dict[str, Any]:
    """Placeholders for a person: name, title, organisation, and contact details (all recorded as PII)."""
    return {
        prefix: PiiValue("person", person.name),
        f"{prefix}_title": person.title,
        f"{prefix}_org": person.organization,
        f"{prefix}_email": PiiValue("email", person.email),
        f"{prefix}_phone": PiiValue("phone", person.phone),
    }


def figures(quarter: QuarterFinancials, style: str) -> dict[str, Figure]:
    """A quarter's key metrics as printed in one style: "filing" ($94,930 million), "press"
    ($94.9 billion) or "table" (94,930, in a table headed $ millions)."""
    money = {"filing": usd_millions, "press": usd_compact, "table": lambda v: f"{v:,.0f}"}[style]
    found = {
        "rev": Figure("revenue_musd", money(quarter.revenue_musd)),
        "growth": Figure("revenue_growth_yoy_pct", pct(abs(quarter.revenue_growth_yoy_pct))),
        "gm": Figure("gross_margin_pct", pct(quarter.gross_margin_pct)),
        "ebitda": Figure("ebitda_musd", money(abs(quarter.ebitda_musd))),
        "em": Figure("ebitda_margin_pct", pct(abs(quarter.ebitda_margin_pct))),
        "ni": Figure("net_income_musd", money(abs(quarter.net_income_musd))),
        "eps": Figure("eps_diluted", f"${abs(quarter.eps_diluted):.2f}"),
        "nd": Figure("net_debt_musd", money(abs(quarter.net_debt_musd))),
        "lev": Figure("net_debt_to_ebitda", multiple(quarter.net_debt_to_ebitda)),
        "fcf": Figure("free_cash_flow_musd", money(abs(quarter.free_cash_flow_musd))),
    }
    if quarter.fy_revenue_musd is not None:
        found["fy_rev"] = Figure("fy_revenue_musd", money(quarter.fy_revenue_musd))
    return found


def money_text(value_musd: float, style: str) -> str:
    return {"filing": usd_millions, "press": usd_compact, "table": lambda v: f"{v:,.0f}"}[style](value_musd)


def new_rating(rating: str, notches: int) -> str:
    return rating_after(rating, notches)
