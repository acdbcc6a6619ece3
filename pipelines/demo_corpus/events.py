"""Planted risk events: who, what, when and how bad, decided before any text is written.

Stressed companies (deteriorating numbers by construction) get the credit stories: a liquidity
squeeze, then downgrades, and for one of them a payment default. Other companies get fraud,
litigation, regulatory actions and a single downgrade, spread so that most companies stay clean.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from pipelines.demo_corpus.companies import RATING_SCALE, CompanyProfile
from pipelines.demo_corpus.context import CorpusContext, RiskEvent, new_rating
from pipelines.demo_corpus.people import RATING_AGENCIES
from pipelines.demo_corpus.text import with_article

REGULATORS = {
    "Health Care": ("the U.S. Food and Drug Administration", "FDA", "a warning letter"),
    "Energy": ("the U.S. Environmental Protection Agency", "EPA", "a proposed consent order"),
    "Materials": ("the U.S. Environmental Protection Agency", "EPA", "a notice of violation"),
    "Utilities": ("the state public utilities commission", "the commission", "an order to show cause"),
    "Financials": ("the Consumer Financial Protection Bureau", "CFPB", "a civil investigative demand"),
    "Communication Services": ("the Federal Trade Commission", "FTC", "a formal antitrust investigation"),
    "Consumer Discretionary": ("the Federal Trade Commission", "FTC", "an administrative complaint"),
    "Consumer Staples": ("the Federal Trade Commission", "FTC", "an administrative complaint"),
    "Information Technology": ("the Department of Justice Antitrust Division", "DOJ", "a civil investigative demand"),
    "Industrials": ("the Occupational Safety and Health Administration", "OSHA", "a notice of proposed penalties"),
    "Real Estate": ("the Securities and Exchange Commission", "SEC", "a formal order of investigation"),
}
LITIGATION_KINDS = (
    (
        "securities class action",
        "a putative class of shareholders",
        "alleges the company misled investors about demand trends",
    ),
    (
        "patent infringement suit",
        "Veridian Licensing LLC",
        "claims several of the company's products infringe five patents",
    ),
    (
        "antitrust lawsuit",
        "a coalition of independent distributors",
        "alleges exclusionary contract terms restrained competition",
    ),
    (
        "product liability litigation",
        "plaintiffs in a consolidated multidistrict proceeding",
        "alleges injuries linked to a discontinued product line",
    ),
    (
        "breach of contract suit",
        "Halcyon Infrastructure Partners",
        "alleges the company walked away from a long-term supply agreement",
    ),
)
COURTS = (
    "the U.S. District Court for the District of Delaware",
    "the U.S. District Court for the Southern District of New York",
    "the U.S. District Court for the Northern District of California",
    "the U.S. District Court for the Eastern District of Texas",
    "the Delaware Court of Chancery",
)
FRAUD_SCHEMES = (
    ("revenue recognised ahead of delivery on bill-and-hold arrangements", "revenue"),
    ("inventory values overstated at regional distribution centres", "inventory"),
    ("undisclosed side agreements granting customers extended return rights", "revenue"),
    ("capitalised costs that should have been expensed", "operating expenses"),
)
SEGMENTS = (
    "North America",
    "International",
    "Enterprise",
    "Industrial Solutions",
    "Consumer",
    "Services",
    "Specialty Products",
    "Infrastructure",
)


def _window(ctx: CorpusContext) -> tuple[date, date]:
    # Leave room before (a quarter of normal coverage) and after (follow-ups and filings).
    span = (ctx.end - ctx.start).days
    return ctx.start + timedelta(days=max(30, span // 8)), ctx.end - timedelta(days=max(21, span // 14))


def _day_between(rng: random.Random, first: date, last: date) -> date:
    if last <= first:
        return first
    day = first + timedelta(days=rng.randint(0, (last - first).days))
    # Risk events break on weekdays in the demo; move weekends to Monday.
    return day + timedelta(days=(7 - day.weekday()) % 7 if day.weekday() >= 5 else 0)


def plan_risk_events(ctx: CorpusContext) -> list[RiskEvent]:
    rng = random.Random(f"demo-corpus|{ctx.seed}|events")
    first, last = _window(ctx)
    span = (last - first).days
    companies = [ctx.companies[t] for t in sorted(ctx.companies)]
    stressed = [c for c in companies if c.credit_profile == "stressed"]
    others = [c for c in companies if c.credit_profile != "stressed"]
    rng.shuffle(stressed)
    rng.shuffle(others)
    drafts: list[tuple[CompanyProfile, str, date]] = []

    for rank, company in enumerate(stressed):
        start = first + timedelta(days=int(span * rng.uniform(0.15, 0.45)))
        if rank < 2:
            squeeze = _day_between(rng, start, start + timedelta(days=40))
            drafts.append((company, "liquidity_stress", squeeze))
            cut = _day_between(rng, squeeze + timedelta(days=20), squeeze + timedelta(days=60))
            drafts.append((company, "downgrade", min(cut, last)))
            if rank == 0:
                lapse = _day_between(rng, cut + timedelta(days=70), cut + timedelta(days=150))
                drafts.append((company, "default", min(lapse, last)))
        else:
            drafts.append((company, "downgrade", _day_between(rng, start, last)))

    n = len(companies)
    counts = {
        "fraud": max(1, n // 25),
        "litigation": max(2, n // 14),
        "regulatory_action": max(2, n // 14),
        "downgrade": max(1, n // 30),
    }
    pool = list(others)
    for event_type, count in counts.items():
        for _ in range(count):
            if not pool:
                pool = list(others)
                rng.shuffle(pool)
            company = pool.pop()
            drafts.append((company, event_type, _day_between(rng, first, last)))

    drafts.sort(key=lambda d: (d[2], d[0].ticker, d[1]))
    events: list[RiskEvent] = []
    for index, (company, event_type, day) in enumerate(drafts, start=1):
        events.append(_detail(ctx, rng, f"evt-{index:03d}", company, event_type, day, events))
    return events


def _detail(
    ctx: CorpusContext,
    rng: random.Random,
    event_id: str,
    company: CompanyProfile,
    event_type: str,
    day: date,
    earlier: list[RiskEvent],
) -> RiskEvent:
    quarter = ctx.latest_quarter(company.ticker, day)
    details: dict[str, object] = {"period": quarter.period}
    rating = company.credit_rating
    for event in earlier:
        if event.ticker == company.ticker and event.event_type == "downgrade":
            rating = str(event.details["to_rating"])
    if event_type == "liquidity_stress":
        facility = round(quarter.ltm_ebitda_musd * rng.uniform(0.35, 0.6), -1)
        details.update(
            facility_musd=facility,
            drawn_musd=round(facility * rng.uniform(0.8, 1.0), -1),
            cash_musd=quarter.cash_musd,
            dividend_suspended=rng.random() < 0.6,
            advisers="Penhallow Restructuring Partners",
        )
        severity = "high"
        summary = f"{company.name} drew its revolving credit facility and is working with restructuring advisers."
    elif event_type == "downgrade":
        notches = 2 if company.credit_profile == "stressed" else 1
        to_rating = new_rating(rating, notches)
        fallen = RATING_SCALE.index(rating) <= RATING_SCALE.index("BBB-") < RATING_SCALE.index(to_rating)
        details.update(
            agency=rng.choice(RATING_AGENCIES),
            from_rating=rating,
            to_rating=to_rating,
            outlook="negative",
            fallen_angel=fallen,
            leverage=quarter.net_debt_to_ebitda,
        )
        severity = "high" if fallen or company.credit_profile == "stressed" else "medium"
        summary = f"{details['agency']} cut {company.name} to {to_rating} from {rating}, outlook negative."
    elif event_type == "default":
        coupon = round(rng.choice((4.25, 4.875, 5.5, 6.125, 6.75, 7.25)), 3)
        principal = round(quarter.total_debt_musd * rng.uniform(0.08, 0.16), -1)
        details.update(
            instrument=f"{coupon:.3f}% Senior Notes due {day.year + rng.randint(3, 8)}",
            principal_musd=principal,
            missed_payment_musd=round(principal * coupon / 200, 1),
            grace_period_days=30,
            trustee="Wilmington Crest Trust Company",
        )
        severity = "critical"
        summary = f"{company.name} missed an interest payment on its {details['instrument']}."
    elif event_type == "fraud":
        scheme, line_item = rng.choice(FRAUD_SCHEMES)
        overstated = round(quarter.revenue_musd * rng.uniform(0.015, 0.05), -1)
        details.update(
            scheme=scheme,
            line_item=line_item,
            segment=rng.choice(SEGMENTS),
            overstatement_musd=overstated,
            quarters_affected=rng.randint(3, 7),
            item_402=True,
        )
        severity = "critical" if overstated > quarter.revenue_musd * 0.03 else "high"
        summary = f"{company.name} disclosed accounting irregularities ({scheme}) and an audit committee probe."
    elif event_type == "litigation":
        kind, plaintiff, claim = rng.choice(LITIGATION_KINDS)
        damages = round(min(quarter.revenue_musd * 4 * rng.uniform(0.002, 0.03), rng.uniform(60, 2500)), -1)
        details.update(
            kind=kind, plaintiff=plaintiff, claim=claim, court=rng.choice(COURTS), damages_sought_musd=damages
        )
        severity = "high" if damages > quarter.revenue_musd * 0.05 else "medium" if damages > 200 else "low"
        summary = (
            f"{company.name} faces {with_article(kind)} brought by {plaintiff} seeking about ${damages:,.0f} million."
        )
    elif event_type == "regulatory_action":
        regulator, short_regulator, action = REGULATORS[company.sector]
        penalty = round(quarter.revenue_musd * rng.uniform(0.002, 0.02), -1)
        details.update(regulator=regulator, regulator_short=short_regulator, action=action, penalty_musd=penalty)
        severity = "high" if penalty > quarter.revenue_musd * 0.01 else "medium"
        summary = f"{regulator[0].upper() + regulator[1:]} issued {action} to {company.name}."
    else:
        raise ValueError(f"unknown risk event type {event_type!r}")
    return RiskEvent(event_id, company.ticker, event_type, day, severity, summary, details)
