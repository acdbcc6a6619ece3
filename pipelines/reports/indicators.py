"""Which passages state a given indicator, and which of their numbers can be its value.

A small lexicon of the indicators analysts ask for most: each has the phrasings that name it
and the kinds of figure it can take (a margin is a percentage, leverage a multiple, EBITDA an
amount). A number is a candidate value when it sits in the same line or sentence as a mention,
shortly after it (or just before: "a 69.6% gross margin"), and has an admissible kind. Anything
outside the lexicon falls back to "all the indicator's words in one sentence", any kind.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipelines.reports.figures import NumberMention, numbers_in, parse_unit, segments

PERCENT = frozenset({"percent", "bp"})
AMOUNT = frozenset({"money", "count"})
MULTIPLE = frozenset({"multiple", "count"})
ANY_KIND = frozenset({"percent", "multiple", "bp", "money", "count"})
AFTER_WINDOW = 60  # characters after a mention where its value is looked for ("... margin of 69.6%")
BEFORE_WINDOW = 25  # characters before it ("a 69.6% gross margin")


@dataclass(frozen=True)
class IndicatorLexeme:
    key: str
    patterns: tuple[str, ...]  # regexes, matched case-insensitively
    kinds: frozenset[str]
    aliases: tuple[str, ...] = ()
    per_share: bool = False  # a price or an amount per share (EPS): "$1.46 per share" is its unit

    def regex(self) -> re.Pattern[str]:
        return re.compile("|".join(f"(?:{p})" for p in self.patterns), re.IGNORECASE)

    def admits(self, mention: NumberMention) -> bool:
        """Whether a figure's unit fits the indicator: a margin is a percentage, "$155 per share" is no net debt."""
        if mention.kind not in self.kinds or (mention.per_share and not self.per_share):
            return False
        return not (self.per_share and parse_unit(mention.unit).scale)

    def admits_unit(self, unit: str) -> bool:
        """The same for a unit as a report states it ("%", "USD billion", "x")."""
        spec = parse_unit(unit)
        if spec.kind not in self.kinds or (spec.per_share and not self.per_share):
            return False
        return not (self.per_share and spec.scale)


_CHANGE = r"(?:grew|grow|growth|increased|increase|rose|up|down|declined|decreased|fell|dropped|expanded|contracted)"
LEXICON: tuple[IndicatorLexeme, ...] = (
    IndicatorLexeme(
        "revenue growth",
        (
            r"\b(?:revenue|sales|top[- ]line|organic)\s+growth",
            rf"\b(?:revenues?|net sales|sales)\b[^.;|\n]{{0,50}}?\b{_CHANGE}\b",
        ),
        PERCENT,
        ("sales growth", "revenue grew", "revenue increased", "top-line growth", "organic growth", "growth"),
    ),
    IndicatorLexeme("gross margin", (r"\bgross\s+margins?\b",), PERCENT),
    IndicatorLexeme(
        "operating margin", (r"\boperating\s+margins?\b", r"\bEBIT\s+margins?\b"), PERCENT, ("ebit margin",)
    ),
    IndicatorLexeme("ebitda margin", (r"\bEBITDA\s+margins?\b",), PERCENT),
    IndicatorLexeme("net margin", (r"\bnet\s+(?:profit\s+)?margins?\b",), PERCENT, ("profit margin",)),
    IndicatorLexeme(
        "net debt/ebitda",
        (
            r"\bnet\s+debt\s*(?:/|to)\s*(?:trailing\s+)?EBITDA\b",
            r"\b(?:net\s+)?leverage(?:\s+ratio)?\b",
            r"(?:\btimes|(?<=\dx))\s+(?:trailing\s+|forward\s+)?EBITDA\b",
        ),
        frozenset({"multiple"}),
        ("leverage", "net leverage", "net debt to ebitda", "leverage ratio", "debt/ebitda"),
    ),
    IndicatorLexeme("ev/ebitda", (r"\bEV\s*/\s*EBITDA\b", r"\benterprise\s+value\s+to\s+EBITDA\b"), MULTIPLE),
    IndicatorLexeme(
        "ebitda", (r"(?<![/\w])(?<!/ )(?:adjusted\s+)?EBITDA\b(?!\s*margin)",), AMOUNT, ("adjusted ebitda",)
    ),
    IndicatorLexeme("net debt", (r"\bnet\s+debt\b(?!\s*(?:/|to\s+EBITDA))",), AMOUNT),
    IndicatorLexeme("free cash flow", (r"\bfree\s+cash\s+flows?\b", r"\bFCF\b"), AMOUNT, ("fcf",)),
    IndicatorLexeme(
        "revenue", (r"\b(?:revenues?|net\s+sales|turnover)\b(?!\s+growth)",), AMOUNT, ("sales", "net sales")
    ),
    IndicatorLexeme("net income", (r"\bnet\s+(?:income|profit|earnings)\b",), AMOUNT, ("net profit", "net earnings")),
    IndicatorLexeme(
        "operating income", (r"\boperating\s+(?:income|profit)\b", r"\bEBIT\b(?!\s*margin)"), AMOUNT, ("ebit",)
    ),
    IndicatorLexeme(
        "eps",
        (r"\bEPS\b", r"\bearnings\s+per\s+(?:diluted\s+)?share\b"),
        frozenset({"money", "count"}),
        ("earnings per share", "diluted eps"),
        per_share=True,
    ),
    IndicatorLexeme(
        "p/e",
        (r"\bP\s*/\s*E\b", r"\bprice[- /]to[- /]earnings\b", r"\bPE\s+ratio\b", r"\bearnings\s+multiple\b"),
        MULTIPLE,
        ("pe ratio", "price/earnings", "price to earnings", "pe"),
    ),
    IndicatorLexeme("dividend yield", (r"\bdividend\s+yield\b",), PERCENT),
    IndicatorLexeme("roe", (r"\bROE\b", r"\breturn\s+on\s+(?:average\s+)?equity\b"), PERCENT, ("return on equity",)),
    IndicatorLexeme(
        "roic", (r"\bROIC\b", r"\breturn\s+on\s+invested\s+capital\b"), PERCENT, ("return on invested capital",)
    ),
    IndicatorLexeme(
        "capex",
        (r"\bcapex\b", r"\bcapital\s+(?:expenditures?|spending)\b"),
        AMOUNT,
        ("capital expenditure", "capital expenditures"),
    ),
    IndicatorLexeme("interest coverage", (r"\binterest\s+coverage\b",), MULTIPLE),
    IndicatorLexeme(
        "debt/equity", (r"\bdebt\s*(?:/|to)\s*equity\b", r"\bgearing\b"), frozenset({"multiple", "percent", "count"})
    ),
)
_STOPWORDS = frozenset({"a", "an", "and", "the", "of", "to", "in", "on", "for", "by", "with", "y/y", "yoy", "ratio"})


def _normalise(name: str) -> str:
    return re.sub(r"\s*/\s*", "/", re.sub(r"\s+", " ", name.strip().lower()))


def lexeme_for(indicator: str) -> IndicatorLexeme:
    """The lexicon entry for an indicator as a user typed it, or a fallback on its own words."""
    wanted = _normalise(indicator)
    for lexeme in LEXICON:
        if wanted == lexeme.key or wanted in (_normalise(a) for a in lexeme.aliases):
            return lexeme
    for lexeme in LEXICON:
        if lexeme.regex().fullmatch(wanted):
            return lexeme
    words = [w for w in re.findall(r"[a-z0-9/&]+", wanted) if w not in _STOPWORDS] or [wanted]
    # All the words, in any order, within one sentence: lookaheads anchored at the segment start.
    pattern = "^" + "".join(rf"(?=.*\b{re.escape(w)}s?\b)" for w in words)
    per_share = bool(re.search(r"\bper\s+share\b|/\s*share\b", wanted))
    return IndicatorLexeme(wanted, (pattern,), ANY_KIND, per_share=per_share)


@dataclass(frozen=True)
class IndicatorEvidence:
    """Numbers that may be an indicator's value, found in one text."""

    mention_spans: tuple[tuple[int, int], ...]
    numbers: tuple[NumberMention, ...]


def indicator_evidence(indicator: str | IndicatorLexeme, text: str) -> IndicatorEvidence:
    lexeme = indicator if isinstance(indicator, IndicatorLexeme) else lexeme_for(indicator)
    regex = lexeme.regex()
    spans: list[tuple[int, int]] = []
    numbers: dict[tuple[int, int], NumberMention] = {}
    all_numbers = numbers_in(text)
    for seg_start, seg_end in segments(text):
        segment = text[seg_start:seg_end]
        for found in regex.finditer(segment):
            start, end = seg_start + found.start(), seg_start + found.end()
            if found.start() == found.end():  # the fallback's lookahead pattern: the whole segment is the mention
                start, end = seg_start, seg_start
                low, high = seg_start, seg_end
            else:
                low, high = max(seg_start, start - BEFORE_WINDOW), min(seg_end, end + AFTER_WINDOW)
            spans.append((start, end))
            for mention in all_numbers:
                # A number inside the mention itself is not its value.
                inside = start <= mention.start < end
                if lexeme.admits(mention) and low <= mention.start and mention.end <= high and not inside:
                    numbers[(mention.start, mention.end)] = mention
    return IndicatorEvidence(tuple(spans), tuple(numbers[k] for k in sorted(numbers)))


def mentions_indicator(indicator: str | IndicatorLexeme, text: str) -> bool:
    return bool(indicator_evidence(indicator, text).mention_spans)
