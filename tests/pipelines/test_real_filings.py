"""Redaction precision and the whole pipeline on real 10-K text from ../shared/data (read in place)."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from pipelines.chunking import ChunkingOptions
from pipelines.ingest import IngestOptions, ingest_bytes
from pipelines.redaction import RedactionPolicy, redact_text

pytestmark = pytest.mark.shared_data

AMOUNT = re.compile(r"\$\s?\d[\d,]*(?:\.\d+)?(?:\s(?:million|billion|thousand))?")
PERCENT = re.compile(r"\d+(?:\.\d+)?\s?%")
YEAR = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")
DATE = re.compile(r"\b(?:January|February|March|April|May|June|July|August|September|October|November|December)"
                  r" \d{1,2}, (?:19|20)\d{2}")  # fmt: skip

PLANTED = {
    "email": "ir.contact@example-fund.com",
    "phone": "+1 (212) 555-0143",
    "iban": "GB82 WEST 1234 5698 7654 32",
    "card": "4111 1111 1111 1111",
    "ssn": "219-09-9999",
    "nino": "JG 10 37 59 A",
    "account": "Account No. 000123456789",
}


def financial_tokens(text: str) -> Counter:
    found: Counter = Counter()
    for pattern in (AMOUNT, PERCENT, YEAR, DATE):
        found.update(match.group() for match in pattern.finditer(text))
    return found


def items(filings: list[dict], key: str, minimum: int = 2000, limit: int = 10) -> list[tuple[dict, str]]:
    chosen = [(filing, filing[key]) for filing in filings if len(filing.get(key) or "") >= minimum]
    return chosen[:limit]


def plant(text: str, filing: dict) -> str:
    """PII sentences between paragraphs, plus the filing's own identifiers (which must survive)."""
    paragraphs = text.split("\n")
    step = max(1, len(paragraphs) // (len(PLANTED) + 1))
    for offset, value in enumerate(PLANTED.values(), start=1):
        paragraphs.insert(min(len(paragraphs), offset * step + offset - 1), f"For questions contact {value} today.")
    identifiers = (
        f"Registrant CIK {filing['cik']}, SIC {filing['sic']}, filed {filing['filing_date']} for the period "
        f"ended {filing['period_of_report']}; ticker {filing.get('ticker') or 'N/A'}."
    )
    return "\n".join([identifiers, *paragraphs])


@pytest.mark.parametrize("key", ["item_7", "item_1", "item_8"])
def test_amounts_percentages_years_and_dates_survive_redaction_of_real_filings(sec_10k_filings, key):
    checked = 0
    for filing, text in items(sec_10k_filings, key):
        expected = financial_tokens(text)
        result = redact_text(text)
        assert financial_tokens(result.text) == expected, filing["company"]
        # Whatever was redacted in unplanted filing text must not overlap a financial number.
        for entry in result.redactions:
            for pattern in (AMOUNT, PERCENT, YEAR):
                for match in pattern.finditer(text, max(0, entry.start - 20), entry.end + 20):
                    assert match.end() <= entry.start or match.start() >= entry.end, (filing["company"], entry)
        checked += sum(expected.values())
    assert checked > 500  # the sample really contains numbers


def test_planted_pii_is_removed_from_real_filings_while_numbers_and_identifiers_stay(sec_10k_filings):
    for filing, text in items(sec_10k_filings, "item_7", limit=6):
        planted = plant(text, filing)
        result = redact_text(planted)
        for value in PLANTED.values():
            assert value.split("No. ")[-1] not in result.text, (filing["company"], value)
        assert financial_tokens(result.text) == financial_tokens(planted)
        assert f"CIK {filing['cik']}" in result.text and filing["filing_date"] in result.text
        if filing.get("ticker"):
            assert f"ticker {filing['ticker']}" in result.text
        tokens = Counter(re.findall(r"\[[A-Z_]+\]", result.text))
        assert tokens["[EMAIL]"] >= 1 and tokens["[PHONE]"] >= 1 and tokens["[IBAN]"] == 1
        assert tokens["[CARD]"] == 1 and tokens["[NATIONAL_ID]"] >= 2 and tokens["[ACCOUNT]"] == 1


def test_person_name_policy_on_real_text_keeps_every_number(sec_10k_filings):
    policy = RedactionPolicy(redact_person_names=True)
    for filing, text in items(sec_10k_filings, "item_10", minimum=1500, limit=2) + items(
        sec_10k_filings, "item_7A", limit=1
    ):
        text = text[:15_000]  # NER costs about a second per 50k characters on one core
        result = redact_text(text, policy)
        assert financial_tokens(result.text) == financial_tokens(text), filing["company"]


def test_real_items_ingest_end_to_end_as_a_jsonl_batch(sec_10k_filings, minilm):
    chosen = items(sec_10k_filings, "item_7", limit=4)
    lines = [
        json.dumps({"text": plant(text, filing), "company": filing["company"], "ticker": filing.get("ticker"),
                    "type": "filing", "date": filing["filing_date"], "title": f"{filing['company']} 10-K Item 7"})
        for filing, text in chosen
    ]  # fmt: skip
    result = ingest_bytes("\n".join(lines).encode(), filename="items.jsonl", tokenizer=minilm)
    assert len(result.documents) == len(chosen) and not result.errors
    for ingested, (filing, _) in zip(result.documents, chosen, strict=True):
        document = ingested.document
        assert document.metadata["company"] == filing["company"]
        assert ingested.redaction_counts["iban"] == 1 and ingested.redaction_counts["card"] == 1
        joined = "\n".join(chunk.text for chunk in ingested.chunks)
        for value in PLANTED.values():
            assert value.split("No. ")[-1] not in joined
        # Every amount and percentage of the redacted document is in some chunk, whole.
        for token in financial_tokens(document.text):
            assert token in joined
        assert all(chunk.token_count <= 256 for chunk in ingested.chunks)
        assert all(document.text[c.start : c.end] == c.text for c in ingested.chunks)
        assert len({c.chunk_id for c in ingested.chunks}) == len(ingested.chunks)


def test_small_chunk_bound_on_real_text(sec_10k_filings, minilm):
    _, text = items(sec_10k_filings, "item_1A", limit=1)[0]
    options = IngestOptions(chunking=ChunkingOptions(max_tokens=64, overlap_tokens=8))
    ingested = ingest_bytes(text.encode(), filename="item1a.txt", options=options, tokenizer=minilm).documents[0]
    counts = minilm.count_tokens([c.text for c in ingested.chunks])
    assert max(counts) <= 64 and counts == [c.token_count for c in ingested.chunks]
