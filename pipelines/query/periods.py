"""Fiscal periods named in a question: FY2021, fiscal 2022, Q2 2023, 2Q23, H1 2024, "last year" ...

Relative phrases resolve against an as-of date (the question's point in time, today by default):
"last year" is the fiscal year before the as-of year, "last quarter" the calendar quarter before the
one holding the as-of date. Companies whose fiscal quarters are not calendar quarters are not known
here, so quarters are calendar quarters; the fiscal year is the year its period ends in (the SEC's
convention), which is what ``fiscal_year_for_period_end`` gives a filing.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

FISCAL_PERIODS = ("FY", "Q1", "Q2", "Q3", "Q4", "H1", "H2")
# A 52/53-week year ending in the first days of January belongs to the year before (SanDisk's fiscal 2009 ended
# on 3 January 2010); later January ends are named after the year they end in, as the filer's cover page does.
_JANUARY_SPILLOVER_DAYS = 7
# Bare years outside this window are numbers, not periods ("1850 stores", "2150 employees").
EARLIEST_YEAR = 1990
_MAX_RANGE_YEARS = 10

_ORDINALS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4}
_COUNTS = {"two": 2, "three": 3, "four": 4, "five": 5, "2": 2, "3": 3, "4": 4, "5": 5}
_YEAR = r"(?:'|\u2019)?(?P<year>(?:19|20)\d{2}|\d{2})"
_FY_WORDS = r"(?:fiscal(?:[\s-]+year)?|FY)"
_UNIT_AFTER_YEAR = re.compile(
    r"\s*(?:%|percent|million|billion|thousand|mm|bn|m\b|k\b|shares|units|employees|stores|people|bps|basis)",
    re.IGNORECASE,
)

# (kind, pattern); earlier patterns win where two overlap.
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (
        "quarter",
        re.compile(rf"\b(?:fiscal\s+)?Q(?P<q>[1-4])(?:[\s'\u2019/-]*(?:of\s+)?(?:{_FY_WORDS}\s*)?{_YEAR})?\b", re.I),
    ),
    ("quarter", re.compile(rf"\b(?P<q>[1-4])Q\s*(?:FY\s*)?{_YEAR}\b", re.I)),
    ("quarter", re.compile(r"\b(?P<year>(?:19|20)\d{2})\s*-?\s*Q(?P<q>[1-4])\b", re.I)),
    (
        "quarter",
        re.compile(
            rf"\b(?P<ord>first|second|third|fourth|1st|2nd|3rd|4th)[\s-]+(?:fiscal[\s-]+)?quarter"
            rf"(?:(?:\s+of)?(?:\s+(?:the\s+)?{_FY_WORDS})?\s*{_YEAR}\b)?",
            re.I,
        ),
    ),
    ("half", re.compile(rf"\bH(?P<h>[12])(?:[\s'\u2019/-]*(?:{_FY_WORDS}\s*)?{_YEAR})?\b", re.I)),
    ("half", re.compile(rf"\b(?P<h>[12])H\s*(?:FY\s*)?{_YEAR}\b", re.I)),
    (
        "half",
        re.compile(
            rf"\b(?P<ord>first|second|1st|2nd)[\s-]+half(?:(?:\s+of)?(?:\s+(?:the\s+)?{_FY_WORDS})?\s*{_YEAR}\b)?",
            re.I,
        ),
    ),
    ("year", re.compile(rf"\b{_FY_WORDS}\s*{_YEAR}\b", re.I)),
    ("year", re.compile(r"\b(?P<year>(?:19|20)\d{2})\s+fiscal(?:\s+year)?\b", re.I)),
    (
        "year_range",
        re.compile(
            r"(?<![\w$.,])(?P<a>(?:19|20)\d{2})\s*(?:-|\u2013|\u2014|to|through|until)\s*(?P<b>(?:19|20)\d{2})\b"
        ),
    ),
    (
        "last_n_years",
        re.compile(r"\b(?:last|past|previous|prior)\s+(?P<n>two|three|four|five|[2-5])\s+(?:fiscal\s+)?years\b", re.I),
    ),
    ("years_ago", re.compile(r"\b(?P<n>two|three|four|five|[2-5])\s+(?:fiscal\s+)?years\s+ago\b", re.I)),
    ("last_year", re.compile(r"\b(?:last|past)\s+(?:fiscal\s+)?year\b|\ba\s+year\s+ago\b", re.I)),
    ("prior_year", re.compile(r"\b(?:previous|prior|preceding)\s+(?:fiscal\s+)?year\b|\byear\s+before\b", re.I)),
    ("this_year", re.compile(r"\b(?:this|current)\s+(?:fiscal\s+)?year\b|\byear[\s-]to[\s-]date\b|\bYTD\b", re.I)),
    (
        "last_quarter",
        re.compile(r"\b(?:last|previous|prior|past|most\s+recent|latest|recent)\s+(?:fiscal\s+)?quarter\b", re.I),
    ),
    ("this_quarter", re.compile(r"\b(?:this|current)\s+(?:fiscal\s+)?quarter\b", re.I)),
    ("latest", re.compile(r"\b(?:latest|most\s+recent|newest|most\s+up[\s-]to[\s-]date)\b", re.I)),
    ("bare_year", re.compile(r"(?<![\w$€£.,/-])(?P<year>(?:19|20)\d{2})(?![\w%/]|[.,]\d)")),
]


@dataclass(frozen=True)
class PeriodMention:
    """A period the question names. ``fiscal_year`` is None for a quarter or half without a year ("Q2")."""

    text: str
    start: int
    end: int
    fiscal_year: int | None
    fiscal_period: str  # FY, Q1..Q4, H1, H2
    relative: str = ""  # the relative phrase it was resolved from ("last_year", ...), empty when absolute

    def label(self) -> str:
        if self.fiscal_year is None:
            return self.fiscal_period
        return f"FY{self.fiscal_year}" if self.fiscal_period == "FY" else f"{self.fiscal_period} {self.fiscal_year}"

    def to_dict(self) -> dict[str, object]:
        return {
            "text": self.text,
            "fiscal_year": self.fiscal_year,
            "fiscal_period": self.fiscal_period,
            "label": self.label(),
            "relative": self.relative,
        }


def fiscal_year_for_period_end(period_end: dt.date) -> int:
    """The fiscal year a period ending on ``period_end`` is named after."""
    if period_end.month == 1 and period_end.day <= _JANUARY_SPILLOVER_DAYS:
        return period_end.year - 1
    return period_end.year


def _full_year(digits: str, as_of: dt.date) -> int:
    if len(digits) == 4:
        return int(digits)
    # Two digits: this century up to a year past the as-of year ("FY25" in 2024 is a forecast), else the last.
    value = int(digits)
    century = 2000 if value <= as_of.year % 100 + 1 else 1900
    return century + value


def _quarter_of(day: dt.date) -> int:
    return (day.month - 1) // 3 + 1


def _previous_quarter(day: dt.date) -> tuple[int, int]:
    quarter = _quarter_of(day)
    return (day.year, quarter - 1) if quarter > 1 else (day.year - 1, 4)


def find_periods(text: str, as_of: dt.date) -> tuple[list[PeriodMention], bool]:
    """The periods ``text`` names, in order of appearance, and whether it asks for the latest data.

    "latest" alone is returned as a flag, not a period: which fiscal year is the latest depends on
    the documents published by the as-of date, which the caller knows.
    """
    taken: list[tuple[int, int]] = []
    found: list[tuple[str, re.Match[str]]] = []
    for kind, pattern in _PATTERNS:
        for match in pattern.finditer(text):
            start, end = match.span()
            if any(start < t_end and t_start < end for t_start, t_end in taken):
                continue
            if kind == "bare_year" and _UNIT_AFTER_YEAR.match(text, end):
                continue
            taken.append((start, end))
            found.append((kind, match))
    found.sort(key=lambda item: item[1].start())
    absolute_years = [
        _full_year(m.group("year"), as_of)
        for kind, m in found
        if kind in ("quarter", "half", "year", "bare_year") and m.groupdict().get("year")
    ]
    mentions: list[PeriodMention] = []
    latest = False
    for kind, match in found:
        start, end, phrase = match.start(), match.end(), match.group(0)

        def add(year: int | None, period: str, relative: str = "", _at: tuple[str, int, int] = (phrase, start, end)):
            if year is None or EARLIEST_YEAR <= year <= as_of.year + 2:
                mentions.append(PeriodMention(*_at, year, period, relative))

        groups = match.groupdict()
        year = _full_year(groups["year"], as_of) if groups.get("year") else None
        if kind == "quarter":
            number = int(groups["q"]) if groups.get("q") else _ORDINALS[groups["ord"].lower()]
            add(year, f"Q{number}")
        elif kind == "half":
            number = int(groups["h"]) if groups.get("h") else _ORDINALS[groups["ord"].lower()]
            add(year, f"H{number}")
        elif kind in ("year", "bare_year"):
            add(year, "FY")
        elif kind == "year_range":
            first, last = sorted((int(groups["a"]), int(groups["b"])))
            if last - first <= _MAX_RANGE_YEARS:
                for value in range(first, last + 1):
                    add(value, "FY")
        elif kind == "last_n_years":
            for back in range(_COUNTS[groups["n"].lower()], 0, -1):
                add(as_of.year - back, "FY", "last_n_years")
        elif kind == "years_ago":
            add(as_of.year - _COUNTS[groups["n"].lower()], "FY", "years_ago")
        elif kind == "last_year":
            add(as_of.year - 1, "FY", "last_year")
        elif kind == "prior_year":
            # "revenue in FY2021 against the prior year" is FY2020; without a year it is the as-of year's prior.
            base = min(absolute_years) if absolute_years else as_of.year
            add(base - 1, "FY", "prior_year")
        elif kind == "this_year":
            add(as_of.year, "FY", "this_year")
        elif kind == "last_quarter":
            prior_year, prior_quarter = _previous_quarter(as_of)
            add(prior_year, f"Q{prior_quarter}", "last_quarter")
        elif kind == "this_quarter":
            add(as_of.year, f"Q{_quarter_of(as_of)}", "this_quarter")
        elif kind == "latest":
            latest = True
    return _with_shared_years(mentions), latest


def _with_shared_years(mentions: list[PeriodMention]) -> list[PeriodMention]:
    """ "Q3 and Q4 2023": a quarter or half without a year takes the next year named (else the previous)."""
    dated = [m for m in mentions if m.fiscal_year is not None and not m.relative]
    result = []
    for mention in mentions:
        if mention.fiscal_year is None and dated:
            after = [m for m in dated if m.start > mention.start]
            source = after[0] if after else dated[-1]
            mention = PeriodMention(mention.text, mention.start, mention.end, source.fiscal_year, mention.fiscal_period)
        result.append(mention)
    return result
