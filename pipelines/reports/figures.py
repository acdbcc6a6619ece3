"""Numbers as they are written in finance text: "12.5%", "$3.2 billion", "1.8x", "-4%", "2,359".

Every mention becomes a canonical value string (``"12.5"``, ``"3.2"``, ``"-4"``; thousands
separators and a leading ``+`` dropped, digits otherwise as written) and a canonical unit
(``"%"``, ``"x"``, ``"bp"``, ``"USD billion"``, ``"billion"``, ``"USD"``, ``""``). The report
grammar offers exactly these strings, and the number check compares them by value, so
``"12.5 %"``, ``"12.5 percent"``, ``"3.2bn"`` and ``"$3,200 million"`` are the numbers they look like.

Precision over recall: a number glued to a word ("Q3", "FY2024", "10-K", "x4674"), a bare year
and an identifier piece ("CC-2023-705") are not figures.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Literal

CURRENCY_SYMBOLS = {"US$": "USD", "$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY"}
CURRENCY_CODES = ("USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD", "CNY", "HKD", "SEK")
SCALES = {
    "thousand": Decimal(10) ** 3,
    "million": Decimal(10) ** 6,
    "billion": Decimal(10) ** 9,
    "trillion": Decimal(10) ** 12,
}
_SCALE_SPELLINGS = {
    "thousand": "thousand", "thousands": "thousand", "k": "thousand",
    "million": "million", "millions": "million", "mn": "million", "mln": "million", "mm": "million", "m": "million",
    "billion": "billion", "billions": "billion", "bn": "billion", "bln": "billion", "b": "billion",
    "trillion": "trillion", "trillions": "trillion", "tn": "trillion", "t": "trillion",
}  # fmt: skip
KINDS = ("percent", "multiple", "bp", "money", "count")

_CODES = "|".join(CURRENCY_CODES)
_NUMBER_RE = re.compile(
    rf"""
    (?<![\w.,$€£¥/\u2013-])                             # not glued to a word, a number or an identifier
    (?P<sign>[-+\u2212])?
    (?:(?P<code>{_CODES})\s?)?
    (?P<symbol>US\$|\$|€|£|¥)?\s?
    (?P<sign2>[-\u2212])?
    (?P<open>\()?                                         # accounting negative: "(2.3)%", "$(155)"
    (?P<number>\d{{1,3}}(?:,\d{{3}})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)
    (?(open)\))
    (?:
        \s?(?P<percent>%|percent\b|per\s?cent\b|pct\b)
      | \s?(?P<bp>bps\b|bp\b|basis\s+points?\b)
      | (?P<multiple>x\b|\s?\u00d7|\s?times\b)
      | \s?(?P<scale_word>thousands?\b|millions?\b|billions?\b|trillions?\b|mln\b|bln\b|mn\b|bn\b|tn\b)
      | (?P<scale_letter>mm\b|[mbkt]\b|[MBK]\b)
    )?
    (?:\s(?P<code2>{_CODES})\b)?
    (?P<per_share>\s?(?:per\s+(?:diluted\s+|basic\s+)?share|/\s?share|a\s+share)\b)?
    (?![\w\u2013]|\.\d|-[A-Za-z0-9])
    """,
    re.VERBOSE,
)
# "(up 3.1%)" is +3.1; "down 2.3%", "fell 2.3%", "a 2.3% decline" are written unsigned but mean -2.3.
# "fell to 12.5%" is not: after "to" comes the new level, which is positive.
_DECLINE_BEFORE = re.compile(
    r"\b(?:down|fell|declined|decreased|dropped|shrank|contracted|slipped|lower|decline\s+of|decrease\s+of|"
    r"drop\s+of|fall\s+of|reduction\s+of|contraction\s+of|negative)(?:\s+(?:by|of))?\s*$",
    re.IGNORECASE,
)
_DECLINE_AFTER = re.compile(r"\s*(?:decline|decrease|drop|fall|reduction|contraction)\b", re.IGNORECASE)
# A table row "Revenue ($m) | 2,359 | 2,287" prints its unit once, in the row label.
_ROW_UNIT = re.compile(
    r"\(\s*(?:in\s+)?(?P<symbol>US\$|\$|€|£|¥|USD|EUR|GBP)?\s*(?:in\s+)?"
    r"(?P<scale>m|mn|mm|millions?|bn|b|billions?|k|thousands?)\s*\)",
    re.IGNORECASE,
)
_PERIOD_RE = re.compile(
    r"(?<![\w-])(?:(?P<q>Q[1-4])\s?(?:FY\s?)?(?P<qy>(?:19|20)\d{2})|(?P<q2>[1-4])Q\s?(?P<q2y>(?:19|20)?\d{2})"
    r"|(?P<h>H[12])\s?(?P<hy>(?:19|20)\d{2})|FY\s?(?P<fy>(?:19|20)?\d{2})|(?P<ttm>TTM|LTM|NTM)"
    r"|fiscal(?:\s+year)?\s+(?P<fiscal>(?:19|20)\d{2})|(?P<year>(?:19|20)\d{2}))(?![\w-])"
)


@dataclass(frozen=True)
class NumberMention:
    """One figure in a text. ``value`` (signed) and ``unit`` are canonical; ``raw`` is the text as written."""

    raw: str
    value: str
    unit: str
    kind: str  # one of KINDS
    start: int
    end: int
    declined: bool = False  # negative by its words ("fell 2.3%", "a 2.3% decline"): ``value`` carries the minus
    unit_from_row: bool = False  # the unit came from the row label ("Revenue ($m)"), not the figure
    per_share: bool = False  # "$155 per share", "$1.46/share"

    @property
    def decimal(self) -> Decimal:
        return Decimal(self.value)

    def signed_values(self) -> list[str]:
        """The value strings this mention supports: only its signed value ("fell 2.3%" is -2.3, never +2.3)."""
        return [self.value]


@dataclass(frozen=True)
class UnitSpec:
    kind: str
    currency: str | None
    scale: str | None  # a key of SCALES
    per_share: bool = False


def canonical_value(number: str, negative: bool = False) -> str:
    """``"1,234.50"`` -> ``"1234.50"``, ``".5"`` -> ``"0.5"``; digits after the point are kept as written."""
    text = number.replace(",", "")
    if text.startswith("."):
        text = "0" + text
    if "." not in text:
        text = text.lstrip("0") or "0"
    elif text.split(".")[0].lstrip("0") == "":
        text = "0." + text.split(".")[1]
    else:
        text = text.lstrip("0")
    if negative and Decimal(text) != 0:
        text = "-" + text
    return text


def unit_string(kind: str, currency: str | None = None, scale: str | None = None, per_share: bool = False) -> str:
    if kind == "percent":
        return "%"
    if kind == "multiple":
        return "x"
    if kind == "bp":
        return "bp"
    text = " ".join(part for part in (currency, scale) if part)
    return f"{text} per share".strip() if per_share else text


_PER_SHARE_UNIT = re.compile(r"\s*(?:per\s+(?:diluted\s+|basic\s+)?share|/\s*share|a\s+share)\s*$", re.IGNORECASE)


def parse_unit(unit: str) -> UnitSpec:
    """The canonical unit strings back into parts; unknown units read as plain counts."""
    text = (unit or "").strip()
    per_share = bool(_PER_SHARE_UNIT.search(text))
    text = _PER_SHARE_UNIT.sub("", text)
    lowered = text.lower()
    if lowered in ("%", "percent", "per cent", "pct"):
        return UnitSpec("percent", None, None)
    if lowered in ("x", "\u00d7", "times", "multiple"):
        return UnitSpec("multiple", None, None)
    if lowered in ("bp", "bps", "basis point", "basis points"):
        return UnitSpec("bp", None, None)
    currency = None
    scale = None
    for symbol in ("US$", *CURRENCY_SYMBOLS):
        text = text.replace(symbol, f" {symbol} ")
    for part in text.split():
        upper = part.upper()
        if upper in CURRENCY_CODES:
            currency = upper
        elif part in CURRENCY_SYMBOLS:
            currency = CURRENCY_SYMBOLS[part]
        elif part.lower() in _SCALE_SPELLINGS:
            scale = _SCALE_SPELLINGS[part.lower()]
    return UnitSpec("money" if currency else "count", currency, scale, per_share)


def _is_year(number: str) -> bool:
    return number.isdigit() and len(number) == 4 and 1900 <= int(number) <= 2100


def _row_unit(text: str, position: int) -> tuple[str | None, str | None]:
    line_start = text.rfind("\n", 0, position) + 1
    line_end = text.find("\n", position)
    line = text[line_start : line_end if line_end != -1 else len(text)]
    found = _ROW_UNIT.search(line)
    if not found:
        return None, None
    symbol = found.group("symbol")
    currency = None
    if symbol:
        currency = CURRENCY_SYMBOLS.get(symbol, symbol.upper())
    return currency, _SCALE_SPELLINGS[found.group("scale").lower()]


def iter_numbers(text: str) -> Iterator[NumberMention]:
    """Every figure in ``text``, left to right."""
    for match in _NUMBER_RE.finditer(text):
        number = match.group("number")
        sign = match.group("sign") or match.group("sign2")
        code = match.group("code") or match.group("code2")
        symbol = match.group("symbol")
        currency = code or (CURRENCY_SYMBOLS[symbol] if symbol else None)
        scale_text = match.group("scale_word") or match.group("scale_letter")
        if match.group("scale_letter") and not currency:
            continue  # "5 m" or "3b" without a currency is too ambiguous to be a figure
        scale = _SCALE_SPELLINGS[scale_text.lower()] if scale_text else None
        if match.group("percent"):
            kind = "percent"
        elif match.group("bp"):
            kind = "bp"
        elif match.group("multiple"):
            kind = "multiple"
        elif currency:
            kind = "money"
        else:
            kind = "count"
        if kind == "count" and not sign and not scale and _is_year(number):
            continue  # "2023", and "(2023)" too: a year in brackets is not an accounting negative
        from_row = False
        if kind in ("count", "money") and not scale:
            row_currency, row_scale = _row_unit(text, match.start())
            if row_scale and (currency is None or row_currency in (None, currency)):
                scale, currency, from_row = row_scale, currency or row_currency, True
                kind = "money" if currency else "count"
        negative = sign in ("-", "\u2212") or bool(match.group("open"))
        declined = not negative and bool(
            _DECLINE_BEFORE.search(text[max(0, match.start() - 24) : match.start()])
            or _DECLINE_AFTER.match(text, match.end())
        )
        try:
            value = canonical_value(number, negative or declined)
        except InvalidOperation:
            continue
        per_share = bool(match.group("per_share")) and kind in ("money", "count")
        yield NumberMention(
            raw=match.group(0).strip(),
            value=value,
            unit=unit_string(kind, currency, scale, per_share),
            kind=kind,
            start=match.start(),
            end=match.end(),
            declined=declined,
            unit_from_row=from_row,
            per_share=per_share,
        )


def extract_numbers(text: str) -> list[NumberMention]:
    return list(iter_numbers(text))


@lru_cache(maxsize=512)
def numbers_in(text: str) -> tuple[NumberMention, ...]:
    """``iter_numbers`` remembered: a report schema reads each passage once per lexicon indicator (about 20)."""
    return tuple(iter_numbers(text))


_YEAR_AS_PERIOD = re.compile(r"\b(?:in|for|during|over|of|calendar|year)\s+$", re.IGNORECASE)


def find_periods(text: str, *, stated_only: bool = False) -> list[str]:
    """Reporting periods named in ``text``, canonical ("Q3 2023", "H1 2024", "FY2024", "2023", "TTM"), deduplicated.

    ``stated_only``: a bare year counts only as "in 2023", "for 2023" ("notes due 2030" names no period).
    """
    found: list[str] = []
    for match in _PERIOD_RE.finditer(text):
        groups = match.groupdict()
        if (
            stated_only
            and groups["year"]
            and not _YEAR_AS_PERIOD.search(text[max(0, match.start() - 12) : match.start()])
        ):
            continue
        if groups["q"]:
            period = f"{groups['q']} {groups['qy']}"
        elif groups["q2"]:
            year = groups["q2y"]
            period = f"Q{groups['q2']} {year if len(year) == 4 else '20' + year}"
        elif groups["h"]:
            period = f"{groups['h']} {groups['hy']}"
        elif groups["fy"]:
            year = groups["fy"]
            period = f"FY{year if len(year) == 4 else '20' + year}"
        elif groups["fiscal"]:
            period = f"FY{groups['fiscal']}"
        elif groups["ttm"]:
            period = groups["ttm"]
        else:
            period = groups["year"]
        if period not in found:
            found.append(period)
    return found


def to_decimal(value: str) -> Decimal | None:
    """A canonical (or loosely written) value string as a Decimal; None when it is not a number."""
    text = (value or "").strip().replace(",", "").replace("\u2212", "-").lstrip("+")
    if not re.fullmatch(r"-?(?:\d+(?:\.\d+)?|\.\d+)", text):
        return None
    return Decimal(text)


def _magnitude(value: Decimal, scale: str | None) -> Decimal:
    return value * SCALES[scale] if scale else value


# Why a number is not supported by its source, from the furthest to the closest miss: a check names the
# closest miss over all the source's figures ("7 segments" vs "USD 7 billion" is a unit miss, not absent).
Mismatch = Literal["not_found", "unit", "scale", "sign", "period"]
MISMATCH_ORDER: tuple[Mismatch, ...] = ("not_found", "unit", "scale", "sign", "period")
_SENTENCE_BREAK = re.compile(r"(?<=[.!?;])\s+(?=[A-Z$(\"'])|\n")


def segments(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each line, split further at sentence ends: a table row or a sentence."""
    start = 0
    for found in _SENTENCE_BREAK.finditer(text):
        yield start, found.start()
        start = found.end()
    yield start, len(text)


def _period_parts(period: str) -> tuple[str, int | None, str | None]:
    """("Q", 2024, "Q2"), ("H", 2024, "H1"), ("Y", 2023, None), ("TTM", None, None), ("NTM", None, None)."""
    if period in ("TTM", "LTM"):
        return "TTM", None, None
    if period == "NTM":
        return "NTM", None, None
    if period[:1] in ("Q", "H"):
        sub, year = period.split()
        return period[0], int(year), sub
    return "Y", int(period.removeprefix("FY")), None


def periods_overlap(first: str, second: str) -> bool:
    """Whether two canonical periods can describe the same figure: FY2023 and 2023 do, FY2023 and FY2022 do not,
    a year and one of its quarters do, Q2 2024 and Q3 2024 do not. A trailing period and a fixed one cannot be
    told apart without dates, so they are not a conflict."""
    a, b = _period_parts(first), _period_parts(second)
    if a[1] is None or b[1] is None:
        return a[1] is not None or b[1] is not None or a[0] == b[0]
    if a[1] != b[1]:
        return False
    if "Y" in (a[0], b[0]) or a == b:
        return True
    if a[0] == b[0]:
        return False  # two different quarters or halves of one year
    quarter, half = (a, b) if a[0] == "Q" else (b, a)
    return (quarter[2] in ("Q1", "Q2")) == (half[2] == "H1")


def _periods_agree(wanted: Sequence[str], stated: Sequence[str]) -> bool:
    return not wanted or not stated or any(periods_overlap(w, s) for w in wanted for s in stated)


def _source_periods(text: str, mention: NumberMention) -> list[str]:
    """The periods stated next to a figure: in its sentence or table row, else anywhere in the source.

    Comparison bases are not stated periods ("down 2.5% compared with the fourth quarter of 2022" is
    no 2022 figure), the same reading as the candidate extraction's (``candidates.sentence_periods``).
    """
    from pipelines.reports.candidates import sentence_periods  # candidates builds on this module

    for start, end in segments(text):
        if start <= mention.start <= end:
            segment = text[start:end]
            if segment.lstrip().startswith("|"):
                near = find_periods(segment, stated_only=True)
            else:
                near = sentence_periods(segment)
            if near:
                return near
            break
    found: list[str] = []
    for start, end in segments(text):
        found += [p for p in sentence_periods(text[start:end]) if p not in found]
    return found


def _amount_unit_miss(spec: UnitSpec, mention: NumberMention, found_spec: UnitSpec) -> bool:
    if mention.kind in ("percent", "multiple", "bp"):
        return True
    # A per-share figure is a price or an EPS, never a balance ("$155 per share" is not "net debt USD 155").
    if found_spec.per_share and not spec.per_share:
        return True
    if spec.per_share and found_spec.scale:
        return True
    # A currency the source does not give is not supported ("7 segments" is not "USD 7 billion");
    # a report may leave out a currency the source gives.
    return bool(spec.currency) and found_spec.currency != spec.currency


def mention_mismatch(
    value: str, unit: str, mention: NumberMention, *, periods: Sequence[str] = (), source_periods: Sequence[str] = ()
) -> Mismatch | None:
    """None when ``mention`` states ``value`` in ``unit`` (and a compatible period); else the closest miss.

    Conservative: no rounding, no unit guessing. The value's sign is taken as written (unsigned is
    positive); the mention's from its minus, brackets or words ("fell 2.3%" is -2.3). Percentages,
    multiples and basis points must be written as such. Amounts compare by magnitude ("3.2 USD
    billion" is "$3,200 million"), so a bare figure never supports a scaled amount, and a stated
    scale must be the wanted one. ``periods`` are the value's (canonical), ``source_periods`` the
    mention's: where both give one they must overlap.
    """
    wanted = to_decimal(value)
    if wanted is None:
        return "not_found"
    spec = parse_unit(unit)
    found_spec = parse_unit(mention.unit)
    found = mention.decimal
    if spec.kind in ("percent", "multiple", "bp"):
        if abs(wanted) != abs(found):
            return "not_found"
        if mention.kind != spec.kind:
            return "unit"
    else:
        same_digits = abs(wanted) == abs(found)
        same_magnitude = abs(_magnitude(wanted, spec.scale)) == abs(_magnitude(found, found_spec.scale))
        if not (same_digits or same_magnitude):
            return "not_found"
        if _amount_unit_miss(spec, mention, found_spec):
            return "unit"
        if not same_magnitude:
            return "scale"
    if (wanted < 0) != (found < 0):
        return "sign"
    if not _periods_agree(periods, source_periods):
        return "period"
    return None


def support_mismatch(value: str, unit: str, text: str, *, period: str = "") -> Mismatch | None:
    """None when some figure in ``text`` supports ``value`` in ``unit`` for ``period``; else the closest miss."""
    periods = find_periods(period or "")
    closest: Mismatch = "not_found"
    for mention in numbers_in(text):
        miss = mention_mismatch(
            value, unit, mention, periods=periods, source_periods=_source_periods(text, mention) if periods else ()
        )
        if miss is None:
            return None
        if MISMATCH_ORDER.index(miss) > MISMATCH_ORDER.index(closest):
            closest = miss
    return closest


def mention_supports(value: str, unit: str, mention: NumberMention) -> bool:
    return mention_mismatch(value, unit, mention) is None


def text_supports(value: str, unit: str, text: str, *, period: str = "") -> bool:
    return support_mismatch(value, unit, text, period=period) is None
