"""The retrieval evaluation set on the real 10-K filings, and the metrics that score a retriever on it.

The set (``bench/data/retrieval_eval_10k.jsonl``) holds hand-written analyst questions and
*pointers* into ``<shared data>/sec_10k_items/edgar_crawler_10k_items.jsonl``: file name, item
key, character offsets into that item's raw text and the SHA-256 of the answer passage. The
filings themselves are never copied into the repository (see ``../shared/data/README.md``);
:func:`load_retrieval_eval` resolves every passage from the shared data and refuses to run if a
hash no longer matches, so a changed data file cannot silently turn into a wrong answer key.

Some passages are repeated inside their own filing (Item 1 restated in Item 7, a note in Item 8);
those copies are listed as ``alternates`` and count as correct answers too. Copies in *other*
filings were avoided when the set was written: a question names the company and the year, and
its passage is the one filing that answers it.

This set is for evaluation only: nothing (chunk size, fusion weights, prompts, models) may be
trained or tuned on it. Plain Python, no Django.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
EVAL_SET_PATH = REPO_ROOT / "bench" / "data" / "retrieval_eval_10k.jsonl"
TEN_K_DIR = "sec_10k_items"
TEN_K_FILE = "edgar_crawler_10k_items.jsonl"

# A retrieved chunk is a hit when it covers at least this share of an answer span, or holds one
# of the span's sentences whole (a chunk boundary may cut a three-sentence answer in two).
MIN_ANSWER_COVERAGE = 0.5
MIN_SENTENCE_CHARS = 40

_ITEM_KEY = re.compile(r"^item_\d+[A-C]?$")


class EvalDataError(Exception):
    """The evaluation set or the shared data it points into is missing or malformed."""


class EvalDataDriftError(EvalDataError):
    """The shared data no longer holds the passage a question points to (hash mismatch)."""


@dataclass(frozen=True)
class AnswerSpan:
    """A passage of one filing item that answers a question: ``item text[start:end]``."""

    filename: str
    item: str
    start: int
    end: int
    sha256: str
    text: str  # resolved from the shared data, never stored in the repository

    @property
    def sentence_spans(self) -> tuple[tuple[int, int], ...]:
        """Absolute offsets of the span's sentences that are long enough to identify it."""
        spans = []
        for match in re.finditer(r"[^.!?;\n]+(?:[.!?;]+|$)", self.text):
            lo, hi = match.span()
            while lo < hi and self.text[lo].isspace():
                lo += 1
            while hi > lo and self.text[hi - 1].isspace():
                hi -= 1
            if hi - lo >= MIN_SENTENCE_CHARS:
                spans.append((self.start + lo, self.start + hi))
        return tuple(spans)


@dataclass(frozen=True)
class EvalQuestion:
    id: str
    question: str
    kind: str  # number | fact | risk | strategy | product | customers | competitors
    company: str
    ticker: str
    filing_date: str
    answer: AnswerSpan
    alternates: tuple[AnswerSpan, ...] = ()

    @property
    def filename(self) -> str:
        return self.answer.filename

    @property
    def item(self) -> str:
        return self.answer.item

    @property
    def answer_spans(self) -> tuple[AnswerSpan, ...]:
        return (self.answer, *self.alternates)


@dataclass(frozen=True)
class TenKDocument:
    """One item of one filing, as a document to index."""

    filename: str
    cik: str
    company: str
    ticker: str
    filing_date: str
    period_of_report: str
    item: str
    text: str

    @property
    def key(self) -> str:
        return f"{self.filename}#{self.item}"


def default_shared_data_dir() -> Path:
    """``ARGUS_SHARED_DATA`` if set, else ``<repo>/../shared/data`` (the layout CI provides)."""
    configured = os.environ.get("ARGUS_SHARED_DATA")
    return Path(configured) if configured else REPO_ROOT.parent / "shared" / "data"


def ten_k_path(shared_data_dir: str | Path) -> Path:
    return Path(shared_data_dir) / TEN_K_DIR / TEN_K_FILE


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _read_filings(shared_data_dir: str | Path) -> dict[str, dict]:
    path = ten_k_path(shared_data_dir)
    if not path.is_file():
        raise EvalDataError(f"10-K items not found at {path} (set ARGUS_SHARED_DATA to the shared data folder)")
    filings: dict[str, dict] = {}
    with path.open(encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                filing = json.loads(line)
            except json.JSONDecodeError as error:
                raise EvalDataError(f"{path}:{line_number}: not JSON ({error})") from error
            filings[filing["filename"]] = filing
    return filings


def load_10k_documents(shared_data_dir: str | Path | None = None) -> Iterator[TenKDocument]:
    """Every non-empty item of every filing, in file order (items in their natural order)."""
    filings = _read_filings(shared_data_dir or default_shared_data_dir())
    for filing in filings.values():
        for key, text in filing.items():
            if not _ITEM_KEY.match(key) or not isinstance(text, str) or not text.strip():
                continue
            yield TenKDocument(
                filename=filing["filename"],
                cik=str(filing.get("cik", "")),
                company=filing.get("company", ""),
                ticker=filing.get("ticker") or "",
                filing_date=filing.get("filing_date", ""),
                period_of_report=filing.get("period_of_report", ""),
                item=key,
                text=text,
            )


def _resolve_span(filings: dict[str, dict], question_id: str, filename: str, raw: dict) -> AnswerSpan:
    item = raw["item"]
    start, end, expected = int(raw["answer_start"]), int(raw["answer_end"]), raw["answer_sha256"]
    filing = filings.get(filename)
    if filing is None:
        raise EvalDataDriftError(f"{question_id}: filing {filename} is not in the shared 10-K data")
    text = filing.get(item)
    if not isinstance(text, str) or not 0 <= start < end <= len(text):
        raise EvalDataDriftError(f"{question_id}: {filename} {item} has no span [{start}:{end}]")
    passage = text[start:end]
    actual = sha256_text(passage)
    if actual != expected:
        raise EvalDataDriftError(
            f"{question_id}: passage {filename} {item}[{start}:{end}] changed "
            f"(sha256 {actual[:12]}..., expected {expected[:12]}...); the shared 10-K data drifted, "
            "re-anchor the question before trusting any metric"
        )
    return AnswerSpan(filename=filename, item=item, start=start, end=end, sha256=expected, text=passage)


def load_retrieval_eval(
    shared_data_dir: str | Path | None = None, *, eval_set_path: str | Path = EVAL_SET_PATH
) -> list[EvalQuestion]:
    """The questions with their passages resolved and hash-checked against the shared data."""
    filings = _read_filings(shared_data_dir or default_shared_data_dir())
    questions: list[EvalQuestion] = []
    seen: set[str] = set()
    with Path(eval_set_path).open(encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            raw = json.loads(line)
            question_id = raw.get("id") or f"line {line_number}"
            if question_id in seen:
                raise EvalDataError(f"{eval_set_path}:{line_number}: duplicate id {question_id}")
            seen.add(question_id)
            filename = raw["filename"]
            answer = _resolve_span(filings, question_id, filename, raw)
            alternates = tuple(
                _resolve_span(filings, question_id, filename, alternate) for alternate in raw.get("alternates", ())
            )
            questions.append(
                EvalQuestion(
                    id=question_id,
                    question=raw["question"],
                    kind=raw["kind"],
                    company=raw["company"],
                    ticker=raw.get("ticker") or "",
                    filing_date=raw.get("filing_date", ""),
                    answer=answer,
                    alternates=alternates,
                )
            )
    return questions


# --- relevance ------------------------------------------------------------------------------------


def is_relevant(chunk_filename: str, chunk_item: str, chunk_start: int, chunk_end: int, question: EvalQuestion) -> bool:
    """Whether a chunk (a span of one filing item's raw text) answers the question.

    Same filing and item as an answer span, and it either covers at least half of that span or
    contains one of its sentences whole.
    """
    for span in question.answer_spans:
        if span.filename != chunk_filename or span.item != chunk_item:
            continue
        overlap = min(chunk_end, span.end) - max(chunk_start, span.start)
        if overlap <= 0:
            continue
        if overlap >= MIN_ANSWER_COVERAGE * (span.end - span.start):
            return True
        if any(chunk_start <= lo and hi <= chunk_end for lo, hi in span.sentence_spans):
            return True
    return False


_WORD = re.compile(r"[a-z0-9]+(?:[.,'][a-z0-9]+)*")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def is_relevant_text(chunk_filename: str, chunk_item: str, chunk_text: str, question: EvalQuestion) -> bool:
    """Relevance for stores whose chunks are cleaned or re-flowed text without raw offsets.

    Same filing and item, and at least half of the answer's word 4-grams appear in the chunk.
    """
    chunk_grams: set[tuple[str, ...]] | None = None
    for span in question.answer_spans:
        if span.filename != chunk_filename or span.item != chunk_item:
            continue
        if chunk_grams is None:
            chunk_grams = _ngrams(_words(chunk_text), 4)
        answer_grams = _ngrams(_words(span.text), 4)
        if answer_grams and len(answer_grams & chunk_grams) >= MIN_ANSWER_COVERAGE * len(answer_grams):
            return True
    return False


# --- metrics --------------------------------------------------------------------------------------


def first_relevant_rank(relevance: Sequence[bool]) -> int | None:
    """1-based rank of the first relevant result, or None."""
    for rank, relevant in enumerate(relevance, 1):
        if relevant:
            return rank
    return None


def recall_at_k(results: Sequence[Sequence[bool]], k: int) -> float:
    """Share of questions with a relevant chunk among the first ``k`` results.

    Every question has one answer passage (its alternates are copies of it), so this is the hit
    rate at ``k``. ``results`` holds, per question, the relevance of its ranked results.
    """
    if k < 1:
        raise ValueError("k must be at least 1")
    if not results:
        return 0.0
    return sum(any(relevance[:k]) for relevance in results) / len(results)


def mrr(results: Sequence[Sequence[bool]], cutoff: int | None = None) -> float:
    """Mean reciprocal rank of the first relevant result (0 when none within ``cutoff``)."""
    if not results:
        return 0.0
    total = 0.0
    for relevance in results:
        rank = first_relevant_rank(relevance[:cutoff] if cutoff else relevance)
        total += 1.0 / rank if rank else 0.0
    return total / len(results)


# --- wording check --------------------------------------------------------------------------------

# Function words ignored when comparing a question with its passage: sharing "the", "of" or
# "fiscal" is not copying; sharing five content words in a row is.
_STOPWORDS_TEXT = """
a an the of in on at to for by with and or but is are was were be been being as that this these
those it its from our we us their they what which who whom how did does do has have had than into
over under about after before during per not no any all each other such can could would should may
might will shall also more most less much many up down out off then there here when where why
whether
"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())


def content_words(text: str) -> list[str]:
    return [word for word in _words(text) if word not in STOPWORDS]


def _ngrams(words: Sequence[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def shared_content_ngrams(question: str, passage: str, n: int = 5) -> set[tuple[str, ...]]:
    """Runs of ``n`` consecutive content words that the question copies from the passage."""
    return _ngrams(content_words(question), n) & _ngrams(content_words(passage), n)
