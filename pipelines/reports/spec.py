"""What a report is asked for and what it may cite: the request, the passages, the firm's templates."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

# The passages the model sees. The report schema and the prompt both go through
# ``prompt_passages``/``passage_excerpt``, so the model can cite and copy numbers from exactly
# the text it was shown. 6 x 900 characters is about 1,400 SmolLM2 tokens of an 8k context.
MAX_PASSAGES = 6
MAX_PASSAGE_CHARS = 900


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk the report may cite (already redacted upstream)."""

    chunk_id: str
    document_id: str
    title: str
    company: str
    ticker: str
    doc_type: str
    published_on: str | None
    page: int | None
    section: str
    text: str


@dataclass(frozen=True)
class ReportTemplate:
    # default_question names no company: the user message states the company next to it.
    name: str
    title: str
    default_question: str
    sections: tuple[str, ...]
    guidance: str


TEMPLATES: dict[str, ReportTemplate] = {
    t.name: t
    for t in (
        ReportTemplate(
            name="equity_research",
            title="Equity research note",
            default_question="What is the investment case for the company, and what are the main risks?",
            sections=("rating", "target price", "horizon", "thesis", "key metrics", "risks"),
            guidance="Give a rating and a price target only when a passage states them or the numbers clearly "
            "support them. The thesis is one or two sentences on why the stock should move.",
        ),
        ReportTemplate(
            name="earnings_update",
            title="Earnings update",
            default_question="How did the company do in its latest reported quarter?",
            sections=("rating", "thesis", "key metrics", "risks"),
            guidance="Report the latest quarter's figures and how they changed on the year. The thesis says "
            "whether the quarter changes the view.",
        ),
        ReportTemplate(
            name="credit_review",
            title="Credit review",
            default_question="How strong is the credit profile of the company?",
            sections=("rating", "thesis", "key metrics", "risks"),
            guidance="Focus on leverage, liquidity, cash flow and debt maturities. The rating is the credit view "
            "expressed on the house scale (buy = improving, sell = deteriorating).",
        ),
    )
}


@dataclass(frozen=True)
class ReportRequestSpec:
    ticker: str
    company: str
    question: str  # "" -> the template's default question
    required_indicators: list[str] = field(default_factory=list)
    as_of: str | None = None  # ISO date
    template: str = "equity_research"

    def __post_init__(self) -> None:
        if self.template not in TEMPLATES:
            raise ValueError(f"unknown report template {self.template!r}, use one of {', '.join(TEMPLATES)}")

    @property
    def report_template(self) -> ReportTemplate:
        return TEMPLATES[self.template]

    def resolved_question(self) -> str:
        return self.question.strip() or self.report_template.default_question

    def indicators(self) -> list[str]:
        """The required indicators, stripped and deduplicated (case-insensitively), in order."""
        seen: set[str] = set()
        result = []
        for name in self.required_indicators:
            clean = " ".join(name.split())
            if clean and clean.lower() not in seen:
                seen.add(clean.lower())
                result.append(clean)
        return result


def template_question(template: str) -> str:
    """The default question of a report template."""
    if template not in TEMPLATES:
        raise ValueError(f"unknown report template {template!r}, use one of {', '.join(TEMPLATES)}")
    return TEMPLATES[template].default_question


def prompt_passages(passages: Iterable[Passage], max_passages: int = MAX_PASSAGES) -> list[Passage]:
    """The passages a report is built on: the first ``max_passages`` distinct chunks, in retrieval order."""
    chosen: list[Passage] = []
    seen: set[str] = set()
    for passage in passages:
        if passage.chunk_id in seen:
            continue
        seen.add(passage.chunk_id)
        chosen.append(passage)
        if len(chosen) == max_passages:
            break
    return chosen


def passage_excerpt(text: str, max_chars: int = MAX_PASSAGE_CHARS) -> str:
    """``text`` cut to ``max_chars`` at a word boundary (never inside a number)."""
    text = text.strip()
    if len(text) <= max_chars:
        return text
    cut = text.rfind(" ", 0, max_chars + 1)
    newline = text.rfind("\n", 0, max_chars + 1)
    cut = max(cut, newline)
    return text[: cut if cut > max_chars // 2 else max_chars].rstrip() + " ..."


_PASSAGE_FIELDS = tuple(f.name for f in fields(Passage))


def as_passage(value: Passage | Mapping[str, Any]) -> Passage:
    """A ``Passage`` from a Passage or a dict with its field names (missing fields empty)."""
    if isinstance(value, Passage):
        return value
    data = {name: value.get(name) for name in _PASSAGE_FIELDS}
    for name in ("chunk_id", "document_id", "title", "company", "ticker", "doc_type", "section", "text"):
        data[name] = "" if data[name] is None else str(data[name])
    return Passage(**data)


def passage_index(passages: Mapping[str, Any] | Sequence[Any]) -> dict[str, Passage]:
    """chunk id -> Passage from a mapping (chunk id -> Passage, dict or text) or a sequence of Passages/dicts."""
    index: dict[str, Passage] = {}
    if isinstance(passages, Mapping):
        for chunk_id, value in passages.items():
            if isinstance(value, str):
                index[str(chunk_id)] = as_passage({"chunk_id": chunk_id, "text": value})
            else:
                passage = as_passage(value)
                index[str(chunk_id)] = (
                    passage if passage.chunk_id else as_passage({**_fields(passage), "chunk_id": chunk_id})
                )
        return index
    for value in passages:
        passage = as_passage(value)
        index.setdefault(passage.chunk_id, passage)
    return index


def _fields(passage: Passage) -> dict[str, Any]:
    return {name: getattr(passage, name) for name in _PASSAGE_FIELDS}
