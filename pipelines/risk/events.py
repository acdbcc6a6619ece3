"""Risk-event taxonomy and detection over entity-linked sentences and 8-K item codes.

Each :class:`EventType` has a base :class:`Severity` (1 low .. 4 critical) and a numeric weight
(``SEVERITY_WEIGHT``: 0.25, 0.75, 1.35, 2.4) that scoring multiplies by confidence and recency. A
departure is the one type whose severity depends on who leaves: a principal officer (CEO, CFO,
chief accounting or operating officer, president) or an exit "effective immediately" is medium
(key-person risk a risk officer watches), a director's or another officer's departure low.

Detection is regular expressions with inflection variants written out ("downgrade|downgraded|
downgrades|downgrading") rather than spaCy lemmas, so it runs in the web process and in tests
without a model. A hit is dropped when its clause negates it ("denied any wrongdoing", "no
impairment was recorded", "not in default", "the lawsuit was dismissed") and its confidence is
halved when the sentence only speculates about it ("could face bankruptcy", "the risk of a
downgrade"). One hit per event type per sentence: the most confident, then the earliest.

8-K filings name their event in the item code; :func:`map_8k_item` maps current (2004+) and
legacy (pre-2004) item numbers onto the taxonomy and routine items (results, Reg FD, other
events, exhibits, votes) onto nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum, StrEnum

from pipelines.risk.signals import SentenceSignal, event_subjects


class Severity(IntEnum):
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4


# Severity names the level one fresh, confirmed event reaches on its own at the default thresholds
# (watch 40, warning 60, critical 80; scoring.py): event_points 45 x weight is 108 raw points for
# critical (score 83.5), 60.75 for high (63.7), 33.75 for medium (43), 11.25 for low (17, under the watch
# line). Negative coverage of the event adds to that; an unconfirmed or older event counts less.
SEVERITY_WEIGHT: dict[Severity, float] = {
    Severity.LOW: 0.25,
    Severity.MEDIUM: 0.75,
    Severity.HIGH: 1.35,
    Severity.CRITICAL: 2.4,
}


class EventType(StrEnum):
    DEFAULT = "default"  # default, bankruptcy, receivership
    FRAUD_INVESTIGATION = "fraud_investigation"
    LITIGATION = "litigation"
    RATING_DOWNGRADE = "rating_downgrade"
    REGULATORY_ACTION = "regulatory_action"
    LIQUIDITY_STRESS = "liquidity_stress"
    EARNINGS_MISS = "earnings_miss"  # includes guidance cuts
    MANAGEMENT_DEPARTURE = "management_departure"
    AUDITOR_CHANGE = "auditor_change"
    RESTATEMENT = "restatement"  # includes 8-K 4.02 non-reliance
    IMPAIRMENT = "impairment"
    DELISTING = "delisting"
    SUPPLY_CHAIN_DISRUPTION = "supply_chain_disruption"
    CYBER_INCIDENT = "cyber_incident"
    # Lower-severity types that 8-K risk items (1.02, 2.05, 5.01) name.
    RESTRUCTURING = "restructuring"
    CONTRACT_TERMINATION = "contract_termination"
    CHANGE_IN_CONTROL = "change_in_control"


EVENT_SEVERITY: dict[EventType, Severity] = {
    EventType.DEFAULT: Severity.CRITICAL,
    EventType.FRAUD_INVESTIGATION: Severity.CRITICAL,
    EventType.RESTATEMENT: Severity.HIGH,
    EventType.LIQUIDITY_STRESS: Severity.HIGH,
    EventType.DELISTING: Severity.HIGH,
    EventType.REGULATORY_ACTION: Severity.HIGH,
    EventType.RATING_DOWNGRADE: Severity.MEDIUM,
    EventType.LITIGATION: Severity.MEDIUM,
    EventType.IMPAIRMENT: Severity.MEDIUM,
    EventType.AUDITOR_CHANGE: Severity.MEDIUM,
    EventType.EARNINGS_MISS: Severity.MEDIUM,
    EventType.SUPPLY_CHAIN_DISRUPTION: Severity.MEDIUM,
    EventType.CYBER_INCIDENT: Severity.MEDIUM,
    EventType.MANAGEMENT_DEPARTURE: Severity.LOW,
    EventType.RESTRUCTURING: Severity.LOW,
    EventType.CONTRACT_TERMINATION: Severity.LOW,
    EventType.CHANGE_IN_CONTROL: Severity.LOW,
}


@dataclass(frozen=True, slots=True)
class EventHit:
    """One detected risk event in one sentence, tied to the companies of that sentence."""

    event_type: EventType
    severity: Severity
    trigger_text: str
    sentence_index: int
    confidence: float
    tickers: tuple[str, ...] = ()
    article_id: str | None = None
    published_at: datetime | None = None
    evidence_text: str = ""

    @property
    def severity_weight(self) -> float:
        return SEVERITY_WEIGHT[self.severity]


@dataclass(frozen=True, slots=True)
class EventPattern:
    """A trigger for one event type; ``requires``/``excludes`` test the whole sentence."""

    event_type: EventType
    trigger: re.Pattern[str]
    confidence: float = 0.9
    requires: re.Pattern[str] | None = None
    excludes: re.Pattern[str] | None = None


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


_OFFICER_ROLE = _rx(
    r"\b(chief \w+ officer|ceo|cfo|coo|cto|president|chair(man|woman|person)?|director|officer|"
    r"general counsel|treasurer|controller|head of|founder|executive)s?\b"
)
# Who leaves decides a departure's severity: a principal officer's exit is key-person risk.
_PRINCIPAL_OFFICER = _rx(
    r"\b(chief (executive|financial|accounting|operating) officer|principal (executive|financial|accounting) "
    r"officer|ceo|cfo|coo|(?<!vice )(?<!vice-)president)\b"
)
_ABRUPT_EXIT = _rx(r"\b(effective immediately|with immediate effect|(terminated|dismissed|fired|ousted) (as|from))\b")
_AUDITOR = _rx(r"\b(auditors?|independent (registered )?(public )?account\w*|accounting firm|certifying accountant)\b")

EVENT_PATTERNS: tuple[EventPattern, ...] = (
    # default / bankruptcy
    EventPattern(
        EventType.DEFAULT,
        _rx(
            r"\b(chapter (7|11)|bankrupt(cy|cies)?|insolven(t|cy)|receivership|"
            r"default(ed|s|ing)? on|in default|(payment|debt|sovereign|technical) default|"
            # "missed a $73.8 million interest payment": an amount or a schedule word may stand in between
            r"(missed|misses|miss|missing) (a |an |its |their )?"
            r"([$\d.,]+ (million |billion )?|scheduled |semi-?annual |quarterly )?"
            r"(coupon|interest|principal|debt) payments?|"
            r"(entered|went|placed) into (administration|liquidation|receivership)|"
            r"petitions? for (relief|protection))"
        ),
    ),
    # fraud / investigation
    EventPattern(
        EventType.FRAUD_INVESTIGATION,
        _rx(
            r"\b(fraud(ulent|ulently|s)?|accounting irregularit(y|ies)|embezzl(e|ed|ement|ing)|"
            r"wrongdoing|misconduct|insider trading|bribery|brib(e|ed|es)|kickbacks?|ponzi|"
            r"indict(ed|ment|s)?|criminal (charges|probe|inquiry|investigation)|whistle-?blowers?)\b"
        ),
    ),
    EventPattern(
        EventType.FRAUD_INVESTIGATION,
        _rx(
            r"\b(investigation|investigations|investigating|investigates|investigated|probes?|probed|probing|"
            r"inquiry|inquiries|subpoena(s|ed)?|raid(ed)?)\b"
        ),
        confidence=0.7,
        requires=_rx(
            r"\b(sec|doj|fbi|justice department|department of justice|prosecutors?|regulators?|"
            r"authorities|attorney general|ftc|securities and exchange commission|police|"
            r"serious fraud office|finra|cftc|ofac)\b"
        ),
    ),
    # litigation
    EventPattern(
        EventType.LITIGATION,
        _rx(
            r"\b(class[- ]action|lawsuits?|law suits?|sued|sues|suing|litigation|"
            r"(filed|files|filing) (a |an )?(complaint|suit|claim)|antitrust (suit|case|claim)s?|"
            r"(patent|trademark|copyright) infringement|legal action|jury verdict|verdict against|"
            r"damages awarded|awarded damages)\b"
        ),
    ),
    # rating downgrade
    EventPattern(
        EventType.RATING_DOWNGRADE,
        _rx(
            r"\b(downgrad(e|ed|es|ing)|(cut|cuts|lowered|lowers|slashed) (its |the |their )?"
            r"(credit |debt |issuer |long-term |bond )?ratings?|ratings? (cut|lowered)|"
            r"(placed|put) on (credit ?watch|review for (a )?(possible )?downgrade)|"
            r"outlook (to|revised to|changed to|cut to) negative|junk (status|territory)|"
            r"below investment grade)\b"
        ),
    ),
    # regulatory action
    EventPattern(
        EventType.REGULATORY_ACTION,
        _rx(
            r"\b(fined|fines? of|civil penalt(y|ies)|penalt(y|ies) of|consent (order|decree)|"
            r"cease[- ]and[- ]desist|sanction(ed|s)?|enforcement action|warning letter|"
            r"(license|licence|permit)s? (was |were |has been )?(revoked|suspended)|settled charges|"
            r"(ordered|forced) to (halt|stop|recall|pay)|(product )?recall(s|ed|ing)?|"
            r"(banned|barred) from)\b"
        ),
    ),
    # liquidity stress
    EventPattern(
        EventType.LIQUIDITY_STRESS,
        _rx(
            r"\b(going concern|liquidity (crisis|crunch|problems?|concerns?|shortfall|squeeze)|cash crunch|"
            r"running out of cash|cash burn|covenant (breach|breaches|violation|violations|waiver)|"
            r"breach(ed|es)? (of )?(its |a |the |certain )?(debt |financial |loan )?covenants?|"
            r"waivers? from (its |the )?lenders|unable to (meet|pay|repay|refinance|service)|"
            r"accelerat(e|ed|es|ion of) (the )?(repayment|indebtedness|debt|obligations?|maturity)|"
            r"(suspend(ed|s)?|cut|cuts|eliminated|scrapped) (its |the )?dividend|"
            r"(emergency|rescue) (funding|financing|loan|capital)|"
            r"triggering events?|margin calls?|bank run)\b"
        ),
    ),
    # Drawing the whole (or most of a) revolving facility is how a borrower hoards cash it fears it will need:
    # a classic early sign of stress, weaker than a covenant breach.
    EventPattern(
        EventType.LIQUIDITY_STRESS,
        _rx(
            r"\b(drew|draws|drawn|drawing|tapped|taps|tapping)( down)? (on )?(the |its |their )?"
            r"(full|entire|remaining|whole|all of (its|the)|\$?[\d.,]+ ?(million|billion|bn|m)( of)? (its|the))? ?"
            r"(revolving (credit )?facilit(y|ies)|revolver|credit lines?|backstop facilit(y|ies))\b"
        ),
        confidence=0.6,
    ),
    # earnings miss / guidance cut
    EventPattern(
        EventType.EARNINGS_MISS,
        _rx(
            r"\b(miss(ed|es|ing)? (analysts'? |consensus |wall street |street )?(estimates|expectations|"
            r"forecasts|targets)|fell short of|falls short of|below (analysts'? |consensus |street )?"
            r"(estimates|expectations|forecasts)|(cut|cuts|cutting|lowered|lowers|lowering|reduced|reduces|"
            r"slashed|slashes|withdrew|withdraws|withdrawn|suspended|trimmed|trims) (its |their |the )?"
            r"(full[- ]year |annual |quarterly |fiscal |\d{4} |revenue |sales |earnings |profit )*"
            r"(guidance|outlook|forecasts?|projections?)|profit warnings?|warned on (profits?|earnings|sales)|"
            r"guidance cut|unexpected (loss|losses))\b"
        ),
    ),
    # management departure
    EventPattern(
        EventType.MANAGEMENT_DEPARTURE,
        _rx(
            r"\b(resign(ed|s|ing|ation|ations)?|step(ped|s|ping)? down|departure|departed|depart(s|ing)?|"
            r"(fired|ousted|terminated|dismissed|removed) (as|from)|left the (company|board|firm)|"
            r"will (leave|retire)|(to|will|would) retire|retire(d|s)|"
            r"retirement(?! (benefits?|plans?|savings|income|accounts?|and compensation|committee))|"
            r"abrupt(ly)? (exit|left))\b"
        ),
        confidence=0.85,
        requires=_OFFICER_ROLE,
        excludes=_AUDITOR,
    ),
    # auditor change
    EventPattern(
        EventType.AUDITOR_CHANGE,
        _rx(
            r"\b(resign(ed|s|ation)?|dismiss(ed|es|al)?|replac(e|ed|es|ing)|chang(e|ed|es) (in|of)|"
            r"engag(e|ed|es|ement of) (a )?new|declin(ed|es) to stand for re-?election|"
            r"terminat(ed|es|ion of) (the |its )?engagement)\b"
        ),
        confidence=0.85,
        requires=_AUDITOR,
    ),
    # restatement / non-reliance
    EventPattern(
        EventType.RESTATEMENT,
        _rx(
            r"\b(restat(e|ed|es|ing|ement|ements) (of )?(its |the |our |their |certain |previously (issued|reported) |"
            r"prior[- ](period|year) |historical |quarterly |annual |fiscal |\d{4} )*(financial|results|earnings|"
            r"revenues?|figures|statements|accounts|balance sheets?|profits?)|(financial statements|results|earnings|"
            r"revenues?) (will |would |must |to )?(be |were |was |have been |had been )?restated|"
            r"non-?reliance|should no longer be relied upon|material weakness(es)?|"
            r"inconsistent with generally accepted accounting principles)\b"
        ),
        # Recasting prior periods for a discontinued operation is presentation, not an error.
        excludes=_rx(r"\b(restated|recast) to reflect\b|\bdiscontinued operations?\b"),
    ),
    # impairment
    EventPattern(
        EventType.IMPAIRMENT,
        _rx(
            r"\b(impairments?|impaired|write-?downs?|writedowns?|wr(ote|ite|ites|itten) down|"
            r"write-?offs?|wr(ote|ite|ites|itten) off)\b"
        ),
    ),
    # delisting
    EventPattern(
        EventType.DELISTING,
        _rx(
            r"\b(delist(ed|ing|s)?|de-list(ed|ing)?|continued listing|minimum bid price|"
            r"(notice|letter) of (non-?compliance|delisting)|deficiency (letter|notice)|"
            r"suspended from trading|trading (halt|halted|suspension|suspended))\b"
        ),
    ),
    # supply-chain disruption
    EventPattern(
        EventType.SUPPLY_CHAIN_DISRUPTION,
        _rx(
            r"\b(supply[- ]chain (disruptions?|problems?|issues?|constraints?|shortages?|bottlenecks?)|"
            r"(parts|chip|component|semiconductor|raw material|material) shortages?|shortages? of|"
            r"(halted|halts|suspended|suspends|stopped|stops|shut down|shuts down|idled|idles) "
            r"(production|operations|shipments|output|manufacturing|(a |its |the )?(plant|factory|factories|"
            r"plants|line|lines))|(plant|factory) (closure|shutdown|fire|explosion|outage)|force majeure|"
            r"disrupt(ed|ion|ions|s)? (to |of |in )?(its |the )?(supply|supplies|production|shipments|deliveries))\b"
        ),
    ),
    # cyber incident
    EventPattern(
        EventType.CYBER_INCIDENT,
        _rx(
            r"\b(cyber[- ]?(attacks?|security incidents?|incidents?|breach(es)?|intrusions?)|data breach(es)?|"
            r"ransomware|hack(ed|ers?)|security breach(es)?|unauthori[sz]ed access|malware|"
            r"breach of (its|our|the company's) (systems|network|networks))\b"
        ),
    ),
    # restructuring
    EventPattern(
        EventType.RESTRUCTURING,
        _rx(
            r"\b(restructuring|layoffs?|lay(ing|s)? off|laid off|job cuts|cut(ting|s)? (\d[\d,]* )?jobs|"
            r"exit or disposal|workforce reduction|reduction in (force|workforce)|plant closures?)\b"
        ),
        confidence=0.8,
    ),
    # contract termination
    EventPattern(
        EventType.CONTRACT_TERMINATION,
        _rx(
            r"\b(terminat(ed|es|ing|ion of) (the |its |a |their )?(material |supply |license |licensing |"
            r"distribution |merger |purchase |customer )?(definitive )?(agreements?|contracts?)|"
            r"cancel(l?ed|s|ling|lation of) (the |its |a |their )?(contract|order|agreement)s?)\b"
        ),
        confidence=0.7,
    ),
    # change in control
    EventPattern(
        EventType.CHANGE_IN_CONTROL,
        _rx(r"\b(change (in|of) control|hostile (takeover|bid|tender offer)|acquired control)\b"),
        confidence=0.7,
    ),
)

# A negation in the same clause, at most this many words before the trigger, cancels it.
NEGATION_WINDOW_WORDS = 5
# A speculation cue anywhere earlier in the sentence halves the confidence.
HEDGE_FACTOR = 0.5

_NEGATION_BEFORE = _rx(
    r"\b(no|not|never|without|neither|nor|none|deny|denies|denied|denying|rejects?|rejected|refuted|"
    r"disputes?|disputed|cannot|free of|absence of|ruled out|rules out|avoid|avoids|avoided|averted|"
    r"averts?|no longer|dismissed allegations of|clear(ed)? of)\b|n't\b"
)
_NEGATION_AFTER = _rx(
    r"^\W*(\w+\W+){0,4}?(was|were|has been|have been|is|are|had been)\s+"
    r"(not\s+(found|recorded|required|identified|necessary|expected|material)|avoided|averted|ruled out|"
    r"dismissed|dropped|withdrawn|closed without|settled without|resolved)\b"
)
_HEDGE = _rx(
    r"\b(may|might|could|would|potential(ly)?|possible|possibly|risk of|risks|if|whether|speculat\w*|"
    r"rumou?r\w*|fears? of|fear|threat of|unless|should|hypothetical\w*|in the event of|upon the occurrence|"
    r"in the case of|events? of|subject to|customary)\b"
)
# Contract and safe-harbour boilerplate names every bad event without reporting one.
_BOILERPLATE = _rx(
    r"\b(forward-looking|could cause actual|differ materially|risk factors|events? of default|"
    r"securities litigation reform act|indemnif(y|ies|ied|ication)|including,? but not limited to|"
    r"amended and restated|uncertaint(y|ies)|indebtedness for (money )?borrowed|"
    # Expense lists of non-GAAP reconciliations and employment-contract definitions.
    r"non-gaap|adjusted (ebitda|earnings|eps|net income|operating)|items such as|included in these expenses|"
    r"terminable|as defined in|good reason|for cause|gross misconduct)\b"
)
BOILERPLATE_FACTOR = 0.2
_CLAUSE_BREAK = re.compile(r"[;:.!?,()]|\b(but|although|though|however|while|whereas)\b", re.IGNORECASE)
_WORD = re.compile(r"[\w'\u2019-]+")


def _clause_before(text: str, start: int) -> str:
    head = text[:start]
    breaks = list(_CLAUSE_BREAK.finditer(head))
    return head[breaks[-1].end() :] if breaks else head


def _clause_after(text: str, end: int) -> str:
    tail = text[end:]
    found = _CLAUSE_BREAK.search(tail)
    return tail[: found.start()] if found else tail


def trigger_confidence(text: str, start: int, end: int, base: float) -> float:
    """Confidence of a trigger at ``text[start:end]``: 0 when negated, halved when hedged, a fifth
    in contract or safe-harbour boilerplate."""
    clause_head = _clause_before(text, start)
    near_words = _WORD.findall(clause_head)[-NEGATION_WINDOW_WORDS:]
    if _NEGATION_BEFORE.search(" ".join(near_words)):
        return 0.0
    if _NEGATION_AFTER.search(_clause_after(text, end)):
        return 0.0
    # Speculation colours the whole sentence before the trigger, not only its clause.
    confidence = base * HEDGE_FACTOR if _HEDGE.search(text[:start]) else base
    if _BOILERPLATE.search(text):
        confidence *= BOILERPLATE_FACTOR
    return confidence


def severity_of(event_type: EventType, evidence_text: str) -> Severity:
    """The severity of one hit: the type's own, except a departure, which depends on who leaves."""
    if event_type is EventType.MANAGEMENT_DEPARTURE and (
        _PRINCIPAL_OFFICER.search(evidence_text) or _ABRUPT_EXIT.search(evidence_text)
    ):
        return Severity.MEDIUM
    return EVENT_SEVERITY[event_type]


def detect_events_in_text(text: str, sentence_index: int = 0) -> list[EventHit]:
    """Event hits in one sentence, one per event type, most severe first."""
    best: dict[EventType, tuple[float, int, str]] = {}
    for spec in EVENT_PATTERNS:
        if spec.requires is not None and not spec.requires.search(text):
            continue
        if spec.excludes is not None and spec.excludes.search(text):
            continue
        for match in spec.trigger.finditer(text):
            confidence = trigger_confidence(text, match.start(), match.end(), spec.confidence)
            if confidence <= 0.0:
                continue
            candidate = (confidence, -match.start(), match.group(0))
            current = best.get(spec.event_type)
            if current is None or candidate[:2] > current[:2]:
                best[spec.event_type] = candidate
    hits = [
        EventHit(
            event_type=event_type,
            severity=severity_of(event_type, text),
            trigger_text=trigger,
            sentence_index=sentence_index,
            confidence=confidence,
            evidence_text=text,
        )
        for event_type, (confidence, _, trigger) in best.items()
    ]
    return sorted(hits, key=lambda hit: (-hit.severity, hit.event_type.value))


def detect_events(signal: SentenceSignal) -> list[EventHit]:
    """Event hits of one entity-linked sentence, tied to its article, date and the companies the
    event happens to (:func:`~pipelines.risk.signals.event_subjects`)."""
    subjects = event_subjects(signal)
    return [
        EventHit(
            event_type=hit.event_type,
            severity=hit.severity,
            trigger_text=hit.trigger_text,
            sentence_index=signal.sentence_index,
            confidence=hit.confidence,
            tickers=subjects,
            article_id=signal.article_id,
            published_at=signal.published_at,
            evidence_text=signal.text,
        )
        for hit in detect_events_in_text(signal.text, signal.sentence_index)
    ]


# ---------------------------------------------------------------------------------------- 8-K items


@dataclass(frozen=True, slots=True)
class EightKItemRule:
    """What an 8-K item code says. ``definitive``: filing the item is itself the event (4.02
    non-reliance); otherwise the text must confirm it (5.02 covers appointments as well as
    departures)."""

    event_type: EventType
    definitive: bool
    title: str


EIGHT_K_ITEM_RULES: dict[str, EightKItemRule] = {
    "1.02": EightKItemRule(EventType.CONTRACT_TERMINATION, False, "Termination of a material definitive agreement"),
    "1.03": EightKItemRule(EventType.DEFAULT, True, "Bankruptcy or receivership"),
    "1.05": EightKItemRule(EventType.CYBER_INCIDENT, True, "Material cybersecurity incident"),
    "2.04": EightKItemRule(EventType.LIQUIDITY_STRESS, True, "Triggering events that accelerate an obligation"),
    "2.05": EightKItemRule(EventType.RESTRUCTURING, True, "Costs associated with exit or disposal activities"),
    "2.06": EightKItemRule(EventType.IMPAIRMENT, True, "Material impairments"),
    "3.01": EightKItemRule(EventType.DELISTING, True, "Notice of delisting or failure to satisfy a listing rule"),
    "4.01": EightKItemRule(EventType.AUDITOR_CHANGE, True, "Change in certifying accountant"),
    "4.02": EightKItemRule(EventType.RESTATEMENT, True, "Non-reliance on previously issued financial statements"),
    "5.01": EightKItemRule(EventType.CHANGE_IN_CONTROL, True, "Change in control of registrant"),
    "5.02": EightKItemRule(EventType.MANAGEMENT_DEPARTURE, False, "Departure of directors or certain officers"),
}
# Pre-2004 8-K numbering (items 1-12): 1 change in control, 3 bankruptcy, 4 auditor change,
# 6 director resignation; 2 acquisitions, 5 other events, 7 exhibits, 8 fiscal year, 9 Reg FD,
# 10 ethics code, 11 blackout periods, 12 results carry no event.
LEGACY_8K_ITEM_RULES: dict[str, EightKItemRule] = {
    "1": EightKItemRule(EventType.CHANGE_IN_CONTROL, True, "Changes in control of registrant (legacy item 1)"),
    "3": EightKItemRule(EventType.DEFAULT, True, "Bankruptcy or receivership (legacy item 3)"),
    "4": EightKItemRule(EventType.AUDITOR_CHANGE, True, "Changes in certifying accountant (legacy item 4)"),
    "6": EightKItemRule(EventType.MANAGEMENT_DEPARTURE, True, "Resignation of directors (legacy item 6)"),
}
# Routine items: documented here so a reader sees they were considered, not forgotten.
ROUTINE_8K_ITEMS: frozenset[str] = frozenset(
    {"1.01", "1.04", "2.01", "2.02", "2.03", "3.02", "3.03", "5.03", "5.04", "5.05", "5.06", "5.07", "5.08"}
    | {"6.01", "6.02", "6.03", "6.04", "6.05", "7.01", "8.01", "9.01"}
)
# Confidence of a non-definitive item whose text does not confirm the event.
UNCONFIRMED_ITEM_CONFIDENCE = 0.3


def _normalise_item_code(item_code: str) -> str:
    code = item_code.strip().lower().removeprefix("item").strip().rstrip(".")
    if re.fullmatch(r"\d+\.\d+", code):
        major, minor = code.split(".")
        return f"{int(major)}.{minor.ljust(2, '0')}"
    return code


def map_8k_item(item_code: str) -> EightKItemRule | None:
    """The taxonomy entry of an 8-K item code ("4.02", "Item 5.02", legacy "3"), or None.

    Codes without a dot are read as pre-2004 item numbers.
    """
    code = _normalise_item_code(item_code)
    if "." in code:
        return EIGHT_K_ITEM_RULES.get(code)
    return LEGACY_8K_ITEM_RULES.get(code)


_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\u201c\"])|\n+")


_ITEM_HEADING = re.compile(r"^item\s+\d", re.IGNORECASE)


def split_sentences(text: str) -> list[str]:
    """A plain sentence split for filing text when no NLP sentence splitter ran."""
    return [part.strip() for part in _SENTENCE_SPLIT.split(text) if part.strip()]


def events_from_8k_item(
    item_code: str,
    text: str = "",
    *,
    article_id: str | None = None,
    published_at: datetime | None = None,
    tickers: tuple[str, ...] = (),
) -> list[EventHit]:
    """The event an 8-K item names (empty list for routine items).

    Confidence is 1.0 for a definitive item or when a sentence of ``text`` confirms the event
    type, else ``UNCONFIRMED_ITEM_CONFIDENCE``. The evidence is the first confirming sentence,
    else the first sentence of the item.
    """
    rule = map_8k_item(item_code)
    if rule is None:
        return []
    # The item heading ("Item 5.02 Departure of Directors ...") repeats the title, not the facts.
    sentences = [sentence for sentence in split_sentences(text) if not _ITEM_HEADING.match(sentence)]
    confirming = next(
        (
            (index, sentence)
            for index, sentence in enumerate(sentences)
            if any(hit.event_type is rule.event_type for hit in detect_events_in_text(sentence, index))
        ),
        None,
    )
    if confirming is None:
        confidence = 1.0 if rule.definitive else UNCONFIRMED_ITEM_CONFIDENCE
        index, evidence = 0, (sentences[0] if sentences else rule.title)
    else:
        confidence = 1.0
        index, evidence = confirming
    return [
        EventHit(
            event_type=rule.event_type,
            # An unconfirmed item says nothing about who left: the type's own severity.
            severity=severity_of(rule.event_type, evidence) if confirming else EVENT_SEVERITY[rule.event_type],
            trigger_text=f"8-K item {_normalise_item_code(item_code)}: {rule.title}",
            sentence_index=index,
            confidence=confidence,
            tickers=tickers,
            article_id=article_id,
            published_at=published_at,
            evidence_text=evidence,
        )
    ]
