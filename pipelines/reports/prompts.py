"""Chat messages for report generation and cited answers.

The system prompts are constants, identical for every request, so a prefix KV cache can be
shared across requests; everything that varies (the template, the company, the passages) is in
the user message. The passages arrive redacted; nothing here adds personal data.
"""

from __future__ import annotations

from collections.abc import Sequence

from pipelines.reports.schema import HORIZONS, INSUFFICIENT, RATINGS
from pipelines.reports.spec import (
    MAX_PASSAGE_CHARS,
    MAX_PASSAGES,
    TEMPLATES,
    Passage,
    ReportRequestSpec,
    passage_excerpt,
    prompt_passages,
)

_TEMPLATE_LINES = "\n".join(f"- {t.name}: {t.title} ({', '.join(t.sections)})." for t in TEMPLATES.values())

REPORT_SYSTEM_PROMPT = f"""You are a research analyst at Argus Research. You write research reports as one JSON object.
The firm's report templates:
{_TEMPLATE_LINES}
Rules:
1. Use only facts stated in the numbered passages. Do not use outside knowledge.
2. When the passages do not support a field, write exactly "{INSUFFICIENT}". Never guess a number.
3. Copy every number exactly as it appears in the passage you cite.
4. Cite passages by their chunk id, written exactly as shown after "chunk". Cite only passages you used.
5. Ratings: {", ".join(RATINGS[:-1])}. Horizons: {", ".join(HORIZONS[:-1])}.
6. Key metrics list the required indicators first, in the order given.
7. Write plain sentences without quotation marks."""

ANSWER_SYSTEM_PROMPT = """You are a research assistant at Argus Research. You answer questions as one JSON object.
Rules:
1. Use only facts stated in the numbered passages. Do not use outside knowledge.
2. Each answer sentence cites the chunk id of the passage it comes from, written exactly as shown after "chunk".
3. Copy numbers exactly as they appear in the passage.
4. When the passages do not answer the question, give no sentences and set insufficient_evidence to true.
5. Give at most four sentences, each copied word for word from the passage it cites, best evidence first."""


def _passage_header(number: int, passage: Passage) -> str:
    details = [passage.title, passage.doc_type]
    if passage.published_on:
        details.append(passage.published_on)
    if passage.page is not None:
        details.append(f"p. {passage.page}")
    if passage.section:
        details.append(passage.section)
    return f"[{number}] chunk {passage.chunk_id} | " + " | ".join(d for d in details if d)


def format_passages(
    passages: Sequence[Passage], *, max_passages: int = MAX_PASSAGES, max_chars: int = MAX_PASSAGE_CHARS
) -> str:
    """The numbered passages as the model sees them, each cut to ``max_chars``."""
    shown = prompt_passages(passages, max_passages)
    if not shown:
        return "(no passages were found)"
    return "\n\n".join(f"{_passage_header(i, p)}\n{passage_excerpt(p.text, max_chars)}" for i, p in enumerate(shown, 1))


def report_messages(spec: ReportRequestSpec, passages: Sequence[Passage]) -> list[dict[str, str]]:
    template = spec.report_template
    indicators = spec.indicators()
    lines = [
        f"Template: {template.name} ({template.title})",
        f"Company: {spec.company} ({spec.ticker})",
    ]
    if spec.as_of:
        lines.append(f"As of: {spec.as_of}")
    lines.append(f"Question: {spec.resolved_question()}")
    if indicators:
        lines.append("Required indicators, in this order: " + "; ".join(indicators))
    lines += [f"Guidance: {template.guidance}", "", "Passages:", format_passages(passages), "", "Write the report now."]
    return [{"role": "system", "content": REPORT_SYSTEM_PROMPT}, {"role": "user", "content": "\n".join(lines)}]


def answer_messages(question: str, passages: Sequence[Passage]) -> list[dict[str, str]]:
    content = f"Question: {question.strip()}\n\nPassages:\n{format_passages(passages)}\n\nAnswer now."
    return [{"role": "system", "content": ANSWER_SYSTEM_PROMPT}, {"role": "user", "content": content}]
