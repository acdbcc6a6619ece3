"""Hypothesis strategies and settings shared by the pipeline property tests."""

from __future__ import annotations

import random

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from pipelines.documents import BlockDraft, BlockKind, DocumentFormat, ParsedDocument, build_document
from pipelines.redaction import IBAN_LENGTHS


def property_settings(max_examples: int) -> settings:
    # Shared 2-core machines stall at random: no per-example deadline.
    return settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


WORDS = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,;:'$%()-", min_size=1, max_size=12
)
FILLER = st.lists(WORDS, max_size=25).map(" ".join)


def luhn_complete(prefix: str) -> str:
    """``prefix`` plus the Luhn check digit."""
    for check in "0123456789":
        candidate = prefix + check
        total = 0
        for position, char in enumerate(reversed(candidate)):
            value = int(char) * (2 if position % 2 else 1)
            total += value - 9 if value > 9 else value
        if total % 10 == 0:
            return candidate
    raise AssertionError("unreachable")


def iban_for(country: str, bban: str) -> str:
    """A valid IBAN for ``country`` with the given basic bank account number (check digits computed)."""
    rearranged = bban + country + "00"
    check = 98 - int("".join(str(int(ch, 36)) for ch in rearranged)) % 97
    return f"{country}{check:02d}{bban}"


@st.composite
def ibans(draw: st.DrawFn) -> str:
    country = draw(st.sampled_from(sorted(IBAN_LENGTHS)))
    length = IBAN_LENGTHS[country] - 4
    bban = draw(st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=length, max_size=length))
    iban = iban_for(country, bban)
    if draw(st.booleans()):  # the printed form: groups of four
        return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))
    return iban


@st.composite
def card_numbers(draw: st.DrawFn) -> str:
    prefix, length = draw(st.sampled_from([("4", 16), ("51", 16), ("2221", 16), ("37", 15), ("6011", 16), ("35", 16)]))
    body = prefix + "".join(draw(st.lists(st.sampled_from("0123456789"), min_size=length - len(prefix) - 1,
                                          max_size=length - len(prefix) - 1)))  # fmt: skip
    number = luhn_complete(body)
    layout = draw(st.sampled_from(["plain", "spaces", "dashes"]))
    if layout == "plain":
        return number
    groups = [4, 6, 5] if length == 15 else [4, 4, 4, 4]
    parts, position = [], 0
    for size in groups:
        parts.append(number[position : position + size])
        position += size
    return (" " if layout == "spaces" else "-").join(parts)


@st.composite
def documents(draw: st.DrawFn, *, max_blocks: int = 25, max_words: int = 120) -> ParsedDocument:
    """Random documents: headings of random levels, paragraphs and tables, some longer than a chunk."""
    drafts = []
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    for _ in range(draw(st.integers(1, max_blocks))):
        kind = draw(st.sampled_from([BlockKind.HEADING, BlockKind.PARAGRAPH, BlockKind.PARAGRAPH, BlockKind.TABLE]))
        if kind is BlockKind.HEADING:
            level = draw(st.integers(1, 3))
            drafts.append(BlockDraft(kind, f"Heading {rng.randint(0, 9999)} level {level}", heading_level=level))
            continue
        count = draw(st.integers(1, max_words))
        words = [rng.choice(["alpha", "beta", "Revenue", "$1,234", "12.5%", "2023.", "risk", "x" * rng.randint(1, 30)])
                 for _ in range(count)]  # fmt: skip
        if kind is BlockKind.TABLE:
            text = "\n".join(" | ".join(words[i : i + 4]) for i in range(0, len(words), 4))
        else:
            text = " ".join(words)
        drafts.append(BlockDraft(kind, text, page=draw(st.none() | st.integers(1, 50))))
    return build_document(drafts, format=DocumentFormat.TEXT)
