"""Everything else: credit committee memos (restricted), settlement instructions and meeting notes
(internal, where most of the bank details live), and public sustainability updates."""

from __future__ import annotations

import random

from pipelines.demo_corpus.context import CorpusContext, Plan, Rendered, figures, person_fields
from pipelines.demo_corpus.news import event_recap
from pipelines.demo_corpus.people import Organization, Person, make_account_number, make_bic, make_iban, make_person
from pipelines.demo_corpus.text import DocWriter, PiiValue, long_date, md_table, quarter_label, usd_millions


def _exposure(ctx: CorpusContext, plan: Plan, rng: random.Random) -> dict[str, float]:
    company = ctx.company(plan.ticker)
    scale = company.revenue_musd / 1000
    # Limits in $ millions, sized to the company so that the numbers read sensibly next to its debt.
    limit = round(max(25.0, min(750.0, scale * rng.uniform(0.8, 2.5))), -1) or 25.0
    drawn = round(limit * rng.uniform(0.35, 0.9), 1)
    return {"limit": limit, "drawn": drawn, "bonds": round(limit * rng.uniform(0.1, 0.6), 1)}


def credit_memo(ctx: CorpusContext, plan: Plan) -> tuple[DocWriter, Rendered]:
    """Credit committee memorandum on a counterparty: after a risk event (plan.event) or an annual review."""
    w = ctx.writer(plan)
    event = plan.event
    q = ctx.latest_quarter(plan.ticker, plan.day)
    f = figures(q, "filing")
    w.metrics = q.key_metrics()
    exposure = _exposure(ctx, plan, w.rng)
    officer, senior, head, analyst = ctx.credit_officers
    values = {
        **f,
        **person_fields(officer, "officer"),
        **person_fields(senior, "senior"),
        **person_fields(head, "head"),
        **person_fields(analyst, "analyst"),
        "date": long_date(plan.day),
        "rating": ctx.rating_on(plan.ticker, plan.day),
        "limit": usd_millions(exposure["limit"]),
        "drawn": usd_millions(exposure["drawn"]),
        "bonds": usd_millions(exposure["bonds"]),
        "ql": quarter_label(q.period),
        "memo_no": f"CC-{plan.day.year}-{w.rng.randint(100, 999)}",
    }
    if event:
        w.risk_events.append(event.planted("assessment"))
        values["recap"] = event_recap(ctx, event)
        values["severity"] = event.severity
        request = w.fill(
            [
                "Following {recap}, the desk requests that the committee (i) freeze undrawn commitments, (ii) move the "
                "obligor to the watchlist and (iii) approve a reduction of the limit.",
                "In light of {recap}, Credit Risk recommends downgrading the internal rating, placing the obligor on "
                "the watchlist and suspending new business.",
            ],
            **values,
        )
        recommendation = w.pick(
            (
                "Watchlist; freeze undrawn lines; reduce limit by 50%.",
                "Watchlist; no new exposure; weekly monitoring until further notice.",
                "Move to workout; engage external counsel; full review of collateral.",
            )
        )
        title = w.fill(
            "Credit committee memo {memo_no}: {short} — {kind} ({severity})",
            kind=event.event_type.replace("_", " "),
            **values,
        )
        score = {"low": -0.3, "medium": -0.5, "high": -0.7, "critical": -0.9}[event.severity]
    else:
        request = w.fill(
            "Annual review of the {co} relationship. The desk requests renewal of the {limit} limit "
            "for a further twelve months.",
            **values,
        )
        recommendation = w.pick(
            (
                "Renew at current limit.",
                "Renew; reduce tenor to three years.",
                "Renew with a tighter leverage covenant.",
            )
        )
        title = w.fill("Credit committee memo {memo_no}: annual review of {short}", **values)
        score = 0.0
    leverage_line = (
        "Net debt of {nd} equals {lev} trailing EBITDA (latest reported quarter, {ql})."
        if q.net_debt_musd >= 0
        else "The obligor holds net cash of {nd} (latest reported quarter, {ql})."
    )
    settlement = make_iban(random.Random(f"{ctx.seed}|iban|{plan.doc_id}"))
    sections = [
        f"# {title}",
        w.fill("*RESTRICTED — Credit Committee · {date} · Prepared by {officer} ({officer_title})*", **values),
        "## Request",
        request,
        "## Exposure",
        md_table(
            ["Facility", "Amount"],
            [["Committed limit", values["limit"]], ["Drawn", values["drawn"]], ["Bond holdings", values["bonds"]]],
        ),
        "## Credit assessment",
        w.paragraph(
            w.fill(
                "External rating: {rating}. Revenue in {ql} was {rev} ({updown} {growth} y/y) with a gross margin of "
                "{gm}.",
                updown="up" if q.revenue_growth_yoy_pct >= 0 else "down",
                **values,
            ),
            w.fill(leverage_line, **values),
        ),
        "## Recommendation",
        recommendation,
        "## Settlement and contacts",
        w.fill(
            "Repayments to the obligor's collection account: IBAN {iban}, BIC {bic}. Obligor treasury contact: "
            "{treasurer} ({treasurer_email}, {treasurer_phone}).",
            iban=PiiValue("iban", settlement),
            bic=make_bic(w.rng, settlement[:2]),
            **person_fields(_treasurer(ctx, plan), "treasurer"),
        ),
        w.fill(
            "Approvals: {senior} ({senior_title}); {head} ({head_title}). Analyst: {analyst}, {analyst_email}.",
            **values,
        ),
    ]
    return w, Rendered(title, "\n\n".join(sections), "Argus credit committee", score, "markdown")


def _treasurer(ctx: CorpusContext, plan: Plan) -> Person:
    """The obligor's (fictional) assistant treasurer, the same person in every memo about the company."""
    company = ctx.company(plan.ticker)
    return make_person(
        random.Random(f"{ctx.seed}|treasurer|{plan.ticker}"),
        title="Assistant Treasurer",
        organization=Organization(company.name, company.domain, "new_york"),
    )


def settlement_instructions(ctx: CorpusContext, plan: Plan) -> tuple[DocWriter, Rendered]:
    """Standing settlement instructions for a block trade or coupon payments: bank details by design."""
    w = ctx.writer(plan)
    rng = random.Random(f"{ctx.seed}|ssi|{plan.doc_id}")
    iban = make_iban(rng, rng.choice(("GB", "DE", "NL", "FR", "IE")))
    ops, settlements = ctx.treasury
    quantity = rng.randint(20, 400) * 1000
    q = ctx.latest_quarter(plan.ticker, plan.day)
    values = {
        **person_fields(ops, "ops"),
        **person_fields(settlements, "settle"),
        **person_fields(_treasurer(ctx, plan), "treasurer"),
        "iban": PiiValue("iban", iban),
        "bic": make_bic(rng, iban[:2]),
        "account": PiiValue("account", make_account_number(rng)),
        "date": long_date(plan.day),
        "quantity": f"{quantity:,}",
        "price": f"${q.share_price_usd:,.2f}",
        "notional": f"${quantity * q.share_price_usd / 1e6:,.1f} million",
        "ref": f"SSI-{plan.day:%Y%m%d}-{rng.randint(1000, 9999)}",
    }
    title = w.fill(
        [
            "Settlement instructions: {short} block trade {ref}",
            "{short} ({tk}) — standing settlement instructions update",
        ],
        **values,
    )
    text = "\n\n".join(
        [
            f"# {title}",
            w.fill("*Internal — Treasury Operations · {date}*", **values),
            "## Trade details",
            w.fill(
                "Block purchase of {quantity} shares of {co} ({tk}) at {price}, notional {notional}, settling T+1.",
                **values,
            ),
            "## Cash settlement",
            w.fill(
                "Pay to IBAN {iban} (BIC {bic}). Account No. {account} for the custody sub-account. Reference {ref}.",
                **values,
            ),
            "## Contacts",
            w.fill(
                "Operations: {ops}, {ops_email}, {ops_phone}. Settlements: {settle}, {settle_email}. Counterparty "
                "treasury: {treasurer}, {treasurer_phone}.",
                **values,
            ),
            w.fill(
                [
                    "Call-back verification is mandatory before release: confirm the IBAN by phone with a known "
                    "contact.",
                    "Any change to these instructions must be confirmed by call-back; e-mail alone is not sufficient.",
                ]
            ),
        ]
    )
    return w, Rendered(title, text, "Argus treasury operations", 0.0, "markdown")


def meeting_notes(ctx: CorpusContext, plan: Plan) -> tuple[DocWriter, Rendered]:
    """Notes from a meeting with company management (internal)."""
    w = ctx.writer(plan)
    company = ctx.company(plan.ticker)
    q = ctx.latest_quarter(plan.ticker, plan.day)
    f = figures(q, "press")
    w.metrics = q.key_metrics()
    author = ctx.house_analysts[company.sector]
    values = {
        **f,
        **person_fields(author, "author"),
        **person_fields(company.investor_relations, "irp"),
        "date": long_date(plan.day),
        "ql": quarter_label(q.period),
        "venue": w.pick(
            ("a non-deal roadshow in New York", "an industry conference in Boston", "a site visit", "a video call")
        ),
    }
    points = w.some(
        [
            "Management sounded {tone} on demand; no change to the framework given with {ql} results.",
            "Pricing: expects to hold most of the increases taken this year.",
            "Capital allocation: leverage of {lev} is {lev_view}.",
            "Gross margin of {gm} in {ql} was flagged as a reasonable base for next year.",
            "M&A: bolt-ons only; no appetite for large deals.",
            "Labour: wage inflation moderating, attrition back to pre-2020 levels.",
        ],
        3,
        5,
    )
    tone = "constructive" if q.revenue_growth_yoy_pct > 2 else "cautious"
    lev_view = "comfortable" if q.net_debt_to_ebitda < 2.5 else "above target; deleveraging is the priority"
    body = "\n".join("- " + w.fill(p, tone=tone, lev_view=lev_view, **values) for p in points)
    events = ctx.events_for(plan.ticker, plan.day, within_days=180)
    if events:
        w.risk_events.append(events[-1].planted("mention"))
        body += "\n- " + w.fill(
            "Asked about {recap}: management declined to add to public statements.", recap=event_recap(ctx, events[-1])
        )
    title = w.fill(["Meeting notes: {short} management, {date}", "{short} ({tk}) — notes from {venue}"], **values)
    text = "\n\n".join(
        [
            f"# {title}",
            w.fill("*Internal — Argus Research · {date} · {author}*", **values),
            "## Attendees",
            w.fill(
                "{irp} (Head of Investor Relations, {irp_email}); {cfo} (Chief Financial Officer); {author} (Argus "
                "Research).",
                **values,
            ),
            "## Key points",
            body,
            "## Follow-ups",
            w.fill("Send model questions to {irp_email} before the next quarterly call.", **values),
        ]
    )
    return w, Rendered(title, text, "Argus research desk", 0.1 if tone == "constructive" else -0.1, "markdown")


def sustainability_update(ctx: CorpusContext, plan: Plan) -> tuple[DocWriter, Rendered]:
    """A public sustainability / ESG update from the company."""
    w = ctx.writer(plan)
    rng = random.Random(f"{ctx.seed}|esg|{plan.doc_id}")
    values = {
        "year": plan.day.year - 1,
        "scope12": f"{rng.uniform(8, 35):.0f}%",
        "renewable": f"{rng.uniform(35, 90):.0f}%",
        "target": rng.choice((2030, 2035, 2040)),
        "women": f"{rng.uniform(24, 42):.0f}%",
        "injury": f"{rng.uniform(0.2, 1.4):.2f}",
    }
    title = w.fill(["{co} {year} sustainability update", "{short} reports progress on emissions targets"], **values)
    text = "\n\n".join(
        [
            f"# {title}",
            "## Highlights",
            w.fill(
                "- Scope 1 and 2 emissions down {scope12} against the baseline\n- {renewable} of electricity from "
                "renewable sources\n- Women in leadership roles: {women}\n- Total recordable injury rate: {injury}",
                **values,
            ),
            "## Climate",
            w.fill(
                [
                    "{co} reaffirmed its goal of net-zero operational emissions by {target}, with interim targets "
                    "verified "
                    "by an independent body.",
                    "The company expanded supplier engagement on scope 3 emissions and set a {target} target for its "
                    "largest suppliers.",
                ],
                **values,
            ),
            "## Governance",
            w.fill(
                [
                    "The board's sustainability committee met four times during {year}.",
                    "Executive incentive plans now include emissions and safety metrics.",
                ],
                **values,
            ),
        ]
    )
    return w, Rendered(title, text, w.fill("{short} investor relations"), 0.25, "markdown")
