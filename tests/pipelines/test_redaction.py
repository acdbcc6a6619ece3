"""PII redaction: each detector, precision on financial numbers, the audit log, property tests."""

from __future__ import annotations

import hashlib
import hmac
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines.documents import BlockDraft, BlockKind, DocumentFormat, build_document
from pipelines.redaction import (
    PiiKind,
    RedactionPolicy,
    aba_routing_is_valid,
    find_pii,
    iban_is_valid,
    luhn_is_valid,
    redact_document,
    redact_text,
    spanish_dni_is_valid,
)
from tests.pipelines.strategies import FILLER, card_numbers, ibans, luhn_complete, property_settings

PERSONS = RedactionPolicy(redact_person_names=True)


DEFAULT = RedactionPolicy()


def kinds(text: str, policy: RedactionPolicy = DEFAULT) -> list[tuple[str, str]]:
    return [(m.kind.value, text[m.start : m.end]) for m in find_pii(text, policy)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mail jane.doe+ir@acme-corp.co.uk today", [("email", "jane.doe+ir@acme-corp.co.uk")]),
        ("Call (408) 801-1000 now", [("phone", "(408) 801-1000")]),
        ("Call 1-800-555-0199 or 212.555.0143 x204", [("phone", "1-800-555-0199"), ("phone", "212.555.0143 x204")]),
        ("London desk +44 20 7946 0958.", [("phone", "+44 20 7946 0958")]),
        ("Paris +33 1 23 45 67 89 and Berlin +49 (0)30 1234567", [("phone", "+33 1 23 45 67 89"),
                                                                  ("phone", "+49 (0)30 1234567")]),
        ("Tel: 020 7946 0958", [("phone", "020 7946 0958")]),
        ("mobile no. 0612345678", [("phone", "0612345678")]),
        ("Pay to GB82 WEST 1234 5698 7654 32 by Friday", [("iban", "GB82 WEST 1234 5698 7654 32")]),
        ("IBAN DE89370400440532013000.", [("iban", "DE89370400440532013000")]),
        ("Visa 4111 1111 1111 1111, MC 5555-5555-5555-4444", [("card", "4111 1111 1111 1111"),
                                                              ("card", "5555-5555-5555-4444")]),
        ("Amex 378282246310005 on file", [("card", "378282246310005")]),
        ("Account No. 12345678 at the bank", [("account", "12345678")]),
        ("bank account: 0012 3456 7890", [("account", "0012 3456 7890")]),
        ("routing number 021000021", [("account", "021000021")]),
        ("sort code 20-00-00 acct # 55779911", [("account", "20-00-00"), ("account", "55779911")]),
        ("SSN 123-45-6789", [("national_id", "123-45-6789")]),
        ("social security number 123 45 6789", [("national_id", "123 45 6789")]),
        ("ITIN 912-78-1234", [("national_id", "912-78-1234")]),
        ("NI number JG 10 37 59 A", [("national_id", "JG 10 37 59 A")]),
        ("NINO AB123456D", [("national_id", "AB123456D")]),
        ("SIN 130-692-544", [("national_id", "130-692-544")]),
        ("SIN: 130 692 544", [("national_id", "130 692 544")]),
        ("DNI 12345678Z", [("national_id", "12345678Z")]),
        ("NIE X1234567L", [("national_id", "X1234567L")]),
    ],
)  # fmt: skip
def test_pii_patterns_are_found(text, expected):
    assert kinds(text) == expected


# Financial text that must come through untouched: amounts, percentages, years, dates, CIK and
# SEC file numbers, accession numbers, employer ids, tickers, ratings, share counts.
FINANCIAL = [
    "Revenue was $1,234,567 in 2023, up 12.5% from $1,097,432 in 2022.",
    "Net income of $4,111,111,111,111,111 reflects a one-off gain.",
    "Total debt: 4111111111111111.50 thousand (unaudited)",
    "CIK 0001000180, Commission File Number 000-26734, accession no. 0001000180-10-000008.",
    "I.R.S. Employer Identification No. 77-0191793; ticker SNDK on NASDAQ; NYSE: DIS; BRK.B",
    "Fiscal years 2019-2023; periods ended 12/31/2023 and 2023-07-31; Q3 2023; FY2024.",
    "We repurchased 12,345,678 shares for $987.6 million at an average of $79.99.",
    "Rates rose 525 basis points (5.25%); spread +150 bps; EPS +$0.42; growth of +12 345 678 units.",
    "Notes due 2028 at 4.125%; 3,000,000,000 authorized shares; par value $0.001.",
    "Phone-free item: (123) 456 7890 is a table row; 555 1234; 2023 2022 2021 2020.",
    "Zip code 95035-7932 and Item 7A. See pages 45-67 and Note 16.",
    "Moody's rating Baa1 / S&P BBB+; SIC 3572; CUSIP 80004C101; ISIN US80004C1018.",
    "Account for 12% of revenue; accounts receivable 123,456; account balances of $5,000,000.",
    "Table: 2023 | 2022 | 2021 | 2020 followed by 4000 4500 5000 5500 units.",
]


@pytest.mark.parametrize("text", FINANCIAL)
def test_financial_numbers_are_not_redacted(text):
    assert find_pii(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "IBAN GB82 WEST 1234 5698 7654 33",  # check digits wrong
        "DE89370400440532013001",
        "Card 4111 1111 1111 1112",  # Luhn fails
        "Card 1234 5678 9012 3452",  # Luhn passes, no card network starts with 1
        "numbers 000-12-3456 and 666-12-3456",  # never issued as SSNs
        "SIN 130-692-545",  # Luhn fails
        "Units 130 692 544 in a table row",  # spaced 3-3-3 needs the SIN keyword
        "DNI 12345678A",  # wrong control letter
        "routing number 021000022",  # ABA checksum fails
        "NINO GB123456A and BG 12 34 56 C",  # prefixes never issued
    ],
)
def test_checksums_and_issuing_rules_prevent_false_positives(text):
    assert find_pii(text) == []


def test_checksum_helpers():
    assert iban_is_valid("GB82WEST12345698765432") and not iban_is_valid("GB82WEST12345698765431")
    assert iban_is_valid("NO9386011117947") and not iban_is_valid("NO938601111794")  # wrong length for NO
    assert luhn_is_valid("79927398713") and not luhn_is_valid("79927398710")
    assert aba_routing_is_valid("011000015") and not aba_routing_is_valid("011000016")
    assert spanish_dni_is_valid("12345678Z") and spanish_dni_is_valid("X1234567L")


def test_iban_is_found_even_when_the_next_word_could_extend_it():
    text = "Send to GB82 WEST 1234 5698 7654 32 THEN call."
    assert kinds(text) == [("iban", "GB82 WEST 1234 5698 7654 32")]


def test_card_inside_a_longer_digit_run_is_found():
    assert kinds("ref 12 4111 1111 1111 1111 end") == [("card", "4111 1111 1111 1111")]


def test_redaction_replaces_with_tokens_and_logs_hashes_not_values():
    text = "Contact jane@acme.com or (212) 555-0143; IBAN GB82WEST12345698765432."
    result = redact_text(text)
    assert result.text == "Contact [EMAIL] or [PHONE]; IBAN [IBAN]."
    assert [r.kind for r in result.redactions] == [PiiKind.EMAIL, PiiKind.PHONE, PiiKind.IBAN]
    for entry in result.redactions:
        value = text[entry.start : entry.end]
        assert entry.value_hash == hashlib.sha256(value.encode()).hexdigest() and entry.hash_algorithm == "sha256"
        assert result.text[entry.redacted_start : entry.redacted_end] == entry.replacement
        assert value not in repr(entry.to_dict())
    assert result.redactions[0].to_dict()["kind"] == "email" and result.redactions[0].detector == "email"


def test_keyed_hashes_resist_enumeration_of_short_values():
    policy = RedactionPolicy(hash_key=b"server-secret")
    entry = redact_text("SSN 123-45-6789", policy).redactions[0]
    assert entry.hash_algorithm == "hmac-sha256"
    assert entry.value_hash == hmac.new(b"server-secret", b"123-45-6789", hashlib.sha256).hexdigest()
    assert entry.value_hash != hashlib.sha256(b"123-45-6789").hexdigest()


def test_kinds_can_be_switched_off():
    policy = RedactionPolicy(kinds=frozenset({PiiKind.EMAIL}))
    assert redact_text("a@b.io (212) 555-0143", policy).text == "[EMAIL] (212) 555-0143"


def test_person_names_are_redacted_only_when_the_policy_says_so():
    text = "CFO Mary Johnson said revenue of $5.2 million grew 12% in 2023, Tim Cook added."
    assert redact_text(text).text == text
    redacted = redact_text(text, PERSONS)
    assert "Mary Johnson" not in redacted.text and "Tim Cook" not in redacted.text
    assert "[PERSON]" in redacted.text
    assert "$5.2 million" in redacted.text and "12%" in redacted.text and "2023" in redacted.text
    assert {r.kind for r in redacted.redactions} == {PiiKind.PERSON}


def _document():
    drafts = [
        BlockDraft(BlockKind.HEADING, "Letter from John Smith", heading_level=1),
        BlockDraft(BlockKind.PARAGRAPH, "Reach me at john.smith@fund.com or +44 20 7946 0958.", page=1),
        BlockDraft(BlockKind.TABLE, "Client | IBAN\nA | DE89 3704 0044 0532 0130 00", page=2),
        BlockDraft(BlockKind.PARAGRAPH, "Revenue: $1,234,567 (up 8.5%).", page=2),
    ]
    return build_document(
        drafts,
        format=DocumentFormat.PDF,
        title="Note for john.smith@fund.com",
        metadata={"author": "John Smith", "meta": {"description": "call +1 212 555 0143"}, "pages": 2},
    )


def test_document_redaction_covers_blocks_title_metadata_and_section_paths():
    document = _document()
    redacted = redact_document(document, PERSONS)
    out = redacted.document
    assert "john.smith@fund.com" not in out.text and "DE89" not in out.text and "7946" not in out.text
    assert out.title == "Note for [EMAIL]"
    assert out.metadata == {"author": "[PERSON]", "meta": {"description": "call [PHONE]"}, "pages": 2}
    assert out.blocks[0].text == "Letter from [PERSON]"
    assert all(block.section_path == ("Letter from [PERSON]",) for block in out.blocks)
    assert "Revenue: $1,234,567 (up 8.5%)." in out.text
    assert [b.page for b in out.blocks] == [None, 1, 2, 2]
    for block in out.blocks:
        assert out.text[block.start : block.end] == block.text
    body = [r for r in redacted.redactions if r.field == "text"]
    assert {r.kind for r in body} == {PiiKind.PERSON, PiiKind.EMAIL, PiiKind.PHONE, PiiKind.IBAN}
    for entry in body:
        original = document.text[entry.start : entry.end]
        assert hashlib.sha256(original.encode()).hexdigest() == entry.value_hash
        assert out.text[entry.redacted_start : entry.redacted_end] == entry.replacement
    fields = {r.field for r in redacted.redactions}
    assert {"title", "metadata.author", "metadata.meta.description"} <= fields
    assert redacted.counts()["email"] == 2


def test_document_redaction_without_names_keeps_them():
    out = redact_document(_document()).document
    assert out.blocks[0].text == "Letter from John Smith" and out.metadata["author"] == "John Smith"


# --- properties ---------------------------------------------------------------------------------


@given(before=FILLER, after=FILLER, email=st.emails(), iban=ibans(), card=card_numbers())
@property_settings(300)
def test_planted_email_iban_and_card_never_survive(before, after, email, iban, card):
    text = f"{before} {email} {after} {iban} {before} {card} {after}"
    redacted = redact_text(text).text
    assert email not in redacted
    assert iban not in redacted and iban.replace(" ", "") not in redacted.replace(" ", "")
    assert card not in redacted
    assert re.sub(r"\D", "", card) not in re.sub(r"\D", "", redacted)


@given(st.text(max_size=300) | FILLER)
@property_settings(300)
def test_log_reconstructs_the_input_structure(text):
    """Between redactions the output is the input verbatim, and every token sits where the log says."""
    result = redact_text(text)
    cursor_in = cursor_out = 0
    for entry in result.redactions:
        assert text[cursor_in : entry.start] == result.text[cursor_out : entry.redacted_start]
        assert result.text[entry.redacted_start : entry.redacted_end] == entry.replacement
        cursor_in, cursor_out = entry.end, entry.redacted_end
    assert text[cursor_in:] == result.text[cursor_out:]


@given(
    amount=st.integers(0, 10**15).map(lambda n: f"${n:,}"),
    percent=st.decimals(0, 1000, places=2).map(lambda d: f"{d}%"),
    year=st.integers(1990, 2035).map(str),
)
@property_settings(300)
def test_amounts_percentages_and_years_are_never_redacted(amount, percent, year):
    text = f"In fiscal {year}, revenue reached {amount}, a change of {percent} over {int(year) - 1}."
    assert redact_text(text).text == text


def test_luhn_strategy_is_consistent_with_the_checker():
    assert luhn_is_valid(luhn_complete("411111111111111"))
