"""The analyst question set and the abstention set: loaders, answer-value matching. Plain Python, no Django.

``bench/data/analyst_questions_10k.jsonl`` holds analyst-style questions over the shared 10-K
items (narrative, number, table and computed questions) as *pointers*: filing, item, character
offsets and the SHA-256 of each evidence span, never the filing text (the shared data is read in
place, see ``bench/data/README.md``). :func:`load_analyst_questions` resolves every span from the
shared data and refuses to run when a hash no longer matches.

``bench/data/abstention_questions.jsonl`` holds questions the corpus cannot answer (off-topic,
companies or periods not in the corpus, facts filings do not hold), each with its reason.

Both sets are for evaluation only: nothing may be tuned on them (see the README).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.eval_data import (
    REPO_ROOT,
    AnswerSpan,
    EvalDataDriftError,
    EvalDataError,
    EvalQuestion,
    _read_filings,
    default_shared_data_dir,
    sha256_text,
)

ANALYST_SET_PATH = REPO_ROOT / "bench" / "data" / "analyst_questions_10k.jsonl"
ABSTENTION_SET_PATH = REPO_ROOT / "bench" / "data" / "abstention_questions.jsonl"

KINDS = ("narrative", "number", "table", "computed")
ABSTENTION_CATEGORIES = ("off_topic", "company_not_in_corpus", "period_not_in_corpus", "fact_not_in_filings")
SCALES = {None: 1.0, "unit": 1.0, "thousand": 1e3, "million": 1e6, "billion": 1e9}
UNITS = ("USD", "percent", "count", "hours", "lines")

# A written number matches the expected value within this relative tolerance, or the question's own
# absolute tolerance when it has one (computed answers are rounded by whoever writes them).
RELATIVE_TOLERANCE = 0.005


@dataclass(frozen=True)
class ExpectedValue:
    """The value a number question expects: ``value`` in ``unit``, times ``scale`` (USD million ...)."""

    value: float
    unit: str
    scale: str | None = None
    tolerance: float | None = None  # absolute, in the unit and scale of ``value``

    @property
    def base(self) -> float:
        return self.value * SCALES[self.scale]

    def found_in(self, text: str) -> bool:
        """Whether ``text`` states this value (sign ignored: "a loss of $12.5 million" states -12.5).

        Scale-tolerant: "$1.2 billion", "$1,200 million" and "1,200" (a table in millions) all state
        1,200 million. A percentage must be written as one (%, percent, percentage points), and only
        a percentage is read as one.
        """
        expected = abs(self.base)
        tolerance = max(
            RELATIVE_TOLERANCE * expected, (self.tolerance or 0.0) * SCALES[self.scale], 1e-9 * max(expected, 1.0)
        )
        for written in written_numbers(text):
            if (self.unit == "percent") != written.percent:
                continue
            if self.unit == "USD" and not (written.scale or written.money_like):
                continue  # "Note 36" is not $36 million
            # A bare number is read as written or in the expected scale (a table "in thousands").
            scales = [SCALES[written.scale]] if written.scale else [1.0, SCALES[self.scale]]
            if any(abs(abs(written.value) * scale - expected) <= tolerance for scale in scales):
                return True
        return False


_NUMBER = re.compile(
    r"(?<![\w.])[-\u2212]?(\$)?\(?(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?\)?\s*(%|percent\b|per cent\b|percentage points?\b)?"
    r"\s*(thousand|million|billion|bn\b|mn\b|[kmb]\b)?",
    re.IGNORECASE,
)
_SCALE_WORDS = {"thousand": "thousand", "k": "thousand", "million": "million", "mn": "million", "m": "million"}
_SCALE_WORDS |= {"billion": "billion", "bn": "billion", "b": "billion"}


@dataclass(frozen=True)
class WrittenNumber:
    value: float
    scale: str | None  # the scale word after it, if any
    percent: bool  # written as a percentage
    money_like: bool  # a $ sign, a thousands separator or decimals: not a note or item number


def written_numbers(text: str) -> list[WrittenNumber]:
    """Every number written in ``text``."""
    out = []
    for match in _NUMBER.finditer(text):
        dollar, digits, decimals, percent, scale = match.groups()
        value = float(digits.replace(",", "") + (decimals or ""))
        money_like = bool(dollar or decimals or "," in digits)
        out.append(WrittenNumber(value, _SCALE_WORDS.get(scale.lower()) if scale else None, bool(percent), money_like))
    return out


@dataclass(frozen=True)
class AnalystQuestion:
    id: str
    question: str
    kind: str
    ticker: str | None  # the company the question names (ticker, or CIK<n> for filers without one)
    company_named: bool
    filing_ticker: str  # the answering filing's company as the platform stores it
    company: str
    cik: str
    fiscal_year: int | None
    filing_date: str
    filename: str
    item: str
    evidence: tuple[AnswerSpan, ...]
    alternates: tuple[AnswerSpan, ...] = ()
    answer: ExpectedValue | None = None
    computation: dict[str, Any] | None = field(default=None, compare=False)

    def as_eval_question(self) -> EvalQuestion:
        """For ``bench.eval_data.is_relevant``: any evidence span or exact copy of one is a hit."""
        return EvalQuestion(
            id=self.id,
            question=self.question,
            kind=self.kind,
            company=self.company,
            ticker=self.filing_ticker,
            filing_date=self.filing_date,
            answer=self.evidence[0],
            alternates=(*self.evidence[1:], *self.alternates),
        )


@dataclass(frozen=True)
class AbstentionQuestion:
    id: str
    question: str
    category: str
    reason: str


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    rows = []
    with Path(path).open(encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as error:
                raise EvalDataError(f"{path}:{line_number}: not JSON ({error})") from error
    return rows


def _span(filings: dict[str, dict], question_id: str, filename: str, raw: dict[str, Any]) -> AnswerSpan:
    item, start, end, expected = raw["item"], int(raw["start"]), int(raw["end"]), raw["sha256"]
    filing = filings.get(filename)
    if filing is None:
        raise EvalDataDriftError(f"{question_id}: filing {filename} is not in the shared 10-K data")
    text = filing.get(item)
    if not isinstance(text, str) or not 0 <= start < end <= len(text):
        raise EvalDataDriftError(f"{question_id}: {filename} {item} has no span [{start}:{end}]")
    passage = text[start:end]
    if sha256_text(passage) != expected:
        raise EvalDataDriftError(
            f"{question_id}: evidence {filename} {item}[{start}:{end}] changed; the shared 10-K data drifted, "
            "re-anchor the question before trusting any metric"
        )
    return AnswerSpan(filename=filename, item=item, start=start, end=end, sha256=expected, text=passage)


def expected_value(raw: dict[str, Any]) -> ExpectedValue | None:
    answer = raw.get("answer")
    if not answer:
        return None
    tolerance = (raw.get("computation") or {}).get("tolerance")
    return ExpectedValue(float(answer["value"]), answer["unit"], answer.get("scale"), tolerance)


def load_analyst_questions(
    shared_data_dir: str | Path | None = None, *, path: str | Path = ANALYST_SET_PATH
) -> list[AnalystQuestion]:
    """The questions with every evidence span resolved and hash-checked against the shared data."""
    filings = _read_filings(shared_data_dir or default_shared_data_dir())
    questions, seen = [], set()
    for raw in read_jsonl(path):
        if raw["id"] in seen:
            raise EvalDataError(f"{path}: duplicate id {raw['id']}")
        seen.add(raw["id"])
        evidence = tuple(_span(filings, raw["id"], raw["filename"], span) for span in raw["evidence"])
        alternates = tuple(_span(filings, raw["id"], alt["filename"], alt) for alt in raw.get("alternates", ()))
        questions.append(
            AnalystQuestion(
                id=raw["id"],
                question=raw["question"],
                kind=raw["kind"],
                ticker=raw.get("ticker"),
                company_named=bool(raw.get("company_named")),
                filing_ticker=raw["filing_ticker"],
                company=raw["company"],
                cik=str(raw["cik"]),
                fiscal_year=raw.get("fiscal_year"),
                filing_date=raw.get("filing_date", ""),
                filename=raw["filename"],
                item=raw["item"],
                evidence=evidence,
                alternates=alternates,
                answer=expected_value(raw),
                computation=raw.get("computation"),
            )
        )
    return questions


def load_abstention_questions(path: str | Path = ABSTENTION_SET_PATH) -> list[AbstentionQuestion]:
    rows = read_jsonl(path)
    ids = [row["id"] for row in rows]
    if len(ids) != len(set(ids)):
        raise EvalDataError(f"{path}: duplicate ids")
    return [AbstentionQuestion(row["id"], row["question"], row["category"], row["reason"]) for row in rows]


def filings_referenced(questions: Iterable[AnalystQuestion]) -> set[str]:
    return {span.filename for q in questions for span in (*q.evidence, *q.alternates)}
