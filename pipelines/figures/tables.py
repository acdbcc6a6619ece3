"""The table a figure is read from, as the research table chunks store it.

Input is the ``DocumentChunk.table`` JSON::

    {"title": ..., "headers": [[...], ...], "columns": [{"header": "2019", "period": "FY2019"}, ...],
     "rows": [{"label": "Total sales", "cells": [{"col": 0, "text": "$1,496.5", "value": 1496.5,
               "scale": "million", "unit": "$"}, ...]}], "scale": "million", "unit": "$"}

Missing ``value``/``period`` fields are filled here from the text, so a table from any producer works.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from pipelines.figures.numbers import ParsedNumber, detect_scale, parse_number

_YEAR = re.compile(r"(?<!\d)(?:FY\s?|fiscal\s+(?:year\s+)?)?((?:19|20)\d{2})(?!\d)", re.I)
_SHORT_FY = re.compile(r"\bF(?:Y\s?)?'?(\d{2})\b", re.I)
_QUARTER = re.compile(r"\b(?:Q([1-4])|([1-4])Q|(first|second|third|fourth)\s+quarter)\b", re.I)
# "(in thousands, except per share data)": per-share and per-unit rows are in units.
_UNSCALED_ROW = re.compile(r"\bper\s+(?:[\w-]+\s+){0,2}(?:share|unit|ads)\b|\bEPS\b|\bprice\b", re.I)
_RATE_ROW = re.compile(r"\brates?\b(?!\s+per\b)|\bmargin\b|\byield\b|\bvolatility\b", re.I)
_ORDINAL_QUARTER = {"first": 1, "second": 2, "third": 3, "fourth": 4}


@dataclass(frozen=True, order=True)
class Period:
    """A fiscal year, optionally narrowed to a quarter. Compared by (year, quarter)."""

    year: int
    quarter: int | None = None

    def matches(self, wanted: Period) -> bool:
        return self.year == wanted.year and (wanted.quarter is None or self.quarter == wanted.quarter)

    def __str__(self) -> str:
        return f"Q{self.quarter} {self.year}" if self.quarter else str(self.year)


def periods_in(text: str) -> list[Period]:
    """Periods named in a header or a question, in order of mention, without repeats."""
    # "2 0 1 9": letter-spaced years in some typeset headers.
    text = re.sub(r"\b([12]) ([09]) (\d) (\d)\b", r"\1\2\3\4", text or "")
    quarter = None
    quarter_match = _QUARTER.search(text)
    if quarter_match:
        digit = quarter_match.group(1) or quarter_match.group(2)
        quarter = int(digit) if digit else _ORDINAL_QUARTER[quarter_match.group(3).lower()]
    years = [int(m.group(1)) for m in _YEAR.finditer(text)]
    years += [2000 + int(m.group(1)) for m in _SHORT_FY.finditer(text)]
    found: list[Period] = []
    for year in years:
        period = Period(year, quarter)
        if period not in found:
            found.append(period)
    return found


@dataclass
class FigureCell:
    row: int
    col: int
    text: str
    value: Decimal | None
    unit: str
    scale: str
    is_nil: bool = False


@dataclass
class FigureColumn:
    header: str
    periods: list[Period]


@dataclass
class FigureRow:
    label: str
    section: str  # the nearest heading row above ("Current assets:"), for context
    periods: list[Period]  # a transposed table puts its periods in the row labels
    cells: dict[int, FigureCell] = field(default_factory=dict)


@dataclass
class FigureTable:
    ref: str
    title: str
    columns: list[FigureColumn]
    rows: list[FigureRow]
    scale: str
    unit: str


def _as_decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _as_text(cell: dict[str, Any]) -> str:
    return str(cell.get("text") or "").strip()


def table_from_json(data: dict[str, Any], ref: str, context: str = "") -> FigureTable:
    """Build a ``FigureTable`` from the chunk JSON; ``context`` (nearby text) may declare the scale."""
    title = str(data.get("title") or "")
    header_text = " ".join(" ".join(str(c) for c in row) for row in data.get("headers") or [])
    columns: list[FigureColumn] = []
    for column in data.get("columns") or []:
        header = str(column.get("header") or "")
        declared = periods_in(str(column.get("period") or ""))
        periods = declared or periods_in(header)
        # "2019 vs 2018" is a change column, not a period of its own.
        columns.append(FigureColumn(header=header, periods=periods if len(periods) == 1 else []))
    table_scale = str(data.get("scale") or "") or detect_scale(f"{title} {header_text}") or detect_scale(context)
    table_unit = str(data.get("unit") or "")
    rows: list[FigureRow] = []
    section = ""
    for index, row in enumerate(data.get("rows") or []):
        label = str(row.get("label") or "").strip()
        if not label and index > 0 and any(_as_text(c) for c in row.get("cells") or []):
            # The unlabelled last line under a column of figures is its total.
            label = "Total"
        figure_row = FigureRow(label=label, section=section, periods=periods_in(label))
        # A row may state its own scale ("Net income - (in thousands)") or be a rate without a % sign.
        row_scale = detect_scale(label) or table_scale
        row_is_rate = bool(_RATE_ROW.search(label)) or bool(re.search(r"%|\bpercent", label, re.I))
        for raw in row.get("cells") or []:
            col = int(raw.get("col", 0))
            text = str(raw.get("text") or "")
            parsed: ParsedNumber | None = parse_number(text)
            value = _as_decimal(raw.get("value"))
            if value is None and parsed is not None:
                value = parsed.value
            unit = str(raw.get("unit") or "") or (parsed.unit if parsed else "")
            if not unit and value is not None:
                header = columns[col].header if col < len(columns) else ""
                if re.search(r"%|\bpercent", header, re.I) or row_is_rate:
                    unit = "%"
            cell_scale = str(raw.get("scale") or "")
            if not cell_scale and unit != "%" and not _UNSCALED_ROW.search(label):
                cell_scale = row_scale
            figure_row.cells[col] = FigureCell(
                row=index,
                col=col,
                text=text,
                value=value,
                unit=unit,
                scale=cell_scale,
                is_nil=bool(parsed and parsed.is_nil),
            )
        if label and not any(c.value is not None or c.text.strip() for c in figure_row.cells.values()):
            # A heading row ("Current assets:") names the rows under it.
            section = label.rstrip(":")
        rows.append(figure_row)
    return FigureTable(ref=ref, title=title, columns=columns, rows=rows, scale=table_scale, unit=table_unit)
