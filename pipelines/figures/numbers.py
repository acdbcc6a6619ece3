"""Reading a figure out of a table cell or a sentence: sign, scale and unit kept.

Filings write negatives in parentheses ("(1,234)", "$(5,860)", "(14.3)%"), a dash for nil
(an em dash, "-"), and state the scale once for a whole table ("in thousands", "$'000", "£m").
Values are ``Decimal`` so that a sum of cents stays exact and a formula shows the digits as written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

SCALE_FACTORS = {
    "": Decimal(1),
    "thousand": Decimal(10) ** 3,
    "million": Decimal(10) ** 6,
    "billion": Decimal(10) ** 9,
}
# Order matters: "in millions" must not be read as "thousand" because the table also says "'000" elsewhere.
_MONEY_WORDS = r"(?:dollars|euros|pounds|usd|eur|gbp|rmb|yen|shares|units)"
_CURRENCY_PREFIX = r"(?:[$€£¥]|US\$|HK\$|RMB|USD|EUR|GBP)"
_QUOTE = "['\u2019\u2018]?"


def _scale_pattern(plural: str, abbreviations: str, extra: str = "") -> re.Pattern[str]:
    """'in millions', '(millions', '$m' / 'US$ million', 'millions of dollars' (+ extra spellings)."""
    return re.compile(
        rf"\bin\s+(?:{_CURRENCY_PREFIX}\s*)?{plural}?\b|\(\s*{plural}?\b"
        rf"|{_CURRENCY_PREFIX}\s?{_QUOTE}\s?(?:{abbreviations}|{plural}?)\b|\b{plural}\s+of\s+{_MONEY_WORDS}{extra}",
        re.I,
    )


_SCALE_PATTERNS = (
    ("billion", _scale_pattern("billions", "bn")),
    ("million", _scale_pattern("millions", "m|mm|mn")),
    ("thousand", _scale_pattern("thousands", "k", extra=rf"|['\u2019\u2018]000\b|{_CURRENCY_PREFIX}\s?000\b")),
)
_DASHES = {"-", "\u2014", "\u2013", "\u2212", "--", "n/a", "nil", "\u2014%", "-%"}
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?|\.\d+")
_CURRENCY = re.compile(r"US\$|[$€£¥]|\bUSD\b|\bEUR\b|\bGBP\b|\bRMB\b", re.I)


@dataclass(frozen=True)
class ParsedNumber:
    value: Decimal
    unit: str  # "$" (or another currency sign), "%", "x", "" (a count or a plain number)
    is_nil: bool = False  # written as a dash: zero by the filing's convention


def detect_scale(text: str) -> str:
    """The scale a caption or paragraph declares ("in thousands", "$'000", "£m"), or ''."""
    for scale, pattern in _SCALE_PATTERNS:
        if pattern.search(text):
            return scale
    return ""


def parse_number(text: str) -> ParsedNumber | None:
    """A cell's figure: ``"$(5,860)"`` -> -5860 "$"; ``"(14.3)%"`` -> -14.3 "%"; a dash -> 0 (nil).

    None for text that is not one figure (a label, a date range, two numbers in one cell).
    """
    raw = (text or "").strip()
    if not raw:
        return None
    compact = raw.replace(" ", "").lower()
    if compact in _DASHES:
        return ParsedNumber(Decimal(0), "", is_nil=True)
    numbers = _NUMBER.findall(raw)
    if len(numbers) != 1:
        return None
    rest = _NUMBER.sub("", raw, count=1)
    unit = ""
    if "%" in rest:
        unit = "%"
    else:
        currency = _CURRENCY.search(rest)
        if currency:
            unit = "$" if currency.group().upper() in {"$", "US$", "USD"} else currency.group()
        elif re.search(r"\d\s*x\b", raw, re.I):
            unit = "x"
    leftover = _CURRENCY.sub("", rest)
    leftover = re.sub(r"[%()\s+\-\u2212\u2013\u2014*]|\bx\b", "", leftover, flags=re.I)
    if leftover:
        # Words around the number ("2019 vs 2018", "5 years"): not a single figure.
        return None
    try:
        value = Decimal(numbers[0].replace(",", ""))
    except InvalidOperation:
        return None
    negative = ("(" in raw and ")" in raw) or bool(re.match(r"^\s*[$€£]?\s*[-\u2212\u2013]", raw))
    return ParsedNumber(-value if negative else value, unit)


def format_decimal(value: Decimal) -> str:
    """``Decimal('-11043')`` -> ``'-11,043'``; keeps the digits as written (no float round trip)."""
    sign = "\u2212" if value < 0 else ""
    text = format(abs(value), "f")
    whole, _, frac = text.partition(".")
    whole = f"{int(whole):,}"
    return f"{sign}{whole}.{frac}" if frac else f"{sign}{whole}"
