"""Excerpts of periodic and current reports (10-Q, 10-K, 8-K) in Markdown, SEC style numbers."""

from __future__ import annotations

from pipelines.demo_corpus.companies import QuarterFinancials
from pipelines.demo_corpus.context import CorpusContext, Plan, Rendered, RiskEvent, figures
from pipelines.demo_corpus.news import event_recap
from pipelines.demo_corpus.text import (
    DocWriter,
    Figure,
    long_date,
    md_table,
    pct,
    quarter_label,
    usd_millions,
    with_article,
)

SOURCE = "SEC EDGAR (synthetic excerpt)"

GENERIC_RISKS = [
    (
        "Macroeconomic conditions",
        "Adverse economic conditions, including inflation, higher interest rates and slower "
        "growth in our major markets, could reduce demand for our products and services and pressure our margins.",
    ),
    (
        "Competition",
        "We face intense competition. Competitors may introduce offerings at lower prices or with "
        "features that customers prefer, which could reduce our market share and profitability.",
    ),
    (
        "Cybersecurity",
        "A breach of our information systems or those of our vendors could disrupt operations, expose "
        "confidential information and result in regulatory penalties and reputational harm.",
    ),
    (
        "Talent",
        "Our success depends on attracting and retaining qualified personnel, and competition for talent "
        "in our industry remains high.",
    ),
    (
        "Foreign exchange",
        "A significant portion of our revenue is generated outside the United States; a stronger "
        "U.S. dollar reduces the reported value of those sales.",
    ),
    (
        "Climate and weather",
        "Extreme weather events and the transition to a lower-carbon economy could disrupt our "
        "operations and supply chain and increase compliance costs.",
    ),
    (
        "Regulation",
        "Changes in laws and regulations, including tax, trade and data protection rules, could increase "
        "our costs or restrict our business practices.",
    ),
]
SECTOR_RISKS = {
    "Information Technology": (
        "Product cycles",
        "Our results depend on timely introduction of new products; "
        "delays or defects could harm demand and our reputation.",
    ),
    "Communication Services": (
        "Subscriber trends",
        "Declines in subscribers or advertising spending could materially reduce our revenue.",
    ),
    "Consumer Discretionary": (
        "Consumer spending",
        "Demand for our products is discretionary and sensitive to consumer confidence and disposable income.",
    ),
    "Consumer Staples": (
        "Input costs",
        "Volatility in commodity, packaging and freight costs could reduce our "
        "gross margin if we cannot pass increases on to customers.",
    ),
    "Energy": (
        "Commodity prices",
        "Our revenue and cash flow depend heavily on crude oil and natural gas prices, "
        "which are volatile and outside our control.",
    ),
    "Financials": (
        "Transaction volumes",
        "Our revenue depends on payment and trading volumes, which fall when economic activity slows.",
    ),
    "Health Care": (
        "Reimbursement and approvals",
        "Changes in government reimbursement or delays in regulatory approvals could materially affect our revenue.",
    ),
    "Industrials": (
        "Backlog conversion",
        "Our backlog may not convert to revenue as expected, and fixed-price contracts expose us to cost overruns.",
    ),
    "Materials": (
        "Cyclicality",
        "Demand for our products is cyclical and tied to industrial production and construction activity.",
    ),
    "Real Estate": (
        "Tenant concentration",
        "The loss of a significant tenant or an increase in vacancies could "
        "reduce our rental income and the value of our properties.",
    ),
    "Utilities": (
        "Rate regulation",
        "Our earnings depend on rate decisions by regulators, which may not allow "
        "full recovery of our costs or a reasonable return.",
    ),
}
MARGIN_DRIVERS_UP = [
    "favourable pricing and product mix",
    "lower freight and input costs",
    "productivity initiatives",
    "higher utilisation of our facilities",
]
MARGIN_DRIVERS_DOWN = [
    "higher input and labour costs",
    "unfavourable product mix",
    "pricing pressure in key markets",
    "lower utilisation and start-up costs of new capacity",
]


def _comparison_table(current: dict[str, float], prior: dict[str, float], label_now: str, label_then: str) -> str:
    def row(name: str, now: float, then: float | None, money: bool = True) -> list[str]:
        if money:
            change = f"{(now / then - 1) * 100:+.1f}%" if then else "n/m"
            return [name, f"{now:,.0f}", f"{then:,.0f}" if then is not None else "—", change]
        return [
            name,
            f"{now:.1f}%",
            f"{then:.1f}%" if then is not None else "—",
            f"{now - then:+.1f} pts" if then is not None else "n/m",
        ]

    rows = [
        row("Revenue", current["revenue"], prior.get("revenue")),
        row("Gross profit", current["gross_profit"], prior.get("gross_profit")),
        row("Gross margin", current["gross_margin"], prior.get("gross_margin"), money=False),
        row("EBITDA (non-GAAP)", current["ebitda"], prior.get("ebitda")),
        row("Operating income", current["operating_income"], prior.get("operating_income")),
        row("Net income (loss)", current["net_income"], prior.get("net_income")),
    ]
    return md_table(["($ in millions)", label_now, label_then, "Change"], rows)


def _quarter_dict(q: QuarterFinancials) -> dict[str, float]:
    return {
        "revenue": q.revenue_musd,
        "gross_profit": q.gross_profit_musd,
        "gross_margin": q.gross_margin_pct,
        "ebitda": q.ebitda_musd,
        "operating_income": q.operating_income_musd,
        "net_income": q.net_income_musd,
    }


def _year_dict(quarters: list[QuarterFinancials]) -> dict[str, float]:
    revenue = sum(q.revenue_musd for q in quarters)
    gross = sum(q.gross_profit_musd for q in quarters)
    return {
        "revenue": revenue,
        "gross_profit": gross,
        "gross_margin": round(gross / revenue * 100, 1),
        "ebitda": sum(q.ebitda_musd for q in quarters),
        "operating_income": sum(q.operating_income_musd for q in quarters),
        "net_income": sum(q.net_income_musd for q in quarters),
    }


def _legal_section(ctx: CorpusContext, w: DocWriter, plan: Plan) -> str:
    events = ctx.events_for(plan.ticker, plan.day, within_days=400, types=("litigation", "regulatory_action", "fraud"))
    if not events:
        return w.fill(
            [
                "From time to time, we are involved in legal proceedings arising in the ordinary course of business. "
                "We do not believe that any pending matter will have a material adverse effect on our financial "
                "position.",
                "We are subject to various claims and lawsuits incidental to our business. Management believes the "
                "ultimate resolution of these matters will not be material to our results of operations or cash flows.",
            ]
        )
    paragraphs = []
    for event in events:
        w.risk_events.append(event.planted("mention"))
        d = event.details
        if event.event_type == "litigation":
            paragraphs.append(
                w.fill(
                    "On {day}, {plaintiff} filed {a_kind} against the Company in {court}. The complaint {claim} and "
                    "seeks "
                    "damages of approximately {damages}. The Company believes the claims are without merit and "
                    "intends to "
                    "defend itself vigorously; it is not possible at this time to estimate a range of reasonably "
                    "possible loss.",
                    day=long_date(event.date),
                    plaintiff=d["plaintiff"],
                    a_kind=with_article(d["kind"]),
                    court=d["court"],
                    claim=d["claim"],
                    damages=usd_millions(d["damages_sought_musd"]),
                )
            )
        elif event.event_type == "regulatory_action":
            paragraphs.append(
                w.fill(
                    "On {day}, the Company received {action} from {regulator}. The Company is cooperating fully and "
                    "has "
                    "accrued an amount it considers probable and estimable; potential penalties could reach {penalty}.",
                    day=long_date(event.date),
                    action=d["action"],
                    regulator=d["regulator"],
                    penalty=usd_millions(d["penalty_musd"]),
                )
            )
        else:
            paragraphs.append(
                w.fill(
                    "As previously disclosed, the Audit Committee is investigating {scheme} in the {segment} "
                    "segment. The "
                    "Company has received a request for documents from the Securities and Exchange Commission and is "
                    "cooperating. Several putative class actions have been filed relating to these matters.",
                    scheme=d["scheme"],
                    segment=d["segment"],
                )
            )
    return "\n\n".join(paragraphs)


def _risk_factors(ctx: CorpusContext, w: DocWriter, plan: Plan, count: int) -> str:
    company = ctx.company(plan.ticker)
    chosen = w.some(GENERIC_RISKS, count - 1, count)
    chosen.insert(w.rng.randint(0, len(chosen)), SECTOR_RISKS[company.sector])
    blocks = [f"**{title}.** {body}" for title, body in chosen]
    suppliers = [link for link in ctx.links_of(plan.ticker) if link.customer == plan.ticker]
    if suppliers:
        link = w.pick(suppliers)
        w.relationships.append(
            {"supplier": link.supplier, "customer": link.customer, "product": link.product, "role": "mention"}
        )
        blocks.append(
            w.fill(
                "**Supplier concentration.** We rely on a limited number of suppliers for {product}, including {sup}. "
                "A disruption at a key supplier could delay our operations and increase our costs.",
                product=link.product,
                **ctx.names(link.supplier, "sup"),
            )
        )
    credit = ctx.events_for(plan.ticker, plan.day, within_days=500, types=("liquidity_stress", "downgrade", "default"))
    if credit or company.credit_profile == "stressed":
        q = ctx.latest_quarter(plan.ticker, plan.day)
        for event in credit:
            w.risk_events.append(event.planted("mention"))
        blocks.insert(
            0,
            w.fill(
                "**Indebtedness.** As of the end of the most recent quarter we had {debt} of total debt. Our level of "
                "indebtedness limits our flexibility, and a failure to comply with the covenants in our credit "
                "agreements "
                "could result in an event of default."
                + (" Recent developments, including {recap}, have increased these risks." if credit else ""),
                debt=usd_millions(q.total_debt_musd),
                recap=event_recap(ctx, credit[-1]) if credit else "",
            ),
        )
    return "\n\n".join(blocks)


def _liquidity(
    ctx: CorpusContext, w: DocWriter, plan: Plan, q: QuarterFinancials, f: dict[str, Figure], period_words: str
) -> str:
    credit = ctx.events_for(plan.ticker, plan.day, within_days=500, types=("liquidity_stress", "default"))
    revolver = round(q.ltm_ebitda_musd * 0.5, -2) or 500
    parts = [
        w.fill(
            [
                "As of {end}, we had cash and cash equivalents of {cash} and total debt of {debt}, resulting in "
                + ("net debt of {nd}." if q.net_debt_musd >= 0 else "a net cash position of {nd}."),
                "We ended the period with {cash} of cash and cash equivalents against {debt} of borrowings; "
                + ("net debt was {nd}." if q.net_debt_musd >= 0 else "net cash was {nd}."),
            ],
            end=long_date(q.period_end),
            cash=usd_millions(q.cash_musd),
            debt=usd_millions(q.total_debt_musd),
            **f,
        ),
        w.fill(
            "Net cash provided by operating activities was {ocf} in {pw}, and capital expenditures were {capex}, "
            "resulting in free cash flow (a non-GAAP measure) of "
            + ("{fcf}." if q.free_cash_flow_musd >= 0 else "negative {fcf}."),
            ocf=usd_millions(q.operating_cash_flow_musd),
            capex=usd_millions(q.capex_musd),
            pw=period_words,
            **f,
        ),
    ]
    if q.net_debt_musd >= 0:
        parts.append(
            w.fill(
                [
                    "Our ratio of net debt to trailing twelve-month EBITDA was {lev} at period end.",
                    "Net debt to trailing twelve-month EBITDA, the leverage measure in our credit agreement, was "
                    "{lev}.",
                ],
                **f,
            )
        )
    if credit:
        for event in credit:
            w.risk_events.append(event.planted("mention"))
        parts.append(
            w.fill(
                "Following {recap}, borrowings under our {revolver} revolving credit facility remain outstanding, "
                "and we "
                "are in discussions with our lenders regarding covenant amendments.",
                recap=event_recap(ctx, credit[-1]),
                revolver=usd_millions(revolver),
            )
        )
    else:
        parts.append(
            w.fill(
                [
                    "We also have a {revolver} revolving credit facility, which was undrawn at period end. We "
                    "believe our "
                    "liquidity is sufficient to meet our needs for at least the next twelve months.",
                    "Our {revolver} committed revolving credit facility was undrawn, and we were in compliance with "
                    "all "
                    "covenants.",
                ],
                revolver=usd_millions(revolver),
            )
        )
    return "\n\n".join(parts)


def periodic_filing(ctx: CorpusContext, plan: Plan) -> tuple[DocWriter, Rendered]:
    w = ctx.writer(plan)
    company = ctx.company(plan.ticker)
    q = ctx.quarter(plan.ticker, plan.period or "")
    f = figures(q, "filing")
    w.metrics = q.key_metrics()
    annual = q.fiscal_quarter == 4
    form = "10-K" if annual else "10-Q"
    year_ago = ctx.quarters[q.ticker].get(f"{q.fiscal_year - 1}Q{q.fiscal_quarter}")
    end = long_date(q.period_end)
    up = q.revenue_growth_yoy_pct >= 0
    gm_up = bool(year_ago and q.gross_margin_pct >= year_ago.gross_margin_pct)
    sections = [f"# {company.name} — Form {form} (excerpt)"]
    sections.append(
        w.fill(
            "**{kind} for the {span} ended {end}** · Commission file number 001-{file_no} · Trading symbol: {tk}",
            kind="Annual report" if annual else "Quarterly report",
            span="fiscal year" if annual else "quarterly period",
            end=end,
            file_no=f"{w.rng.randint(10000, 39999)}",
        )
    )
    if annual:
        links = ctx.links_of(plan.ticker)
        business = [
            w.fill(
                [
                    "{co} operates in the {industry_name} industry within the {sector} sector. We employ approximately "
                    "{employees} people" + (" and are headquartered in {hq}." if company.headquarters else "."),
                    "We compete in {industry_name} ({sector}). As of December 31, {year}, we had approximately "
                    "{employees} "
                    "employees.",
                ],
                employees=f"{company.employees:,}",
                hq=company.headquarters or "",
                year=q.fiscal_year,
                industry_name=company.sub_industry,
            )
        ]
        for link in links[:3]:
            w.relationships.append(
                {"supplier": link.supplier, "customer": link.customer, "product": link.product, "role": "mention"}
            )
            if link.supplier == plan.ticker:
                business.append(
                    w.fill(
                        "We supply {product} to {other}, which accounted for approximately {share} of our revenue in "
                        "{year} "
                        "under agreements in place since {since}.",
                        product=link.product,
                        share=pct(link.share_of_supplier_revenue_pct),
                        year=q.fiscal_year,
                        since=link.since_year,
                        **ctx.names(link.customer, "other"),
                    )
                )
            else:
                business.append(
                    w.fill(
                        "We purchase {product} from a number of suppliers, including {other}, under multi-year "
                        "agreements.",
                        product=link.product,
                        **ctx.names(link.supplier, "other"),
                    )
                )
        sections += ["## Item 1. Business", "\n\n".join(business)]
        sections += ["## Item 1A. Risk Factors", _risk_factors(ctx, w, plan, 4)]
        sections += ["## Item 3. Legal Proceedings", _legal_section(ctx, w, plan)]
        sections.append(
            "## Item 7. Management's Discussion and Analysis of Financial Condition and Results of Operations"
        )
        this_year = [ctx.quarter(plan.ticker, f"{q.fiscal_year}Q{i}") for i in range(1, 5)]
        found = (ctx.quarters[plan.ticker].get(f"{q.fiscal_year - 1}Q{i}") for i in range(1, 5))
        last_year = [quarter for quarter in found if quarter is not None]
        prior = _year_dict(last_year) if len(last_year) == 4 else {}
        sections.append("### Results of Operations")
        sections.append(_comparison_table(_year_dict(this_year), prior, f"FY{q.fiscal_year}", f"FY{q.fiscal_year - 1}"))
        fy_growth = ((q.fy_revenue_musd or 0) / prior["revenue"] - 1) * 100 if prior else 0.0
        sections.append(
            w.paragraph(
                w.fill(
                    [
                        "Revenue for fiscal {year} was {fy_rev}, {updown} {fyg} from fiscal {prev}.",
                        "Total revenue {grew} {fyg} to {fy_rev} in fiscal {year}.",
                    ],
                    year=q.fiscal_year,
                    prev=q.fiscal_year - 1,
                    updown="an increase of" if fy_growth >= 0 else "a decrease of",
                    fyg=f"{abs(fy_growth):.1f}%",
                    grew="increased" if fy_growth >= 0 else "decreased",
                    **f,
                ),
                w.fill(
                    [
                        "Fourth-quarter revenue was {rev}, {updown} {growth} compared with the fourth quarter of "
                        "{prev}.",
                        "In the fourth quarter, revenue {grew} {growth} year over year to {rev}.",
                    ],
                    prev=q.fiscal_year - 1,
                    updown="up" if up else "down",
                    grew="increased" if up else "decreased",
                    **f,
                ),
                w.fill(
                    "Fourth-quarter gross margin was {gm}, {direction} primarily due to {driver}.",
                    direction="an improvement" if gm_up else "a decline",
                    driver=w.pick(MARGIN_DRIVERS_UP if gm_up else MARGIN_DRIVERS_DOWN),
                    **f,
                ),
            )
        )
        sections += ["### Liquidity and Capital Resources", _liquidity(ctx, w, plan, q, f, "the fourth quarter")]
    else:
        sections.append(
            "## Part I — Item 2. Management's Discussion and Analysis of Financial Condition and Results of Operations"
        )
        sections.append("### Overview")
        sections.append(
            w.fill(
                [
                    "{co} operates in the {industry_name} industry. The following discussion should be read together "
                    "with the condensed "
                    "consolidated financial statements and the notes thereto included in this report.",
                    "This discussion covers the results of {co} for the three months ended {end} compared with the "
                    "same "
                    "period of the prior year.",
                ],
                end=end,
                industry_name=company.sub_industry,
            )
        )
        sections.append("### Results of Operations")
        sections.append(
            _comparison_table(
                _quarter_dict(q),
                _quarter_dict(year_ago) if year_ago else {},
                quarter_label(q.period),
                quarter_label(year_ago.period) if year_ago else "Prior year",
            )
        )
        sections.append(
            w.paragraph(
                w.fill(
                    [
                        "Revenue was {rev} for the three months ended {end}, {updown} {growth} compared with the "
                        "prior-year period.",
                        "Revenue {grew} {growth} to {rev} in the quarter ended {end}.",
                    ],
                    end=end,
                    updown="an increase of" if up else "a decrease of",
                    grew="increased" if up else "decreased",
                    **f,
                ),
                w.fill(
                    [
                        "Gross margin was {gm}, compared with {gm_prev} a year ago, reflecting {driver}.",
                        "Gross margin {moved} to {gm} as a result of {driver}.",
                    ],
                    gm_prev=pct(year_ago.gross_margin_pct) if year_ago else "n/a",
                    moved="increased" if gm_up else "decreased",
                    driver=w.pick(MARGIN_DRIVERS_UP if gm_up else MARGIN_DRIVERS_DOWN),
                    **f,
                ),
                w.fill(
                    "EBITDA, a non-GAAP measure, was {ebitda}, or {em} of revenue. Diluted "
                    + ("earnings" if q.eps_diluted >= 0 else "loss")
                    + " per share was {eps}.",
                    **f,
                ),
            )
        )
        sections += ["### Liquidity and Capital Resources", _liquidity(ctx, w, plan, q, f, "the quarter")]
        sections += [
            "## Item 3. Quantitative and Qualitative Disclosures About Market Risk",
            w.fill(
                [
                    "We are exposed to changes in interest rates and foreign currency exchange rates. A hypothetical "
                    "100 "
                    "basis point increase in interest rates would change annual interest expense by approximately "
                    "{sens}.",
                    "There have been no material changes to our market risk exposures since our most recent annual "
                    "report.",
                ],
                sens=usd_millions(max(1, round(q.total_debt_musd * 0.003))),
            ),
        ]
        sections += ["## Part II — Item 1. Legal Proceedings", _legal_section(ctx, w, plan)]
        sections += ["## Item 1A. Risk Factors", _risk_factors(ctx, w, plan, 2)]
    title = f"{company.name} Form {form} for the period ended {end} (excerpt)"
    return w, Rendered(title, "\n\n".join(sections), SOURCE, 0.0, "markdown")


CURRENT_REPORT_ITEMS = {
    "liquidity_stress": (
        "Item 2.03 Creation of a Direct Financial Obligation",
        "On {day}, the Company borrowed {drawn} under its {facility} revolving credit facility. The "
        "Company took this action as a precautionary measure to increase its cash position and preserve "
        "financial flexibility. The Company has engaged {advisers} as financial adviser.",
    ),
    "default": (
        "Item 2.04 Triggering Events That Accelerate or Increase a Direct Financial Obligation",
        "On {day}, the Company did not make the interest payment of approximately {missed_payment} due on its "
        '{instrument} (the "Notes"). Under the indenture governing the Notes, the Company has a {grace}-day '
        "grace period before the non-payment constitutes an event of default permitting the trustee or holders "
        "of at least 25% of the Notes to accelerate {principal} of principal. The Company is in discussions with "
        "holders of the Notes and its other creditors.",
    ),
    "fraud": (
        "Item 4.02 Non-Reliance on Previously Issued Financial Statements",
        "On {day}, the Audit Committee of the Board of Directors concluded that the Company's previously issued "
        "financial statements for the last {quarters} fiscal quarters should no longer be relied upon because of "
        "{scheme} in the {segment} segment. The Company currently estimates that {line_item} was overstated by "
        "approximately {overstatement} in aggregate over those periods. The Audit Committee has discussed these "
        "matters with the Company's independent registered public accounting firm.",
    ),
    "litigation": (
        "Item 8.01 Other Events",
        "On {day}, {plaintiff} filed {a_kind} against the Company in {court}. The complaint {claim} and "
        "seeks damages of approximately {damages_sought}. The Company intends to defend the action vigorously.",
    ),
    "regulatory_action": (
        "Item 8.01 Other Events",
        "On {day}, the Company received {action} from {regulator}. The Company is cooperating with the "
        "agency. Potential civil penalties could reach {penalty}; the Company cannot predict the outcome "
        "or timing of the matter.",
    ),
}


def current_report(ctx: CorpusContext, plan: Plan) -> tuple[DocWriter, Rendered]:
    event: RiskEvent | None = plan.event
    assert event is not None
    w = ctx.writer(plan)
    company = ctx.company(plan.ticker)
    d = event.details
    item, body = CURRENT_REPORT_ITEMS[event.event_type]
    values = {
        "day": long_date(event.date),
        **{k.removesuffix("_musd"): usd_millions(v) for k, v in d.items() if k.endswith("_musd")},
        **{k: v for k, v in d.items() if not k.endswith("_musd")},
        "grace": d.get("grace_period_days", 30),
        "quarters": d.get("quarters_affected", 4),
        "a_kind": with_article(str(d.get("kind", "lawsuit"))),
    }
    w.risk_events.append(event.planted("filing"))
    sections = [
        f"# {company.name} — Form 8-K (excerpt)",
        w.fill("**Date of report (date of earliest event reported):** {day} · Trading symbol: {tk}", **values),
        f"## {item}",
        w.fill(body, **values),
        "## Item 7.01 Regulation FD Disclosure",
        w.fill(
            [
                "On {filed}, the Company issued a press release regarding the matters described above. The information "
                "in this Item is furnished and shall not be deemed filed.",
                "A copy of the Company's press release dated {filed} is furnished as Exhibit 99.1.",
            ],
            filed=long_date(plan.day),
        ),
        "## Item 9.01 Financial Statements and Exhibits",
        "Exhibit 99.1 — Press release. Exhibit 104 — Cover page interactive data file.",
        "## Signature",
        w.fill(
            "Pursuant to the requirements of the Securities Exchange Act of 1934, the registrant has duly caused this "
            "report to be signed on its behalf by the undersigned. By: /s/ {cfo}, Chief Financial Officer. Date: "
            "{filed}.",
            filed=long_date(plan.day),
        ),
    ]
    title = f"{company.name} Form 8-K: {item.split(' ', 2)[2]} ({long_date(plan.day)})"
    return w, Rendered(title, "\n\n".join(sections), SOURCE, -0.6, "markdown")
