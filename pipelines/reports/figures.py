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
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

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
    (?P<number>\d{{1,3}}(?:,\d{{3}})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)
    (?:
        \s?(?P<percent>%|percent\b|per\s?cent\b|pct\b)
      | \s?(?P<bp>bps\b|bp\b|basis\s+points?\b)
      | (?P<multiple>x\b|\s?times\b)
      | \s?(?P<scale_word>thousands?\b|millions?\b|billions?\b|trillions?\b|mln\b|bln\b|mn\b|bn\b|tn\b)
      | (?P<scale_letter>mm\b|[mbkt]\b|[MBK]\b)
    )?
    (?:\s(?P<code2>{_CODES})\b)?
    (?![\w\u2013]|\.\d|-[A-Za-z0-9])
    """,
    re.VERBOSE,
)
# "(up 3.1%)" is +3.1; "down 2.3%", "fell 2.3%" are written unsigned but mean -2.3.
_DECLINE_BEFORE = re.compile(
    r"\b(?:down|fell|declined|decreased|dropped|shrank|contracted|slipped|lower|decline\s+of|decrease\s+of|"
    r"drop\s+of|fall\s+of|negative)(?:\s+(?:by|of|to))?\s*$",
    re.IGNORECASE,
)
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
    """One figure in a text. ``value`` and ``unit`` are canonical; ``raw`` is the text as written."""

    raw: str
    value: str
    unit: str
    kind: str  # one of KINDS
    start: int
    end: int
    declined: bool = False  # preceded by "down", "fell", ...: the signed value is the negative one
    unit_from_row: bool = False  # the unit came from the row label ("Revenue ($m)"), not the figure

    @property
    def decimal(self) -> Decimal:
        return Decimal(self.value)

    def signed_values(self) -> list[str]:
        """The value strings this mention supports: as written, and negated after a decline word."""
        if self.declined and not self.value.startswith("-"):
            return [self.value, "-" + self.value]
        return [self.value]


@dataclass(frozen=True)
class UnitSpec:
    kind: str
    currency: str | None
    scale: str | None  # a key of SCALES


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


def unit_string(kind: str, currency: str | None = None, scale: str | None = None) -> str:
    if kind == "percent":
        return "%"
    if kind == "multiple":
        return "x"
    if kind == "bp":
        return "bp"
    return " ".join(part for part in (currency, scale) if part)


def parse_unit(unit: str) -> UnitSpec:
    """The canonical unit strings back into parts; unknown units read as plain counts."""
    text = (unit or "").strip()
    lowered = text.lower()
    if lowered in ("%", "percent", "per cent", "pct"):
        return UnitSpec("percent", None, None)
    if lowered in ("x", "times"):
        return UnitSpec("multiple", None, None)
    if lowered in ("bp", "bps", "basis points"):
        return UnitSpec("bp", None, None)
    currency = None
    scale = None
    for part in text.replace("$", " $ ").split():
        upper = part.upper()
        if upper in CURRENCY_CODES:
            currency = upper
        elif part in CURRENCY_SYMBOLS:
            currency = CURRENCY_SYMBOLS[part]
        elif part.lower() in _SCALE_SPELLINGS:
            scale = _SCALE_SPELLINGS[part.lower()]
    if currency or scale:
        return UnitSpec("money" if currency else "count", currency, scale)
    return UnitSpec("count", None, None)


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
            continue
        from_row = False
        if kind in ("count", "money") and not scale:
            row_currency, row_scale = _row_unit(text, match.start())
            if row_scale and (currency is None or row_currency in (None, currency)):
                scale, currency, from_row = row_scale, currency or row_currency, True
                kind = "money" if currency else "count"
        negative = sign in ("-", "\u2212")
        try:
            value = canonical_value(number, negative)
        except InvalidOperation:
            continue
        declined = not negative and bool(_DECLINE_BEFORE.search(text[max(0, match.start() - 24) : match.start()]))
        yield NumberMention(
            raw=match.group(0).strip(),
            value=value,
            unit=unit_string(kind, currency, scale),
            kind=kind,
            start=match.start(),
            end=match.end(),
            declined=declined,
            unit_from_row=from_row,
        )


def extract_numbers(text: str) -> list[NumberMention]:
    return list(iter_numbers(text))


def find_periods(text: str) -> list[str]:
    """Reporting periods named in ``text``, canonical ("Q3 2023", "H1 2024", "FY2024", "2023", "TTM"), deduplicated."""
    found: list[str] = []
    for match in _PERIOD_RE.finditer(text):
        groups = match.groupdict()
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


def mention_supports(value: str, unit: str, mention: NumberMention) -> bool:
    """Whether ``mention`` states ``value`` in ``unit``. Conservative: no rounding, no unit guessing.

    Percentages, multiples and basis points must be written as such. Amounts compare by magnitude
    ("3.2 USD billion" is "$3,200 million" and "3.2bn"); a bare figure supports an amount or count
    with the same digits (tables print their unit elsewhere). Conflicting currencies never match.
    """
    wanted = to_decimal(value)
    if wanted is None:
        return False
    spec = parse_unit(unit)
    found = mention.decimal
    if wanted < 0 and found > 0:
        if not mention.declined:
            return False
        found = -found
    elif wanted >= 0 and found < 0:
        return False
    if spec.kind in ("percent", "multiple", "bp"):
        return mention.kind == spec.kind and wanted == found
    if mention.kind in ("percent", "multiple", "bp"):
        return False
    found_spec = parse_unit(mention.unit)
    if spec.currency and found_spec.currency and spec.currency != found_spec.currency:
        return False
    if wanted == found and (found_spec.scale is None or mention.unit_from_row or found_spec.scale == spec.scale):
        return True
    if spec.scale and found_spec.scale:
        return _magnitude(wanted, spec.scale) == _magnitude(found, found_spec.scale)
    return False


def text_supports(value: str, unit: str, text: str) -> bool:
    return any(mention_supports(value, unit, mention) for mention in iter_numbers(text))
