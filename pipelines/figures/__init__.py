"""Computed figures: answer "what was the growth / margin / change / total / average of X" from table cells.

Rules read the question (``question.understand``) and pick the operand cells (``engine``); the
arithmetic is ``Decimal`` code. Every answer carries its formula and the cells it used, and the
answer is ``None`` when the cells cannot be chosen without guessing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pipelines.figures.engine import FigureAnswer, Operand, answer_from_tables
from pipelines.figures.question import QuestionIntent, understand
from pipelines.figures.tables import FigureTable, Period, table_from_json
from pipelines.figures.text import answer_from_text

__all__ = [
    "FigureAnswer",
    "FigureTable",
    "Operand",
    "Period",
    "QuestionIntent",
    "answer_from_tables",
    "answer_from_text",
    "computed_answer_for_passages",
    "table_from_json",
    "understand",
]


def computed_answer_for_passages(question: str, passages: Iterable[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The ask path's entry point: (question, retrieved passages) -> computed answer dict, or None.

    A passage is a mapping with ``table`` (the ``DocumentChunk.table`` JSON, or None for a text chunk),
    ``text``, and a reference (``chunk_id``, else ``id``). Tables are tried first; text passages give a
    declared scale ("in thousands") and, failing the tables, a figure stated in one sentence. The
    returned dict is ``FigureAnswer.as_dict()``: kind, value, unit, scale, formula and operands, each
    operand naming its table (chunk id), row label and column header (for a prose figure: the chunk
    id, the sentence, an empty header, row and col -1).
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
    intent = understand(question)
    answer = answer_from_tables(intent, tables)
    if answer is None:
        prose = [
            (str(p.get("chunk_id") or p.get("id") or f"passage-{i}"), str(p.get("text") or ""))
            for i, p in enumerate(passages)
            if not p.get("table")
        ]
        answer = answer_from_text(intent, prose)
    return answer.as_dict() if answer is not None else None
