"""Figures stated in prose: "Federal and state income taxes of $36.5 million ... were paid in fiscal 2019".

Only lookups: a sentence that names the question's metric and period and holds one figure for it
(or a "..., respectively" list lined up with its periods). No arithmetic on prose figures.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from pipelines.figures.engine import FigureAnswer, Operand
from pipelines.figures.numbers import format_decimal
from pipelines.figures.question import QuestionIntent, content_tokens
from pipelines.figures.tables import periods_in

# Coverage of the question's metric words a sentence needs (tuned on the TAT-QA tuning half).
MIN_SENTENCE_COVERAGE = 0.8

_SENTENCE_END = re.compile(r"(?<=[.;])\s+(?=[A-Z(])")
_FIGURE = re.compile(
    r"(?P<cur>US\$|[$€£])\s?(?P<num>\(?\d[\d,]*(?:\.\d+)?\)?)(?:\s?(?P<scale>million|billion|thousand|bn|m)\b)?"
    r"|(?P<num2>\d[\d,]*(?:\.\d+)?)\s?(?P<pct>%|percent\b)"
    r"|(?P<num3>\d[\d,]*(?:\.\d+)?)\s(?P<scale3>million|billion|thousand)\b",
    re.I,
)
_SCALE_WORDS = {"bn": "billion", "m": "million"}


@dataclass
class _Figure:
    value: Decimal
    unit: str
    scale: str
    text: str
    start: int


def _figures(sentence: str) -> list[_Figure]:
    found = []
    for match in _FIGURE.finditer(sentence):
        raw = match.group("num") or match.group("num2") or match.group("num3")
        try:
            value = Decimal(raw.strip("()").replace(",", ""))
        except InvalidOperation:
            continue
        if raw.startswith("(") and raw.endswith(")"):
            value = -value
        if match.group("cur"):
            unit, scale = "$" if "$" in match.group("cur") else match.group("cur"), match.group("scale") or ""
        elif match.group("pct"):
            unit, scale = "%", ""
        else:
            unit, scale = "", match.group("scale3") or ""
        scale = _SCALE_WORDS.get(scale.lower(), scale.lower())
        found.append(_Figure(value, unit, scale, match.group().strip(), match.start()))
    return found


def answer_from_text(intent: QuestionIntent, passages: list[tuple[str, str]]) -> FigureAnswer | None:
    """A figure named by one sentence of the passages ``[(ref, text), ...]``, or None."""
    # One metric word ("What is Deltenna?") matches too many sentences to pick a figure from.
    if intent.kind != "lookup" or len(intent.metric) < 2 or len(intent.periods) > 1:
        return None
    wanted = set(intent.metric)
    best: list[tuple[float, str, str, _Figure]] = []
    for ref, text in passages:
        for sentence in _SENTENCE_END.split(text or ""):
            figures = _figures(sentence)
            if not figures:
                continue
            coverage = len(wanted & set(content_tokens(sentence))) / len(wanted)
            if coverage < MIN_SENTENCE_COVERAGE:
                continue
            sentence_periods = periods_in(sentence)
            figure = _pick(intent, sentence, sentence_periods, figures)
            if figure is not None:
                best.append((coverage, ref, sentence, figure))
    if not best:
        return None
    best.sort(key=lambda b: -b[0])
    top = best[0]
    if any(b[0] == top[0] and (b[3].value, b[3].scale) != (top[3].value, top[3].scale) for b in best[1:]):
        return None  # two sentences name the metric equally and state different figures
    coverage, ref, sentence, figure = top
    operand = Operand(
        table_ref=ref,
        row_label=sentence.strip()[:300],
        column_header="",
        value=figure.value,
        text=figure.text,
        unit=figure.unit,
        scale=figure.scale,
        row=-1,
        col=-1,
    )
    return FigureAnswer(
        "lookup", figure.value, figure.unit, figure.scale, format_decimal(figure.value), [operand], coverage
    )


def _pick(intent: QuestionIntent, sentence: str, periods: list, figures: list[_Figure]) -> _Figure | None:
    wanted_period = intent.periods[0] if intent.periods else None
    if wanted_period is not None and not any(p.matches(wanted_period) for p in periods):
        return None
    if len(figures) == 1:
        return figures[0]
    if wanted_period is not None and re.search(r"\brespectively\b", sentence, re.I) and len(periods) == len(figures):
        # "$36.5 million, $2.1 million, and $3.7 million ... in fiscal years 2019, 2018, and 2017, respectively"
        index = next(i for i, p in enumerate(periods) if p.matches(wanted_period))
        return figures[index]
    return None
