"""Earnings call transcripts: prepared remarks by fictional executives, then analysts' questions."""

from __future__ import annotations

from pipelines.demo_corpus.context import CorpusContext, Plan, Rendered, figures, person_fields
from pipelines.demo_corpus.news import _next_period, clamp, event_recap
from pipelines.demo_corpus.text import DocWriter, Figure, long_date, quarter_label, quarter_words, usd_compact

SOURCE = "Argus demo transcripts"

QUESTIONS = {
    "margins": [
        "Thanks for taking my question. Gross margin came in at {gm}. How should we think about the puts and takes "
        "for the next couple of quarters?",
        "Could you unpack the margin performance this quarter and how much of it you see as sustainable?",
    ],
    "demand": [
        "Can you give us some colour on demand trends by region, and whether you've seen any change in order patterns "
        "since the quarter ended?",
        "How are customers behaving right now? Are you seeing any elongation of decision cycles?",
    ],
    "capital": [
        "On capital allocation, with leverage where it is, how are you prioritising debt paydown versus buybacks?",
        "Could you update us on your capital allocation priorities for the rest of the year?",
    ],
    "guidance": [
        "The guide of {glow} to {ghigh} implies a slower sequential pace than usual. What's embedded in the low end?",
        "Can you walk us through the assumptions behind next quarter's revenue guidance?",
    ],
    "supply": [
        "How is the supply side holding up? I'm thinking about {product} from {other_short} in particular.",
        "Any update on your relationship with {other_short}? It seems an important part of the story.",
    ],
}
ANSWERS = {
    "margins": [
        "Sure. The biggest driver was {driver}. We expect some normalisation, but we think the structural "
        "improvements are largely durable.",
        "A good part of the move is mix. We'd expect margins to stay within about a point of where they are today.",
    ],
    "demand": [
        "Demand has been {demand_word}. We saw {region} improve through the quarter, and our pipeline is "
        "{pipeline_word} "
        "than a year ago.",
        "Order patterns have been consistent with what we described last quarter. We're not seeing anything unusual.",
    ],
    "capital": [
        "Our priorities haven't changed: invest in the business, maintain a strong balance sheet, and then return "
        "excess cash. Net debt to EBITDA of {lev_text} gives us flexibility.",
        "We're focused on bringing leverage down from {lev_text}; buybacks are on hold until we get closer to our "
        "target.",
    ],
    "guidance": [
        "We've taken a prudent view. The guide assumes no improvement in the macro backdrop and normal seasonality.",
        "There's nothing unusual in there. We prefer to guide to numbers we're confident we can deliver.",
    ],
    "supply": [
        "{other_short} has been a strong partner for many years on {product}. We have dual-sourcing plans, but we're "
        "comfortable with current supply.",
        "We talk to {other_short} every week. Lead times on {product} are back to normal levels.",
    ],
}
EVENT_QUESTIONS = {
    "liquidity_stress": "Can you talk about liquidity following {recap}? When do you expect to repay the revolver?",
    "downgrade": "How does {recap} change your refinancing plans and your cost of funding?",
    "default": "What is the path forward with bondholders after {recap}, and what are the options under consideration?",
    "fraud": (
        "Given {recap}, what changes have you made to internal controls, and when will restated numbers be available?"
    ),
    "litigation": "Can you update us on {recap}, and whether you have reserved for it?",
    "regulatory_action": "Any update on {recap}? What's the potential financial impact?",
}
EVENT_ANSWERS = {
    "liquidity_stress": (
        "We drew the facility to maximise flexibility. We are working with our banks and advisers and will update "
        "the market as appropriate."
    ),
    "downgrade": (
        "We were disappointed by the agency's decision. Our plan is to reduce leverage through free cash flow and "
        "selective asset sales."
    ),
    "default": (
        "We are in active discussions with an ad hoc group of holders. I won't comment further on the terms while "
        "those talks are ongoing."
    ),
    "fraud": (
        "The Audit Committee's review is ongoing. We have replaced the finance leadership in the segment and are "
        "strengthening our controls. We will file restated financials as soon as practicable."
    ),
    "litigation": (
        "We believe the claims lack merit and we'll defend ourselves vigorously. We haven't recorded a reserve "
        "because a loss is not probable and estimable at this stage."
    ),
    "regulatory_action": (
        "We're cooperating fully with the agency and have submitted a remediation plan. It's too early to quantify "
        "any penalty."
    ),
}


def earnings_transcript(ctx: CorpusContext, plan: Plan) -> tuple[DocWriter, Rendered]:
    w = ctx.writer(plan)
    q = ctx.quarter(plan.ticker, plan.period or "")
    f = figures(q, "press")
    w.metrics = {
        **q.key_metrics(),
        "next_quarter_guidance_low_musd": q.next_quarter_guidance_low_musd,
        "next_quarter_guidance_high_musd": q.next_quarter_guidance_high_musd,
    }
    up = q.revenue_growth_yoy_pct >= 0
    score = clamp(q.revenue_surprise_pct / 3 * 0.5 + q.revenue_growth_yoy_pct / 15 * 0.5)
    analysts = [person for _, person in ctx.coverage[plan.ticker]]
    firms = {person.name: broker.name for broker, person in ctx.coverage[plan.ticker]}
    values = {
        **f,
        "ql": quarter_label(q.period),
        "qw": quarter_words(q.period),
        "next_qw": quarter_words(_next_period(q.period)),
        "glow": Figure("next_quarter_guidance_low_musd", usd_compact(q.next_quarter_guidance_low_musd)),
        "ghigh": Figure("next_quarter_guidance_high_musd", usd_compact(q.next_quarter_guidance_high_musd)),
        "updown": "up" if up else "down",
        "lev_text": f"{q.net_debt_to_ebitda:.1f}x" if q.net_debt_musd >= 0 else "a net cash position",
        "call_date": long_date(plan.day),
        "driver": w.pick(("pricing", "mix", "productivity", "lower input costs", "volume leverage")),
        "demand_word": "resilient" if score >= 0 else "softer than we would like",
        "pipeline_word": "stronger" if score >= 0 else "thinner",
        "region": w.pick(("North America", "Europe", "Asia Pacific", "Latin America")),
    }
    sections = [
        w.fill("# {co} ({tk}) {ql} Earnings Call Transcript", **values),
        w.fill("**Date:** {call_date} · **Event:** {ql} results conference call", **values),
        "## Participants",
        "\n".join(
            [
                w.fill("- {ceo} — Chief Executive Officer"),
                w.fill("- {cfo} — Chief Financial Officer"),
                w.fill("- {ir} — Head of Investor Relations"),
            ]
            + [w.fill("- {an} — {firm}", **person_fields(a, "an"), firm=firms[a.name]) for a in analysts]
        ),
        "## Prepared Remarks",
        "### Operator",
        w.fill(
            [
                "Good day, and welcome to the {co} {ql} earnings conference call. All participants are in listen-only "
                "mode. I would now like to turn the call over to {ir}, Head of Investor Relations.",
                "Ladies and gentlemen, thank you for standing by, and welcome to the {short} {qw} results call. I will "
                "now hand the call to {ir}.",
            ],
            **values,
        ),
        w.fill("### {ir} — Head of Investor Relations"),
        w.fill(
            [
                "Thank you, operator. With me today are {ceo}, our Chief Executive Officer, and {cfo}, our Chief "
                "Financial Officer. Today's remarks include forward-looking statements that are subject to risks and "
                "uncertainties, and we will refer to non-GAAP measures such as EBITDA.",
                "Good afternoon, everyone. Joining me are {ceo} and {cfo}. Please note that our comments today include "
                "forward-looking statements; actual results may differ materially.",
            ],
            **values,
        ),
        w.fill("### {ceo} — Chief Executive Officer"),
    ]
    ceo_paragraphs = [
        w.fill(
            [
                "Thank you, {ir}, and good afternoon. Revenue for the {qw} was {rev}, {updown} {growth} from a year "
                "ago, " + ("and ahead of our own plan." if score > 0 else "which was below where we wanted to be."),
                "Thanks, everyone, for joining. We reported revenue of {rev} in the quarter, {updown} {growth} year "
                "over "
                "year. " + ("The team executed well." if score > 0 else "Frankly, it was a tough quarter."),
            ],
            **values,
        ),
        w.fill(
            [
                "In {industry}, customers continue to consolidate spending with scaled suppliers, and we are investing "
                "to capture that.",
                "Our priorities remain the same: serve our customers, improve productivity and allocate capital with "
                "discipline.",
                "We made progress on our cost programme and expect to see more of the benefit in the second half.",
            ],
            **values,
        ),
    ]
    recent = ctx.events_for(plan.ticker, plan.day, within_days=200)
    if recent:
        event = recent[-1]
        w.risk_events.append(event.planted("mention"))
        ceo_paragraphs.append(
            w.fill(
                "Before I hand over, I want to address {recap} directly. We understand the concern this has caused, "
                "and "
                "we are focused on resolving it.",
                recap=event_recap(ctx, event),
            )
        )
    sections.append("\n\n".join(ceo_paragraphs))
    sections.append(w.fill("### {cfo} — Chief Financial Officer"))
    cfo_parts = [
        w.fill(
            [
                "Thank you, {ceo}. Gross margin was {gm} and EBITDA was {ebitda}, a margin of {em}.",
                "Thanks. Turning to the details: gross margin came in at {gm}, and EBITDA reached {ebitda}, or {em} "
                "of revenue.",
            ],
            **values,
        ),
        w.fill("Diluted " + ("earnings" if q.eps_diluted >= 0 else "loss") + " per share was {eps}.", **values),
    ]
    if q.net_debt_musd >= 0:
        cfo_parts.append(
            w.fill(
                [
                    "We ended the quarter with net debt of {nd}, or {lev} trailing EBITDA.",
                    "Net debt stood at {nd} at quarter end, which is {lev} EBITDA on a trailing basis.",
                ],
                **values,
            )
        )
    else:
        cfo_parts.append(w.fill("We ended the quarter with net cash of {nd}.", **values))
    cfo_parts.append(
        w.fill(
            [
                "Free cash flow was " + ("{fcf}." if q.free_cash_flow_musd >= 0 else "an outflow of {fcf}."),
                "We generated "
                + ("{fcf} of free cash flow." if q.free_cash_flow_musd >= 0 else "negative free cash flow of {fcf}."),
            ],
            **values,
        )
    )
    cfo_parts.append(
        w.fill(
            [
                "For the {next_qw}, we expect revenue in the range of {glow} to {ghigh}.",
                "Looking ahead to the {next_qw}, our revenue outlook is {glow} to {ghigh}.",
            ],
            **values,
        )
    )
    if q.fy_revenue_musd is not None:
        cfo_parts.append(w.fill("For the full year, revenue totalled {fy_rev}.", **values))
    sections.append(" ".join(cfo_parts))
    sections.append("## Question-and-Answer Session")
    topics = w.some(["margins", "demand", "capital", "guidance"], 2, 3)
    supply = [link for link in ctx.links_of(plan.ticker)]
    if supply and w.chance(0.6):
        topics.append("supply")
    qa = []
    for index, topic in enumerate(topics):
        analyst = analysts[index % len(analysts)]
        extra: dict[str, object] = {}
        if topic == "supply":
            link = w.pick(supply)
            other = link.customer if link.supplier == plan.ticker else link.supplier
            extra = {"product": link.product, **ctx.names(other, "other")}
            w.relationships.append(
                {"supplier": link.supplier, "customer": link.customer, "product": link.product, "role": "mention"}
            )
        qa.append(
            _exchange(
                w,
                analyst.name,
                firms[analyst.name],
                w.pick(QUESTIONS[topic]),
                w.pick(ANSWERS[topic]),
                topic,
                values | extra,
            )
        )
    if recent:
        event = recent[-1]
        analyst = analysts[-1]
        qa.append(
            _exchange(
                w,
                analyst.name,
                firms[analyst.name],
                EVENT_QUESTIONS[event.event_type],
                EVENT_ANSWERS[event.event_type],
                "event",
                values | {"recap": event_recap(ctx, event)},
            )
        )
    sections += qa
    sections.append("### Closing Remarks")
    sections.append(
        w.fill(
            [
                "Thank you all for your questions. We look forward to speaking with you next quarter.",
                "That concludes today's call. Thank you for your participation; you may now disconnect.",
            ]
        )
    )
    title = w.fill(["{co} ({tk}) {ql} earnings call transcript", "{short} {ql} results call — transcript"], **values)
    return w, Rendered(title, "\n\n".join(sections), SOURCE, score, "markdown")


def _exchange(
    w: DocWriter, analyst: str, firm: str, question: str, answer: str, topic: str, values: dict[str, object]
) -> str:
    from pipelines.demo_corpus.text import PiiValue

    responder = "{cfo}" if topic in ("margins", "capital", "guidance", "event") else "{ceo}"
    role = "Chief Financial Officer" if responder == "{cfo}" else "Chief Executive Officer"
    person = PiiValue("person", analyst)
    return "\n\n".join(
        [
            w.fill("### {an} — {firm}", an=person, firm=firm),
            w.fill(question, **values),
            w.fill(f"### {responder} — {role}"),
            w.fill(answer, **values),
        ]
    )
