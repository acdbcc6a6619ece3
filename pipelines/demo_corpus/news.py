"""Newswire stories: plain paragraphs, a dateline, quotes from fictional executives."""

from __future__ import annotations

import random
from datetime import date

from pipelines.demo_corpus.context import CorpusContext, Plan, Rendered, RiskEvent, figures, person_fields
from pipelines.demo_corpus.people import NEWSWIRES, Organization, make_person, person_name
from pipelines.demo_corpus.text import (
    DocWriter,
    Figure,
    PiiValue,
    month_day,
    quarter_label,
    quarter_words,
    usd_compact,
    with_article,
)

# One-day share price falls, in %, by event type.
DROPS = {
    "default": (15, 40),
    "fraud": (12, 35),
    "liquidity_stress": (8, 25),
    "downgrade": (3, 10),
    "litigation": (2, 8),
    "regulatory_action": (2, 9),
}
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def clamp(value: float, low: float = -1.0, high: float = 1.0) -> float:
    return round(max(low, min(high, value)), 2)


def dateline(ctx: CorpusContext, ticker: str, day: date, source: str) -> str:
    hq = ctx.company(ticker).headquarters or "New York"
    city = hq.split(",")[0].strip().removesuffix(" City").upper() or "NEW YORK"
    return f"{city}, {month_day(day)} ({source}) —"


def _next_period(period: str) -> str:
    year, quarter = int(period[:4]), int(period[5])
    return f"{year}Q{quarter + 1}" if quarter < 4 else f"{year + 1}Q1"


def event_recap(ctx: CorpusContext, event: RiskEvent, *, named: bool = False) -> str:
    """A short clause recalling an earlier event, for later documents that mention it. ``named``:
    say whose event it was (for documents about another company)."""
    d = event.details
    when = f"{event.date:%B} {event.date.year}"
    owner = ctx.company(event.ticker).short_name
    whose, it = (f"{owner}'s", owner) if named else ("the company's", "the company")
    return {
        "liquidity_stress": f"{whose} draw on its revolving credit facility in {when}",
        "downgrade": f"{d.get('agency')}'s downgrade of {it} to {d.get('to_rating')} in {when}",
        "default": f"the missed interest payment on {whose} {d.get('instrument')} in {when}",
        "fraud": f"the accounting irregularities {it} disclosed in {when} in its {d.get('segment')} segment",
        "litigation": f"the {d.get('kind')} brought against {it} by {d.get('plaintiff')} in {when}",
        "regulatory_action": f"{d.get('action')} {it} received from {d.get('regulator_short')} in {when}",
    }[event.event_type]


def _event_mention(ctx: CorpusContext, w: DocWriter, ticker: str, day: date, within_days: int = 150) -> str | None:
    events = ctx.events_for(ticker, day, within_days=within_days)
    if not events:
        return None
    event = events[-1]
    w.risk_events.append(event.planted("mention"))
    return w.fill(
        [
            "The results are the first since {recap}.",
            "Investors are still weighing {recap}.",
            "Analysts said the figures had to be read against {recap}.",
        ],
        recap=event_recap(ctx, event),
    )


def _relationship_sentence(ctx: CorpusContext, w: DocWriter, ticker: str) -> str | None:
    links = ctx.links_of(ticker)
    if not links:
        return None
    link = w.pick(links)
    w.relationships.append(
        {"supplier": link.supplier, "customer": link.customer, "product": link.product, "role": "mention"}
    )
    if link.supplier == ticker:
        return w.fill(
            [
                "Demand from large customers such as {other} for its {product} was described as steady.",
                "The company supplies {product} to customers including {other_short}.",
                "Sales of {product} to {other_short}, one of its biggest accounts, were a bright spot.",
            ],
            product=link.product,
            **ctx.names(link.customer, "other"),
        )
    return w.fill(
        [
            "The company buys {product} from suppliers including {other}.",
            "Management said supply of {product} from {other_short} had normalised.",
            "Input costs, including {product} bought from {other_short}, were broadly stable.",
        ],
        product=link.product,
        **ctx.names(link.supplier, "other"),
    )


def earnings_news(ctx: CorpusContext, plan: Plan) -> tuple[DocWriter, Rendered]:
    w = ctx.writer(plan)
    company = ctx.company(plan.ticker)
    q = ctx.quarter(plan.ticker, plan.period or "")
    f = figures(q, "press")
    year_ago = ctx.quarters[q.ticker].get(f"{q.fiscal_year - 1}Q{q.fiscal_quarter}")
    source = w.pick(NEWSWIRES)
    surprise, growth = q.revenue_surprise_pct, q.revenue_growth_yoy_pct
    outcome = "beat" if surprise > 0.4 else "miss" if surprise < -0.4 else "inline"
    score = clamp(surprise / 3 * 0.6 + growth / 15 * 0.4)
    move = round(surprise * 2.2 + growth / 8 + w.rng.gauss(0, 1.2), 1)
    w.metrics = {
        **q.key_metrics(),
        "next_quarter_guidance_low_musd": q.next_quarter_guidance_low_musd,
        "next_quarter_guidance_high_musd": q.next_quarter_guidance_high_musd,
        "consensus_revenue_musd": q.consensus_revenue_musd,
    }
    up = growth >= 0
    values = {
        **f,
        "ql": quarter_label(q.period),
        "qw": quarter_words(q.period),
        "next_qw": quarter_words(_next_period(q.period)),
        "cons": usd_compact(q.consensus_revenue_musd),
        "ceps": f"${q.consensus_eps:.2f}",
        "updown": "up" if up else "down",
        "rises": "rises" if up else "falls",
        "grew": "grew" if up else "fell",
        "glow": Figure("next_quarter_guidance_low_musd", usd_compact(q.next_quarter_guidance_low_musd)),
        "ghigh": Figure("next_quarter_guidance_high_musd", usd_compact(q.next_quarter_guidance_high_musd)),
        "gm_prev": f"{year_ago.gross_margin_pct:.1f}%" if year_ago else "the prior year",
        "move": f"{abs(move):.1f}%",
        "weekday": WEEKDAYS[plan.day.weekday()],
        "dl": dateline(ctx, plan.ticker, plan.day, source),
        "src": source,
    }
    w.base.update(values)
    titles = {
        "beat": [
            "{short} beats estimates as {ql} revenue {rises} {growth}",
            "{short} tops forecasts with {ql} revenue of {rev}",
            "{co} {ql} results ahead of expectations",
            "{short} shares climb after {ql} revenue beat",
        ],
        "miss": [
            "{short} misses {ql} revenue estimates",
            "{short} revenue falls short of forecasts in {ql}",
            "{co} shares slide after {ql} miss",
            "{short} {ql} sales disappoint",
        ],
        "inline": [
            "{co} reports {ql} revenue of {rev}",
            "{short} {ql} results in line with forecasts",
            "{short} posts {ql} revenue {updown} {growth}",
        ],
    }
    vs_cons = {
        "beat": ["ahead of the {cons} analysts had expected on average", "beating the consensus estimate of {cons}"],
        "miss": ["short of the {cons} consensus estimate", "below the {cons} analysts had forecast"],
        "inline": ["roughly in line with the {cons} analysts had forecast", "close to the consensus of {cons}"],
    }
    lead = w.fill(
        [
            "{dl} {co} ({tk}) on {weekday} reported {qw} revenue of {rev}, {updown} {growth} from a year earlier, "
            + w.pick(vs_cons[outcome])
            + ".",
            "{dl} Revenue at {co} {grew} {growth} to {rev} in the {qw}, the company said on {weekday}. "
            "Analysts had on average expected {cons}.",
            "{dl} {short} ({tk}) posted revenue of {rev} for the {qw}, "
            + w.pick(vs_cons[outcome])
            + ", as sales {grew} {growth} year over year.",
        ]
    )
    if q.net_income_musd >= 0:
        profit = "The company earned {ni}, or {eps} per diluted share, against the {ceps} analysts had pencilled in."
    else:
        profit = "The company lost {ni}, or {eps} per share, in the quarter; analysts had expected {ceps}."
    margins = w.paragraph(
        w.fill(
            [
                "Gross margin was {gm}, compared with {gm_prev} a year earlier, while EBITDA came to {ebitda}, or "
                "{em} of revenue.",
                "Gross margin {moved} to {gm} from {gm_prev}, and EBITDA margin stood at {em}.",
                "EBITDA reached {ebitda} on a gross margin of {gm}.",
            ],
            moved="widened" if year_ago and q.gross_margin_pct >= year_ago.gross_margin_pct else "narrowed",
        ),
        w.fill(profit),
    )
    if q.net_debt_musd >= 0:
        balance = w.fill(
            [
                "{short} ended the quarter with net debt of {nd}, about {lev} trailing twelve-month EBITDA.",
                "Leverage, measured as net debt to EBITDA, stood at {lev}.",
                "Net debt was {nd} at quarter end, or {lev} EBITDA.",
            ]
        )
    else:
        balance = w.fill(
            [
                "The balance sheet showed net cash of {nd} at quarter end.",
                "{short} finished the period with {nd} of net cash.",
            ]
        )
    guidance = w.fill(
        [
            "For the {next_qw}, {short} guided revenue between {glow} and {ghigh}.",
            "Management expects revenue of {glow} to {ghigh} in the {next_qw}.",
            "Looking ahead, the company forecast revenue in a range of {glow} to {ghigh} for the current quarter.",
        ]
    )
    quotes = {
        "pos": [
            '"We delivered another quarter of disciplined growth, and demand across our {industry} business remains '
            'healthy," said {ceo}, chief executive officer.',
            '"Our teams executed well and customers keep choosing us," chief executive {ceo} said in a statement.',
            '"We are gaining share while investing for the long term," said {ceo}, the company\'s chief executive.',
        ],
        "neg": [
            '"This was a difficult quarter, and we are taking decisive action on costs," {ceo}, chief executive, said.',
            '"Results fell short of our own expectations," said chief financial officer {cfo}, adding that the '
            "company was tightening discretionary spending.",
            '"The environment remains challenging and we are not satisfied with these numbers," said {ceo}, the '
            "chief executive.",
        ],
        "neutral": [
            '"We are executing against the plan we laid out at the start of the year," said {ceo}, the company\'s '
            "chief executive.",
            '"The quarter played out largely as we expected," chief financial officer {cfo} told analysts.',
        ],
    }
    mood = "pos" if score > 0.15 else "neg" if score < -0.15 else "neutral"
    quote = w.fill(quotes[mood])
    reaction = w.fill(
        [
            "Shares of {short} {moved} {move} in extended trading.",
            "The stock {gained} {move} in after-hours trade.",
            "Investors appeared {mood_word}: the shares {moved} {move} in late trading.",
        ],
        moved="rose" if move >= 0 else "fell",
        gained="gained" if move >= 0 else "lost",
        mood_word="pleased" if move >= 0 else "unconvinced",
    )
    paragraphs = [lead, margins, w.paragraph(balance, guidance), quote]
    extra = _event_mention(ctx, w, plan.ticker, plan.day)
    relation = _relationship_sentence(ctx, w, plan.ticker) if w.chance(0.45) else None
    if extra or relation:
        paragraphs.append(w.paragraph(relation, extra))
    paragraphs.append(reaction)
    if w.chance(0.3):
        paragraphs.append(
            w.fill("Investor contact: {ir}, {ir_email}, {ir_phone}", **person_fields(company.investor_relations, "ir"))
        )
    title = w.fill(titles[outcome])
    return w, Rendered(title, "\n\n".join(paragraphs), source, score, "text")


# --- risk events -----------------------------------------------------------------------------------


def _event_values(ctx: CorpusContext, w: DocWriter, event: RiskEvent, day: date, source: str) -> dict[str, object]:
    d = event.details
    q = ctx.latest_quarter(event.ticker, day)
    money = usd_compact
    values: dict[str, object] = {
        "dl": dateline(ctx, event.ticker, day, source),
        "weekday": WEEKDAYS[day.weekday()],
        "drop": f"{w.rng.uniform(*DROPS[event.event_type]):.1f}%",
        "cash": money(q.cash_musd),
        "debt": money(q.total_debt_musd),
        "lev": f"{q.net_debt_to_ebitda:.1f}x",
        "event_day": f"{event.date:%B} {event.date.day}",
    }
    for key, value in d.items():
        if key.endswith("_musd") and isinstance(value, (int, float)):
            values[key.removesuffix("_musd")] = money(value)
        else:
            values[key] = value
    return values


EVENT_NEWS = {
    "liquidity_stress": {
        "titles": [
            "{short} draws {drawn} credit line as cash dwindles",
            "{short} taps revolver, hires restructuring advisers",
            "{co} moves to shore up liquidity",
            "{short} shares tumble on liquidity worries",
        ],
        "leads": [
            "{dl} {co} ({tk}) said on {weekday} it had drawn {drawn} under its {facility} revolving credit facility "
            "to bolster liquidity, after cash at the end of the last quarter fell to {cash}.",
            "{dl} {short} has borrowed {drawn} from its bank credit line and retained {advisers} to review its "
            "options, the company disclosed on {weekday}, in a sign of mounting pressure on its balance sheet.",
            "{dl} {co} is drawing down almost all of its {facility} revolving credit facility, a move that "
            "analysts said pointed to strained access to short-term funding.",
        ],
        "details": [
            "The company carries {debt} of total debt, and net debt stands at about {lev} EBITDA.",
            "Total debt was {debt} at the end of the latest quarter, with leverage near {lev} trailing EBITDA.",
        ],
        "quotes": [
            '"Drawing the facility is a prudent step to maximise flexibility," chief financial officer {cfo} said.',
            '"We are acting early and from a position of control," said {ceo}, chief executive.',
        ],
    },
    "downgrade": {
        "titles": [
            "{agency} cuts {short} to {to_rating}",
            "{short} downgraded to {to_rating} by {agency}",
            "{co} credit rating lowered on rising leverage",
            "{agency} downgrades {short}, outlook negative",
        ],
        "leads": [
            "{dl} {agency} lowered its credit rating on {co} ({tk}) to {to_rating} from {from_rating} on {weekday}, "
            "citing weaker earnings and leverage that has climbed to about {lev} EBITDA.",
            "{dl} {co} was downgraded by {agency} to {to_rating}, from {from_rating}, with a negative outlook, as "
            "the agency said the company's debt reduction plan had fallen behind schedule.",
            "{dl} Credit rating agency {agency} cut {short} by {notches} to {to_rating}, saying cash flow would "
            "remain under pressure through next year.",
        ],
        "details": [
            "The agency said it could lower the rating further if leverage does not fall below {lev} within "
            "twelve months.",
            "{agency} said the negative outlook reflected uncertainty over the pace of margin recovery.",
        ],
        "quotes": [
            '"We disagree with the agency\'s view and remain committed to our balance sheet targets," said {cfo}, '
            "chief financial officer.",
            'A company spokesperson said {short} "remains focused on deleveraging".',
        ],
    },
    "default": {
        "titles": [
            "{short} misses bond interest payment, enters grace period",
            "{co} skips coupon on {instrument}",
            "{short} defaults on interest payment as cash runs short",
            "{short} bonds plunge after missed payment",
        ],
        "leads": [
            "{dl} {co} ({tk}) did not make a {missed_payment} interest payment due on its {instrument}, starting a "
            "{grace_period_days}-day grace period before holders can accelerate the debt, the company said on "
            "{weekday}.",
            "{dl} {short} has skipped a {missed_payment} coupon on its {instrument}, the company disclosed, "
            "as talks with lenders over a broader restructuring continue.",
            "{dl} {co} said it elected not to pay {missed_payment} of interest on its {instrument}, a payment default "
            "that will become an event of default if not cured within {grace_period_days} days.",
        ],
        "details": [
            "The notes have {principal} of principal outstanding. {trustee} is the trustee.",
            "About {principal} of the notes are outstanding; cross-default clauses could affect other debt.",
        ],
        "quotes": [
            '"We are in constructive discussions with our creditors," chief executive {ceo} said.',
            '"Using the grace period gives us time to reach a consensual solution," said {cfo}, chief financial '
            "officer.",
        ],
    },
    "fraud": {
        "titles": [
            "{short} discloses accounting irregularities, shares sink",
            "{co} to restate results after internal probe",
            "{short} audit committee investigates {segment} unit",
            "{short} warns past results can no longer be relied upon",
        ],
        "leads": [
            "{dl} {co} ({tk}) said on {weekday} its previously issued financial statements should no longer be relied "
            "upon after an audit committee investigation found {scheme} in its {segment} segment.",
            "{dl} {short} disclosed that an internal review had uncovered {scheme}, overstating {line_item} by about "
            "{overstatement} over {quarters_affected} quarters.",
            "{dl} Shares of {co} fell sharply after the company said a whistleblower complaint led to the discovery of "
            "{scheme} at its {segment} business.",
        ],
        "details": [
            "The company estimated the overstatement of {line_item} at about {overstatement} and said it would restate "
            "the affected periods.",
            "The audit committee has retained outside counsel and forensic accountants, and the company has notified "
            "regulators.",
        ],
        "quotes": [
            '"We take these findings extremely seriously and will hold those responsible to account," said {ceo}, '
            "chief executive.",
            "The company said several employees in the {segment} finance team had been placed on leave.",
        ],
    },
    "litigation": {
        "titles": [
            "{short} hit with {kind}",
            "{co} sued in {kind}",
            "{plaintiff_title} files suit against {short}",
            "{short} faces {damages_sought} legal claim",
        ],
        "leads": [
            "{dl} {co} ({tk}) has been named as a defendant in {a_kind} filed in {court}, in which {plaintiff} "
            "{claim} and seeks damages of about {damages_sought}.",
            "{dl} {a_kind_cap} filed against {short} in {court} {claim}, according to the complaint made public on "
            "{weekday}.",
            "{dl} {plaintiff_title} sued {co} in {court}; the {kind} seeks roughly {damages_sought}.",
        ],
        "details": [
            "The company said it believes the claims are without merit and intends to defend itself vigorously.",
            "Legal analysts said similar cases had taken two to three years to reach trial.",
        ],
        "quotes": [
            'A spokesperson for {short} said the company "will vigorously defend itself".',
            '"We are confident in our position," general counsel {gc} said in a statement.',
        ],
    },
    "regulatory_action": {
        "titles": [
            "{regulator_short} takes action against {short}",
            "{short} receives {action} from {regulator_short}",
            "{co} faces regulatory scrutiny",
            "{short} under {regulator_short} review; penalty possible",
        ],
        "leads": [
            "{dl} {co} ({tk}) said on {weekday} it had received {action} from {regulator}, and that a penalty of up "
            "to {penalty} was possible.",
            "{dl} {regulator_cap} has issued {action} to {short}, the company disclosed, adding that it is "
            "cooperating fully.",
            "{dl} {short} disclosed {action} from {regulator_short}, raising the prospect of fines and remediation "
            "costs "
            "estimated at up to {penalty}.",
        ],
        "details": [
            "The company said it does not expect the matter to disrupt operations but could not predict the outcome.",
            "Analysts estimated that remediation could weigh on margins for several quarters.",
        ],
        "quotes": [
            '"We are working closely with the agency to resolve this matter," said {ceo}, chief executive.',
            "The company said compliance and quality functions would be strengthened under a new chief compliance "
            "officer.",
        ],
    },
}

FOLLOW_UPS = {
    "liquidity_stress": [
        "{short} in talks with lenders over covenant relief",
        "{short} bonds slide as liquidity concerns mount",
        "{short} suspends dividend to preserve cash",
    ],
    "downgrade": [
        "{short} bonds weaken after downgrade",
        "Second agency places {short} on review for downgrade",
        "{short} borrowing costs rise after rating cut",
    ],
    "default": [
        "{short} grace period ticks down as bondholders organise",
        "{short} creditors hire advisers after missed coupon",
        "{short} bonds trade at distressed levels",
    ],
    "fraud": [
        "{short} delays quarterly filing amid accounting probe",
        "Regulators seek documents from {short} over accounting",
        "{short} chief financial officer steps down after accounting review",
    ],
    "litigation": [
        "{short} moves to dismiss {kind}",
        "Judge sets schedule in {short} case",
        "{short} litigation reserve questioned by analysts",
    ],
    "regulatory_action": [
        "{short} says cooperating with {regulator_short}",
        "{short} sets aside funds for {regulator_short} matter",
        "{regulator_short} matter weighs on {short} outlook",
    ],
}


def event_news(ctx: CorpusContext, plan: Plan) -> tuple[DocWriter, Rendered]:
    event = plan.event
    assert event is not None
    w = ctx.writer(plan)
    source = w.pick(NEWSWIRES)
    values = _event_values(ctx, w, event, plan.day, source)
    values["plaintiff_title"] = (
        str(event.details.get("plaintiff", "")).capitalize().replace("A putative", "Shareholders in a putative")
    )
    values["regulator_cap"] = str(event.details.get("regulator", "")).capitalize()
    values["notches"] = (
        "two notches"
        if event.details.get("to_rating") and ctx.company(event.ticker).credit_profile == "stressed"
        else "one notch"
    )
    values["gc"] = _general_counsel(ctx, event.ticker)
    if "kind" in event.details:
        values["a_kind"] = with_article(str(event.details["kind"]))
        values["a_kind_cap"] = values["a_kind"][0].upper() + values["a_kind"][1:]
    bank = EVENT_NEWS[event.event_type]
    w.risk_events.append(event.planted("primary"))
    paragraphs = [
        w.fill(bank["leads"], **values),
        w.fill(bank["details"], **values),
        w.fill(bank["quotes"], **values),
        w.fill(
            [
                "Shares of {short} fell {drop} in {session} trading.",
                "The stock dropped {drop} on the news, its steepest one-day decline in more than a year.",
                "{short} shares were down {drop} by mid-afternoon.",
            ],
            session=w.pick(("early", "afternoon", "heavy")),
            **values,
        ),
    ]
    if event.event_type == "downgrade" and event.details.get("fallen_angel"):
        paragraphs.insert(
            2,
            w.fill("The move takes the company below investment grade, which may force some funds to sell its bonds."),
        )
    if event.event_type in ("liquidity_stress", "default") and event.details.get("dividend_suspended"):
        paragraphs.insert(2, w.fill("The board also suspended the quarterly dividend."))
    title = w.fill(bank["titles"], **values)
    severity_score = {"low": -0.35, "medium": -0.55, "high": -0.75, "critical": -0.9}[event.severity]
    return w, Rendered(title, "\n\n".join(paragraphs), source, severity_score, "text")


def _general_counsel(ctx: CorpusContext, ticker: str) -> PiiValue:
    # Stable per company: the same fictional general counsel in every story.
    return PiiValue("person", person_name(random.Random(f"{ctx.seed}|gc|{ticker}")))


def event_followup(ctx: CorpusContext, plan: Plan) -> tuple[DocWriter, Rendered]:
    event = plan.event
    assert event is not None
    w = ctx.writer(plan)
    source = w.pick(NEWSWIRES)
    values = _event_values(ctx, w, event, plan.day, source)
    values["recap"] = event_recap(ctx, event)
    values["days"] = (plan.day - event.date).days
    w.risk_events.append(event.planted("follow_up"))
    title = w.fill(FOLLOW_UPS[event.event_type], **values)
    opening = w.fill(
        [
            "{dl} {co} ({tk}) remained under pressure on {weekday}, {days} days after {recap}.",
            "{dl} Investors in {co} are still assessing {recap}.",
            "{dl} Fallout from {recap} continued this week for {short}.",
        ],
        **values,
    )
    middles = {
        "liquidity_stress": [
            "People familiar with the matter said the company has approached its banks about loosening a net "
            "leverage covenant, currently tested at the end of each quarter.",
            "Its bonds fell several points and credit default swaps on the company's debt widened sharply.",
        ],
        "downgrade": [
            "The company's bonds fell as some investment-grade funds trimmed positions, and a second agency "
            "placed the rating on review for downgrade.",
            "Analysts estimated that the downgrade will add to interest costs when the company refinances.",
        ],
        "default": [
            "An ad hoc group of bondholders has hired legal and financial advisers and is preparing a "
            "counterproposal, according to people familiar with the talks.",
            "The notes were quoted at around 40 cents on the dollar, signalling expectations of a restructuring.",
        ],
        "fraud": [
            "The company said it would not file its quarterly report on time and that its auditor had withdrawn "
            "its opinion on the affected years.",
            "Two law firms announced investigations on behalf of shareholders, and the company said it had received "
            "a document request from the Securities and Exchange Commission.",
        ],
        "litigation": [
            "The company filed a motion to dismiss, arguing that the complaint fails to state a claim.",
            "A scheduling order sets fact discovery to close in about eighteen months.",
        ],
        "regulatory_action": [
            "The company said it had submitted a remediation plan and expects further correspondence in the "
            "coming months.",
            "Analysts said the episode could delay new product approvals or projects in the affected unit.",
        ],
    }
    closing = w.fill(
        [
            "{short} shares are down {drop} since {event_day}.",
            "The stock has lost {drop} since the news first broke on {event_day}.",
        ],
        **values,
    )
    text = "\n\n".join([opening, w.fill(middles[event.event_type], **values), closing])
    return w, Rendered(title, text, source, -0.5 if event.severity in ("high", "critical") else -0.35, "text")


def exposure_news(ctx: CorpusContext, plan: Plan) -> tuple[DocWriter, Rendered]:
    """A counterparty of the company hit by an event says what it means for it."""
    event, link = plan.event, plan.link
    assert event is not None and link is not None
    w = ctx.writer(plan)
    source = w.pick(NEWSWIRES)
    affected = event.ticker
    w.risk_events.append(event.planted("exposure"))
    w.relationships.append(
        {"supplier": link.supplier, "customer": link.customer, "product": link.product, "role": "exposure"}
    )
    values = {
        **ctx.names(affected, "hit"),
        "dl": dateline(ctx, plan.ticker, plan.day, source),
        "product": link.product,
        "share": f"{link.share_of_supplier_revenue_pct:.1f}%",
        "recap": event_recap(ctx, event, named=True),
        "since": link.since_year,
    }
    if link.customer == plan.ticker:  # the affected company is our supplier
        title = w.fill(
            [
                "{short} reviews supply of {product} after {hit_short} turmoil",
                "{short} flags supply risk tied to {hit_short}",
                "{hit_short} troubles put {short} supply chain in focus",
            ],
            **values,
        )
        body = [
            w.fill(
                [
                    "{dl} {co} ({tk}) said it is assessing alternative sources of {product} following {recap}. "
                    "{hit} has been a supplier to the company since {since}.",
                    "{dl} {co} ({tk}), a customer of {hit} since {since}, said it is reviewing its reliance on the "
                    "supplier's {product} after {recap}.",
                ],
                **values,
            ),
            w.fill(
                [
                    "The company said it does not expect near-term disruption to its operations.",
                    "Executives said contingency plans were in place but that qualifying a second supplier could "
                    "take months.",
                ],
                **values,
            ),
        ]
    else:  # the affected company is our customer
        title = w.fill(
            [
                "{short} flags exposure to troubled customer {hit_short}",
                "{short} reviews receivables from {hit_short}",
                "{hit_short} woes weigh on supplier {short}",
            ],
            **values,
        )
        body = [
            w.fill(
                "{dl} {co} ({tk}) said {hit} accounted for about {share} of its revenue and that it is reviewing "
                "payment terms after {recap}.",
                **values,
            ),
            w.fill(
                [
                    "The company has tightened credit limits and moved some shipments to cash-in-advance terms.",
                    "Analysts said a bad-debt charge could follow if the customer's situation worsens.",
                ],
                **values,
            ),
        ]
    body.append(
        w.fill(
            ["Shares of {short} slipped {pct} on the news.", "{short} shares eased {pct}."],
            pct=f"{w.rng.uniform(0.8, 4.5):.1f}%",
        )
    )
    return w, Rendered(title, "\n\n".join(body), source, -0.4, "text")


# --- ordinary corporate news -----------------------------------------------------------------------


def supply_news(ctx: CorpusContext, plan: Plan) -> tuple[DocWriter, Rendered]:
    link = plan.link
    assert link is not None
    w = ctx.writer(plan)
    source = w.pick(NEWSWIRES)
    w.relationships.append(
        {"supplier": link.supplier, "customer": link.customer, "product": link.product, "role": "primary"}
    )
    years = w.pick((3, 4, 5, 7))
    values = {
        **ctx.names(link.customer, "cust"),
        "dl": dateline(ctx, plan.ticker, plan.day, source),
        "product": link.product,
        "years": years,
        "value": usd_compact(
            round(ctx.company(link.supplier).revenue_musd * link.share_of_supplier_revenue_pct / 100 * years * 0.6, -1)
        ),
        "since": link.since_year,
    }
    title = w.fill(
        [
            "{short} extends {product} agreement with {cust_short}",
            "{short} and {cust_short} sign {years}-year supply deal",
            "{cust_short} expands {product} contract with {short}",
        ],
        **values,
    )
    body = [
        w.fill(
            [
                "{dl} {co} ({tk}) said it has signed a {years}-year agreement to supply {product} to {cust}, "
                "extending a "
                "relationship that dates back to {since}.",
                "{dl} {cust} has expanded its {product} contract with {co}, the companies said on Tuesday, in a deal "
                "analysts valued at roughly {value} over {years} years.",
            ],
            **values,
        ),
        w.fill(
            [
                "The agreement includes volume commitments and price adjustment clauses linked to input costs.",
                "Financial terms were not disclosed, but the customer is among the supplier's ten largest accounts.",
                "The companies said they would also collaborate on product development.",
            ],
            **values,
        ),
        w.fill(
            [
                '"{cust_short} is a long-standing partner and this agreement deepens our relationship," said {ceo}, '
                "chief executive of {short}.",
                '"Reliable supply of {product} is critical to our plans," a spokesperson for {cust_short} said.',
            ],
            **values,
        ),
    ]
    return w, Rendered(title, "\n\n".join(body), source, 0.45, "text")


def executive_news(ctx: CorpusContext, plan: Plan) -> tuple[DocWriter, Rendered]:
    """Appointments (neutral); before a planted fraud, the CFO's abrupt exit (an early warning)."""
    w = ctx.writer(plan)
    company = ctx.company(plan.ticker)
    source = w.pick(NEWSWIRES)
    precursor = plan.event
    role = (
        "Chief Financial Officer"
        if precursor
        else w.pick(
            (
                "Chief Operating Officer",
                "Chief Technology Officer",
                "President of International",
                "Chief Commercial Officer",
                "General Counsel",
            )
        )
    )
    newcomer = make_person(
        random.Random(f"{ctx.seed}|exec|{plan.doc_id}"),
        title=role,
        organization=Organization(company.name, company.domain, "new_york"),
        taken=ctx.taken_names,
    )
    values = {
        **person_fields(newcomer, "new"),
        "dl": dateline(ctx, plan.ticker, plan.day, source),
        "role": role,
        "years": w.rng.randint(12, 28),
        "prior": w.pick(
            (
                "a global consumer goods group",
                "a large industrial conglomerate",
                "a technology company",
                "a Fortune 500 retailer",
                "a European engineering group",
            )
        ),
    }
    if precursor:
        w.risk_events.append(precursor.planted("precursor"))
        title = w.fill(
            ["{short} CFO {cfo} departs unexpectedly", "{co} finance chief resigns with immediate effect"], **values
        )
        body = [
            w.fill(
                "{dl} {co} ({tk}) said on Friday that chief financial officer {cfo} had resigned with immediate effect "
                '"to pursue other interests", less than two years into the role.',
                **values,
            ),
            w.fill(
                "The company named {new}, most recently at {prior}, as interim chief financial officer. It did not "
                "give a reason for the departure and declined to comment further.",
                **values,
            ),
            w.fill(
                "Analysts said the abrupt exit was unusual so close to the quarter-end close. Shares fell {drop}.",
                drop=f"{w.rng.uniform(2, 6):.1f}%",
            ),
        ]
        score = -0.45
    else:
        title = w.fill(
            ["{co} appoints {new} as {role}", "{short} names new {role}", "{short} hires {new} from {prior}"], **values
        )
        body = [
            w.fill("{dl} {co} ({tk}) has appointed {new} as {role}, effective next month.", **values),
            w.fill(
                "{new} joins from {prior}, where they spent {years} years in senior finance and operating roles.",
                **values,
            ),
            w.fill(
                [
                    '"{new} brings deep operating experience," said {ceo}, chief executive.',
                    "The appointment follows a review of the leadership structure announced earlier this year.",
                ],
                **values,
            ),
        ]
        if w.chance(0.5):
            body.append(w.fill("Media enquiries: {ir}, {ir_email}", **person_fields(company.investor_relations, "ir")))
        score = 0.05
    return w, Rendered(title, "\n\n".join(body), source, score, "text")


def product_news(ctx: CorpusContext, plan: Plan) -> tuple[DocWriter, Rendered]:
    """A capacity investment or a product launch (positive, no risk content)."""
    w = ctx.writer(plan)
    source = w.pick(NEWSWIRES)
    q = ctx.latest_quarter(plan.ticker, plan.day)
    values = {
        "dl": dateline(ctx, plan.ticker, plan.day, source),
        "invest": usd_compact(round(q.capex_musd * w.rng.uniform(0.6, 2.5), -1)),
        "site": w.pick(("Texas", "Ohio", "Arizona", "North Carolina", "Ireland", "Singapore", "Poland", "Mexico")),
        "jobs": f"{w.rng.randint(3, 30) * 50:,}",
        "offering": w.pick(
            ("next-generation platform", "new product line", "flagship service tier", "digital offering")
        ),
        "weekday": WEEKDAYS[plan.day.weekday()],
    }
    if w.chance(0.5):
        title = w.fill(
            ["{short} to invest {invest} in new {site} facility", "{co} expands capacity with {invest} {site} project"],
            **values,
        )
        lead = w.fill(
            [
                "{dl} {co} ({tk}) plans to invest {invest} in a new facility in {site}, creating about {jobs} jobs, "
                "the company said on {weekday}.",
                "{dl} {short} said it will spend {invest} over three years to expand capacity in {site}, adding "
                "roughly {jobs} jobs.",
            ],
            **values,
        )
        detail = w.pick(
            [
                "Production is expected to start within 24 months, subject to permits.",
                "Management said the project would be funded from operating cash flow.",
                "State and local incentives will offset part of the cost, the company said.",
            ]
        )
    else:
        title = w.fill(
            ["{short} unveils {offering}", "{co} launches {offering}", "{short} rolls out {offering}"], **values
        )
        lead = w.fill(
            [
                "{dl} {co} ({tk}) introduced its {offering} on {weekday}, aiming to extend its position in {industry}.",
                "{dl} {short} has launched a {offering}, which it expects to contribute to revenue from next year.",
            ],
            **values,
        )
        detail = w.pick(
            [
                "The company said early customer trials had exceeded internal targets.",
                "Pricing was not disclosed; analysts expect the launch to support margins over time.",
                "The launch follows two years of development and a pilot with selected customers.",
            ]
        )
    quote = w.fill(
        [
            '"This is a long-term bet on demand we can already see," said {ceo}, chief executive.',
            "Analysts said the move was consistent with the plan laid out at the last investor day.",
        ]
    )
    return w, Rendered(title, "\n\n".join([lead, detail, quote]), source, 0.35, "text")


def capital_return_news(ctx: CorpusContext, plan: Plan) -> tuple[DocWriter, Rendered]:
    w = ctx.writer(plan)
    company = ctx.company(plan.ticker)
    source = w.pick(NEWSWIRES)
    q = ctx.latest_quarter(plan.ticker, plan.day)
    stressed = company.credit_profile == "stressed" and plan.day.year > 2023
    values = {
        "dl": dateline(ctx, plan.ticker, plan.day, source),
        "buyback": usd_compact(round(max(q.free_cash_flow_musd, q.revenue_musd * 0.02) * w.rng.uniform(2, 6), -1)),
        "raise": f"{w.rng.uniform(3, 9):.1f}%",
        "dividend": f"${company.share_price_usd * w.rng.uniform(0.003, 0.009):.2f}",
    }
    if stressed:
        title = w.fill(
            ["{short} cuts dividend to protect balance sheet", "{short} slashes payout as earnings slide"], **values
        )
        body = [
            w.fill(
                "{dl} {co} ({tk}) cut its quarterly dividend to {dividend} per share, saying it would direct cash "
                "to debt reduction.",
                **values,
            ),
            w.fill('"Reducing leverage is our first priority," chief financial officer {cfo} said.', **values),
        ]
        score = -0.4
    else:
        title = w.fill(
            [
                "{short} raises dividend {raise}, adds {buyback} buyback",
                "{co} boosts shareholder returns",
                "{short} authorises {buyback} share repurchase",
            ],
            **values,
        )
        body = [
            w.fill(
                [
                    "{dl} {co} ({tk}) raised its quarterly dividend by {raise} to {dividend} per share and authorised "
                    "a new {buyback} share repurchase programme.",
                    "{dl} The board of {co} approved a {buyback} buyback, the company said, alongside a {raise} "
                    "dividend "
                    "increase.",
                ],
                **values,
            ),
            w.fill(
                [
                    '"Our cash generation allows us to invest in the business and return capital," said {cfo}, chief '
                    "financial officer.",
                    "The company said the programme has no fixed expiry date.",
                ],
                **values,
            ),
        ]
        score = 0.4
    return w, Rendered(title, "\n\n".join(body), source, score, "text")


def analyst_action_news(ctx: CorpusContext, plan: Plan) -> tuple[DocWriter, Rendered]:
    w = ctx.writer(plan)
    source = w.pick(NEWSWIRES)
    q = ctx.latest_quarter(plan.ticker, plan.day)
    broker, analyst = w.pick(ctx.coverage[plan.ticker])
    upgrade = (q.revenue_growth_yoy_pct > 3 and w.chance(0.7)) or w.chance(0.2)
    target = round(q.share_price_usd * (w.rng.uniform(1.1, 1.35) if upgrade else w.rng.uniform(0.7, 0.92)))
    values = {
        **person_fields(analyst, "an"),
        "dl": dateline(ctx, plan.ticker, plan.day, source),
        "broker": broker.name,
        "to": "Buy" if upgrade else "Sell",
        "from": "Hold",
        "target": f"${target:,}",
        "f_growth": Figure("revenue_growth_yoy_pct", f"{abs(q.revenue_growth_yoy_pct):.1f}%"),
        "f_gm": Figure("gross_margin_pct", f"{q.gross_margin_pct:.1f}%"),
        "updown": "up" if q.revenue_growth_yoy_pct >= 0 else "down",
    }
    w.metrics = q.key_metrics()
    title = w.fill(
        ["{broker} {verb} {short} to {to}", "{short} {verb_past} at {broker}; target {target}"],
        verb="upgrades" if upgrade else "downgrades",
        verb_past="upgraded" if upgrade else "downgraded",
        **values,
    )
    growing = q.revenue_growth_yoy_pct >= 0
    reasons = {
        (True, True): [
            "{an} wrote that revenue, up {f_growth} in the latest quarter, should keep compounding as new capacity "
            "comes online.",
            "The analyst, {an}, said gross margin of {f_gm} leaves room for upside as pricing holds.",
        ],
        (True, False): [
            "{an} wrote that with revenue down {f_growth} in the latest quarter, the slowdown looks close to a trough.",
            "The analyst, {an}, said the shares already discount the revenue decline and that a gross margin of "
            "{f_gm} is holding up better than feared.",
        ],
        (False, True): [
            "{an} said gross margin of {f_gm} looks difficult to sustain and cut estimates for next year.",
            "The analyst, {an}, argued that revenue growth of {f_growth} is set to slow as order intake weakens.",
        ],
        (False, False): [
            "{an} said revenue, down {f_growth} in the latest quarter, has further to fall.",
            "The analyst, {an}, argued that a gross margin of {f_gm} leaves little cushion if sales keep falling.",
        ],
    }
    reason = reasons[(upgrade, growing)]
    body = [
        w.fill("{dl} {broker} moved {co} ({tk}) to {to} from {from}, setting a price target of {target}.", **values),
        w.fill(reason, **values),
        w.fill(
            ["Shares {moved} {pct} in morning trading.", "The stock {moved} {pct} after the call."],
            moved="rose" if upgrade else "fell",
            pct=f"{w.rng.uniform(1, 5):.1f}%",
        ),
    ]
    return w, Rendered(title, "\n\n".join(body), source, 0.45 if upgrade else -0.45, "text")
