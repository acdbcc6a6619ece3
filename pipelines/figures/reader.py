"""A light extractive reader: the answer to a question as a span of one sentence of the passages.

No model. The sentence is the one that best covers the question's content words (stemmed, weighted by
how rare each word is among the passages' sentences, with the question's periods and numbers as
evidence); the span depends on what the question asks for:

* a figure ("how much", "what was X in 2019"): the amount (with its currency, scale or % sign) nearest to
  the matched words, or the one lined up with the asked period in a "..., respectively" list;
* a date ("when", "which year"), a duration ("over what period", "how long"): that expression;
* anything else ("what does X include", "why", "how is X determined"): the clause after the matched
  words, or before them when nothing follows ("To assess X, we analyse Y" for "why do we analyse Y").

Every answer carries its sentence and a confidence in 0..1 (the share of the question's weighted words the
sentence covers, lowered when the span is a guess); the caller decides how much confidence it needs.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from pipelines.figures.engine import FigureAnswer, Operand
from pipelines.figures.numbers import format_decimal
from pipelines.figures.tables import FigureCell, FigureTable, periods_in

# The ask path answers only when most of the question is found in one sentence; the TAT-QA bench
# answers its best guess (an unanswered question scores 0 there). Measured on the tuning half.
STRICT_CONFIDENCE = 0.75
RELAXED_CONFIDENCE = 0.0

_SENTENCE_END = re.compile(
    r"(?<![A-Z]\.[A-Z]\.)(?<!\b[A-Z]\.)(?<!\bInc\.)(?<!\bLtd\.)(?<!\bCo\.)(?<!\bNo\.)(?<!\bvs\.)"
    r"(?:(?<=[.!?])|(?<=[.!?][\"\u201d\u2019]))\s+(?=[A-Z(\"\u201c\u2018$£€])"
)
_WORD = re.compile(r"[A-Za-z0-9]+(?:['\u2019][A-Za-z]+)?(?:[.,][0-9]+)*")
_STOPWORDS = set(
    """a an the of in on at to for from by with and or as is are was were be been being has have had do does did
    what which who whom whose when where why how this that these those it its their our we us you your they them
    there here than then so such into over under about per any all each other also not no may might can could
    would should will shall if but s company company's group""".split()  # noqa: SIM905 - a word list reads better as text
)
_MONTHS = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|December|"
    r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.?"
)
_DATE = re.compile(
    rf"\b{_MONTHS}\s+\d{{1,2}},?\s+(?:19|20)\d{{2}}\b|\b\d{{1,2}}\s+{_MONTHS}\s+(?:19|20)\d{{2}}\b|"
    rf"\b{_MONTHS}\s+(?:19|20)\d{{2}}\b|\b(?:fiscal\s+(?:year\s+)?)?(?:19|20)\d{{2}}\b",
    re.I,
)
_DURATION = re.compile(
    r"\b(?:\d+(?:\.\d+)?|one|two|three|four|five|six|seven|eight|nine|ten|twelve|fifteen|twenty|thirty)"
    r"(?:\s*(?:-|to)\s*\d+(?:\.\d+)?)?\s+(?:years?|months?|weeks?|days?)\b",
    re.I,
)
_AMOUNT = re.compile(
    r"(?:US\$|A\$|S\$|HK\$|AU\$?\s?|\bINR\s?|RMB|[$€£¥`])\s?(?:\(\d[\d,]*(?:\.\d+)?\)|\d[\d,]*(?:\.\d+)?)"
    r"(?:\s?(?:million|billion|thousand|bn|m|k|cents)\b)?"
    r"|\(?\d[\d,]*(?:\.\d+)?\)?\s?(?:%|per\s?cent\b|percent\b)"
    r"|\b\d[\d,]*(?:\.\d+)?\s(?:million|billion|thousand)\b"
    r"|(?<![\w.$])\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\w%])|(?<![\w.$,])\d+(?:\.\d+)?(?![\w%,])",
    re.I,
)
_YEARISH = re.compile(r"^(?:19|20)\d{2}$")
_FIGURE_ASKED = re.compile(
    r"^\s*(?:how\s+much|how\s+many|what\s+(?:is|was|were|are)\s+(?:the\s+)?(?:total\s+)?(?:amount|value|number|"
    r"percentage|rate|cost|price|balance|size|level|sum)\b)|\b(?:amount|percentage|how\s+much|how\s+many)\b",
    re.I,
)
# "What was the standard rate of corporation tax?": a figure named by its metric word.
_METRIC_ASKED = re.compile(
    r"^\s*what\s+(?:is|was|were|are)\s+(?:the\s+)?[\w\s,'\u2019-]*?\b(?:rate|amount|value|number|cost|costs|price|"
    r"percentage|balance|total|expenses?|revenues?|income|loss|losses|profit|sales|fees?|charges?|payments?|debt|"
    r"cash|tax|margin|ratio|size|proceeds|benefit|liabilit(?:y|ies)|exposure|count|headcount|capacity|dividends?)\b(?!\s+(?:of\s+)?(?:to|for)\b)",
    re.I,
)
_MONTH_YEAR = re.compile(rf"\b{_MONTHS}\s+(?:\d{{1,2}},?\s+)?(?:19|20)\d{{2}}\b", re.I)
_DATE_ASKED = re.compile(
    r"^\s*(?:when|in\s+what\s+year|in\s+which\s+(?:year|period|month|quarter)|which\s+(?:year|month|date)|"
    r"what\s+(?:year|date|month)|on\s+what\s+date|as\s+(?:at|of)\s+what\s+date)\b|\bmaturity\s+date\b|"
    r"\bexpir\w*\s+date\b|\bdate\b\s*\??\s*$",
    re.I,
)
_DURATION_ASKED = re.compile(
    r"\b(?:what|which)\s+(?:duration|period|term)\b|\bhow\s+long\b|\bin\s+how\s+many\s+(?:years|months)\b|"
    r"\bover\s+what\b|\bhow\s+many\s+(?:years|months|days)\b|\bexpected\s+term\b|\buseful\s+li[fv]e|\bduration\b",
    re.I,
)
# "Was there a material bad debt expense?", "Did the company have any dilutive shares?": the sentence is the answer.
_YES_NO = re.compile(r"^\s*(?:is|are|was|were|did|does|do|has|have|had)\b", re.I)
# "There was no material bad debt expense", "No significant amounts were reclassified": a stated nil.
_STATED_NIL = re.compile(r"^\s*(?:no\b|there\s+(?:was|were|have\s+been|has\s+been|is|are)\s+no\b)|\bhad\s+no\b", re.I)
_REASON_ASKED = re.compile(r"^\s*why\b|\breasons?\b|\bdue\s+to\s*\??\s*$|\bwhat\s+(?:caused|led|drove)\b", re.I)
_REASON_CUE = re.compile(
    r"\b(?:primarily|mainly|largely|partly|partially)?\s*(?:due\s+to|because(?:\s+of)?|as\s+a\s+result\s+of|"
    r"driven\s+by|attributable\s+to|resulting\s+from|reflecting)\b",
    re.I,
)
_LEADING_FILLER = re.compile(
    r"^(?:[\s,:;\u2014\u2013\u201d\u2019\")-]|\b(?:is|are|was|were|be|been|being|has|have|had|that|which|of|as|to|will|"
    r"would|shall|also|generally|currently|then|and|in|into|on|at|comprised|comprises|consists?|consisting|"
    r"approximately|about|around)\b)+",
    re.I,
)
# "Why ... ?": "to reduce concentration risk" keeps its "to".
_PURPOSE = re.compile(r"^\s*to\s+\w+", re.I)


def stem(word: str) -> str:
    """A crude suffix-stripping stem: 'determined'/'determines'/'determination' all give 'determin'."""
    word = word.lower().replace("\u2019", "'")
    if word.endswith("'s"):
        word = word[:-2]
    if len(word) <= 3 or word.isdigit():
        return word
    for suffix, replacement in (
        ("ational", "ate"),
        ("ations", "ate"),
        ("ation", "ate"),
        ("ments", ""),
        ("ment", ""),
        ("ities", ""),
        ("ity", ""),
        ("ings", ""),
        ("ing", ""),
        ("ied", "y"),
        ("ies", "y"),
        ("edly", ""),
        ("ed", ""),
        ("es", ""),
        ("ly", ""),
        ("s", ""),
    ):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "s" and word.endswith(("ss", "us", "is")):
                break
            word = word[: -len(suffix)] + replacement
            break
    if len(word) > 4 and word.endswith("e"):
        word = word[:-1]
    return word


def _content(words: Iterable[str]) -> list[str]:
    return [stem(w) for w in words if w.lower().replace("\u2019", "'") not in _STOPWORDS]


@dataclass
class Span:
    """A span of one sentence answering a question."""

    text: str | list[str]  # a list for "X in 2019 and 2018": one figure per asked period
    sentence: str
    ref: str  # the passage it came from
    kind: str  # "figure", "figures", "date", "duration", "clause"
    confidence: float  # 0..1


@dataclass
class _Sentence:
    ref: str
    text: str
    words: list[tuple[str, int, int]]  # (stem, start, end)


def split_sentences(text: str) -> list[str]:
    text = re.sub(r"\s+", " ", text or "").strip()
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def _sentences(passages: Iterable[tuple[str, str]]) -> list[_Sentence]:
    found = []
    for ref, text in passages:
        for sentence in split_sentences(text):
            words = [(stem(m.group()), m.start(), m.end()) for m in _WORD.finditer(sentence)]
            found.append(_Sentence(ref, sentence, words))
    return found


def _figures(sentence: str) -> list[re.Match[str]]:
    figures = []
    for match in _AMOUNT.finditer(sentence):
        text = match.group().strip()
        if _YEARISH.match(text.strip("()")):
            continue  # a year, not an amount
        if re.fullmatch(r"\d{1,2}", text) and (
            re.match(rf"\s*{_MONTHS}", sentence[match.end() :], re.I)
            or re.search(rf"{_MONTHS}\s*$", sentence[: match.start()], re.I)
        ):
            continue  # the day of a date ("31 December 2019", "June 30")
        if re.fullmatch(r"\(?\d\)?", text) and (text.startswith("(") or sentence[match.end() : match.end() + 1] == ")"):
            continue  # a footnote or list marker: "(1)", "1)"
        figures.append(match)
    return figures


def _nearest(matches: list[re.Match[str]], anchor: int) -> re.Match[str] | None:
    if not matches:
        return None
    # Filings put the figure after its name ("X increased $63 million to $987 million"): after counts closer.
    return min(matches, key=lambda m: (m.start() - anchor) if m.start() >= anchor else 1.5 * (anchor - m.end()))


def _clean(span: str, keep_purpose: bool = False) -> str:
    stripped = _LEADING_FILLER.sub("", span.strip())
    if keep_purpose:
        # "[are entered into] to reduce concentration risk" answers a why with its "to".
        purpose = re.match(
            r"^(?:[\s,]|\b(?:is|are|was|were|been|being|entered|into|in|order)\b)*(to\s+\w.*)", span, re.I
        )
        if purpose:
            stripped = purpose.group(1)
    return stripped.strip(" ,;:\u2014\u2013-").rstrip(".")


def read_span(
    question: str, passages: Iterable[tuple[str, str]], min_confidence: float = RELAXED_CONFIDENCE
) -> Span | None:
    """The span of the passages ``[(ref, text), ...]`` that answers ``question``, or None.

    None when no sentence shares a content word with the question, or when the best guess has less than
    ``min_confidence``.
    """
    sentences = _sentences(passages)
    if not sentences:
        return None
    q_words = [m.group() for m in _WORD.finditer(question)]
    q_stems = list(dict.fromkeys(s for s in _content(q_words) if not _YEARISH.match(s)))
    if not q_stems:
        return None
    # Words found in few sentences say more about which sentence is meant (an idf over the passages).
    count = len(sentences)
    weight = {}
    for word in q_stems:
        df = sum(1 for s in sentences if any(w == word for w, _, _ in s.words))
        weight[word] = math.log(1 + count / (1 + df)) + 0.1
    total = sum(weight.values())
    asked_periods = periods_in(question)
    wants_figure = bool(_FIGURE_ASKED.search(question) or _METRIC_ASKED.search(question))
    asked_months = [re.sub(r"\W+", " ", m.group().lower()) for m in _MONTH_YEAR.finditer(question)]
    wants_date = bool(_DATE_ASKED.search(question))
    wants_duration = bool(_DURATION_ASKED.search(question))
    best: tuple[float, _Sentence] | None = None
    for index, sentence in enumerate(sentences):
        stems = {w for w, _, _ in sentence.words}
        covered = sum(weight[w] for w in q_stems if w in stems) / total
        if covered == 0:
            continue
        score = covered
        if asked_periods:
            said = periods_in(sentence.text)
            if any(p.matches(a) for p in said for a in asked_periods):
                score += 0.15
            elif said:
                score -= 0.1
        if asked_months:
            said_months = {re.sub(r"\W+", " ", m.group().lower()) for m in _MONTH_YEAR.finditer(sentence.text)}
            score += 0.15 if any(m in said_months for m in asked_months) else 0.0
        if wants_figure and not _figures(sentence.text):
            score -= 0.2
        if wants_date and not _DATE.search(sentence.text):
            score -= 0.1
        if wants_duration and not _DURATION.search(sentence.text):
            score -= 0.1
        score -= 0.001 * index  # ties go to the earlier sentence
        if best is None or score > best[0]:
            best = (score, sentence)
    if best is None:
        return None
    score, sentence = best
    confidence = max(0.0, min(1.0, score))
    span, kind = _extract(question, q_stems, sentence, asked_periods, wants_figure, wants_date, wants_duration)
    if not span:
        return None
    if kind == "clause" and span == sentence.text.rstrip("."):
        confidence *= 0.8  # the whole sentence: the answer is in there somewhere
    if (
        kind == "figure"
        and not asked_periods
        and len(periods_in(sentence.text)) >= 2
        and len(_figures(sentence.text)) >= 2
    ):
        confidence *= 0.5  # figures for several periods and the question names none: a guess
    if confidence < min_confidence:
        return None
    return Span(span, sentence.text, sentence.ref, kind, round(confidence, 3))


def _extract(
    question: str,
    q_stems: list[str],
    sentence: _Sentence,
    asked_periods: list,
    wants_figure: bool,
    wants_date: bool,
    wants_duration: bool,
) -> tuple[str | list[str], str]:
    text = sentence.text
    first, last = _matched_group(q_stems, sentence)
    if _YES_NO.search(question) or _STATED_NIL.search(text):
        return text.rstrip("."), "sentence"
    if wants_duration:
        found = _nearest(list(_DURATION.finditer(text)), last)
        if found:
            return found.group().strip(), "duration"
    if wants_date:
        found = _nearest(list(_DATE.finditer(text)), last)
        if found:
            return found.group().strip(), "date"
    if not _REASON_ASKED.search(question) and (wants_figure or asked_periods):
        figures = _figures(text)
        if figures and len(asked_periods) >= 2:
            # "X in 2019 and 2018": one figure per asked period, in the question's order.
            picks = [_respective(text, figures, [p]) or _by_period(text, figures, [p]) for p in asked_periods]
            if all(picks) and len({m.start() for m in picks if m}) == len(picks):
                return [m.group().strip() for m in picks if m], "figures"
        if figures:
            picked = _respective(text, figures, asked_periods) or _by_period(text, figures, asked_periods)
            picked = picked or _best_figure(figures, sentence, q_stems, last)
            if picked is not None:
                return picked.group().strip(), "figure"
    if _REASON_ASKED.search(question):
        cue = _REASON_CUE.search(text, last if last < len(text) else 0) or _REASON_CUE.search(text)
        if cue:
            return _clean(text[cue.start() :]), "clause"
    after = _clean(text[last:].split("; ")[0], keep_purpose=bool(re.match(r"\s*why\b", question, re.I)))
    if len(after.split()) >= 2:
        return after, "clause"
    before = re.sub(r",?\s+(?:we|it|they|the\s+\w+)\s*$", "", text[:first].strip(" ,"), flags=re.I)
    if len(before.split()) >= 2:
        return before.strip(" ,"), "clause"
    return text.rstrip("."), "clause"


def _matched_group(q_stems: list[str], sentence: _Sentence, gap: int = 3) -> tuple[int, int]:
    """The character range of the longest run of question words in the sentence (at most ``gap`` others between)."""
    hits = [i for i, (w, _, _) in enumerate(sentence.words) if w in q_stems]
    if not hits:
        return 0, 0
    groups: list[list[int]] = [[hits[0]]]
    for index in hits[1:]:
        if index - groups[-1][-1] <= gap + 1:
            groups[-1].append(index)
        else:
            groups.append([index])
    group = max(groups, key=lambda g: len({sentence.words[i][0] for i in g}))
    return sentence.words[group[0]][1], sentence.words[group[-1]][2]


def _best_figure(
    figures: list[re.Match[str]], sentence: _Sentence, q_stems: list[str], anchor: int
) -> re.Match[str] | None:
    """The figure with the most question words just before it (its name), then the nearest after the match."""
    if not figures:
        return None
    wanted = set(q_stems)

    def named(figure: re.Match[str]) -> int:
        before = [w for w, start, _ in sentence.words if figure.start() - FIGURE_WINDOW <= start < figure.start()]
        return len(wanted & set(before))

    most = max(named(f) for f in figures)
    return _nearest([f for f in figures if named(f) == most], anchor)


FIGURE_WINDOW = 60  # characters before a figure that name it


def _respective(text: str, figures: list[re.Match[str]], asked: list) -> re.Match[str] | None:
    """'$36.5 million, $2.1 million and $3.7 million ... in 2019, 2018 and 2017, respectively'."""
    if len(asked) != 1 or not re.search(r"\brespectively\b", text, re.I):
        return None
    periods = periods_in(text)
    for start in range(0, max(1, len(figures) - len(periods) + 1), len(periods) or 1):
        group = figures[start : start + len(periods)]
        if len(group) == len(periods):
            for period, figure in zip(periods, group, strict=True):
                if period.matches(asked[0]):
                    return figure
            break
    return None


def _by_period(text: str, figures: list[re.Match[str]], asked: list) -> re.Match[str] | None:
    """'$1.2 billion at December 31, 2019 and $1.0 billion at December 31, 2018': the figure by the asked year."""
    if len(asked) != 1 or len(figures) < 2:
        return None
    mentions = [m for m in _DATE.finditer(text) if any(p.matches(asked[0]) for p in periods_in(m.group()))]
    others = [m for m in _DATE.finditer(text) if m not in mentions and periods_in(m.group())]
    if not mentions or not others:
        return None
    dated = [m for m in _DATE.finditer(text) if periods_in(m.group())]

    def nearest_mention(figure: re.Match[str]) -> re.Match[str]:
        return min(dated, key=lambda m: abs(m.start() - figure.start()))

    # A figure in brackets with another period is that period's ("$1,792,000 ($181,000 in 2018)"); else each
    # figure belongs to its nearest date.
    brackets = [(m.start(), m.end()) for m in re.finditer(r"\([^()]*\)", text)]

    def bracketed_elsewhere(figure: re.Match[str]) -> bool:
        return any(a <= figure.start() < b and any(a <= o.start() < b for o in others) for a, b in brackets)

    outside = [f for f in figures if not bracketed_elsewhere(f)]
    if len(outside) == 1 and len(figures) > 1:
        return outside[0]
    own = [f for f in outside if nearest_mention(f) in mentions]
    if len(own) == 1:
        return own[0]
    anchor = mentions[0].start()
    return min(own or figures, key=lambda f: abs(f.start() - anchor))


def span_answer(span: Span) -> FigureAnswer:
    """A span as a ``FigureAnswer`` of kind "span": the sentence it is quoted from stands as its formula."""
    return FigureAnswer("span", span.text, "", "", span.sentence, [], span.confidence, source_ref=span.ref)


@dataclass
class CellPick:
    """The table cell a question most likely asks for, when the figure rules abstained."""

    table: FigureTable
    cell: FigureCell
    confidence: float
    cells: list[FigureCell] = field(default_factory=list)  # one per asked period, when several are asked


def read_cell(
    question: str, tables: Iterable[FigureTable], min_confidence: float = RELAXED_CONFIDENCE
) -> CellPick | None:
    """The cell whose row label, section and column header best cover the question's words, or None.

    The lenient counterpart of the figure rules' lookup: it answers with the best match however weak, so
    it is meant for the bench or behind a ``min_confidence`` the caller chooses.
    """
    tables = list(tables)
    q_words = [m.group() for m in _WORD.finditer(question)]
    q_stems = list(dict.fromkeys(s for s in _content(q_words) if not _YEARISH.match(s)))
    if not q_stems or not tables:
        return None
    asked = periods_in(question)
    units: list[tuple[FigureTable, FigureCell, set[str], set[str], list]] = []
    for table in tables:
        for row in table.rows:
            if not row.label:
                continue
            label = {stem(w) for w in _WORD.findall(row.label)}
            context = {stem(w) for w in _WORD.findall(f"{row.section} {table.title}")}
            for col, cell in row.cells.items():
                if not cell.text.strip() or (cell.is_nil and cell.value is None):
                    continue
                header = table.columns[col].header if col < len(table.columns) else ""
                periods = (table.columns[col].periods if col < len(table.columns) else []) or row.periods
                units.append((table, cell, label, context | {stem(w) for w in _WORD.findall(header)}, periods))
    if not units:
        return None
    count = len(units)
    weight = {}
    for word in q_stems:
        df = sum(1 for u in units if word in u[2] or word in u[3])
        weight[word] = math.log(1 + count / (1 + df)) + 0.1
    total = sum(weight.values())
    best: tuple[float, CellPick] | None = None
    for table, cell, label, context, periods in units:
        covered = sum(weight[w] for w in q_stems if w in label or w in context) / total
        if not any(w in label for w in q_stems):
            continue
        label_content = {w for w in label if w not in _STOPWORDS}
        precision = len(label_content & set(q_stems)) / len(label_content) if label_content else 0.0
        score = covered + 0.2 * precision
        if asked:
            if any(p.matches(a) for p in periods for a in asked):
                score += 0.15
            elif periods:
                score -= 0.3
        score -= 0.005 * cell.col  # no period named: the first (latest) column
        if best is None or score > best[0]:
            best = (score, CellPick(table, cell, round(max(0.0, min(1.0, score)), 3)))
    if best is None or best[1].confidence < min_confidence:
        return None
    pick = best[1]
    if len(asked) >= 2:
        # "X in 2019 and 2018": the same row's cell for each asked period, in the question's order.
        row = pick.table.rows[pick.cell.row]
        cells = []
        for period in asked:
            for col, cell in sorted(row.cells.items()):
                column = pick.table.columns[col] if col < len(pick.table.columns) else None
                if column is not None and any(p.matches(period) for p in column.periods) and cell.text.strip():
                    cells.append(cell)
                    break
        if len(cells) == len(asked):
            pick.cells = cells
    return pick


def cell_answer(pick: CellPick) -> FigureAnswer:
    """A picked cell as a lookup ``FigureAnswer`` (a figure) or a ``span`` (a text cell)."""
    table = pick.table
    cells = pick.cells or [pick.cell]
    if any(cell.value is None for cell in cells):
        texts = [cell.text.strip() for cell in cells]
        value = texts if len(texts) > 1 else texts[0]
        return FigureAnswer("span", value, "", "", "", [], pick.confidence, source_ref=table.ref)
    operands = []
    for cell in cells:
        header = table.columns[cell.col].header if cell.col < len(table.columns) else ""
        label = table.rows[cell.row].label
        assert cell.value is not None
        operands.append(
            Operand(table.ref, label, header, cell.value, cell.text, cell.unit, cell.scale, cell.row, cell.col)
        )
    values = [o.value for o in operands]
    first = operands[0]
    return FigureAnswer(
        "lookup",
        values if len(values) > 1 else values[0],
        first.unit,
        first.scale,
        "; ".join(format_decimal(v) for v in values),
        operands,
        pick.confidence,
    )


_LIST_ASKED = re.compile(
    r"^\s*(?:what|which)\s+(?:are|were)\s+(?:the\s+)?(?:[\w-]+\s+){0,2}(?:components|items|types|countries|regions|"
    r"segments|categories|elements|sources|classes|units|businesses|markets|products|geographies|locations)\b",
    re.I,
)


def read_row_labels(question: str, tables: Iterable[FigureTable]) -> list[str] | None:
    """'What are the components under deferred tax liabilities in the table?': the row labels listed.

    The rows under a heading the question names, else every labelled row with figures, totals left out.
    None unless the question asks for a list of items and one table is given.
    """
    tables = list(tables)
    if len(tables) != 1 or not _LIST_ASKED.search(question):
        return None
    table = tables[0]
    q_stems = set(_content(_WORD.findall(question)))
    rows = [r for r in table.rows if r.label and any(c.value is not None or c.text.strip() for c in r.cells.values())]
    rows = [r for r in rows if not re.match(r"\s*total\b", r.label, re.I)]
    sections = {r.section for r in rows if r.section}
    named = [
        section
        for section in sections
        if q_stems & {stem(w) for w in _WORD.findall(section) if w.lower() not in _STOPWORDS}
    ]
    if named:
        best = max(named, key=lambda sec: len(q_stems & {stem(w) for w in _WORD.findall(sec)}))
        rows = [r for r in rows if r.section == best]
    labels = list(dict.fromkeys(r.label.strip() for r in rows))
    return labels if len(labels) >= 2 else None
