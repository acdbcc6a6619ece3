"""Instruction-tuning data for the report and answer adapters, built from the demo corpus generator.

Every example is exactly what the model worker does at inference, with the output a correct model
would write: a ``ReportRequestSpec`` and short ``Passage`` objects cut from real demo documents,
relabelled ``S1``..``Sn`` with ``passages_with_handles``, the prompt from ``report_messages`` and,
as the target, a report that follows ``report_schema`` for those passages. The target is derived
from the generator's planted ground truth, never from a model, and every value in it is one the
schema offers, so it is correct and decodable by construction:

- a metric's value and unit are the candidate ``schema.indicator_candidates`` offers for the passage
  that prints the planted figure next to the metric's label (canonical strings: ``"2.5"``/``"%"``,
  ``"11.4"``/``"USD billion"``, a decline as ``"-1.4"``), its period the planted quarter when that
  passage names it (else ``"insufficient evidence"``), its citation that passage's handle;
- a required indicator that no passage about the company states is the insufficient item (the
  passages may include *other* companies' figures, which the grammar offers and the target refuses);
- the rating and target price come from a passage that states them (the target price as the
  ``target_price_candidates`` entry for it), otherwise ``"insufficient evidence"``;
- risks are the planted risk events, cited to the news passage that reports them;
- ``citations`` lists exactly the passages the report relies on, in first-use order.

Plain Python (no torch); a pure function of the seed.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache
from typing import Any

from pipelines.chunking import chunk_id_for
from pipelines.demo_corpus import DemoCorpus, DemoDocument, build_company_master, build_demo_corpus
from pipelines.demo_corpus.corpus import DISCLAIMER
from pipelines.reports import (
    INSUFFICIENT,
    Passage,
    ReportRequestSpec,
    answer_messages,
    answer_schema,
    passages_with_handles,
    report_messages,
    report_schema,
    resolve_handles,
)
from pipelines.reports.figures import canonical_value, iter_numbers
from pipelines.reports.schema import (
    MAX_RISKS,
    TEXT_MAX_CHARS,
    TEXT_PATTERN,
    indicator_candidates,
    passage_sentences,
    target_price_candidates,
)
from pipelines.reports.validation import check_text_numbers

# A training example is the fixed prompt (system 235 SmolLM2 tokens, request and guidance ~140), the
# passages (header ~25-50 tokens, 180 characters ~45 tokens each) and the report (70 tokens with no
# metric, ~36 per metric): three passages and up to three indicators keep it around 500-800 tokens.
PASSAGE_MAX_CHARS = 180
MAX_EXAMPLE_PASSAGES = 3
SECTION_MAX_CHARS = 32  # a longer section title (a speaker's name and role) is left out of the header
# The corpus the examples are cut from: the same seed and size as the demo set-up, so the adapter
# sees the documents (and their styles) it will later retrieve from.
CORPUS_SEED = 7
CORPUS_DOCUMENTS = 480
# What xgrammar's JSON-schema grammar emits, as the engine compiles it (any_whitespace=False, no
# indent, default separators): it accepts ", " and ": " only, so a compact target (",", ":") would
# train tokens the grammar then masks. Change both together if the engine passes other separators.
RESPONSE_SEPARATORS = (", ", ": ")
_TEXT_RE = re.compile(TEXT_PATTERN)
_TEXT_UNSAFE = re.compile(r"[^A-Za-z0-9 ,.;:%$()'/&+-]")


@dataclass(frozen=True)
class Indicator:
    name: str  # as a user asks for it ("gross margin"); the schema resolves it with its own lexicon
    metric: str | None  # the generator's metric key; None for indicators the corpus never reports
    label: str  # regex that must precede the value on its line (guards against a coincidental match)
    mention: str  # regex: does a passage talk about this indicator at all


# fmt: off
INDICATORS: tuple[Indicator, ...] = (
    Indicator("revenue", "revenue_musd", r"revenue|sales", r"revenue|sales"),
    Indicator("revenue growth", "revenue_growth_yoy_pct",
              r"growth|grew|declin|fell|rose|up|down|y/y|year over year",
              r"growth|grew|declin|fell|rose|y/y|year over"),
    Indicator("gross margin", "gross_margin_pct", r"gross margin", r"gross margin"),
    Indicator("EBITDA", "ebitda_musd", r"EBITDA", r"EBITDA"),
    Indicator("EBITDA margin", "ebitda_margin_pct", r"EBITDA", r"EBITDA"),
    Indicator("net income", "net_income_musd", r"net income|earned|profit", r"net income|earned|profit"),
    Indicator("diluted EPS", "eps_diluted", r"EPS|per diluted share|earnings per share", r"EPS|per diluted share|earnings per share"),  # noqa: E501
    Indicator("net debt", "net_debt_musd", r"net debt", r"net debt"),
    Indicator("net debt/EBITDA", "net_debt_to_ebitda", r"net debt|leverage|EBITDA", r"net debt|leverage"),
    Indicator("free cash flow", "free_cash_flow_musd", r"free cash flow", r"free cash flow"),
    # Never printed by the corpus: a request for them can only be answered "insufficient evidence".
    Indicator("RSI", None, r"(?!)", r"\bRSI\b|relative strength"),
    Indicator("MACD", None, r"(?!)", r"\bMACD\b|moving average convergence"),
    Indicator("dividend yield", None, r"(?!)", r"dividend yield"),
    Indicator("P/E ratio", None, r"(?!)", r"P/E|price.to.earnings|price/earnings"),
    Indicator("return on equity", None, r"(?!)", r"return on equity|\bROE\b"),
    Indicator("50-day moving average", None, r"(?!)", r"moving average"),
    Indicator("customer churn", None, r"(?!)", r"churn"),
)
# fmt: on
_BY_METRIC = {i.metric: i for i in INDICATORS if i.metric}
_QUESTIONS = (
    "Write a research report on {company} ({ticker}) as of {as_of}.",
    "Prepare an equity research report for {ticker} covering {indicators}.",
    "What is our view on {company}? Report {indicators} with sources.",
    "Draft a short report on {company} with a rating, price target and {indicators}.",
    "Summarise the investment case for {ticker} as of {as_of}, including {indicators}.",
)


def response_json(target: dict[str, Any]) -> str:
    """The target as constrained decoding writes it: xgrammar's separators, the schema's key order."""
    return json.dumps(target, ensure_ascii=False, separators=RESPONSE_SEPARATORS)


@dataclass(frozen=True)
class ReportExample:
    spec: ReportRequestSpec
    passages: list[Passage]  # as retrieval returns them (real chunk ids), in prompt order
    handle_passages: list[Passage]  # the same passages relabelled S1..Sn: what the prompt and schema see
    handles: dict[str, str]  # handle -> real chunk id
    target: dict[str, Any]  # the report the model should write; cites handles
    scenario: str

    @property
    def ticker(self) -> str:
        return self.spec.ticker

    @property
    def company(self) -> str:
        return self.spec.company

    @property
    def question(self) -> str:
        return self.spec.question

    @property
    def required_indicators(self) -> list[str]:
        return self.spec.indicators()

    @property
    def as_of(self) -> str:
        return self.spec.as_of or ""

    def messages(self) -> list[dict[str, str]]:
        return report_messages(self.spec, self.handle_passages)

    def schema(self) -> dict[str, Any]:
        return report_schema(self.spec, self.handle_passages)

    def response_text(self) -> str:
        return response_json(self.target)

    def chat_pair(self) -> tuple[list[dict[str, str]], str]:
        """(prompt messages, assistant response): one training example, as the model worker prompts."""
        return self.messages(), self.response_text()

    def prompt_messages(self) -> list[dict[str, str]]:
        return self.messages()

    def resolved_target(self) -> dict[str, Any]:
        """The target with real chunk ids, as the app stores a report after decoding."""
        return resolve_handles(self.target, self.handles)


@dataclass(frozen=True)
class AnswerExample:
    question: str
    ticker: str
    company: str
    passages: list[Passage]
    handle_passages: list[Passage]
    handles: dict[str, str]
    target: dict[str, Any]  # {"answer": [{"text", "citation"}], "insufficient_evidence": bool}

    def messages(self) -> list[dict[str, str]]:
        return answer_messages(self.question, self.handle_passages)

    def schema(self) -> dict[str, Any]:
        return answer_schema(self.handle_passages)

    def response_text(self) -> str:
        return response_json(self.target)

    def chat_pair(self) -> tuple[list[dict[str, str]], str]:
        return self.messages(), self.response_text()

    def prompt_messages(self) -> list[dict[str, str]]:
        return self.messages()


def plain_text(text: str) -> str:
    """Text restricted to the schema's free-text characters (no quotes, no escapes)."""
    text = text.replace("\u2014", "-").replace("\u2013", "-").replace("\u2019", "'")
    return re.sub(r"\s+", " ", _TEXT_UNSAFE.sub("", text)).strip()


def is_schema_text(text: str) -> bool:
    return bool(_TEXT_RE.match(text))


# --- passages --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Passage:
    passage: Passage
    doc: DemoDocument
    ordinal: int
    metrics: dict[str, str] = field(default_factory=dict)  # metric key -> value text, usable as ground truth
    rating: tuple[str, str] | None = None  # (schema rating, canonical target price) when the passage states them
    event_id: str | None = None  # the planted risk event this passage reports

    @property
    def text(self) -> str:
        return self.passage.text


# The two ways the corpus states a rating with its price target: a broker note's header line and
# an analyst-action news story.
_RATING_PATTERNS = (
    re.compile(r"Rating: (Overweight|Equal-weight|Underweight) · Price target: \$([\d,]+)"),
    re.compile(r"to (Buy|Sell) from Hold, setting a price target of \$([\d,]+)"),
)
_RATING_WORDS = {"Overweight": "overweight", "Equal-weight": "hold", "Underweight": "underweight", "Buy": "buy",
                 "Sell": "sell"}  # fmt: skip
_PII_KINDS = ("email", "phone", "iban", "account")  # production passages arrive redacted: never train on them


def _shorten(text: str, limit: int = PASSAGE_MAX_CHARS) -> str:
    if len(text) <= limit:
        return text
    cut = max(text.rfind(". ", 0, limit), text.rfind("\n", 0, limit))
    return text[: cut + 1].rstrip() if cut > limit // 3 else text[:limit].rsplit(" ", 1)[0]


def _paragraphs(doc: DemoDocument) -> list[tuple[str, str]]:
    """(section heading, paragraph) pairs of a document, headings and the disclaimer left out."""
    section = ""
    found: list[tuple[str, str]] = []
    for block in doc.text.split("\n\n"):
        block = block.strip()
        if block.startswith("#"):
            section = block.lstrip("#").strip()
            continue
        if DISCLAIMER in block or len(block) < 40:
            continue
        found.append((section, block))
    return found


def _metric_in(text: str, metric: str, value: str) -> bool:
    """Whether ``value`` occurs in ``text`` preceded, on its line and within 70 characters, by the label."""
    label = re.compile(_BY_METRIC[metric].label, re.IGNORECASE)
    for match in re.finditer(r"(?<![\d.,])" + re.escape(value) + r"(?![\d])", text):
        line_start = text.rfind("\n", 0, match.start()) + 1
        if label.search(text[max(line_start, match.start() - 70) : match.start()]):
            return True
    return False


def _usable_metrics(doc: DemoDocument, text: str) -> dict[str, str]:
    planted = doc.planted
    if not planted.get("period"):
        return {}  # no quarter to attach the figure to
    values = planted.get("metrics_text", {})
    counts: dict[str, int] = {}
    for value in values.values():
        counts[value] = counts.get(value, 0) + 1
    found = {}
    for metric, value in values.items():
        if metric not in _BY_METRIC or counts[value] > 1:
            continue  # two metrics printing the same string: the passage cannot tell them apart
        if planted["metrics"].get(metric) is None:
            continue
        if _metric_in(text, metric, value):
            found[metric] = value
    return found


def _doc_passages(doc: DemoDocument) -> list[_Passage]:
    pii = [p["value"] for p in doc.planted.get("pii", []) if p.get("kind") in _PII_KINDS]
    passages = []
    for ordinal, (section, paragraph) in enumerate(_paragraphs(doc)):
        text = _shorten(paragraph)
        if any(item in text for item in pii):
            continue
        rating = None
        for pattern in _RATING_PATTERNS:
            match = pattern.search(text)
            if match:
                rating = (_RATING_WORDS[match.group(1)], canonical_value(match.group(2)))
        event_id = None
        primary = [e for e in doc.planted.get("risk_events", []) if e["role"] == "primary"]
        if ordinal == 0 and doc.planted["kind"] == "event-news" and primary:
            event_id = primary[0]["event_id"]
        passage = Passage(
            chunk_id=chunk_id_for(f"demo-instruction:{doc.doc_id}", ordinal),
            document_id=doc.doc_id,
            title=doc.title,
            company=doc.company,
            ticker=doc.ticker,
            doc_type=doc.doc_type,
            published_on=doc.published.isoformat(),
            page=1,
            section=section if len(section) <= SECTION_MAX_CHARS else "",
            text=text,
        )
        passages.append(_Passage(passage, doc, ordinal, _usable_metrics(doc, text), rating, event_id))
    return passages


@cache
def _corpus() -> DemoCorpus:
    return build_demo_corpus(build_company_master(n=32, seed=CORPUS_SEED), CORPUS_DOCUMENTS, CORPUS_SEED)


@dataclass
class _Index:
    corpus: DemoCorpus
    passages: dict[str, list[_Passage]]  # by ticker, in document date order
    events: dict[str, Any]


@cache
def _index() -> _Index:
    corpus = _corpus()
    by_ticker: dict[str, list[_Passage]] = {}
    for doc in corpus.documents:
        by_ticker.setdefault(doc.ticker, []).extend(_doc_passages(doc))
    return _Index(corpus, by_ticker, {e.event_id: e for e in corpus.events})


# --- ground truth as the schema offers it ----------------------------------------------------------


def _quarter_label(period: str) -> str:
    return f"Q{period[5]} {period[:4]}"  # "2023Q1" -> "Q1 2023", as figures.find_periods writes it


def _join(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


@dataclass(frozen=True)
class _Grounded:
    value: str  # canonical, as the schema's enum has it
    unit: str
    period: str  # a period the schema offers for this passage, or INSUFFICIENT
    citation: str  # handle
    shown: str  # the figure as the passage prints it, for the thesis


def _grounded_metric(
    indicator: Indicator, source: _Passage, handle: str, handle_passages: Sequence[Passage]
) -> _Grounded | None:
    """The schema candidate that is the planted figure of ``indicator`` in ``source``; None if the schema has none."""
    printed = source.metrics.get(indicator.metric or "")
    if printed is None:
        return None
    actual = source.doc.planted["metrics"][indicator.metric]
    candidates = [c for c in indicator_candidates(indicator.name, handle_passages) if c.chunk_id == handle]
    quarter = _quarter_label(source.doc.planted["period"])
    for mention in iter_numbers(source.text):
        if mention.raw.lstrip("+") != printed.lstrip("+"):
            continue
        # Templates print magnitudes ("fell 1.4%"); the grammar offers the signed value after a decline word.
        value = mention.value
        if actual < 0 and not value.startswith("-"):
            value = "-" + value
        for candidate in candidates:
            if candidate.unit == mention.unit and value in candidate.values:
                period = quarter if quarter in candidate.periods else INSUFFICIENT
                shown = ("-" if value.startswith("-") and not mention.raw.startswith("-") else "") + mention.raw
                return _Grounded(value, mention.unit, period, handle, shown)
    return None


def _own_candidates(name: str, handle_passages: Sequence[Passage], own_handles: set[str]) -> bool:
    return any(c.chunk_id in own_handles for c in indicator_candidates(name, handle_passages))


def _mentions(indicator: Indicator, passages: Iterable[_Passage]) -> bool:
    pattern = re.compile(indicator.mention, re.IGNORECASE)
    return any(pattern.search(p.text) or pattern.search(p.passage.title) for p in passages)


def _risk_text(summary: str, handle: str, handle_passages: Sequence[Passage]) -> str | None:
    """The event summary as schema text whose numbers the cited passage states, or None."""
    text = plain_text(summary)
    options = [text, re.sub(r"\s*\([^)]*\)", "", text)]
    options += [re.split(r",| seeking| and is", option)[0].rstrip(".") + "." for option in options]
    for option in options:
        if len(option) > TEXT_MAX_CHARS or not is_schema_text(option):
            continue
        checks = check_text_numbers({"risks": [{"risk": option, "citation": handle}]}, handle_passages)
        if all(c.status == "matched" for c in checks):
            return option
    return None


def _fit_text(pieces: Sequence[str]) -> str:
    """Sentences in priority order, each kept only while the whole stays within the schema's text length."""
    text = ""
    for piece in pieces:
        joined = f"{text} {piece}".strip()
        if len(joined) <= TEXT_MAX_CHARS:
            text = joined
    return text


def _lower_first(text: str) -> str:
    # "The U.S. EPA ..." stays capitalised only where a proper noun starts the summary.
    return text[0].lower() + text[1:] if text[:4] in ("The ", "An ", "A ") else text


# --- report examples -------------------------------------------------------------------------------

_METRIC_KINDS = ("broker-report", "earnings-news", "periodic-filing", "earnings-transcript", "internal-note")
# Scenario shares: grounded reports, reports without a rating source, thin evidence, only other
# companies' passages, and no passages at all.
_SCENARIOS = (("full", 0.40), ("no_rating", 0.20), ("thin", 0.15), ("other_companies", 0.12), ("empty", 0.13))


def _choose_scenario(rng: random.Random) -> str:
    roll, total = rng.random(), 0.0
    for name, share in _SCENARIOS:
        total += share
        if roll < total:
            return name
    return _SCENARIOS[-1][0]


def _select_passages(
    rng: random.Random, index: _Index, ticker: str, scenario: str
) -> tuple[list[_Passage], list[_Passage]]:
    """(passages about ``ticker``, passages about other companies) for one example."""
    own = index.passages[ticker]
    others = [p for t, ps in index.passages.items() if t != ticker for p in ps if p.metrics or p.rating]
    if scenario == "empty":
        return [], []
    if scenario == "other_companies":
        return [], rng.sample(others, 2)
    periods = sorted({p.doc.planted["period"] for p in own if p.metrics and p.doc.planted["kind"] in _METRIC_KINDS})
    period = rng.choice(periods)
    with_metrics = [p for p in own if p.metrics and p.doc.planted["period"] == period]
    rated = [p for p in own if p.rating and p.doc.planted["period"] in (period, None)]
    chosen: list[_Passage] = []
    if scenario == "thin":
        plain = [p for p in own if not p.metrics and not p.rating and p.event_id is None]
        chosen.append(rng.choice(plain or own))
    else:
        chosen += rng.sample(with_metrics, min(len(with_metrics), rng.randint(1, 2)))
        if scenario == "full" and rated:
            # Prefer a rating published around the chosen quarter's results, else any.
            day = chosen[0].doc.published
            rated.sort(key=lambda p: abs((p.doc.published - day).days))
            chosen.append(rated[0])
    latest = max((p.doc.published for p in chosen), default=index.corpus.end_date)
    events = [
        p
        for p in own
        if p.event_id and p.doc.published <= latest + timedelta(days=30) and p.doc.published >= latest - timedelta(400)
    ]
    if events and (scenario != "thin" or rng.random() < 0.5):
        chosen.append(rng.choice(events))
    chosen = chosen[:MAX_EXAMPLE_PASSAGES]
    distractors = rng.sample(others, 1) if len(chosen) < MAX_EXAMPLE_PASSAGES and rng.random() < 0.5 else []
    return chosen, distractors


def _report_example(rng: random.Random, index: _Index, scenario: str) -> ReportExample:
    corpus = index.corpus
    company = rng.choice(corpus.companies)
    ticker = company.ticker
    own, distractors = _select_passages(rng, index, ticker, scenario)
    chosen = own + distractors
    rng.shuffle(chosen)
    if chosen:
        as_of_day = max(p.doc.published for p in chosen) + timedelta(days=rng.randint(0, 20))
    else:
        as_of_day = corpus.start_date + timedelta(days=rng.randint(120, (corpus.end_date - corpus.start_date).days))
    as_of = as_of_day.isoformat()
    passages = [p.passage for p in chosen]
    handle_passages, handles = passages_with_handles(passages)
    handle_of = {id(p): hp.chunk_id for p, hp in zip(chosen, handle_passages, strict=True)}
    own_handles = {handle_of[id(p)] for p in own}

    # Ground truth only ever comes from passages about the company itself, as the schema offers it.
    grounded: dict[str, _Grounded] = {}
    for passage in sorted(own, key=lambda p: handle_of[id(p)]):
        for metric in passage.metrics:
            if metric not in grounded:
                found = _grounded_metric(_BY_METRIC[metric], passage, handle_of[id(passage)], handle_passages)
                if found is not None:
                    grounded[metric] = found
    # Insufficient means no passage about the company offers a value or even talks about it; other
    # companies' figures may be offered by the grammar, and the target refuses them.
    absent = [
        i
        for i in INDICATORS
        if (i.metric is None or i.metric not in grounded)
        and not _mentions(i, own)
        and not _own_candidates(i.name, handle_passages, own_handles)
    ]
    present = [_BY_METRIC[m] for m in grounded]
    n_present = 0 if not present else min(len(present), rng.randint(1, 3))
    n_absent = rng.randint(0, 1) if n_present else rng.randint(1, 2)
    # At most three indicators: each is ~36 target tokens and its grammar branches cost compile time.
    wanted = [*rng.sample(present, n_present), *rng.sample(absent, min(len(absent), n_absent))][:3]
    rng.shuffle(wanted)
    names = [i.name for i in wanted]
    question = rng.choice(_QUESTIONS).format(
        company=company.name, ticker=ticker, as_of=as_of, indicators=_join(names) if names else "key metrics"
    )
    spec = ReportRequestSpec(ticker, company.name, question, names, as_of)
    target = _report_target(spec, company.short_name, chosen, own, handle_of, handle_passages, grounded, wanted, index)
    return ReportExample(spec, passages, handle_passages, handles, target, scenario)


def _report_target(
    spec: ReportRequestSpec,
    short_name: str,
    chosen: Sequence[_Passage],
    own: Sequence[_Passage],
    handle_of: dict[int, str],
    handle_passages: Sequence[Passage],
    grounded: dict[str, _Grounded],
    wanted: Sequence[Indicator],
    index: _Index,
) -> dict[str, Any]:
    if not chosen:
        # No passages: the schema leaves one report, every field insufficient.
        return {
            "ticker": spec.ticker,
            "company": spec.company,
            "rating": INSUFFICIENT,
            "target_price": INSUFFICIENT,
            "horizon": INSUFFICIENT,
            "thesis": INSUFFICIENT,
            "key_metrics": [_insufficient_metric(i.name) for i in wanted],
            "risks": [],
            "citations": [],
        }
    citations: list[str] = []

    def cite(handle: str) -> str:
        if handle not in citations:
            citations.append(handle)
        return handle

    rating_passage = next((p for p in sorted(own, key=lambda p: handle_of[id(p)]) if p.rating), None)
    rating: str = INSUFFICIENT
    target_price: Any = INSUFFICIENT
    if rating_passage is not None and rating_passage.rating is not None:
        handle = cite(handle_of[id(rating_passage)])
        rating, price = rating_passage.rating
        for candidate in target_price_candidates(handle_passages):
            if candidate.chunk_id == handle and candidate.unit == "USD" and price in candidate.values:
                target_price = {"value": price, "currency": "USD", "citation": handle}
                break
    key_metrics, stated, missing = [], [], []
    for indicator in wanted:
        found = grounded.get(indicator.metric or "")
        if found is None:
            key_metrics.append(_insufficient_metric(indicator.name))
            missing.append(indicator.name)
            continue
        key_metrics.append(
            {
                "name": indicator.name,
                "value": found.value,
                "unit": found.unit,
                "period": found.period,
                "citation": cite(found.citation),
            }
        )
        when = f" in {found.period}" if found.period != INSUFFICIENT else ""
        stated.append(f"{indicator.name} of {found.shown}{when}")
    risks = []
    for passage in sorted(own, key=lambda p: handle_of[id(p)]):
        if passage.event_id and len(risks) < MAX_RISKS:
            handle = handle_of[id(passage)]
            text = _risk_text(index.events[passage.event_id].summary, handle, handle_passages)
            if text is not None:
                risks.append({"risk": text, "citation": cite(handle)})

    # A digit in the name ("Phillips 66") would read as an unsupported figure to the thesis check.
    short = plain_text(short_name) if not re.search(r"\d", short_name) else spec.ticker
    pieces = []
    if not own:
        pieces.append(f"None of the passages is about {short}, so there is no basis for a view.")
    elif rating == INSUFFICIENT and not stated and not risks:
        pieces.append(f"The passages do not support a rating or a view on {short}.")
    if stated:
        pieces.append(f"{short} reported {_join(stated[:2])}.")
    if isinstance(target_price, dict):
        pieces.append(f"Research rates it {rating} with a ${target_price['value']} price target.")
    elif rating != INSUFFICIENT:
        pieces.append(f"Research rates it {rating}.")
    if risks:
        pieces.append(f"Key risk: {_lower_first(risks[0]['risk'])}")
    if missing:
        pieces.append(f"No evidence on {_join(missing)}.")
    thesis = _fit_text(pieces)
    return {
        "ticker": spec.ticker,
        "company": spec.company,
        "rating": rating,
        "target_price": target_price,
        # No demo document states an investment horizon, so grounding leaves it open.
        "horizon": INSUFFICIENT,
        "thesis": thesis if is_schema_text(thesis) else INSUFFICIENT,
        "key_metrics": key_metrics,
        "risks": risks,
        "citations": citations,
    }


def _insufficient_metric(name: str) -> dict[str, Any]:
    return {"name": name, "value": INSUFFICIENT, "unit": "", "period": INSUFFICIENT, "citation": None}


def report_examples(*, seed: int = 0, count: int = 64) -> list[ReportExample]:
    """``count`` report-writing examples; the same seed always gives the same examples."""
    index = _index()
    rng = random.Random(f"instruction-data|reports|{seed}")
    return [_report_example(rng, index, _choose_scenario(rng)) for _ in range(count)]


def report_chat_pairs(*, seed: int = 0, count: int = 64) -> list[tuple[list[dict[str, str]], str]]:
    """(messages, response) training pairs: ``report_messages`` over handle passages, the target's JSON."""
    return [example.chat_pair() for example in report_examples(seed=seed, count=count)]


# --- answer examples -------------------------------------------------------------------------------

_ANSWER_QUESTIONS = (
    "What was {short}'s {indicator} in {period}?",
    "How much was the {indicator} of {company} in {period}?",
    "Give me {short}'s latest {indicator}.",
)


def _answer_example(rng: random.Random, index: _Index) -> AnswerExample:
    corpus = index.corpus
    company = rng.choice(corpus.companies)
    own = [p for p in index.passages[company.ticker] if p.metrics]
    source = rng.choice(own)
    metric = rng.choice(sorted(source.metrics))
    indicator = _BY_METRIC[metric]
    period = _quarter_label(source.doc.planted["period"])
    others = [p for t, ps in index.passages.items() if t != company.ticker for p in ps if p.metrics]
    answerable = rng.random() < 0.65
    if answerable:
        chosen = [source, *rng.sample(others, rng.randint(0, 2))]
    else:
        # Either nothing at all or only other companies' figures: the honest answer is "no evidence".
        chosen = [] if rng.random() < 0.3 else rng.sample(others, rng.randint(1, 3))
        if rng.random() < 0.4:
            indicator = rng.choice([i for i in INDICATORS if i.metric is None])
    rng.shuffle(chosen)
    passages = [p.passage for p in chosen]
    handle_passages, handles = passages_with_handles(passages)
    question = rng.choice(_ANSWER_QUESTIONS).format(
        short=company.short_name, company=company.name, indicator=indicator.name, period=period
    )
    target: dict[str, Any] = {"answer": [], "insufficient_evidence": True}
    if answerable:
        handle = handle_passages[chosen.index(source)].chunk_id
        value = source.metrics[metric]
        if source.doc.planted["metrics"][metric] < 0 and not value.startswith("-"):
            value = "-" + value
        # Answers quote the passage word for word (the answer grammar offers only its sentences).
        quotes = [q for q in passage_sentences(source.passage.text) if value.lstrip("-+") in q]
        if quotes:
            target = {"answer": [{"text": quotes[0], "citation": handle}], "insufficient_evidence": False}
    return AnswerExample(question, company.ticker, company.name, passages, handle_passages, handles, target)


def answer_examples(*, seed: int = 0, count: int = 64) -> list[AnswerExample]:
    """``count`` cited question-answering examples (about a third unanswerable from their passages)."""
    index = _index()
    rng = random.Random(f"instruction-data|answers|{seed}")
    return [_answer_example(rng, index) for _ in range(count)]
