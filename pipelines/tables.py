"""Financial tables as structured data: columns with periods, rows with labels, cells with numbers.

Parsers (HTML ``<table>``, PDF tables found by pdfplumber, whitespace/pipe-aligned plain text)
hand a grid of cell strings to ``build_table``; it finds the header rows, merges them per
column, detects each column's period, the row labels, and parses every cell's number with its
sign (parentheses are negative), scale ("in millions" in the title, header or notes) and unit.

A table travels on its ``TextBlock``; the block's text is ``table.lines()``: one merged header
line, then one line per body row, "Label: 2023 = 383,285; 2022 = 394,328", so a row's label and
its numbers always sit in the same chunk. Chunking splits a table only between rows and repeats
the title and header line in every part (``pipelines.chunking``).

A cell is addressed as ``r{row}c{col}`` (0-based body row and data column of the whole table,
so the address does not change when a table is split); a citation to a cell is
``<chunk_id>#r3c2`` (``cell_ref`` / ``parse_cell_ref``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

SCALE_FACTORS = {"thousands": 1e3, "millions": 1e6, "billions": 1e9}
_CURRENCY = "$€£¥"
_DASHES = {"-", "\u2013", "\u2014", "\u2012", "\u2015", "--", "\u2014\u2014"}
_NUMBER = re.compile(
    r"^(?P<plus>\+)?\s*(?P<cur0>[$€£¥])?\s*(?P<open>\()?\s*(?P<minus>[-\u2212\u2013+])?\s*(?P<cur>[$€£¥])?\s*(?P<minus2>[-\u2212\u2013])?\s*"
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)\s*"
    r"(?P<word>thousand|million|billion|bn|mm|m|k)?\s*(?P<pct>%|percent|pts?|bps|x)?\s*(?P<close>\))?\s*(?P<pct2>%)?$",
    re.IGNORECASE,
)
# "1,234 (1)": a footnote marker after a figure, not a negative one.
_FOOTNOTE = re.compile(r"(?<=[\d%)])(?:\s+\(\d{1,2}\)|\s*\[\d{1,2}\]|\s*\*+)$")
_SCALE_PHRASE = re.compile(
    r"(?:\bin\b|amounts?\s+in|\$\s*in|dollars\s+in|expressed\s+in)\s+(?:u\.?s\.?\s+)?(?:dollars\s+)?"
    r"(?P<scale>thousands|millions|billions)\b"
    r"|\(\s*(?P<short>\$?\s*0{3}(?:,0{3})*)\s*'?s?\s*\)"
    r"|\bin\s+\$\s*(?P<short2>0{3}(?:,0{3})*)'?s?\b"
    r"|\(\s*(?P<cur>[$€£¥])\s*(?P<abbr>k|m|mm|mn|bn|b)\s*\)",
    re.IGNORECASE,
)
_SHORT_SCALES = {"000": "thousands", "000,000": "millions", "000000": "millions"}
_WORD_SCALES = {"thousand": "thousands", "k": "thousands", "million": "millions", "m": "millions", "mm": "millions",
                "mn": "millions", "billion": "billions", "bn": "billions", "b": "billions"}  # fmt: skip
# Rows whose numbers are never in the table's scale: "in millions, except per share data".
_UNSCALED_ROW = re.compile(r"per\s+(?:share|unit|diluted|basic)|\beps\b|ratio|margin|percent|%|\brate\b|\bdays\b",
                           re.IGNORECASE)  # fmt: skip
_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9, "oct": 10,
    "nov": 11, "dec": 12,
}  # fmt: skip
_MONTH = (
    r"(?P<month>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?"
    r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DATE = re.compile(_MONTH + r"\s+(?:(?P<day>\d{1,2}),?\s+)?(?P<year>(?:19|20)\d{2})\b", re.IGNORECASE)
_DURATION = re.compile(
    r"\b(?P<n>three|six|nine|twelve|thirteen|twenty-six|thirty-nine|fifty-two|fifty-three|3|6|9|12|13|26|39|52|53)"
    r"[\s-]+(?P<what>months?|weeks?)\s+(?:period\s+)?ended\b",
    re.IGNORECASE,
)
_DURATION_MONTHS = {
    "three": 3, "3": 3, "six": 6, "6": 6, "nine": 9, "9": 9, "twelve": 12, "12": 12,
    "thirteen": 3, "13": 3, "twenty-six": 6, "26": 6, "thirty-nine": 9, "39": 9, "fifty-two": 12, "52": 12,
    "fifty-three": 12, "53": 12,
}  # fmt: skip
_QUARTER = re.compile(
    r"\b(?:Q(?P<q1>[1-4])\s*[-'\u2019 ]?\s*(?:FY|fiscal\s*)?\s*'?(?P<y1>(?:19|20)?\d{2})\b"
    r"|(?P<q2>[1-4])Q\s*[-'\u2019]?\s*(?:FY)?\s*(?P<y2>(?:19|20)?\d{2})\b"
    r"|(?P<q3>first|second|third|fourth)\s+quarter(?:\s+of)?\s+(?:fiscal\s+(?:year\s+)?)?(?P<y3>(?:19|20)\d{2})\b)",
    re.IGNORECASE,
)
_QUARTER_WORDS = {"first": 1, "second": 2, "third": 3, "fourth": 4}
_HALF = re.compile(
    r"\b(?:H(?P<h1>[12])\s*[-'\u2019 ]?\s*(?:FY)?\s*(?P<y1>(?:19|20)?\d{2})\b"
    r"|(?P<h2>first|second)\s+half\s+(?:of\s+)?(?:fiscal\s+)?(?P<y2>(?:19|20)\d{2})\b)",
    re.IGNORECASE,
)
_FISCAL_YEAR = re.compile(r"\b(?:fiscal\s+(?:year\s+)?|FY\s*'?|year\s+ended\s+.{0,20}?)(?P<year>(?:19|20)?\d{2})\b",
                          re.IGNORECASE)  # fmt: skip
_YEAR = re.compile(r"(?<![\d.,$])(?P<year>(?:19|20)\d{2})(?![\d,.%])")
_LEADER_DOTS = re.compile(r"(?:\s*\.){3,}\s*$")


@dataclass(frozen=True)
class Period:
    """A column's period: ``label`` is canonical ("FY2023", "Q2 2024", "3M ended 2023-12-30", "2023-12-31")."""

    label: str
    fiscal_year: int | None = None
    fiscal_period: str | None = None  # FY, Q1-Q4, H1, H2 (the research app's FiscalPeriod values)
    end: str | None = None  # ISO date when the header names one
    months: int | None = None  # length of a duration; None for a point in time or unknown
    instant: bool = False  # "December 31, 2023" alone: a balance at a date

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "fiscal_year": self.fiscal_year,
            "fiscal_period": self.fiscal_period,
            "end": self.end,
            "months": self.months,
            "instant": self.instant,
        }


@dataclass(frozen=True)
class ParsedNumber:
    value: float
    unit: str | None  # "$", "€", "%"... None for a plain count
    scale: str | None  # "millions" when the cell itself says so ("$1.2 million")


@dataclass(frozen=True)
class Column:
    header: str  # header rows merged, top to bottom
    period: Period | None = None
    short: str = ""  # the lowest header row's text ("Change" under "Years ended")

    @property
    def key(self) -> str:
        """How a row line names this column: its period when it has one, else its lowest header."""
        return self.period.label if self.period else (self.short or self.header)


@dataclass(frozen=True)
class Cell:
    col: int
    text: str
    value: float | None = None  # signed, as printed (multiply by the scale factor for units)
    scale: str | None = None
    unit: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"col": self.col, "text": self.text, "value": self.value, "scale": self.scale, "unit": self.unit}


@dataclass(frozen=True)
class Row:
    index: int  # position among the table's body rows (the ``r`` of a cell address)
    label: str
    cells: tuple[Cell, ...]

    def line(self, columns: Sequence[Column]) -> str:
        filled = [cell for cell in self.cells if cell.text]
        values = "; ".join(f"{columns[cell.col].key} = {cell.text}" if columns[cell.col].key else cell.text
                           for cell in filled)  # fmt: skip
        if not values:
            return self.label
        return f"{self.label}: {values}" if self.label else values


@dataclass(frozen=True)
class Table:
    title: str
    header_rows: tuple[tuple[str, ...], ...]  # raw header rows, one text per data column
    label_header: str  # the header of the row-label column ("(in millions)", "Products")
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    scale: str | None = None
    unit: str | None = None
    notes: tuple[str, ...] = ()
    page: int | None = None

    def header_line(self) -> str:
        parts = [self.label_header] if self.label_header else []
        parts.extend(column.header or f"column {i + 1}" for i, column in enumerate(self.columns))
        return " | ".join(parts) if any(column.header for column in self.columns) else ""

    def lines(self) -> list[str]:
        """The block text's lines: the header line (if any), then one line per body row."""
        header = self.header_line()
        return ([header] if header else []) + [row.line(self.columns) for row in self.rows]

    def text(self) -> str:
        return "\n".join(self.lines())

    def map_text(self, change: Callable[[str], str]) -> Table:
        """The same table with every string passed through ``change`` (redaction); numbers re-read."""
        rows = tuple(
            Row(row.index, change(row.label), tuple(_reparse(cell, change(cell.text)) for cell in row.cells))
            for row in self.rows
        )
        columns = tuple(replace(column, header=change(column.header)) for column in self.columns)
        return replace(
            self,
            title=change(self.title),
            header_rows=tuple(tuple(change(text) for text in header) for header in self.header_rows),
            label_header=change(self.label_header),
            columns=columns,
            rows=rows,
            notes=tuple(change(note) for note in self.notes),
        )

    def to_dict(self, *, rows: Sequence[Row] | None = None, part: int = 1, parts: int = 1,
                index: int | None = None) -> dict[str, Any]:  # fmt: skip
        """The JSON a table chunk stores (``rows``: the part's rows; all by default)."""
        return {
            "title": self.title,
            "table_index": index,
            "page": self.page,
            "headers": [list(header) for header in self.header_rows],
            "label_header": self.label_header,
            "columns": [{"header": c.header, "period": c.period.to_dict() if c.period else None} for c in self.columns],
            "rows": [
                {"index": row.index, "label": row.label, "cells": [cell.to_dict() for cell in row.cells]}
                for row in (self.rows if rows is None else rows)
            ],
            "part": part,
            "parts": parts,
            "scale": self.scale,
            "unit": self.unit,
            "notes": list(self.notes),
        }


def _reparse(cell: Cell, text: str) -> Cell:
    if text == cell.text:
        return cell
    number = parse_number(text)
    return replace(cell, text=text, value=number.value if number else None)


# --- numbers, scale, periods ------------------------------------------------------------------


def parse_number(text: str) -> ParsedNumber | None:
    """ "(1,234)" -> -1234, "$ 5.2 million" -> 5.2 $ millions, "12.5%" -> 12.5 %; None for words and dashes."""
    cleaned = _FOOTNOTE.sub("", " ".join(text.split())) if text else ""
    if not cleaned or cleaned in _DASHES:
        return None
    match = _NUMBER.match(cleaned)
    if match is None:
        return None
    if bool(match.group("open")) != bool(match.group("close")):
        return None
    value = float(match.group("num").replace(",", ""))
    signs = [match.group(name) for name in ("minus", "minus2") if match.group(name)]
    if match.group("open") or any(sign != "+" for sign in signs):
        value = -value
    pct = (match.group("pct") or match.group("pct2") or "").lower()
    unit = "%" if pct in ("%", "percent") else ("pts" if pct.startswith("pt") else pct or None)
    currency = match.group("cur0") or match.group("cur")
    unit = currency or unit
    word = (match.group("word") or "").lower()
    scale = _WORD_SCALES.get(word)
    if word in ("m", "k") and not currency:
        return None  # "5m" without a currency is as likely five metres or minutes as five million
    return ParsedNumber(value=value, unit=unit, scale=scale)


def detect_scale(*texts: str) -> tuple[str | None, str | None]:
    """(scale, unit) from a title, header or note: "(in millions, except per share data)", "($000s)"."""
    for text in texts:
        if not text:
            continue
        match = _SCALE_PHRASE.search(text)
        if match is None:
            continue
        if match.group("abbr"):
            scale = _WORD_SCALES.get(match.group("abbr").lower(), "billions")
            return scale, match.group("cur")
        if match.group("scale"):
            scale = match.group("scale").lower()
        else:
            short = (match.group("short") or match.group("short2") or "").replace("$", "").replace(" ", "")
            scale = _SHORT_SCALES.get(short)
            if scale is None:
                continue
        around = text[max(0, match.start() - 20) : match.end() + 10].lower()
        unit = "$" if ("$" in around or "dollar" in around) else None
        return scale, unit
    return None, None


def _two_digit_year(text: str) -> int:
    year = int(text)
    return year if year >= 100 else 2000 + year if year < 70 else 1900 + year


def detect_period(header: str) -> Period | None:
    """A column header's period: years, "Fiscal 2023", "Q2 2024", "Three months ended December 30, 2023"."""
    text = " ".join(header.split())
    if not text:
        return None
    duration = _DURATION.search(text)
    date = _DATE.search(text)
    if duration and date:
        months = _DURATION_MONTHS[duration.group("n").lower()]
        end = _iso_date(date)
        label = f"{months}M ended {end}" if end else f"{months}M {date.group('year')}"
        return Period(label, fiscal_year=int(date.group("year")), fiscal_period="FY" if months == 12 else None,
                      end=end, months=months)  # fmt: skip
    quarter = _QUARTER.search(text)
    if quarter:
        number = quarter.group("q1") or quarter.group("q2") or _QUARTER_WORDS[quarter.group("q3").lower()]
        year = _two_digit_year(quarter.group("y1") or quarter.group("y2") or quarter.group("y3"))
        return Period(f"Q{number} {year}", fiscal_year=year, fiscal_period=f"Q{number}", months=3)
    half = _HALF.search(text)
    if half:
        number = half.group("h1") or ("1" if (half.group("h2") or "").lower() == "first" else "2")
        year = _two_digit_year(half.group("y1") or half.group("y2"))
        return Period(f"H{number} {year}", fiscal_year=year, fiscal_period=f"H{number}", months=6)
    if date:
        end = _iso_date(date)
        if "year" in text.lower() and "ended" in text.lower():
            return Period(f"FY{date.group('year')}", fiscal_year=int(date.group("year")), fiscal_period="FY",
                          end=end, months=12)  # fmt: skip
        label = end or f"{date.group('month')[:3].title()} {date.group('year')}"
        return Period(label, fiscal_year=int(date.group("year")), end=end, instant=True)
    fiscal = _FISCAL_YEAR.search(text)
    if fiscal:
        year = _two_digit_year(fiscal.group("year"))
        return Period(f"FY{year}", fiscal_year=year, fiscal_period="FY", months=12)
    years = _YEAR.findall(text)
    if len(years) == 1 and len(text) <= 40 and not re.search(r"change|vs\.?|versus|compared|%", text, re.IGNORECASE):
        year = int(years[0])
        return Period(f"FY{year}", fiscal_year=year, fiscal_period="FY", months=12)
    return None


def _iso_date(match: re.Match[str]) -> str | None:
    month = _MONTHS[_month_key(match)]
    day = match.group("day")
    if not day:
        return None
    try:
        return dt.date(int(match.group("year")), month, int(day)).isoformat()
    except ValueError:
        return None


def _month_key(match: re.Match[str]) -> str:
    word = match.group("month").lower().rstrip(".")
    return "sept" if word.startswith("sept") else word[:3]


# --- building a table from a grid of strings ----------------------------------------------------


def _clean(text: str) -> str:
    text = " ".join((text or "").split())
    return _LEADER_DOTS.sub("", text).strip()


def _is_value(text: str) -> bool:
    return parse_number(text) is not None and _YEAR.fullmatch(text.strip()) is None


def merge_symbol_cells(cells: Sequence[str]) -> list[str]:
    """SEC tables put "$" and ")" / "%" in cells of their own: join them to their number, keep positions."""
    out = [_clean(cell) for cell in cells]
    for i, text in enumerate(out):
        if len(text) > 2 and text[-1] in _CURRENCY and text[-2] == " ":
            # "Cloud $" | "1,200": text-aligned extraction put the currency sign in the label's cell.
            nxt = next((j for j in range(i + 1, len(out)) if out[j]), None)
            if nxt is not None and parse_number(text[-1] + out[nxt]) is not None:
                out[nxt] = text[-1] + out[nxt]
                out[i] = text = text[:-2]
        if text in _CURRENCY or text in ("(", "$(", "($"):
            nxt = next((j for j in range(i + 1, len(out)) if out[j]), None)
            if nxt is not None and parse_number(text + out[nxt]) is not None:
                out[nxt] = text + out[nxt]
                out[i] = ""
        elif text in (")", "%", ")%", "%)"):
            prev = next((j for j in range(i - 1, -1, -1) if out[j]), None)
            if prev is not None and parse_number(out[prev] + text) is not None:
                out[prev] = out[prev] + text
                out[i] = ""
    return out


def build_table(
    grid: Sequence[Sequence[str]],
    *,
    title: str = "",
    notes: Sequence[str] = (),
    header_rows: int | None = None,
    page: int | None = None,
) -> Table | None:
    """A table from rows of cell strings (already aligned to columns), or None if it holds no figures.

    ``header_rows``: how many leading rows are headers when the source says so (``<thead>``, ``<th>``);
    otherwise the leading rows without any figure (years and dates do not count) are headers.
    """
    width = max((len(row) for row in grid), default=0)
    rows = [merge_symbol_cells(list(row) + [""] * (width - len(row))) for row in grid]
    rows = [row for row in rows if any(row)]
    if len(rows) < 2 or width < 2:
        return None
    if header_rows is None:
        header_rows = 0
        for row in rows:
            if any(_is_value(cell) for cell in row[1:]):
                break
            header_rows += 1
        if header_rows == len(rows):
            return None
    head, body = rows[:header_rows], rows[header_rows:]
    data_cols = [c for c in range(1, width) if any(_is_value(row[c]) for row in body)]
    if not data_cols:
        return None
    # Columns left of the figures that hold text in the body make up the row label ("$" spacers do not).
    label_cols = [c for c in range(data_cols[0]) if any(row[c] for row in body)] or [0]
    # Text columns right of the first figure column ("n/m", notes) stay columns of their own.
    data_cols = [c for c in range(data_cols[0], width) if any(row[c] for row in body)]
    numeric = sum(1 for row in body for c in data_cols if _is_value(row[c]))
    if numeric < 2:
        return None
    headers = _column_headers(head, data_cols, label_cols)
    if len(head) == 1 and any(not parts for parts in headers):
        # Sloppy markup: "$" cells in the body but none in the header row. Read each row's filled
        # cells left to right under the header's filled cells instead.
        compact = [[row[0]] + [cell for cell in row[1:] if cell] for row in rows]
        named = len(compact[0]) - 1
        if named >= 2 and all(len(row) - 1 <= named for row in compact[1:]):
            padded = [row + [""] * (named + 1 - len(row)) for row in compact]
            return build_table(padded, title=title, notes=notes, header_rows=1, page=page)
    columns = tuple(
        Column(header=" ".join(parts), period=detect_period(" ".join(parts)), short=parts[-1] if parts else "")
        for parts in headers
    )
    label_header = " ".join(dict.fromkeys(row[c] for row in head for c in label_cols if row[c]))
    scale, unit = detect_scale(title, label_header, *(c.header for c in columns), *notes)
    if unit is None and any(row[c].startswith("$") for row in body for c in data_cols):
        unit = "$"
    built_rows: list[Row] = []
    for row in body:
        label = " ".join(dict.fromkeys(row[c] for c in label_cols if row[c])).rstrip(":").strip()
        # "Revenue ($m)": a row can state its own scale, which wins over the table's.
        label_scale, label_unit = detect_scale(label)
        unscaled = bool(_UNSCALED_ROW.search(label)) and label_scale is None
        cells = []
        for col, c in enumerate(data_cols):
            text = row[c]
            number = parse_number(text) if text else None
            if number is None:
                cells.append(Cell(col, text))
                continue
            percent_column = "%" in columns[col].header or "percent" in columns[col].header.lower()
            cell_unit = number.unit or ("%" if percent_column else None) or label_unit or (None if unscaled else unit)
            cell_scale = number.scale or (None if unscaled or cell_unit in ("%", "x", "pts", "bps") else
                                          label_scale or scale)  # fmt: skip
            cells.append(Cell(col, text, number.value, cell_scale, cell_unit))
        built_rows.append(Row(len(built_rows), label, tuple(cells)))
    return Table(
        title=_clean(title),
        header_rows=tuple(tuple(parts[i] if i < len(parts) else "" for parts in headers) for i in range(len(head)))
        if head
        else (),
        label_header=label_header,
        columns=columns,
        rows=tuple(built_rows),
        scale=scale,
        unit=unit,
        notes=tuple(_clean(note) for note in notes if _clean(note)),
        page=page,
    )


def _column_headers(
    head: Sequence[Sequence[str]], data_cols: Sequence[int], label_cols: Sequence[int]
) -> list[list[str]]:
    """Per data column, the header texts top to bottom (a spanning header repeats over its columns)."""
    out: list[list[str]] = [[] for _ in data_cols]
    for row in head:
        placed = {c: row[c] for c in data_cols if row[c]}
        # A header over a "$" spacer column (no colspan) belongs to the figure column right after it.
        for c, text in enumerate(row):
            if not text or c in data_cols or c in label_cols or c < data_cols[0] - 1:
                continue
            after = next((d for d in data_cols if d > c), None)
            if after is not None and after - c <= 2 and after not in placed:
                placed[after] = text
            elif after is not None and after - c == 1 and text != placed.get(after):
                placed[after] = f"{text} {placed[after]}"  # "Fiscal" | "2023" split over two cells
        for i, c in enumerate(data_cols):
            text = placed.get(c, "")
            if text and (not out[i] or out[i][-1] != text):
                out[i].append(text)
    return out


def table_bounds(grid: Sequence[Sequence[str | None]]) -> tuple[int, int] | None:
    """Which rows of a detected grid are the table: [start, end) from up to two short header rows
    above the first row with a figure, to the last row with one. Text-aligned detection (PDF) also
    returns the prose around a table as rows; those fall outside."""
    rows = [[_clean(cell or "") for cell in row] for row in grid]
    with_values = [i for i, row in enumerate(rows) if any(_is_value(cell) for cell in merge_symbol_cells(row))]
    if not with_values:
        return None
    first, last = with_values[0], with_values[-1]
    start, headers = first, 0
    while start > 0 and headers < 2:
        above = rows[start - 1]
        if not any(above):
            start -= 1
            continue
        if sum(len(cell) for cell in above) > 60 or any(len(cell.split()) > 5 for cell in above):
            break
        start -= 1
        headers += 1
    while start < first and not any(rows[start]):
        start += 1
    return start, last + 1


def table_region(grid: Sequence[Sequence[str | None]]) -> list[list[str]]:
    """The table's rows of a detected grid (see ``table_bounds``), empty rows dropped."""
    bounds = table_bounds(grid)
    if bounds is None:
        return []
    rows = [[_clean(cell or "") for cell in row] for row in grid[bounds[0] : bounds[1]]]
    return [row for row in rows if any(row)]


# --- plain-text tables ------------------------------------------------------------------------

_GAP = re.compile(r"\t+| {2,}")


def split_text_row(line: str) -> list[str]:
    """Cells of a whitespace-, tab- or pipe-aligned line."""
    stripped = line.strip()
    if stripped.count("|") >= 2 or (stripped.count("|") == 1 and " | " in stripped):
        cells = [cell.strip() for cell in stripped.strip("|").split("|")]
    else:
        cells = [cell.strip() for cell in _GAP.split(stripped)]
    return [cell for cell in cells if cell != ""] if "|" not in stripped else cells


def text_table_grid(lines: Sequence[str]) -> list[list[str]]:
    """Rows aligned on the right: in text tables figures line up under their headers at the right edge,
    while a header row has no label and a body row may lack some figures at the left."""
    rows = [merge_symbol_cells(split_text_row(line)) for line in lines]
    rows = [[cell for cell in row if cell] for row in rows]
    rows = [row for row in rows if row and not all(set(c) <= set("-=_|:+ ") for c in row)]

    def has_values(row: list[str]) -> bool:
        return any(_is_value(cell) for cell in row)

    value_width = max((len(row) - (0 if _is_value(row[0]) else 1) for row in rows if has_values(row)), default=0)
    grid = []
    for row in rows:
        if not has_values(row) and len(row) == 1 and value_width > 1:
            label, values = row[0], []  # one text over several columns: a caption ("(in millions)")
        elif not has_values(row) and len(row) <= value_width:
            label, values = "", row  # a header row: no label cell, headers over the figures
        elif _is_value(row[0]):
            label, values = "", row
        else:
            label, values = row[0], row[1:]
        values = values[-value_width:] if value_width else []
        grid.append([label] + [""] * (value_width - len(values)) + values)
    return grid


_SCALE_NOTE = re.compile(r"\((?:dollars\s+|\$\s*)?in\s+(?:thousands|millions|billions)\)", re.IGNORECASE)
_RULE_TOKEN = re.compile(r"^[-=_]{3,}$")
_VALUE_DASHES = {"-", "--", "\u2013", "\u2014"}


def flat_table_grid(line: str) -> tuple[list[list[str]], int, list[str]] | None:
    """A table flattened onto one line, as text extracts of older filings have them:
    "2006 2005 ------ Cash $ 151 $ 30 Investment in Bank 113,165 107,004 ------ $ 114,758 $ 108,389".

    Returns (grid, header rows, notes) when every row has as many figures as there are columns (the
    header's years, else the first row's figures); None otherwise. A row of figures right after a
    rule line, without a label, is a total.
    """
    tokens = line.split()
    years: list[str] = []
    header: list[str] = []
    position = 0
    # The header: words, then a run of years ("At March 31, 2006 2005"), before any other figure.
    while position < len(tokens) and not _is_value(tokens[position]) and tokens[position] != "$":
        if _YEAR.fullmatch(tokens[position]):
            years.append(tokens[position])
        elif years:
            break
        elif not _RULE_TOKEN.match(tokens[position]):
            header.append(tokens[position])
        position += 1
    if len(years) < 2:
        years, header, position = [], [], 0
    rows: list[list[str]] = []
    notes: list[str] = []
    label: list[str] = []
    after_rule = False
    width = len(years) or None
    while position < len(tokens):
        token = tokens[position]
        if _RULE_TOKEN.match(token):
            after_rule, position = True, position + 1
            continue
        values: list[str] = []
        while position < len(tokens):
            token = tokens[position]
            if token == "$" and position + 1 < len(tokens) and parse_number("$" + tokens[position + 1]):
                values.append("$ " + tokens[position + 1])
                position += 2
            elif _is_value(token) or token in _VALUE_DASHES or (values and parse_number(token)):
                values.append(token)
                position += 1
            else:
                break
        if values:
            width = width or len(values)
            if len(values) != width:
                return None
            text = _LEADER_DOTS.sub("", " ".join(label)).strip()
            scale_note = re.search(
                r"\((?:dollars\s+|\$\s*)?in\s+(?:thousands|millions|billions)\)", text, re.IGNORECASE
            )
            if scale_note:  # "(In thousands) Savings": the scale, then the first row's label
                notes.append(scale_note.group())
                text = (text[: scale_note.start()] + text[scale_note.end() :]).strip()
            if not text and not after_rule:
                return None
            rows.append([text or "Total", *values])
            label, after_rule = [], False
            continue
        label.append(token)
        after_rule = False
        position += 1
    if len(rows) < 2 or (label and any(ch.isdigit() for ch in " ".join(label))):
        return None
    # "At March 31, 2006 2005": the words before the years belong to every year's column.
    lead = " ".join(header).rstrip(",")
    grid = ([["", *(f"{lead} {year}".strip() for year in years)]] if years else []) + rows
    return grid, (1 if years else 0), notes


# --- cell addresses ---------------------------------------------------------------------------

_CELL = re.compile(r"^r(?P<row>\d{1,5})c(?P<col>\d{1,4})$")


@dataclass(frozen=True)
class CellAddress:
    row: int
    col: int

    def __str__(self) -> str:
        return f"r{self.row}c{self.col}"


def parse_cell(text: str) -> CellAddress | None:
    match = _CELL.match((text or "").strip())
    return CellAddress(int(match.group("row")), int(match.group("col"))) if match else None


def cell_ref(chunk_id: str, row: int, col: int) -> str:
    """A citation to one cell: ``<chunk_id>#r3c2``."""
    return f"{chunk_id}#{CellAddress(row, col)}"


def parse_cell_ref(ref: str) -> tuple[str, CellAddress | None]:
    """(chunk_id, address or None) from ``<chunk_id>#r3c2`` or a bare chunk id."""
    chunk_id, _, cell = (ref or "").partition("#")
    return chunk_id.strip(), parse_cell(cell) if cell else None


def find_cell(table: dict[str, Any], address: CellAddress) -> dict[str, Any] | None:
    """The cell at ``address`` in a stored table chunk's JSON, with its row label, column header and period."""
    columns = table.get("columns") or []
    if not 0 <= address.col < len(columns):
        return None
    for row in table.get("rows") or []:
        if row.get("index") != address.row:
            continue
        cell = next((c for c in row.get("cells") or [] if c.get("col") == address.col), None)
        if cell is None:
            return None
        column = columns[address.col]
        return {
            **cell,
            "row": address.row,
            "row_label": row.get("label", ""),
            "column_header": column.get("header", ""),
            "period": column.get("period"),
            "table_title": table.get("title", ""),
            "table_index": table.get("table_index"),
            "address": str(address),
        }
    return None
