"""Research: sell-side notes (public), the house's internal notes, and restricted M&A screens."""

from __future__ import annotations

import random

from pipelines.demo_corpus.companies import QuarterFinancials
from pipelines.demo_corpus.context import CorpusContext, Plan, Rendered, figures, person_fields
from pipelines.demo_corpus.news import clamp, event_recap
from pipelines.demo_corpus.text import DocWriter, Figure, long_date, md_table, quarter_label

RATINGS = {"positive": "Overweight", "neutral": "Equal-weight", "negative": "Underweight"}
HEADLINES = {
    "positive": [
        "Beat and raise; reiterate {rating}",
        "Margins surprise to the upside",
        "Execution remains best in class",
        "Guide looks conservative; target to {target}",
    ],
    "neutral": [
        "In line; waiting for a catalyst",
        "Solid quarter, balanced risk-reward",
        "Steady, but priced in",
        "Holding pattern; estimates little changed",
    ],
    "negative": [
        "Cracks are showing; stay {rating}",
        "Margin pressure to persist",
        "Leverage is the swing factor",
        "Cutting estimates after a soft quarter",
    ],
}


def _stance(score: float) -> str:
    return "positive" if score > 0.15 else "negative" if score < -0.15 else "neutral"


def _metrics_table(ctx: CorpusContext, q: QuarterFinancials) -> str:
    year_ago = ctx.quarters[q.ticker].get(f"{q.fiscal_year - 1}Q{q.fiscal_quarter}")
    rows = [
        ["Revenue ($m)", "{rev}", f"{year_ago.revenue_musd:,}" if year_ago else "—"],
        ["Revenue growth y/y", "{growth_signed}", f"{year_ago.revenue_growth_yoy_pct:+.1f}%" if year_ago else "—"],
        ["Gross margin", "{gm}", f"{year_ago.gross_margin_pct:.1f}%" if year_ago else "—"],
        ["EBITDA ($m)", "{ebitda}", f"{year_ago.ebitda_musd:,}" if year_ago else "—"],
        ["EBITDA margin", "{em}", f"{year_ago.ebitda_margin_pct:.1f}%" if year_ago else "—"],
        ["Diluted EPS", "{eps_signed}", f"{year_ago.eps_diluted:.2f}" if year_ago else "—"],
        ["Net debt ($m)", "{nd_signed}", f"{year_ago.net_debt_musd:,}" if year_ago else "—"],
        ["Net debt / EBITDA", "{lev}", f"{year_ago.net_debt_to_ebitda:.1f}x" if year_ago else "—"],
    ]
    return md_table(
        ["Metric", quarter_label(q.period), quarter_label(year_ago.period) if year_ago else "Prior year"], rows
    )


def _table_values(q: QuarterFinancials) -> dict[str, object]:
    f = figures(q, "table")
    sign = "-" if q.revenue_growth_yoy_pct < 0 else "+"
    return {
        **f,
        "growth_signed": Figure("revenue_growth_yoy_pct", f"{sign}{abs(q.revenue_growth_yoy_pct):.1f}%"),
        "eps_signed": Figure("eps_diluted", f"{q.eps_diluted:.2f}"),
        "nd_signed": Figure("net_debt_musd", f"{q.net_debt_musd:,}"),
    }


def broker_report(ctx: CorpusContext, plan: Plan) -> tuple[DocWriter, Rendered]:
    w = ctx.writer(plan)
    q = ctx.quarter(plan.ticker, plan.period or "")
    broker, analyst = ctx.coverage[plan.ticker][plan.extra.get("coverage", 0) % len(ctx.coverage[plan.ticker])]
    score = clamp(
        q.revenue_surprise_pct / 3 * 0.5
        + q.revenue_growth_yoy_pct / 12 * 0.5
        - max(0.0, q.net_debt_to_ebitda - 3.5) * 0.3
    )
    stance = _stance(score)
    w.metrics = q.key_metrics()
    upside = {"positive": w.rng.uniform(10, 35), "neutral": w.rng.uniform(-5, 12), "negative": w.rng.uniform(-30, -6)}[
        stance
    ]
    target = q.share_price_usd * (1 + upside / 100)
    next_ebitda = q.ltm_ebitda_musd * (1 + q.revenue_growth_yoy_pct / 100)
    # The multiple is whatever makes the target add up: (equity value + net debt) / forward EBITDA.
    multiple = (target * q.shares_diluted_m + q.net_debt_musd) / next_ebitda
    values = {
        **_table_values(q),
        **person_fields(analyst, "an"),
        "rating": RATINGS[stance],
        "target": f"${target:,.0f}",
        "price": f"${q.share_price_usd:,.2f}",
        "upside": f"{upside:+.0f}%",
        "ql": quarter_label(q.period),
        "broker": broker.name,
        "date": long_date(plan.day),
        "multiple": f"{multiple:.1f}x",
        "next_ebitda": f"${next_ebitda:,.0f} million",
        "growth_word": "grew" if q.revenue_growth_yoy_pct >= 0 else "declined",
        "beat_word": "ahead of"
        if q.revenue_surprise_pct > 0.3
        else "below"
        if q.revenue_surprise_pct < -0.3
        else "in line with",
    }
    headline = w.fill(HEADLINES[stance], **values)
    sections = [
        w.fill("# {co} ({tk}): {headline}", headline=headline),
        w.fill(
            "*{broker} · Equity Research · {date} · Rating: {rating} · Price target: {target} · Price at quarter "
            "end: {price}*",
            **values,
        ),
        "## Investment summary",
        w.paragraph(
            w.fill(
                [
                    "We rate {short} {rating} with a {target} price target ({upside} implied return).",
                    "Our {rating} rating and {target} target are unchanged after the print.",
                    "We remain {rating} on {short}; the price target of {target} implies {upside}.",
                ],
                **values,
            ),
            w.fill(
                {
                    "positive": [
                        "The quarter supports our view that the franchise can compound earnings faster than peers.",
                        "Execution keeps beating expectations and the balance sheet gives room to invest.",
                    ],
                    "neutral": [
                        "Results were solid but we see limited catalysts near term.",
                        "We like the franchise but valuation already reflects the recovery.",
                    ],
                    "negative": [
                        "We see downside risk to estimates as margins roll over.",
                        "Balance sheet risk is rising and we would wait for evidence of deleveraging.",
                    ],
                }[stance]
            ),
        ),
        w.fill("## {ql} review", **values),
        w.paragraph(
            w.fill(
                [
                    "Revenue of ${rev_bn} {growth_word} {growth_abs} year over year, {beat_word} consensus.",
                    "Sales {growth_word} {growth_abs} y/y to ${rev_bn}, {beat_word} the Street.",
                ],
                rev_bn=f"{q.revenue_musd / 1000:,.2f} billion"
                if q.revenue_musd >= 1000
                else f"{q.revenue_musd:,} million",
                growth_abs=f"{abs(q.revenue_growth_yoy_pct):.1f}%",
                **values,
            ),
            w.fill(
                [
                    "Gross margin printed at {gm} and EBITDA margin at {em}.",
                    "EBITDA came to ${ebitda}m ({em} margin) on a {gm} gross margin.",
                ],
                **values,
            ),
        ),
        "## Key metrics",
        w.fill(_metrics_table(ctx, q), **values),
        "## Valuation",
        w.fill(
            [
                "Our {target} target is based on {multiple} forward EV/EBITDA applied to our next-twelve-month EBITDA "
                "estimate of {next_ebitda}, less net debt.",
                "We value {short} at {multiple} EV/EBITDA on NTM EBITDA of {next_ebitda}, which after net debt gives "
                "{target} per share.",
            ],
            **values,
        ),
        "## Risks",
    ]
    risks = w.some(
        [
            "Downside risks include a sharper slowdown in end-market demand and input cost inflation.",
            "A failure to deliver on the cost programme would put our margin estimates at risk.",
            "Upside risks include faster share gains and a more aggressive buyback.",
            "Regulatory changes in key markets could affect pricing.",
            "Leverage of {lev} leaves limited room for error if earnings disappoint.",
        ],
        2,
        3,
    )
    recent = ctx.events_for(plan.ticker, plan.day, within_days=240)
    if recent:
        w.risk_events.append(recent[-1].planted("mention"))
        risks.append("We also flag {recap}, which could weigh on the shares until resolved.")
    sections.append(" ".join(w.fill(r, recap=event_recap(ctx, recent[-1]) if recent else "", **values) for r in risks))
    sections.append("## Analyst certification")
    sections.append(
        w.fill(
            "The views expressed in this report accurately reflect the personal views of the analyst about the subject "
            "securities. {an}, {an_title}, {broker} · {an_email} · {an_phone}",
            **values,
        )
    )
    title = w.fill("{short} ({tk}): {headline} — {broker}", headline=headline, **values)
    return w, Rendered(title, "\n\n".join(sections), broker.name, score, "markdown")


def internal_note(ctx: CorpusContext, plan: Plan) -> tuple[DocWriter, Rendered]:
    """The house view on a company after results (internal), or after a risk event (plan.event set)."""
    w = ctx.writer(plan)
    company = ctx.company(plan.ticker)
    event = plan.event
    q = ctx.latest_quarter(plan.ticker, plan.day)
    author = ctx.house_analysts[company.sector]
    w.metrics = q.key_metrics()
    values = {
        **_table_values(q),
        **person_fields(author, "author"),
        "date": long_date(plan.day),
        "rating": ctx.rating_on(plan.ticker, plan.day),
        "ext": f"x{w.rng.randint(2000, 7999)}",
        "ql": quarter_label(q.period),
    }
    if event:
        w.risk_events.append(event.planted("assessment"))
        values["recap"] = event_recap(ctx, event)
        values["severity"] = event.severity
        title = w.fill(
            [
                "Internal note: {short} — assessing {event_kind}",
                "{short}: first take on {event_kind} ({severity} severity)",
            ],
            event_kind=event.event_type.replace("_", " "),
            **values,
        )
        score = {"low": -0.3, "medium": -0.5, "high": -0.7, "critical": -0.85}[event.severity]
        what_changed = w.fill(
            "Trigger: {recap}. We classify the event as **{severity}** severity. Credit rating now {rating}; the "
            "latest "
            "reported leverage is {lev} net debt/EBITDA.",
            **values,
        )
        positioning = w.fill(
            [
                "We move the name to our watchlist and suspend new exposure pending further disclosure.",
                "We cut our position to underweight and will revisit once the facts are clearer.",
                "No change to exposure yet; we want to see the next filing before acting.",
            ]
        )
    else:
        score = clamp(q.revenue_growth_yoy_pct / 12 - max(0.0, q.net_debt_to_ebitda - 3.5) * 0.3)
        title = w.fill(
            ["Internal note: {short} after {ql}", "{short} ({tk}) — house view update, {ql}", "{ql} debrief: {short}"],
            **values,
        )
        what_changed = w.fill(
            [
                "Revenue growth of {growth_signed} and gross margin of {gm} were close to our model. Leverage at "
                "{lev}.",
                "The quarter moved our numbers only modestly: revenue ${rev}m ({growth_signed} y/y), EBITDA margin "
                "{em}.",
            ],
            **values,
        )
        positioning = w.fill(
            [
                "We keep our weight unchanged.",
                "We add modestly on weakness.",
                "We trim into strength; risk-reward is more balanced now.",
            ]
        )
    sections = [
        f"# {title}",
        w.fill("*Argus Research — internal use only · {date} · Author: {author}, {author_title}*", **values),
        "## What changed",
        what_changed,
        "## Key metrics",
        w.fill(_metrics_table(ctx, q), **values),
        "## Positioning",
        positioning,
        "## Contact",
        w.fill(
            [
                "Questions to {author} ({author_email}, {author_phone} {ext}).",
                "Author: {author} — {author_email} — desk line {author_phone}",
            ],
            **values,
        ),
    ]
    return w, Rendered(title, "\n\n".join(sections), "Argus research desk", score, "markdown")


def mna_screen(ctx: CorpusContext, plan: Plan) -> tuple[DocWriter, Rendered]:
    """A restricted corporate development screen of a company as a potential target."""
    w = ctx.writer(plan)
    q = ctx.latest_quarter(plan.ticker, plan.day)
    w.metrics = q.key_metrics()
    codename = random.Random(f"{ctx.seed}|codename|{plan.doc_id}").choice(
        ("Juniper", "Kestrel", "Larch", "Marlin", "Nimbus", "Osprey", "Quartz", "Sable", "Tamarack", "Vireo")
    )
    low, high = w.rng.uniform(9, 12), w.rng.uniform(12.5, 16)
    lead, vp, associate = ctx.deal_team
    values = {
        **_table_values(q),
        **person_fields(lead, "lead"),
        **person_fields(vp, "vp"),
        **person_fields(associate, "assoc"),
        "codename": codename,
        "date": long_date(plan.day),
        "low": f"{low:.1f}x",
        "high": f"{high:.1f}x",
        "ev_low": f"${q.ltm_ebitda_musd * low / 1000:,.1f} billion",
        "ev_high": f"${q.ltm_ebitda_musd * high / 1000:,.1f} billion",
        "premium": f"{w.rng.randint(20, 40)}%",
    }
    sections = [
        w.fill("# Project {codename}: preliminary screen of {co}", **values),
        w.fill("*RESTRICTED — Corporate Development · {date} · Distribution limited to the deal team*", **values),
        "## Rationale",
        w.fill(
            [
                "{short} would add scale in {industry} and a customer base that overlaps little with our portfolio.",
                "The thesis is margin expansion: {short} runs a {gm} gross margin with room for procurement savings.",
            ],
            **values,
        ),
        "## Valuation range",
        w.fill(
            "At {low} to {high} trailing EBITDA, enterprise value would be {ev_low} to {ev_high}. A control premium of "
            "about {premium} would be needed. Net debt of ${nd_signed}m ({lev}) would be assumed.",
            **values,
        ),
        "## Key metrics",
        w.fill(_metrics_table(ctx, q), **values),
        "## Key diligence items",
        "\n".join(
            w.some(
                [
                    "- Customer concentration and contract change-of-control clauses",
                    "- Pension and environmental liabilities",
                    "- Pending litigation and regulatory matters",
                    "- Quality of earnings: capitalised costs and working-capital seasonality",
                    "- Antitrust review timeline",
                ],
                3,
                4,
            )
        ),
        "## Deal team",
        w.fill(
            "{lead} ({lead_title}) · {lead_email} · {lead_phone}\n\n{vp} ({vp_title}) · {vp_email}\n\n"
            "{assoc} ({assoc_title}) · {assoc_phone}",
            **values,
        ),
    ]
    events = ctx.events_for(plan.ticker, plan.day, within_days=365)
    if events:
        w.risk_events.append(events[-1].planted("mention"))
        sections.insert(-2, w.fill("Note: diligence must cover {recap}.", recap=event_recap(ctx, events[-1])))
    title = w.fill("Project {codename} — preliminary screen of {short}", **values)
    return w, Rendered(title, "\n\n".join(sections), "Argus corporate development", 0.1, "markdown")
