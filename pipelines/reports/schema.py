"""JSON Schemas (draft 2020-12) that decoding is constrained to: a research report and a cited answer.

The schema is the first line of defence against a small model's invention. Citations are an
``enum`` of the passages' chunk ids; a key metric's value is an ``enum`` of the number strings
that occur next to a mention of that indicator in the passages, each tied to the passage it
came from (one ``anyOf`` branch per passage and unit: ``citation`` const, ``unit`` const, ``value``
enum), so a grounded number cannot be cited to the wrong passage or given the wrong unit.
Every factual field has an explicit ``INSUFFICIENT`` option, because a grammar without one
forces confident invention; with no passages, ``INSUFFICIENT`` is the only option.

xgrammar 0.2.8 constraints that shaped this (see the slow test): a bounded repetition above
128 (``[...]{20,600}``) fails to compile, and each bounded character costs about 10 ms of
compile time, so all free text shares one ``$defs`` rule (referenced rules compile once) of at
most ``TEXT_MAX_CHARS`` characters, and extra metrics are lexicon indicators grounded like
required ones (a free name pattern cost 0.6 s); ``uniqueItems`` is not enforced by the grammar
(validation checks it; ``validation.tidy_report`` drops exact repeats); output uses xgrammar's
separators (``", "``, ``": "``) and the property order given here.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from pipelines.reports.candidates import FigureCandidate, best_candidate, figure_candidates
from pipelines.reports.figures import CURRENCY_CODES, NumberMention, find_periods, parse_unit
from pipelines.reports.indicators import LEXICON, IndicatorLexeme, indicator_evidence, lexeme_for
from pipelines.reports.spec import (
    MAX_PASSAGE_CHARS,
    MAX_PASSAGES,
    Passage,
    ReportRequestSpec,
    passage_excerpt,
    prompt_passages,
)

SCHEMA_VERSION = "argus-report/1"
INSUFFICIENT = "insufficient evidence"
RATINGS = ("buy", "overweight", "hold", "underweight", "sell", INSUFFICIENT)
HORIZONS = ("3 months", "6 months", "12 months", "24 months", INSUFFICIENT)
CURRENCIES = CURRENCY_CODES
TEXT_MAX_CHARS = 120
# No quote, backslash or control character: nothing that needs a JSON escape or breaks rendering.
# A capital letter, then at least 19 more characters: with [...]{10,120}, SmolLM2-135M wrote a date
# as the thesis and "gross margin" as a risk.
TEXT_PATTERN = rf"^[A-Z][A-Za-z0-9 ,.;:%$()'/&+-]{{19,{TEXT_MAX_CHARS - 1}}}$"
MAX_CANDIDATE_PASSAGES = 4  # per indicator
MAX_CANDIDATE_NUMBERS = 24  # per indicator
MAX_EXTRA_NUMBERS = 40  # for the extra metrics together; enum values are cheap to compile, patterns are not
MAX_EXTRA_NUMBERS_PER_NAME = 8  # so that the first indicators do not use up the budget
MAX_EXTRA_PASSAGES = 2  # per extra indicator
MAX_PERIODS = 6  # per passage
MAX_EXTRA_METRICS = 3
MAX_RISKS = 3  # SmolLM2-135M needed 493 tokens for a full report, over 650 when its text rambled
MAX_ANSWER_SENTENCES = 4
METRIC_FIELDS = ("name", "value", "unit", "period", "citation")

TARGET_PRICE_LEXEME = IndicatorLexeme(
    "target price",
    (r"\b(?:price\s+)?target(?:\s+price)?\b", r"\bPT\b", r"\bfair\s+value\b"),
    frozenset({"money"}),
    per_share=True,
)


@dataclass(frozen=True)
class MetricCandidate:
    """The numbers one passage offers for one indicator, grouped by unit."""

    chunk_id: str
    unit: str
    values: tuple[str, ...]
    periods: tuple[str, ...]


def _choice(values: Sequence[Any]) -> dict[str, Any]:
    return {"const": values[0]} if len(values) == 1 else {"enum": list(values)}


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def _excerpts(passages: Sequence[Passage]) -> list[tuple[str, str]]:
    return [(p.chunk_id, passage_excerpt(p.text, MAX_PASSAGE_CHARS)) for p in prompt_passages(passages, MAX_PASSAGES)]


def _group(
    found: list[tuple[str, str, list[NumberMention]]],
    max_passages: int,
    max_numbers: int,
) -> list[MetricCandidate]:
    """(chunk id, text, numbers) -> candidates per (chunk, unit), capped, in passage then text order."""
    candidates: list[MetricCandidate] = []
    budget = max_numbers
    used_passages = 0
    for chunk_id, text, numbers in found:
        if not numbers or budget <= 0 or used_passages == max_passages:
            continue
        used_passages += 1
        by_unit: dict[str, list[str]] = {}
        for mention in numbers:
            for value in mention.signed_values():
                values = by_unit.setdefault(mention.unit, [])
                if value not in values and budget > 0:
                    values.append(value)
                    budget -= 1
        periods = tuple(find_periods(text)[:MAX_PERIODS])
        candidates.extend(
            MetricCandidate(chunk_id, unit, tuple(values), periods) for unit, values in by_unit.items() if values
        )
    return candidates


def indicator_candidates(
    indicator: str | IndicatorLexeme,
    passages: Sequence[Passage],
    *,
    max_passages: int = MAX_CANDIDATE_PASSAGES,
    max_numbers: int = MAX_CANDIDATE_NUMBERS,
) -> list[MetricCandidate]:
    """The grounded values an indicator may take, from the passages the model is shown."""
    found = []
    for chunk_id, text in _excerpts(passages):
        evidence = indicator_evidence(indicator, text)
        found.append((chunk_id, text, list(evidence.numbers)))
    return _group(found, max_passages, max_numbers)


def target_price_candidates(passages: Sequence[Passage]) -> list[MetricCandidate]:
    """Per-share prices written next to "price target", "target price", "PT", "fair value"."""
    found = []
    for chunk_id, text in _excerpts(passages):
        # "$245" and "$245 per share" alike; the report's currency field holds the currency code alone.
        numbers = [
            replace(m, unit=parse_unit(m.unit).currency or "")
            for m in indicator_evidence(TARGET_PRICE_LEXEME, text).numbers
            if not m.value.startswith("-")
        ]
        found.append((chunk_id, text, [m for m in numbers if m.unit in CURRENCIES]))
    return _group(found, MAX_CANDIDATE_PASSAGES, MAX_CANDIDATE_NUMBERS)


def extra_metric_candidates(
    passages: Sequence[Passage], required: Sequence[str] = ()
) -> list[tuple[str, MetricCandidate]]:
    """(lexicon name, candidate) for the lexicon's indicators that are not required but stated in the passages.

    The name is tied to numbers next to a mention of it, like a required indicator's: with a free
    name and any passage number, SmolLM2-135M paired "net debt" with a share-price move in 5.0%.
    """
    taken = {lexeme_for(name).key for name in required}
    found: list[tuple[str, MetricCandidate]] = []
    budget = MAX_EXTRA_NUMBERS
    for lexeme in LEXICON:
        if lexeme.key in taken or budget <= 0:
            continue
        candidates = indicator_candidates(
            lexeme, passages, max_passages=MAX_EXTRA_PASSAGES, max_numbers=min(MAX_EXTRA_NUMBERS_PER_NAME, budget)
        )
        budget -= sum(len(c.values) for c in candidates)
        found.extend((lexeme.key, c) for c in candidates)
    return found


def extra_metrics(
    passages: Sequence[Passage],
    required: Sequence[str] = (),
    *,
    ticker: str = "",
    as_of: str | None = None,
    trust: Mapping[str, int] | None = None,
) -> list[tuple[str, FigureCandidate]]:
    """(lexicon name, best figure) for the lexicon's indicators that are not required but stated."""
    taken = {lexeme_for(name).key for name in required}
    found = []
    for lexeme in LEXICON:
        if lexeme.key in taken:
            continue
        best = best_candidate(figure_candidates(lexeme, passages, ticker=ticker, as_of=as_of, trust=trust))
        if best is not None:
            found.append((lexeme.key, best))
    return found


def insufficient_metric(name: str) -> dict[str, Any]:
    return _object(
        {
            "name": {"const": name},
            "value": {"const": INSUFFICIENT},
            "unit": {"const": ""},
            "period": {"const": INSUFFICIENT},
            "citation": {"type": "null"},
        }
    )


def _grounded_metric(name_schema: dict[str, Any], candidate: MetricCandidate) -> dict[str, Any]:
    return _object(
        {
            "name": name_schema,
            "value": _choice(candidate.values),
            "unit": {"const": candidate.unit},
            "period": _choice([*candidate.periods, INSUFFICIENT]),
            "citation": {"const": candidate.chunk_id},
        }
    )


def _chosen_metric(name: str, candidate: FigureCandidate) -> dict[str, Any]:
    return _object(
        {
            "name": {"const": name},
            "value": {"const": candidate.value},
            "unit": {"const": candidate.unit},
            "period": {"const": candidate.period or INSUFFICIENT},
            "citation": {"const": candidate.chunk_id},
        }
    )


def required_metric_schema(
    indicator: str,
    passages: Sequence[Passage],
    *,
    ticker: str = "",
    as_of: str | None = None,
    trust: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """One required indicator's item: the best figure the passages about the company state, else insufficient.

    The figure is chosen by code (``candidates.figure_candidates``: mention + number + period in one
    sentence or table row, ranked by period and source trust), so the grammar fixes it: a 135M model
    offered a choice between a stated figure and "insufficient evidence" chose the latter for figures
    a table and a news story both printed. Where nothing supports the indicator, only insufficient.
    """
    best = best_candidate(figure_candidates(indicator, passages, ticker=ticker, as_of=as_of, trust=trust))
    return insufficient_metric(indicator) if best is None else _chosen_metric(indicator, best)


def own_passages(passages: Sequence[Passage], ticker: str) -> list[Passage]:
    """The passages about the company (or about no company in particular): another company's are context only."""
    return [p for p in passages if not p.ticker or not ticker or p.ticker.upper() == ticker.upper()]


# How research states a rating: "Rating: Overweight", "to Buy from Hold", "rated Sell", "upgraded to Outperform".
_RATING_WORDS = {
    "buy": "buy",
    "strong buy": "buy",
    "outperform": "overweight",
    "overweight": "overweight",
    "accumulate": "overweight",
    "hold": "hold",
    "neutral": "hold",
    "equal-weight": "hold",
    "equal weight": "hold",
    "market perform": "hold",
    "underweight": "underweight",
    "underperform": "underweight",
    "reduce": "underweight",
    "sell": "sell",
}
_RATING_WORD = "|".join(sorted((re.escape(w) for w in _RATING_WORDS), key=len, reverse=True))
_RATING_STATED = re.compile(
    rf"\brating\s*(?:of|:|is|was|to)?\s*(?P<w1>{_RATING_WORD})\b"
    rf"|\b(?:upgraded|downgraded|moved|raised|cut|lowered|initiated|initiates|reiterated|reiterates|maintained"
    rf"|maintains|rates|rated)\b[^.;\n]{{0,60}}?\b(?:to|at|as|with)\s+(?:an?\s+)?(?P<w2>{_RATING_WORD})\b"
    rf"|\bto\s+(?P<w3>{_RATING_WORD})\s+from\s+(?:{_RATING_WORD})\b"
    rf"|\bwe\s+rate\s+(?:\S+\s+){{0,3}}?(?P<w4>{_RATING_WORD})\b|\brated\s+(?P<w5>{_RATING_WORD})\b",
    re.IGNORECASE,
)
_HORIZON_STATED = re.compile(
    r"\b(?P<months>3|6|12|24)[- ]month\s+(?:price\s+)?target\b"
    r"|\btarget\b[^.;\n]{0,40}?\b(?:over|within)\s+(?:the\s+next\s+)?(?P<within>3|6|12|24)\s+months\b",
    re.IGNORECASE,
)


def stated_ratings(passages: Sequence[Passage]) -> list[str]:
    """The house-scale ratings the passages state ("Rating: Equal-weight" is hold), first stated first."""
    found: list[str] = []
    for _, text in _excerpts(passages):
        for match in _RATING_STATED.finditer(text):
            word = next(match.group(g) for g in ("w1", "w2", "w3", "w4", "w5") if match.group(g))
            rating = _RATING_WORDS[" ".join(word.lower().split())]
            if rating not in found:
                found.append(rating)
    return found


def stated_horizons(passages: Sequence[Passage]) -> list[str]:
    found: list[str] = []
    for _, text in _excerpts(passages):
        for match in _HORIZON_STATED.finditer(text):
            horizon = f"{match.group('months') or match.group('within')} months"
            if horizon in HORIZONS and horizon not in found:
                found.append(horizon)
    return found


def report_schema(
    spec: ReportRequestSpec, passages: Sequence[Passage], *, trust: Mapping[str, int] | None = None
) -> dict[str, Any]:
    """The JSON Schema a report for ``spec`` must follow, given the passages it may cite.

    Pass the same passages as to ``prompts.report_messages``: both keep the first
    ``MAX_PASSAGES`` distinct chunks and read ``MAX_PASSAGE_CHARS`` of each. Figures, the rating,
    the target price and the horizon come only from passages about ``spec.ticker``; ``trust``
    ranks document types (``candidates.SOURCE_TRUST`` by default).
    """
    shown = prompt_passages(passages, MAX_PASSAGES)
    own = own_passages(shown, spec.ticker)
    chunk_ids = [p.chunk_id for p in shown]
    defs: dict[str, Any] = {"text": {"type": "string", "pattern": TEXT_PATTERN}}
    text_or_insufficient = {"anyOf": [{"const": INSUFFICIENT}, {"$ref": "#/$defs/text"}]}
    indicators = spec.indicators()
    metric_items = [
        required_metric_schema(name, own, ticker=spec.ticker, as_of=spec.as_of, trust=trust) for name in indicators
    ]
    key_metrics: dict[str, Any] = {"type": "array", "minItems": len(metric_items)}
    if metric_items:
        key_metrics["prefixItems"] = metric_items
    extras = extra_metrics(own, indicators, ticker=spec.ticker, as_of=spec.as_of, trust=trust)
    if extras:
        key_metrics["items"] = {"anyOf": [_chosen_metric(name, c) for name, c in extras]}
        key_metrics["maxItems"] = len(metric_items) + MAX_EXTRA_METRICS
    else:
        key_metrics["items"] = False
        key_metrics["maxItems"] = len(metric_items)

    if shown:
        targets = target_price_candidates(own)
        target_price: dict[str, Any] = {
            "anyOf": [
                {"const": INSUFFICIENT},
                *(
                    _object(
                        {
                            "value": _choice(c.values),
                            "currency": {"const": c.unit},
                            "citation": {"const": c.chunk_id},
                        }
                    )
                    for c in targets
                ),
            ]
        }
        if not targets:
            target_price = {"const": INSUFFICIENT}
        # A rating, a target price or a horizon only where a passage about the company states one.
        properties: dict[str, Any] = {
            "rating": _choice([*stated_ratings(own), INSUFFICIENT]),
            "target_price": target_price,
            "horizon": _choice([*stated_horizons(own), INSUFFICIENT]),
            "thesis": text_or_insufficient,
        }
        risks: dict[str, Any] = {
            "type": "array",
            "items": _object({"risk": {"$ref": "#/$defs/text"}, "citation": _choice(chunk_ids)}),
            "maxItems": MAX_RISKS,
        }
        citations: dict[str, Any] = {
            "type": "array",
            "items": _choice(chunk_ids),
            "uniqueItems": True,
            "maxItems": len(chunk_ids),
        }
    else:
        properties = {
            "rating": {"const": INSUFFICIENT},
            "target_price": {"const": INSUFFICIENT},
            "horizon": {"const": INSUFFICIENT},
            "thesis": {"const": INSUFFICIENT},
        }
        risks = {"type": "array", "maxItems": 0}
        citations = {"type": "array", "maxItems": 0}
    body = _object(
        {
            "ticker": {"const": spec.ticker},
            "company": {"const": spec.company},
            **properties,
            "key_metrics": key_metrics,
            "risks": risks,
            "citations": citations,
        }
    )
    if not shown:
        del defs["text"]
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$comment": SCHEMA_VERSION}
    if defs:
        schema["$defs"] = defs
    schema.update(body)
    return schema


# Sentences a quote may be: long enough to say something, short enough for one answer line.
QUOTE_MIN_CHARS, QUOTE_MAX_CHARS, QUOTES_PER_PASSAGE = 25, 400, 10
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"(])")


def passage_sentences(text: str) -> list[str]:
    """The sentences of a passage excerpt as the prompt shows it, one per line of table or prose."""
    sentences: list[str] = []
    for line in passage_excerpt(text).splitlines():
        for part in _SENTENCE_END.split(line):
            sentence = " ".join(part.split()).removesuffix(" ...")
            if QUOTE_MIN_CHARS <= len(sentence) <= QUOTE_MAX_CHARS and sentence not in sentences:
                sentences.append(sentence)
    return sentences[:QUOTES_PER_PASSAGE]


_WORD = re.compile(r"[a-z0-9][a-z0-9.%$-]*")
_STOPWORDS = frozenset(
    {
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "did",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "how",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "this",
        "to",
        "was",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "their",
        "our",
        "we",
    }
)
MAX_QUOTE_CANDIDATES = 8


def _terms(text: str) -> set[str]:
    return {w.strip(".-") for w in _WORD.findall(text.lower()) if len(w) > 2 and w not in _STOPWORDS}


def quote_candidates(passages: Sequence[Passage], question: str | None) -> list[tuple[Passage, list[str]]]:
    """Per passage, the sentences an answer may quote: with a question, only the few sharing most of its terms."""
    split = [(p, passage_sentences(p.text)) for p in passages]
    if question is None:
        return [(p, sentences) for p, sentences in split if sentences]
    wanted = _terms(question)
    scored = [
        (len(wanted & _terms(sentence)), order, passage.chunk_id, sentence)
        for order, (passage, sentences) in enumerate(split)
        for sentence in sentences
    ]
    best = sorted((s for s in scored if s[0] > 0), key=lambda s: (-s[0], s[1]))[:MAX_QUOTE_CANDIDATES]
    keep = {(chunk_id, sentence) for _, _, chunk_id, sentence in best}
    chosen = [(p, [s for s in sentences if (p.chunk_id, s) in keep]) for p, sentences in split]
    return [(p, sentences) for p, sentences in chosen if sentences]


def answer_schema(passages: Sequence[Passage], question: str | None = None) -> dict[str, Any]:
    """A cited answer: 1-4 sentences quoted word for word from the passage each cites, or insufficient evidence.

    Each sentence is an enum of the cited passage's own sentences, so an answer can only say
    what a retrieved passage says; a small model chooses and orders the evidence, it does not
    write it (free text from a 135M model read fluent and was wrong). Given the question, only
    the sentences sharing most of its terms are offered (a 135M model picks poorly among many).
    """
    shown = prompt_passages(passages, MAX_PASSAGES)
    insufficient = _object({"answer": {"type": "array", "maxItems": 0}, "insufficient_evidence": {"const": True}})
    schema: dict[str, Any] = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$comment": SCHEMA_VERSION}
    quotes = [
        _object({"text": _choice(sentences), "citation": {"const": p.chunk_id}})
        for p, sentences in quote_candidates(shown, question)
    ]
    if not quotes:
        schema.update(insufficient)
        return schema
    sentence = quotes[0] if len(quotes) == 1 else {"anyOf": quotes}
    answered = _object(
        {
            "answer": {"type": "array", "items": sentence, "minItems": 1, "maxItems": MAX_ANSWER_SENTENCES},
            "insufficient_evidence": {"const": False},
        }
    )
    schema["anyOf"] = [answered, insufficient]
    return schema


def schema_hash(schema: dict[str, Any]) -> str:
    """SHA-256 (hex) of the schema's canonical JSON (sorted keys, no whitespace)."""
    canonical = json.dumps(schema, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()
