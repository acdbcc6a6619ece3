"""Risk-event detection: triggers, negation, speculation, subjects, and the 8-K item mapping."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from pipelines.risk.events import (
    EVENT_SEVERITY,
    ROUTINE_8K_ITEMS,
    UNCONFIRMED_ITEM_CONFIDENCE,
    EventType,
    Severity,
    detect_events,
    detect_events_in_text,
    events_from_8k_item,
    map_8k_item,
    split_sentences,
)
from tests.pipelines.risk.factories import sentence, shared_data_dir


def types_in(text: str) -> set[EventType]:
    return {hit.event_type for hit in detect_events_in_text(text)}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Acme filed for Chapter 11 bankruptcy protection on Monday.", EventType.DEFAULT),
        ("Acme missed an interest payment on its 2029 notes.", EventType.DEFAULT),
        ("Acme missed a $73.8 million interest payment on its 6.125% notes.", EventType.DEFAULT),
        ("Acme missed its scheduled coupon payment.", EventType.DEFAULT),
        ("Acme misses interest payment on 2028 notes.", EventType.DEFAULT),
        ("The SEC opened an investigation into Acme's revenue recognition.", EventType.FRAUD_INVESTIGATION),
        ("Prosecutors indicted two Acme executives for fraud.", EventType.FRAUD_INVESTIGATION),
        ("Shareholders filed a class action lawsuit against Acme.", EventType.LITIGATION),
        ("Moody's downgraded Acme to junk status.", EventType.RATING_DOWNGRADE),
        ("S&P cut its credit rating on Acme to BB.", EventType.RATING_DOWNGRADE),
        ("Regulators fined Acme $40 million under a consent order.", EventType.REGULATORY_ACTION),
        (
            "Auditors raised substantial doubt about Acme's ability to continue as a going concern.",
            EventType.LIQUIDITY_STRESS,
        ),
        ("Acme breached the financial covenants of its credit facility.", EventType.LIQUIDITY_STRESS),
        ("Acme slashed its full-year guidance.", EventType.EARNINGS_MISS),
        ("Quarterly revenue missed analysts' estimates.", EventType.EARNINGS_MISS),
        ("Acme's chief financial officer resigned effective immediately.", EventType.MANAGEMENT_DEPARTURE),
        ("The CEO stepped down after six years.", EventType.MANAGEMENT_DEPARTURE),
        (
            "Acme dismissed Ernst & Young LLP as its independent registered public accounting firm.",
            EventType.AUDITOR_CHANGE,
        ),
        ("Acme will restate its financial statements for 2023 and 2024.", EventType.RESTATEMENT),
        ("Acme recorded a goodwill impairment of $1.2 billion.", EventType.IMPAIRMENT),
        ("Acme wrote down the value of its retail division.", EventType.IMPAIRMENT),
        ("Nasdaq sent Acme a delisting notice after its stock fell below the minimum bid price.", EventType.DELISTING),
        ("A fire at a key plant halted production for three weeks.", EventType.SUPPLY_CHAIN_DISRUPTION),
        ("A ransomware attack shut Acme's ordering systems.", EventType.CYBER_INCIDENT),
        ("Acme disclosed a data breach affecting 3 million customers.", EventType.CYBER_INCIDENT),
    ],
)
def test_trigger_detects_its_event_type(text: str, expected: EventType) -> None:
    assert expected in types_in(text)


@pytest.mark.parametrize(
    ("text", "event_type"),
    [
        ("The company denied any wrongdoing.", EventType.FRAUD_INVESTIGATION),
        ("No impairment was recorded in the quarter.", EventType.IMPAIRMENT),
        ("The company did not record any goodwill impairment.", EventType.IMPAIRMENT),
        ("Acme is not in default under any of its agreements.", EventType.DEFAULT),
        ("Acme avoided bankruptcy after lenders agreed to extend the loan.", EventType.DEFAULT),
        ("The lawsuit was dismissed by a federal judge.", EventType.LITIGATION),
        ("Acme said it never received a delisting notice.", EventType.DELISTING),
        ("An impairment was not required after the annual test.", EventType.IMPAIRMENT),
    ],
)
def test_negated_event_does_not_fire(text: str, event_type: EventType) -> None:
    assert event_type not in types_in(text)


def test_negation_only_reaches_its_own_clause() -> None:
    hits = detect_events_in_text("The company denied wrongdoing, but the SEC opened an investigation into fraud.")
    assert EventType.FRAUD_INVESTIGATION in {hit.event_type for hit in hits}


def test_speculation_lowers_confidence() -> None:
    [stated] = detect_events_in_text("Acme filed for bankruptcy.")
    [speculative] = detect_events_in_text("Analysts said Acme could file for bankruptcy if talks fail.")
    assert speculative.confidence < stated.confidence


def test_contract_boilerplate_lowers_confidence() -> None:
    boilerplate = "Events of default include bankruptcy, insolvency and failure to pay principal."
    assert all(hit.confidence < 0.5 for hit in detect_events_in_text(boilerplate))


def test_one_hit_per_type_per_sentence_with_severity_from_the_taxonomy() -> None:
    hits = detect_events_in_text("Acme filed for bankruptcy; its bankruptcy petition lists $2 billion of debt.")
    assert [hit.event_type for hit in hits] == [EventType.DEFAULT]
    assert hits[0].severity is Severity.CRITICAL is EVENT_SEVERITY[EventType.DEFAULT]


def test_officer_departure_needs_an_officer_and_is_not_an_auditor_resignation() -> None:
    assert EventType.MANAGEMENT_DEPARTURE not in types_in("Acme retired $500 million of notes.")
    auditor = "Deloitte resigned as the independent registered public accounting firm of the Company."
    assert types_in(auditor) == {EventType.AUDITOR_CHANGE}


@pytest.mark.parametrize(
    ("text", "severity"),
    [
        ("Acme announced that its Chief Financial Officer, Jane Roe, will step down next month.", Severity.MEDIUM),
        ("John Doe resigned as President and Chief Executive Officer of Acme.", Severity.MEDIUM),
        ("Mr. Smith was removed as Senior Vice President, Sales, effective immediately.", Severity.MEDIUM),
        ("Kathleen Bader tendered her resignation as a director of the Company.", Severity.LOW),
        (
            "Brad Anderson, Executive Vice President, Hybrid Cloud, informed the Company of his intent to retire.",
            Severity.LOW,
        ),
    ],
)
def test_a_departures_severity_depends_on_who_leaves(text: str, severity: Severity) -> None:
    [hit] = [h for h in detect_events_in_text(text) if h.event_type is EventType.MANAGEMENT_DEPARTURE]
    assert hit.severity is severity


def test_an_8k_departure_takes_the_severity_of_its_confirming_sentence_and_an_unconfirmed_one_the_types() -> None:
    cfo = "Item 5.02 Departure of Directors. On May 2, 2022, the Company's CFO resigned, effective immediately."
    [hit] = events_from_8k_item("5.02", cfo)
    assert hit.severity is Severity.MEDIUM and hit.confidence == 1.0
    appointment = "Item 5.02. On May 2, 2022, the Board appointed Jane Roe as Chief Financial Officer."
    [hit] = events_from_8k_item("5.02", appointment)
    assert hit.severity is Severity.LOW and hit.confidence == UNCONFIRMED_ITEM_CONFIDENCE


def test_hit_is_tied_to_article_date_and_the_company_it_happens_to() -> None:
    signal = sentence("SUPX, a key supplier to CUST, filed for Chapter 11.", ("SUPX", "CUST"), article_id="n7")
    [hit] = detect_events(signal)
    assert (hit.article_id, hit.published_at, hit.sentence_index) == ("n7", signal.published_at, 0)
    assert hit.tickers == ("SUPX",)
    [owned] = detect_events(sentence("CUST's largest supplier SUPX defaulted on its bonds.", ("CUST", "SUPX")))
    assert owned.tickers == ("SUPX",)
    [both] = detect_events(sentence("AAA and BBB were sued by the FTC.", ("AAA", "BBB")))
    assert both.tickers == ("AAA", "BBB")


# ------------------------------------------------------------------------------------------ 8-K


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("1.03", EventType.DEFAULT),
        ("2.06", EventType.IMPAIRMENT),
        ("3.01", EventType.DELISTING),
        ("4.01", EventType.AUDITOR_CHANGE),
        ("4.02", EventType.RESTATEMENT),
        ("5.02", EventType.MANAGEMENT_DEPARTURE),
        ("2.04", EventType.LIQUIDITY_STRESS),
        ("1.05", EventType.CYBER_INCIDENT),
        ("Item 4.02.", EventType.RESTATEMENT),
        ("3", EventType.DEFAULT),  # legacy (pre-2004) bankruptcy item
        ("4", EventType.AUDITOR_CHANGE),  # legacy auditor change
    ],
)
def test_8k_risk_items_map_to_the_taxonomy(code: str, expected: EventType) -> None:
    rule = map_8k_item(code)
    assert rule is not None and rule.event_type is expected


@pytest.mark.parametrize("code", ["2.02", "7.01", "8.01", "9.01", "5.07", "1.01", "5.03", "7", "12", "5"])
def test_routine_8k_items_map_to_no_event(code: str) -> None:
    assert map_8k_item(code) is None
    assert events_from_8k_item(code, "The Company issued a press release announcing results.") == []


def test_8k_appointment_only_item_is_unconfirmed_and_departure_is_confirmed() -> None:
    appointment = "Item 5.02 Departure of Directors.\nOn May 1, the Board appointed Jane Roe as a director."
    departure = "Item 5.02 Departure of Directors.\nOn May 1, John Doe resigned as Chief Financial Officer."
    [weak] = events_from_8k_item("5.02", appointment)
    [strong] = events_from_8k_item("5.02", departure, article_id="f1", tickers=("ACME",))
    assert weak.confidence == UNCONFIRMED_ITEM_CONFIDENCE
    assert strong.confidence == 1.0 and strong.tickers == ("ACME",) and "resigned" in strong.evidence_text
    [definitive] = events_from_8k_item("4.02", "")
    assert definitive.confidence == 1.0


@pytest.mark.shared_data
def test_real_8k_items_risk_relevant_map_to_events_and_routine_do_not() -> None:
    path = shared_data_dir() / "sec_8k_events" / "sec_8k_items.jsonl"
    if not path.exists():
        pytest.skip(f"shared data not found at {path} (set ARGUS_SHARED_DATA to the shared/data folder)")
    with path.open(encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    relevant = [row for row in rows if row["risk_relevant"]]
    routine = [row for row in rows if row["item"] in ROUTINE_8K_ITEMS]
    mapped = [row for row in relevant if map_8k_item(row["item"]) is not None]
    confirmed = [row for row in relevant if events_from_8k_item(row["item"], row["text"])[0].confidence == 1.0]
    routine_mapped = [row for row in routine if map_8k_item(row["item"]) is not None]
    # Sentence-level detector on routine items: a false-alarm rate on real filing prose.
    sentences = [s for row in routine for s in split_sentences(row["text"])]
    confident = Counter(
        hit.event_type.value for s in sentences for hit in detect_events_in_text(s) if hit.confidence >= 0.5
    )
    print(
        f"\n8-K items: {len(rows)}; risk_relevant {len(relevant)}, mapped to an event {len(mapped)} "
        f"({len(mapped) / len(relevant):.1%}), text-confirmed {len(confirmed)}; routine {len(routine)}, "
        f"mapped {len(routine_mapped)}; routine sentences {len(sentences)}, with a confident text hit "
        f"{sum(confident.values())} ({sum(confident.values()) / len(sentences):.2%}): {dict(confident.most_common(5))}"
    )
    assert len(mapped) / len(relevant) >= 0.9
    assert routine_mapped == []
    assert sum(confident.values()) / len(sentences) < 0.02


@pytest.mark.parametrize(
    "text",
    [
        "Dow drew $3.65bn of its revolving credit facility on Tuesday.",
        "The company drew down its entire revolving credit facility.",
        "Acme tapped its revolver as cash dwindled.",
    ],
)
def test_drawing_a_revolver_is_liquidity_stress(text):
    hits = detect_events_in_text(text)
    assert [h.event_type for h in hits] == [EventType.LIQUIDITY_STRESS]
    assert hits[0].confidence < 0.9  # an early sign, weaker than a covenant breach


@pytest.mark.parametrize(
    "text",
    [
        "The company has an undrawn revolving credit facility of $2 billion.",
        "Acme did not draw on its revolving credit facility.",
        "Acme amended its revolving credit facility to extend the maturity.",
    ],
)
def test_having_or_amending_a_revolver_is_not(text):
    assert detect_events_in_text(text) == []
