"""Computed figures: answer "what was the growth / margin / change / total / average of X" from table cells.

Rules read the question (``question.understand``) and pick the operand cells (``engine``); the
arithmetic is ``Decimal`` code. Every answer carries its formula and the cells it used, and the
answer is ``None`` when the cells cannot be chosen without guessing.

Below the rules, ``reader`` answers questions asked of the prose ("what does X include", "why", "how
much was borrowed") with a span of one sentence, lists row labels, or picks the best-matching cell; those
answers carry a confidence and ``answer_question`` takes them only above ``min_confidence``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from pipelines.figures.engine import FigureAnswer, Operand, answer_from_tables
from pipelines.figures.question import QuestionIntent, understand
from pipelines.figures.reader import (
    RELAXED_CONFIDENCE,
    STRICT_CONFIDENCE,
    cell_answer,
    read_cell,
    read_row_labels,
    read_span,
    span_answer,
)
from pipelines.figures.tables import FigureTable, Period, table_from_json
from pipelines.figures.text import answer_from_text

__all__ = [
    "RELAXED_CONFIDENCE",
    "STRICT_CONFIDENCE",
    "FigureAnswer",
    "FigureTable",
    "Operand",
    "Period",
    "QuestionIntent",
    "answer_from_tables",
    "answer_from_text",
    "answer_question",
    "computed_answer_for_passages",
    "table_from_json",
    "understand",
]


# Computations the rules left undone are retried with a lenient intent on the bench; lookups are not
# (the cell reader guesses those better on the tuning half).
_COMPUTATIONS = {"growth", "difference", "ratio", "sum", "average", "threshold"}


def answer_question(
    question: str,
    tables: list[FigureTable],
    prose: list[tuple[str, str]],
    min_confidence: float | None = STRICT_CONFIDENCE,
) -> FigureAnswer | None:
    """The whole cascade: figure rules on the tables, a figure stated in prose, then the readers.

    The rules abstain when the operands are ambiguous. The readers (a listed set of row labels, the best
    sentence span, the best-matching cell) always have a best guess; ``min_confidence`` is how sure of it
    they must be: ``STRICT_CONFIDENCE`` for an analyst (most of the question found in one place),
    ``RELAXED_CONFIDENCE`` for a benchmark where an unanswered question scores 0, None for the rules only.
    """
    intent = understand(question)
    answer = answer_from_tables(intent, tables)
    if answer is None:
        answer = answer_from_text(intent, prose)
    if answer is not None or min_confidence is None:
        return answer
    if intent.kind in _COMPUTATIONS and min_confidence > RELAXED_CONFIDENCE:
        return None  # a growth or a ratio the rules could not compute is not answered with a read-off value
    if min_confidence <= RELAXED_CONFIDENCE and intent.kind in _COMPUTATIONS:
        answer = answer_from_tables(dataclasses.replace(intent, lenient=True), tables)
        if answer is not None:
            return answer
    labels = read_row_labels(question, tables)
    if labels is not None:
        return FigureAnswer("span", labels, "", "", "", [], 1.0, source_ref=tables[0].ref)
    span = read_span(question, prose, min_confidence)
    cell = read_cell(question, tables, min_confidence)
    if cell is not None and intent.kind is None and cell.cell.value is not None:
        cell = None  # "what does X include", "why": words are asked for, not a figure from a cell
    if cell is not None and (span is None or cell.confidence >= span.confidence):
        return cell_answer(cell)
    return span_answer(span) if span is not None else None


def computed_answer_for_passages(
    question: str, passages: Iterable[Mapping[str, Any]], min_confidence: float | None = STRICT_CONFIDENCE
) -> dict[str, Any] | None:
    """The ask path's entry point: (question, retrieved passages) -> computed answer dict, or None.

    A passage is a mapping with ``table`` (the ``DocumentChunk.table`` JSON, or None for a text chunk),
    ``text``, and a reference (``chunk_id``, else ``id``). Tables are tried first; text passages give a
    declared scale ("in thousands") and, failing the tables, a figure stated in one sentence. The
    returned dict is ``FigureAnswer.as_dict()``: kind, value, unit, scale, formula and operands, each
    operand naming its table (chunk id), row label and column header (for a prose figure: the chunk
    id, the sentence, an empty header, row and col -1). Below the figure rules, the readers answer only
    with ``min_confidence`` (see ``answer_question``); a read span has kind "span", its sentence as the
    formula and its passage in ``source_ref``.
    """
    passages = list(passages)
    nearby_text = " ".join(str(p.get("text") or "")[:2000] for p in passages if not p.get("table"))
    tables: list[FigureTable] = []
    for index, passage in enumerate(passages):
        data = passage.get("table")
        if not data:
            continue
        ref = str(passage.get("chunk_id") or passage.get("id") or f"passage-{index}")
        tables.append(table_from_json(data, ref=ref, context=f"{passage.get('text') or ''} {nearby_text}"))
    prose = [
        (str(p.get("chunk_id") or p.get("id") or f"passage-{i}"), str(p.get("text") or ""))
        for i, p in enumerate(passages)
        if not p.get("table")
    ]
    answer = answer_question(question, tables, prose, min_confidence)
    return answer.as_dict() if answer is not None else None
