"""Pick the operands a question needs among table cells, then compute in code.

The rules only choose cells; arithmetic is ``Decimal`` arithmetic here, never a model's. When the
choice is not clear (no row names the metric, two rows match equally with different values, a period
has no column) the answer is ``None``: an analyst would rather read "not computed" than a guess.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from decimal import Decimal, DivisionByZero, InvalidOperation
from typing import Any

from pipelines.figures.numbers import SCALE_FACTORS, format_decimal
from pipelines.figures.question import QuestionIntent, content_tokens, understand
from pipelines.figures.tables import FigureCell, FigureTable, Period

# Scores run 0..2 (+ small section/header bonuses): 2 is a row label and question naming the same words.
# Below these a row shares a word or two with the question by chance; on the TAT-QA tuning half, lookups
# under 1.75 were right 1 time in 4, computations under 1.5 about 1 in 7.
MIN_METRIC_SCORE = 1.25
MIN_LOOKUP_SCORE = 1.5
# A lenient intent (the bench's best guess, never the ask path) takes any row sharing words with the
# question above this, and the first of tied rows.
LENIENT_SCORE = 0.75
_TIE = Decimal("1e-9")


@dataclass
class Operand:
    table_ref: str
    row_label: str
    column_header: str
    value: Decimal
    text: str
    unit: str
    scale: str
    row: int
    col: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "table_ref": self.table_ref,
            "row_label": self.row_label,
            "column_header": self.column_header,
            "value": str(self.value),
            "text": self.text,
            "unit": self.unit,
            "scale": self.scale,
            "row": self.row,
            "col": self.col,
        }


@dataclass
class FigureAnswer:
    """A computed (or looked-up) figure with the cells it came from."""

    kind: str
    value: Decimal | str | list[Decimal] | list[str]
    unit: str  # "$", "%", "x", "" ...
    scale: str  # "", "thousand", "million", "billion"
    formula: str
    operands: list[Operand] = field(default_factory=list)
    score: float = 0.0  # how well the chosen rows name the question's metric
    # A span read from prose (kind "span"): the passage it is quoted from; the sentence is the formula.
    source_ref: str = ""

    def as_dict(self) -> dict[str, Any]:
        value: Any = [str(v) for v in self.value] if isinstance(self.value, list) else str(self.value)
        data = {
            "kind": self.kind,
            "value": value,
            "unit": self.unit,
            "scale": self.scale,
            "formula": self.formula,
            "operands": [operand.as_dict() for operand in self.operands],
        }
        if self.source_ref:
            data["source_ref"] = self.source_ref
        return data


@dataclass
class _Series:
    """One line item across periods: a row, or a column in a table with periods down the side."""

    key: tuple[str, int]
    label: str
    score: float
    cells: list[tuple[FigureCell, str, list[Period]]]  # (cell, column header, periods of that cell)


def _metric_score(wanted: list[str], label: str, section: str = "", header: str = "") -> float:
    """How well a row label (with its section heading) names the wanted metric words."""
    label_tokens = content_tokens(label)
    if not wanted or not label_tokens:
        return 0.0
    wanted_set = set(wanted)
    shared = wanted_set & set(label_tokens)
    if not shared:
        return 0.0
    score = len(shared) / len(label_tokens) + len(shared) / len(wanted_set)
    section_tokens = set(content_tokens(section)) - set(label_tokens)
    if section_tokens:
        score += 0.25 * len(wanted_set & section_tokens) / len(section_tokens)
    header_tokens = set(content_tokens(header)) - set(label_tokens)
    if header_tokens:
        score += 0.1 * len(wanted_set & header_tokens) / len(header_tokens)
    return score


def _series(table: FigureTable, wanted: list[str]) -> list[_Series]:
    """Every line item of the table scored against the metric words, best first."""
    found: list[_Series] = []
    transposed = sum(1 for row in table.rows if row.periods) >= 2 and not any(c.periods for c in table.columns)
    if transposed:
        for col, column in enumerate(table.columns):
            cells = []
            for row in table.rows:
                cell = row.cells.get(col)
                if cell is not None and cell.value is not None and row.periods:
                    cells.append((cell, row.label, row.periods))
            if cells:
                score = _metric_score(wanted, column.header, table.title)
                found.append(_Series(("col", col), column.header, score, cells))
    else:
        for index, row in enumerate(table.rows):
            cells = []
            for col, cell in sorted(row.cells.items()):
                if cell.value is None:
                    continue
                column = table.columns[col] if col < len(table.columns) else None
                header = column.header if column else ""
                cells.append((cell, header, column.periods if column else []))
            if cells and row.label:
                headers = " ".join(h for _, h, _ in cells)
                score = _metric_score(wanted, row.label, row.section, headers)
                found.append(_Series(("row", index), row.label, score, cells))
    found.sort(key=lambda s: -s.score)
    return found


def _cell_for_period(
    series: _Series, period: Period | None, intent: QuestionIntent, prefer_percent: bool | None
) -> tuple[FigureCell, str] | None:
    """The cell of a line item for one period; None when there is none or two that disagree."""
    if period is None:
        options = [(c, h, p) for c, h, p in series.cells]
    else:
        options = [(c, h, p) for c, h, p in series.cells if any(x.matches(period) for x in p)]
        if not options and not any(p for _, _, p in series.cells) and len(series.cells) == 1:
            # A table with one unlabelled value column: the period is the table's own (it says so in text).
            options = list(series.cells)
    if not options:
        return None
    if len(options) > 1 and prefer_percent is not None:
        narrowed = [o for o in options if (o[0].unit == "%") == prefer_percent]
        options = narrowed or options
    if len(options) > 1:
        wanted = set(intent.metric)
        best = max(len(wanted & set(content_tokens(h))) for _, h, _ in options)
        options = [o for o in options if len(wanted & set(content_tokens(o[1]))) == best]
    if len({o[0].value for o in options}) > 1 and period is not None:
        # Two columns for one period (a restated and an as-reported figure): take the first, as it is
        # printed first, unless their headers distinguish them by the question's words (handled above).
        options = options[:1]
    if len({o[0].value for o in options}) > 1:
        return None
    cell, header, _ = options[0]
    return cell, header


def _operand(table: FigureTable, series: _Series, cell: FigureCell, header: str) -> Operand:
    row_label = table.rows[cell.row].label if cell.row < len(table.rows) else series.label
    assert cell.value is not None
    return Operand(
        table_ref=table.ref,
        row_label=row_label,
        column_header=header,
        value=cell.value,
        text=cell.text,
        unit=cell.unit,
        scale=cell.scale,
        row=cell.row,
        col=cell.col,
    )


def _best_series(
    tables: list[FigureTable], wanted: list[str], need: list[Period | None], intent: QuestionIntent, pct: bool | None
) -> tuple[float, list[Operand]] | None:
    """The line item that best names ``wanted`` and has a cell for each needed period; None if ambiguous."""
    candidates: list[tuple[float, list[Operand]]] = []
    for table in tables:
        for series in _series(table, wanted):
            if series.score < _min_score(intent):
                break
            operands = []
            for period in need:
                picked = _cell_for_period(series, period, intent, pct)
                if picked is None:
                    break
                operands.append(_operand(table, series, *picked))
            else:
                candidates.append((series.score, operands))
    if not candidates:
        return None
    candidates.sort(key=lambda c: -c[0])
    top_score, top = candidates[0]
    tied = [c for c in candidates if abs(c[0] - top_score) <= float(_TIE)]
    if len({tuple(o.value for o in c[1]) for c in tied}) > 1 and not intent.lenient:
        # "Liabilities" fits "Total liabilities" and "Other liabilities" equally: an analyst who names no
        # component means the total. Any other tie is a guess, so no answer.
        totals = [c for c in tied if re.match(r"\s*total\b", c[1][0].row_label, re.I)]
        if len(totals) != 1:
            return None
        return totals[0]
    return top_score, top


def _min_score(intent: QuestionIntent) -> float:
    if intent.lenient:
        return LENIENT_SCORE
    return MIN_LOOKUP_SCORE if intent.kind == "lookup" else MIN_METRIC_SCORE


def _all_periods(tables: list[FigureTable], wanted: list[str], intent: QuestionIntent) -> list[Period]:
    """The periods of the best-matching line item, latest first (for 'average X' with no years named)."""
    best = None
    for table in tables:
        for series in _series(table, wanted):
            if series.score >= min(MIN_METRIC_SCORE, _min_score(intent)) and (
                best is None or series.score > best.score
            ):
                best = series
            break
    if best is None:
        return []
    periods: list[Period] = []
    for _, _, cell_periods in best.cells:
        if len(cell_periods) == 1 and cell_periods[0] not in periods:
            periods.append(cell_periods[0])
    return sorted(periods, reverse=True)


def _show(value: Decimal) -> str:
    text = format_decimal(value)
    return f"({text})" if value < 0 else text


def _quantize(value: Decimal) -> Decimal:
    """Results keep at most 4 decimals (ratios and averages); sums keep the digits of their operands."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1)) if value.as_tuple().exponent < 0 else value
    return value.quantize(Decimal("0.0001")).normalize()


def _common(operands: list[Operand], field_name: str) -> str | None:
    values = {getattr(o, field_name) for o in operands}
    return values.pop() if len(values) == 1 else None


def _rescaled(operands: list[Operand]) -> tuple[list[Decimal], str] | None:
    """Operands on one scale; a mix (thousands and millions) is brought to the smaller one."""
    scales = {o.scale for o in operands}
    if len(scales) == 1:
        return [o.value for o in operands], scales.pop()
    if any(scale not in SCALE_FACTORS for scale in scales):
        return None
    target = min(scales, key=lambda s: SCALE_FACTORS[s])
    return [o.value * SCALE_FACTORS[o.scale] / SCALE_FACTORS[target] for o in operands], target


def _compute(intent: QuestionIntent, operands: list[Operand], score: float) -> FigureAnswer | None:
    kind = intent.kind or "lookup"
    rescaled = _rescaled(operands)
    if rescaled is None:
        return None
    values, scale = rescaled
    unit = _common(operands, "unit") or ""
    if not unit and not scale and intent.percent and kind in {"lookup", "difference", "sum", "average"}:
        unit = "%"  # "the change in the percentage of sales": cells printed without a % sign
    shown = [_show(v) for v in values]
    try:
        if kind == "lookup":
            if len(values) == 1:
                return FigureAnswer(kind, values[0], unit, scale, shown[0], operands, score)
            return FigureAnswer(kind, list(values), unit, scale, "; ".join(shown), operands, score)
        if kind in {"difference", "growth"}:
            new, old = values[0], values[1]
            if kind == "difference":
                return FigureAnswer(
                    kind, _quantize(new - old), unit, scale, f"{shown[0]} \u2212 {shown[1]}", operands, score
                )
            if old == 0:
                return None
            # Divided by the signed base, as the filing's own "% change" columns do; from a negative base
            # the sign reads oddly, so the formula is always shown with the answer.
            value = _quantize((new - old) / old * 100)
            formula = f"({shown[0]} \u2212 {shown[1]}) / {shown[1]} \u00d7 100"
            return FigureAnswer(kind, value, "%", "", formula, operands, score)
        if kind == "sum":
            return FigureAnswer(
                kind, _quantize(sum(values, Decimal(0))), unit, scale, " + ".join(shown), operands, score
            )
        if kind == "average":
            total = sum(values, Decimal(0))
            formula = f"({' + '.join(shown)}) / {len(values)}"
            return FigureAnswer(kind, _quantize(total / len(values)), unit, scale, formula, operands, score)
        if kind == "ratio":
            numerator, denominator = values
            if denominator == 0:
                return None
            if intent.percent or re.search(r"\bmargin\b", intent.question, re.I):
                value = _quantize(numerator / denominator * 100)
                return FigureAnswer(kind, value, "%", "", f"{shown[0]} / {shown[1]} \u00d7 100", operands, score)
            return FigureAnswer(
                kind, _quantize(numerator / denominator), "", "", f"{shown[0]} / {shown[1]}", operands, score
            )
    except (InvalidOperation, DivisionByZero):
        return None
    return None


def _later_first(periods: list[Period]) -> list[Period]:
    return sorted(periods, reverse=True)


def answer_from_tables(question: str | QuestionIntent, tables: list[FigureTable]) -> FigureAnswer | None:
    """Answer a figure question from candidate tables, or None when it cannot be done without guessing."""
    intent = understand(question) if isinstance(question, str) else question
    if intent.kind is None or not tables:
        return None
    kind = intent.kind
    if kind == "compare":
        return _compare(intent, tables)
    if kind == "periods":
        return _periods_covered(tables)
    if kind == "rank":
        return _rank_rows(intent, tables)
    if kind == "threshold":
        return _threshold(intent, tables)
    if intent.metrics and any(s.score >= 2 for t in tables for s in _series(t, intent.metric)[:1]):
        # "the average selling, general and administrative": one row is named by all the words, so the
        # "and" is part of its label, not a second line item.
        intent = dataclasses.replace(intent, metrics=[])
    if intent.metrics:
        # Two line items, one period: A / B, A - B, A + B.
        period = intent.periods[0] if len(intent.periods) == 1 else None
        if len(intent.periods) > 1:
            return None
        operands = []
        score = 0.0
        for wanted in intent.metrics:
            pct = None if kind != "ratio" else False
            found = _best_series(tables, wanted, [period], intent, pct)
            if found is None:
                return None
            score += found[0]
            operands.extend(found[1])
        if len({(o.table_ref, o.row, o.col) for o in operands}) < len(operands):
            return None  # both names fell on one cell
        return _compute(intent, operands, score / len(intent.metrics))
    if kind == "ratio":
        margin = re.search(
            r"\b((?:gross|operating|net|ebitda|ebit|pre-?tax|profit)(?:\s+profit)?)\s+margin", intent.question, re.I
        )
        if margin is None:
            return None  # a ratio needs two named line items, or a row that holds the ratio itself
        return _margin(intent, tables, margin.group(1).lower())
    periods = intent.periods
    # "the change in the percentage of sales" wants the % column; a money change wants the money column.
    prefer_percent: bool | None = bool(intent.percent) if kind != "growth" else False
    if kind == "lookup" and not intent.percent:
        prefer_percent = None
    if kind in {"difference", "growth"}:
        if len(periods) == 1 and periods[0].quarter is None:
            periods = [periods[0], Period(periods[0].year - 1)]  # "growth in 2019" is over the year before
        if not periods:
            periods = _all_periods(tables, intent.metric, intent)[:2] if _has_two(tables, intent) else []
        if len(periods) != 2:
            return None
        periods = _later_first(periods)
    elif kind in {"sum", "average"}:
        if kind == "average" and len(periods) == 1 and periods[0].quarter is None:
            # "the 2019 average X": an average balance, over the year's closing and opening (2019 and 2018).
            periods = [periods[0], Period(periods[0].year - 1)]
        if not periods:
            periods = _all_periods(tables, intent.metric, intent)
        if len(periods) < 2:
            return None
    need: list[Period | None] = list(periods) if periods else [None]
    found = _best_series(tables, intent.metric, need, intent, prefer_percent)
    if found is None:
        return None
    answer = _compute(intent, found[1], found[0])
    if answer is not None and kind == "growth":
        answer = _printed_change(tables, answer) or answer
    return answer


def _printed_change(tables: list[FigureTable], answer: FigureAnswer) -> FigureAnswer | None:
    """The filing's own "% change" cell on the same row when it agrees with the computed growth.

    "Revenue 2,493 2,407 3.6%": the answer is the printed 3.6%, with the computation as its check.
    """
    first = answer.operands[0]
    table = next((t for t in tables if t.ref == first.table_ref), None)
    if table is None or first.row >= len(table.rows) or not isinstance(answer.value, Decimal):
        return None
    used = {o.col for o in answer.operands}
    for col, cell in sorted(table.rows[first.row].cells.items()):
        if col in used or cell.value is None or cell.unit != "%":
            continue
        places = -cell.value.as_tuple().exponent if cell.value.as_tuple().exponent < 0 else 0
        if answer.value.quantize(Decimal(1).scaleb(-places)) == cell.value:
            header = table.columns[col].header if col < len(table.columns) else ""
            printed = _operand(table, _Series(("row", first.row), first.row_label, 0.0, []), cell, header)
            return FigureAnswer(
                "lookup", cell.value, "%", "", f"{cell.text.strip()} (= {answer.formula})", [printed], answer.score
            )
    return None


_MARGIN_NUMERATORS = {
    "gross": (["gross", "profit"], ["gross", "margin"]),
    "operating": (["operating", "income"], ["operating", "profit"]),
    "net": (["net", "income"], ["net", "profit"], ["net", "earning"]),
    "ebitda": (["ebitda"],),
    "ebit": (["ebit"],),
}
_MARGIN_DENOMINATORS = (["revenue"], ["net", "revenue"], ["total", "revenue"], ["net", "sale"], ["sale"])


def _margin(intent: QuestionIntent, tables: list[FigureTable], name: str) -> FigureAnswer | None:
    """'Gross margin in FY2023': a printed margin row if there is one, else profit / revenue x 100."""
    if len(intent.periods) > 1:
        return None
    need: list[Period | None] = [intent.periods[0] if intent.periods else None]
    printed = _best_series(tables, [*content_tokens(name), "margin"], need, intent, True)
    if printed is not None and printed[0] >= 2 and printed[1][0].unit == "%":
        return _compute(
            QuestionIntent(intent.question, "lookup", intent.periods, intent.metric), printed[1], printed[0]
        )
    key = name.split()[0].replace("-", "")
    numerator = None
    for words in _MARGIN_NUMERATORS.get(key, ()):
        numerator = _best_series(tables, list(words), need, intent, False)
        if numerator is not None and numerator[0] >= 2:
            break
        numerator = None
    denominator = None
    for words in _MARGIN_DENOMINATORS:
        denominator = _best_series(tables, list(words), need, intent, False)
        if denominator is not None and denominator[0] >= 2:
            break
        denominator = None
    if numerator is None or denominator is None:
        return None
    operands = [numerator[1][0], denominator[1][0]]
    return _compute(intent, operands, min(numerator[0], denominator[0]))


def _periods_covered(tables: list[FigureTable]) -> FigureAnswer | None:
    """The fiscal years a single table's columns (or, transposed, rows) cover."""
    if len(tables) != 1:
        return None  # several candidate tables: which one the question means is not clear
    table = tables[0]
    periods: list[Period] = []
    for source in [c.periods for c in table.columns] or []:
        periods.extend(p for p in source if p not in periods)
    if not periods:
        for row in table.rows:
            periods.extend(p for p in row.periods if p not in periods)
    if len(periods) < 2:
        return None
    return FigureAnswer("periods", [str(p) for p in periods], "", "", "", [], 0.0)


def _rank_rows(intent: QuestionIntent, tables: list[FigureTable]) -> FigureAnswer | None:
    """'Which segment had the largest net sales in 2019?': the row label of the extreme value in that column."""
    if len(tables) != 1 or len(intent.periods) > 1:
        return None
    table = tables[0]
    columns = [
        index
        for index, column in enumerate(table.columns)
        if (intent.periods and any(p.matches(intent.periods[0]) for p in column.periods))
        or (not intent.periods and len(table.columns) == 1)
    ]
    if not columns and not intent.periods:
        # "Which component is the greatest in the total fair value?": the column the question names.
        wanted = set(intent.metric)
        overlap = [len(wanted & set(content_tokens(c.header))) for c in table.columns]
        if overlap and max(overlap) > 0:
            columns = [i for i, n in enumerate(overlap) if n == max(overlap)]
    if len(columns) > 1:
        wanted = set(intent.metric)
        best = max(len(wanted & set(content_tokens(table.columns[c].header))) for c in columns)
        columns = [c for c in columns if len(wanted & set(content_tokens(table.columns[c].header))) == best]
    if len(columns) > 1:
        # "2019 $" and "2019 %" columns: the same row leads both, or the question is ambiguous.
        ranked = [_rank_column(intent, table, c) for c in columns]
        if any(r is None for r in ranked) or len({r[0].row_label for r in ranked if r}) != 1:
            return None
    if not columns:
        return None
    found = _rank_column(intent, table, columns[0])
    if found is None:
        return None
    extreme, candidates = found
    formula = ("max" if intent.compare_max else "min") + "(" + ", ".join(_show(o.value) for o in candidates) + ")"
    return FigureAnswer("rank", extreme.row_label, "", "", formula, candidates, 0.0)


def _rank_column(intent: QuestionIntent, table: FigureTable, col: int) -> tuple[Operand, list[Operand]] | None:
    """The extreme row of one column (totals left out) and the rows compared; None on a tie or mixed units."""
    candidates: list[Operand] = []
    for row in table.rows:
        cell = row.cells.get(col)
        if cell is None or cell.value is None or not row.label or re.match(r"\s*total\b", row.label, re.I):
            continue
        candidates.append(
            _operand(table, _Series(("row", cell.row), row.label, 0.0, []), cell, table.columns[col].header)
        )
    units = {o.unit for o in candidates}
    # "$2,010" over "116,835": the currency sign is printed on the first row only, so "$" and "" agree.
    if len(candidates) < 2 or (len(units) > 1 and units != {"$", ""}):
        return None
    pick = max if intent.compare_max else min
    extreme = pick(candidates, key=lambda o: o.value)
    if sum(1 for o in candidates if o.value == extreme.value) > 1:
        return None
    return extreme, candidates


def _threshold(intent: QuestionIntent, tables: list[FigureTable]) -> FigureAnswer | None:
    """'How many years did X exceed $30,000 thousand?' / 'Which years was X less than 50%?'."""
    assert intent.threshold is not None
    limit, limit_scale = intent.threshold
    periods = intent.periods if len(intent.periods) >= 2 else _all_periods(tables, intent.metric, intent)
    if len(periods) < 2:
        return None
    found = _best_series(tables, intent.metric, list(periods), intent, None)
    if found is None:
        return None
    score, operands = found
    hits: list[str] = []
    for period, operand in zip(periods, operands, strict=True):
        value = operand.value * SCALE_FACTORS.get(operand.scale, Decimal(1))
        bound = limit * SCALE_FACTORS.get(limit_scale or operand.scale, Decimal(1))
        if (value > bound) if intent.compare_max else (value < bound):
            hits.append(str(period))
    sign = ">" if intent.compare_max else "<"
    formula = "; ".join(
        f"{_show(o.value)} ({p}) {sign} {format_decimal(limit)}" for p, o in zip(periods, operands, strict=True)
    )
    if intent.count:
        return FigureAnswer("count", Decimal(len(hits)), "", "", formula, operands, score)
    if not hits:
        return None
    return FigureAnswer("periods", hits, "", "", formula, operands, score)


def _has_two(tables: list[FigureTable], intent: QuestionIntent) -> bool:
    return len(_all_periods(tables, intent.metric, intent)) == 2


def _compare(intent: QuestionIntent, tables: list[FigureTable]) -> FigureAnswer | None:
    """'In which year was X the largest?': the period of the extreme value of the best line item."""
    periods = intent.periods or _all_periods(tables, intent.metric, intent)
    if len(periods) < 2:
        return None
    found = _best_series(tables, intent.metric, list(periods), intent, False)
    if found is None:
        return None
    score, operands = found
    pairs = list(zip(periods, operands, strict=True))
    extreme = max(pairs, key=lambda p: p[1].value) if intent.compare_max else min(pairs, key=lambda p: p[1].value)
    if sum(1 for _, o in pairs if o.value == extreme[1].value) > 1:
        return None
    sign = " > " if intent.compare_max else " < "
    ordered = sorted(pairs, key=lambda p: p[1].value, reverse=intent.compare_max)
    formula = sign.join(f"{_show(o.value)} ({p})" for p, o in ordered)
    return FigureAnswer("compare", str(extreme[0]), "", "", formula, operands, score)
