"""Candidate figures for a report's key metrics: indicator mention + number + period in one sentence or table row.

A small model reads passages poorly: given a table and a news story that both print Costco's 26.7%
gross margin, it still answered "insufficient evidence". So the figures are proposed by code and
the model only writes around them. For each required indicator this module finds, in the passages
about the requested company, every number next to a mention of the indicator with an admissible
unit (``indicators.indicator_evidence``), and the period it is for:

- in a table row ("| Gross margin | 77.5% | 77.7% |"), the period of its column header;
- in a sentence, the period the sentence names, leaving out the comparison base ("down 3.7% compared
  with the fourth quarter of 2022" is not a 2022 figure); "fourth-quarter" without a year is the
  latest fourth quarter before the passage was published.

Candidates are ranked: a stated period before none, the latest period first (a figure for a period
that ends after the as-of date is guidance, ranked last), a quarter before the year that holds it,
then source trust (filings > the company's releases and calls > research and news > ad-hoc notes),
then retrieval order. Two candidates for the same period (or one without a period) whose values
differ are a conflict: the report keeps the most trusted and shows the other with its citation.
Numbers are never invented here: every candidate is a figure printed in a passage.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from pipelines.reports.figures import (
    SCALES,
    NumberMention,
    find_periods,
    numbers_in,
    parse_unit,
    segments,
    to_decimal,
)
from pipelines.reports.indicators import AFTER_WINDOW, BEFORE_WINDOW, IndicatorLexeme, lexeme_for
from pipelines.reports.spec import MAX_PASSAGE_CHARS, Passage, passage_excerpt

# Higher is more trusted. Keys are research DocumentType values (apps/research/models.py); unknown
# types count as ad-hoc uploads. Overridable per deployment (settings.ARGUS_SOURCE_TRUST).
SOURCE_TRUST: dict[str, int] = {
    "10-K": 4,
    "10-Q": 4,
    "8-K": 4,
    "20-F": 4,
    "filing": 4,
    "release": 3,
    "transcript": 3,
    "report": 2,
    "credit_memo": 2,
    "news": 2,
    "note": 1,
    "other": 1,
}
UNTRUSTED = 1
NO_PERIOD = ""

_ORDINAL_QUARTER = re.compile(
    r"\b(?P<ord>first|second|third|fourth)[- ]quarter(?:\s+(?:of\s+)?(?:fiscal\s+)?(?P<year>(?:19|20)\d{2}))?\b",
    re.IGNORECASE,
)
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4}
# A period right after these words is what a figure is compared with, not what it is for.
_COMPARISON_BEFORE = re.compile(
    r"(?:compared\s+(?:with|to)|versus|vs\.?|from|against|than|over|relative\s+to|prior[- ]year|last\s+year'?s?)"
    r"(?:\s+(?:the|a|its|our))?(?:\s+(?:same\s+)?(?:period|quarter)\s+(?:of|in))?\s*$",
    re.IGNORECASE,
)


# A value right after these words is the prior value a figure is compared with.
_COMPARISON_VALUE = re.compile(r"(?:\bfrom|compared\s+(?:with|to)|versus|vs\.?|against)\s*$", re.IGNORECASE)
COMPARISON_PENALTY = 1_000
_GUIDANCE = re.compile(r"\b(?:guid\w*|expects?|expected|outlook|forecasts?|anticipates?|projects?|sees)\b", re.I)


def source_trust(doc_type: str, trust: Mapping[str, int] | None = None) -> int:
    table = SOURCE_TRUST if trust is None else trust
    return int(table.get(doc_type, table.get("other", UNTRUSTED)))


@dataclass(frozen=True)
class FigureCandidate:
    """One printed figure that can be an indicator's value, with where it is and how much it is trusted."""

    indicator: str
    value: str  # canonical, signed ("-3.7")
    unit: str  # canonical ("%", "USD million")
    period: str  # canonical ("Q2 2024", "FY2023") or NO_PERIOD
    chunk_id: str
    doc_type: str
    published_on: str | None
    trust: int
    order: int  # the passage's place in retrieval order
    distance: int  # characters between the mention and the number
    raw: str = ""  # the figure as printed ("$9,014 million", "fell 1.4%" prints "1.4%")

    @property
    def magnitude(self) -> Decimal:
        number = to_decimal(self.value) or Decimal(0)
        scale = parse_unit(self.unit).scale
        return number * SCALES[scale] if scale else number


def _quarter_end(year: int, quarter: int) -> dt.date:
    month = quarter * 3
    return dt.date(year + (month == 12), 1 if month == 12 else month + 1, 1) - dt.timedelta(days=1)


def period_end(period: str) -> dt.date | None:
    """The last day of a canonical period; None for trailing periods and for none."""
    match = re.fullmatch(r"(Q[1-4]|H[12]) ((?:19|20)\d{2})", period)
    if match:
        part, year = match.group(1), int(match.group(2))
        return _quarter_end(year, int(part[1]) if part[0] == "Q" else 2 * int(part[1]))
    match = re.fullmatch(r"(?:FY)?((?:19|20)\d{2})", period)
    return dt.date(int(match.group(1)), 12, 31) if match else None


def _published(passage: Passage) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(passage.published_on)[:10]) if passage.published_on else None
    except ValueError:
        return None


def _ordinal_period(match: re.Match[str], published: dt.date | None) -> str | None:
    quarter = _ORDINALS[match.group("ord").lower()]
    if match.group("year"):
        return f"Q{quarter} {match.group('year')}"
    if published is None:
        return None
    year = published.year
    while _quarter_end(year, quarter) >= published:
        year -= 1
    return f"Q{quarter} {year}"


def _is_comparison(text: str, start: int) -> bool:
    return bool(_COMPARISON_BEFORE.search(text[max(0, start - 40) : start]))


def sentence_periods(sentence: str, published: dt.date | None = None) -> list[str]:
    """The periods a sentence states its figures for: named periods and "fourth-quarter", not comparison bases."""
    found: list[tuple[int, str]] = []
    for match in _ORDINAL_QUARTER.finditer(sentence):
        period = _ordinal_period(match, published)
        if period and not _is_comparison(sentence, match.start()):
            found.append((match.start(), period))
    covered = [m.span() for m in _ORDINAL_QUARTER.finditer(sentence)]
    for period in find_periods(sentence, stated_only=True):
        for match in re.finditer(re.escape(period.split()[-1].removeprefix("FY")), sentence):
            if any(a <= match.start() < b for a, b in covered):
                continue
            if not _is_comparison(sentence, _period_start(sentence, match.start())):
                found.append((match.start(), period))
            break
    ordered: list[str] = []
    for _, period in sorted(found):
        if period not in ordered:
            ordered.append(period)
    return ordered


def _period_start(sentence: str, year_start: int) -> int:
    """Where a period ending in the year at ``year_start`` begins ("Q2 2024", "fiscal 2023", "FY2023")."""
    head = re.search(r"(?:Q[1-4]|H[12]|fiscal(?:\s+year)?|FY|in|for|during|of)\s*$", sentence[:year_start], re.I)
    return head.start() if head else year_start


def _table_header_periods(lines: list[str]) -> list[str] | None:
    """The period of each column in the first table row that names periods ("| Metric | Q2 2024 | Q2 2023 |")."""
    for line in lines:
        if not line.lstrip().startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        periods = [(find_periods(c) or [NO_PERIOD])[0] for c in cells]
        if sum(p != NO_PERIOD for p in periods) >= 1:
            return periods
    return None


def _cell_index(line: str, line_start: int, position: int) -> int:
    """Which cell of a "| a | b |" row holds the character at ``position`` (0 = the label)."""
    inner = line.lstrip()
    offset = line_start + (len(line) - len(inner)) + (1 if inner.startswith("|") else 0)
    return line[: position - line_start].count("|") - 1 if offset <= position else 0


def figure_candidates(
    indicator: str | IndicatorLexeme,
    passages: Sequence[Passage],
    *,
    ticker: str = "",
    as_of: str | None = None,
    trust: Mapping[str, int] | None = None,
    max_chars: int = MAX_PASSAGE_CHARS,
) -> list[FigureCandidate]:
    """Every figure the passages about ``ticker`` state for ``indicator``, best first (see the module doc)."""
    lexeme = indicator if isinstance(indicator, IndicatorLexeme) else lexeme_for(indicator)
    name = indicator if isinstance(indicator, str) else indicator.key
    regex = lexeme.regex()
    found: dict[tuple[str, str, str, str], FigureCandidate] = {}
    for order, passage in enumerate(passages):
        if ticker and passage.ticker and passage.ticker.upper() != ticker.upper():
            continue  # another company's figure is never this company's metric
        text = passage_excerpt(passage.text, max_chars)
        published = _published(passage)
        lines = text.split("\n")
        header = _table_header_periods(lines)
        all_numbers = numbers_in(text)
        # A sentence that names no period is read in the passage's period, when the passage names one.
        # Not from guidance: a sentence that looks ahead, or a period that had not ended when it was published.
        passage_periods = {
            p
            for a, b in segments(text)
            if not _GUIDANCE.search(text[a:b])
            for p in sentence_periods(text[a:b], published)
            if not (published and (period_end(p) or published) > published)
        }
        fallback = passage_periods.pop() if len(passage_periods) == 1 else NO_PERIOD
        for seg_start, seg_end in segments(text):
            segment = text[seg_start:seg_end]
            in_table = segment.lstrip().startswith("|")
            mentions = list(regex.finditer(segment))
            if not mentions:
                continue
            periods = [] if in_table else sentence_periods(segment, published)
            for mention in all_numbers:
                if not (seg_start <= mention.start and mention.end <= seg_end) or not lexeme.admits(mention):
                    continue
                distance = _distance(mention, mentions, seg_start, in_table)
                if distance is None:
                    continue
                if in_table:
                    column = _cell_index(segment, seg_start, mention.start)
                    if column < 1:
                        continue  # a number in the row label ("Q2 2024 revenue") is no value
                    period = header[column] if header and column < len(header) else NO_PERIOD
                else:
                    period = _nearest_period(segment, mention.start - seg_start, periods, published) or fallback
                candidate = FigureCandidate(
                    name,
                    mention.value,
                    mention.unit,
                    period,
                    passage.chunk_id,
                    passage.doc_type,
                    passage.published_on,
                    source_trust(passage.doc_type, trust),
                    order,
                    distance,
                    mention.raw,
                )
                key = (passage.chunk_id, candidate.value, candidate.unit, candidate.period)
                if key not in found or found[key].distance > distance:
                    found[key] = candidate
    return rank_candidates(list(found.values()), as_of=as_of)


def _distance(mention: NumberMention, matches: list[re.Match[str]], seg_start: int, in_table: bool) -> int | None:
    """Characters from the nearest indicator mention to the number, None when outside the windows."""
    best = None
    for match in matches:
        start, end = seg_start + match.start(), seg_start + match.end()
        if start == end:  # a fallback lexeme's lookahead: the whole segment is the mention
            return 0
        if start <= mention.start < end:
            return None  # a number inside the mention itself ("Q2 2024 revenue")
        if in_table and mention.start >= end:
            distance = mention.start - end  # a row's values sit to the right of its label, at any distance
        elif end <= mention.start <= end + AFTER_WINDOW:
            distance = mention.start - end
        elif start - BEFORE_WINDOW <= mention.start and mention.end <= start:
            # "a 26.7% gross margin" is rarer than "gross margin of 26.7%": a number before ranks behind.
            distance = 2 * (start - mention.end) + 1
        else:
            continue
        if _COMPARISON_VALUE.search(text_before(mention, seg_start, match.string)):
            distance += COMPARISON_PENALTY  # "widened to 34.7% from 32.7%": 32.7% is the prior value
        best = distance if best is None else min(best, distance)
    return best


def text_before(mention: NumberMention, seg_start: int, segment: str) -> str:
    start = mention.start - seg_start
    return segment[max(0, start - 24) : start]


def _nearest_period(segment: str, position: int, periods: list[str], published: dt.date | None) -> str:
    """One stated period for the sentence: the only one, else the one closest before the number."""
    if len(periods) <= 1:
        return periods[0] if periods else NO_PERIOD
    before = [p for p in periods if _last_position(segment, p, published) <= position]
    return before[-1] if before else periods[0]


def _last_position(segment: str, period: str, published: dt.date | None) -> int:
    positions = [m.start() for m in re.finditer(re.escape(period.split()[-1].removeprefix("FY")), segment)]
    positions += [m.start() for m in _ORDINAL_QUARTER.finditer(segment) if _ordinal_period(m, published) == period]
    return min(positions) if positions else len(segment)


def rank_candidates(candidates: list[FigureCandidate], *, as_of: str | None = None) -> list[FigureCandidate]:
    """Best first: stated period, latest period (not after ``as_of``), quarter before year, trust, retrieval order."""
    cutoff = None
    if as_of:
        try:
            cutoff = dt.date.fromisoformat(as_of[:10])
        except ValueError:
            cutoff = None

    def key(c: FigureCandidate) -> tuple[int, int, int, int, int, int]:
        end = period_end(c.period) if c.period else None
        future = int(bool(end and cutoff and end > cutoff))
        granular = int(c.period.startswith("Q")) if c.period else 0
        place = c.order * 10_000 + c.distance
        return (future, int(end is None), -(end.toordinal() if end else 0), -granular, -c.trust, place)

    return sorted(candidates, key=key)


def _same_figure(a: FigureCandidate, b: FigureCandidate) -> bool:
    if parse_unit(a.unit).kind != parse_unit(b.unit).kind:
        return True  # another kind of figure is not a competing value (a margin and an amount)
    x, y = a.magnitude, b.magnitude
    if x == y:
        return True
    # Rounding: 56.89 billion and 56,890 million, 1.4% and 1.38%.
    return abs(x - y) <= max(abs(x), abs(y)) * Decimal("0.005")


def best_candidate(candidates: Sequence[FigureCandidate]) -> FigureCandidate | None:
    """The top-ranked figure, taken from the most trusted passage that states the same figure.

    A news story's "$9.01 billion for the first quarter" and the 10-Q's "$9,014 million" are one
    figure: the report quotes the filing's, as precisely as it prints it.
    """
    if not candidates:
        return None
    top = candidates[0]
    agreeing = [c for c in candidates if parse_unit(c.unit).kind == parse_unit(top.unit).kind and _same_figure(c, top)]
    return max(agreeing, key=lambda c: (c.trust, len(c.value.replace("-", "").replace(".", "")), -c.order))


def candidate_conflicts(chosen: FigureCandidate, candidates: Sequence[FigureCandidate]) -> list[FigureCandidate]:
    """Other passages' best figures that give another value for the chosen figure's period.

    ``candidates`` ranked (``figure_candidates``). Each other passage speaks through its best
    candidate (the prior-year column of a table, or "from 32.7%", is not a claim about this
    period). The chosen figure's period is the top candidate's when they agree (a 10-Q's undated
    figure confirmed by a dated news story); a candidate without a period may be about any period,
    so it conflicts too; two different stated periods (FY2023 and Q4 2023) never do.
    """
    period = chosen.period or (candidates[0].period if candidates and _same_figure(candidates[0], chosen) else "")
    best_per_passage: dict[str, FigureCandidate] = {}
    for candidate in candidates:
        if candidate.distance < COMPARISON_PENALTY and parse_unit(candidate.unit).kind == parse_unit(chosen.unit).kind:
            best_per_passage.setdefault(candidate.chunk_id, candidate)
    conflicts: list[FigureCandidate] = []
    for other in best_per_passage.values():
        if other.chunk_id == chosen.chunk_id or _same_figure(other, chosen):
            continue
        if other.period and period and other.period != period:
            continue
        conflicts.append(other)
    return conflicts
