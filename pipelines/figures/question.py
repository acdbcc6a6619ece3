"""What a question asks for: the operation, the periods and the metric words (rules, no model)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

from pipelines.figures.tables import Period, periods_in

KINDS = ("lookup", "growth", "difference", "ratio", "sum", "average", "compare", "periods", "rank", "threshold")

# Questions that ask for words, not a figure ("why", "how is X derived", "what does X include").
_NOT_A_FIGURE = re.compile(
    r"^\s*(?:why|how\s+(?:is|are|was|were|does|do|did|has|have|will|would|should|can)\b|where|who|whom|whose|"
    r"when\b|describe|explain|list\b)|\bwhat\s+(?:does|do|did)\b.*\b(?:mean|consist|include|comprise|represent|"
    r"relate|affect|cause)|\bwhat\s+(?:is|are|was|were)\s+(?:the\s+)?(?:reason|reasons|components?|items?|"
    r"elements?|factors?|types?|method|methods|basis|policy|purpose|nature)\b|"
    r"^\s*in\s+which\s+years\b.*\bfor\b|\bcomponents\b",
    re.I,
)
# ... and those that do even when they say "how much/many" (a duration, a cause, an exclusion).
_NEVER_A_FIGURE = re.compile(
    r"\bwhat\s+duration\b|\bhow\s+many\s+years\b|\bhow\s+long\b|^\s*what\s+(?:caused|led|drove|contributed)\b|"
    r"\breasons?\b|\bdue\s+to\s*\??\s*$|\bexclude[sd]?\b|\bexcluded\s+from\b",
    re.I,
)
_PERIODS_ASKED = re.compile(
    r"^\s*(?:in\s+|for\s+)?(?:which|what)\s+(?:are\s+the\s+)?(?:fiscal\s+)?(?:years|periods)\b"
    r"(?!.*\b(?:exceed|greater|less|more|above|below|larg|high|low|small|increas|decreas))",
    re.I,
)
_RANK = re.compile(
    r"\b(?:which|what)\s+(?!(?:fiscal\s+)?(?:year|years|period|periods|quarter)\b)[\w\s,'-]*?\b"
    r"(?<!second )(?<!third )(?P<dir>highest|largest|greatest|most|biggest|lowest|smallest|least)\b",
    re.I,
)
_THRESHOLD = re.compile(
    r"\b(?P<op>exceed(?:ed|s)?|greater\s+than|more\s+than|above|higher\s+than|over|less\s+than|below|lower\s+than|"
    r"under)\s+(?:US)?\$?(?P<num>\d[\d,]*(?:\.\d+)?)\s*(?P<unit>%|percent|thousands?|millions?|billions?)?",
    re.I,
)
_THRESHOLD_ASKS = re.compile(
    r"^\s*how\s+many\s+(?:fiscal\s+)?(?:years|periods|quarters)\b|\b(?:which|what)\s+(?:of\s+the\s+)?(?:fiscal\s+)?"
    r"(?:years?|periods?|quarters?)\b",
    re.I,
)
_COMPARE = re.compile(
    r"\b(?:which|what)\s+(?:fiscal\s+)?(?:year|years|period|quarter)\b.*\b(?:larg|high|great|low|small|"
    r"more|less|most|least|bigger|max|min)",
    re.I,
)
_GROWTH = re.compile(
    r"\bpercent(?:age)?\s+(?:change|increase|decrease|growth|decline|rise|drop|fall)|%\s*(?:change|increase|"
    r"decrease)|\bgrowth\s+rate|\brate\s+of\s+(?:change|growth|increase|decrease)|\bby\s+what\s+percent|"
    r"\b(?:increase|decrease|change|grow|grew|decline)d?\s+by\s+what\s+percent|"
    r"\bwhat\s+percent(?:age)?\s+did\b.*\b(?:increase|decrease|grow|grew|decline|change)",
    re.I,
)
_ABSOLUTE = re.compile(r"\babsolute\b|\bpercentage\s+points?\b|\bbasis\s+points?\b", re.I)
# "weighted-average fair value" names a line item; the operation is "average of X".
_AVERAGE = re.compile(r"(?<!weighted-)(?<!weighted )\baverage\b|\bmean\b", re.I)
_CHANGE = re.compile(
    r"\bchanges?\b|\bdifferen|\bincreas|\bdecreas|\bvarian|\bgr[eo]w|\bdeclin|\bhow\s+much\s+(?:more|less|"
    r"higher|lower|bigger|smaller)|\bmovement\b",
    re.I,
)
_RATIO = re.compile(
    r"\bratio\b|\bproportion\b|\bpercentage\s+of\b|\bas\s+a\s+percent(?:age)?\b|\bmargin\b|\bwhat\s+percent|"
    r"\bhow\s+much\s+percent|\bshare\s+of\b|\bfraction\b|\bconstitution\b|\bpercentage\b.*\b(?:of|in)\b\s+(?:the\s+)?total",
    re.I,
)
_SUM = re.compile(r"\bsum\b|\btotal\b|\bcombined\b|\baltogether\b|\bin\s+all\b|\badd(?:ed)?\s+up\b", re.I)
_RESPECTIVE = re.compile(r"\brespective(?:ly)?\b", re.I)
_PERCENT_WANTED = re.compile(r"percent|%", re.I)

_STOP = set(
    """what which is was were are be been the a an of in for from to between and on at by as during year years
    fiscal fy ended ending end change changes difference differences increase increased increases decrease decreased
    decreases percentage percent average mean sum ratio proportion value values amount amounts how much many did does
    do its their company company's group respectively over across period periods than compared comparison relative
    versus vs period-over-period year-over-year yoy this that these those there it combined altogether all both
    dated date reported report reports figure figures with within into growth rate share
    january february march april may june july august september october november december jan feb mar apr jun jul
    aug sep sept oct nov dec first second third fourth quarter quarters q1 q2 q3 q4 last current prior previous
    following respective s had has have higher lower larger smaller greater bigger highest lowest largest smallest
    greatest biggest most least""".split()  # noqa: SIM905 - a word list reads better as text
)
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def normalise_token(token: str) -> str:
    token = token.lower().replace("'s", "")
    if len(token) > 3 and token.endswith("ies"):
        return token[:-3] + "y"
    if len(token) > 3 and token.endswith("s") and not token.endswith("ss"):
        return token[:-1]
    return token


def content_tokens(text: str) -> list[str]:
    """Lower-cased, lightly singularised words without stop words, numbers or periods."""
    tokens = []
    for raw in _TOKEN.findall((text or "").lower().replace("\u2019", "'")):
        if raw.isdigit() or raw in _STOP:
            continue
        token = normalise_token(raw)
        if token and token not in _STOP and token not in tokens:
            tokens.append(token)
    return tokens


@dataclass
class QuestionIntent:
    question: str
    kind: str | None  # None: not a figure question (a "why"/"how is" question)
    periods: list[Period]
    metric: list[str]  # words naming the line item
    metrics: list[list[str]] = field(default_factory=list)  # two or more line items (ratio A / B, A - B)
    percent: bool = False  # the answer is asked as a percentage
    compare_max: bool = True  # for "which year ... largest"; for a threshold, "above" (else "below")
    threshold: tuple[Decimal, str] | None = None  # ("200000", "thousand") in "exceed $200,000 thousand"
    count: bool = False  # "how many years ..." rather than "which years ..."
    lenient: bool = False  # pick the best row however weak, the first of tied rows (a benchmark's guess)


_PERIOD_TEXT = re.compile(
    r"(?:FY\s?'?\d{2,4}|(?:19|20)\d{2}|\bQ[1-4]\b|\b(?:first|second|third|fourth)\s+quarter\b|"
    r"\b(?:january|february|march|april|may|june|july|august|september|october|november|december)\s+\d{1,2}\b)",
    re.I,
)
_OP_PHRASES = re.compile(
    r"\b(?:what\s+(?:is|was|were|are)|how\s+much|how\s+many|percent(?:age)?\s+(?:change|increase|decrease|growth)|"
    r"growth\s+rate|(?:the\s+)?(?:average|sum|ratio|proportion|change|difference|increase|decrease)\s+(?:of|in)|"
    r"increase\s*/\s*\(?decrease\)?)\b",
    re.I,
)

_TWO_METRICS = (
    re.compile(r"\bratio\s+of\s+(?P<a>.+?)\s+(?:to|over|against|and)\s+(?P<b>.+)", re.I),
    re.compile(r"(?P<a>.+?)\s+as\s+a\s+(?:percent(?:age)?|proportion|ratio|share|fraction)\s+of\s+(?P<b>.+)", re.I),
    re.compile(
        r"\b(?:proportion|percentage|share|fraction|portion)\s+of\s+(?P<a>.+?)\s+(?:over|to|in|of|out\s+of|"
        r"relative\s+to|against|within|from|among)\s+(?P<b>(?:the\s+)?(?:total|overall|all|net|gross)\b.*|.+)",
        re.I,
    ),
    re.compile(r"\b(?:what|how\s+much)\s+percent(?:age)?\s+of\s+(?P<b>.+?)\s+(?:is|was|were|are)\s+(?P<a>.+)", re.I),
    re.compile(r"\b(?P<a>[\w\s'\u2019-]+?)\s+to\s+(?P<b>[\w\s'\u2019-]+?)\s+ratio\b", re.I),
    re.compile(r"\b(?P<a>\w+)-to-(?P<b>\w+)\s+ratio\b", re.I),
    re.compile(r"\bconstitution\s+of\s+(?P<a>.+?)\s+(?:among|in|of)\s+(?P<b>.+)", re.I),
)
_DIFFERENCE_TWO = re.compile(
    r"\b(?:difference\s+(?:between|of)|between)\s+(?:the\s+)?(?P<a>.+?)\s+and\s+(?P<b>.+)", re.I
)
_SUM_TWO = re.compile(r"\b(?:sum|total|combined)\s+(?:of\s+)?(?P<a>.+?)\s+and\s+(?P<b>.+)", re.I)


def _strip_periods(text: str) -> str:
    return _PERIOD_TEXT.sub(" ", text)


def _expand_range(question: str, periods: list[Period]) -> list[Period]:
    """'from 2017 to 2019' / '2017-2019' / 'across the 3 years' asks for every year in between."""
    if len(periods) == 2 and periods[0].quarter is None and periods[1].quarter is None:
        low, high = sorted(p.year for p in periods)
        spelled_range = re.search(r"(?:19|20)\d{2}\s*(?:-|\u2013|to|through|thru)\s*(?:19|20)\d{2}", question, re.I)
        if high - low > 1 and spelled_range:
            return [Period(year) for year in range(high, low - 1, -1)]
    return periods


def _change_of_average(text: str) -> bool:
    """'change in the average life expectancy': the average is the line item, the change the operation."""
    change, average = _CHANGE.search(text), _AVERAGE.search(text)
    return bool(change and average and change.start() < average.start())


def understand(question: str) -> QuestionIntent:
    """Classify the question and pull out its periods and metric words."""
    text = question.strip()
    periods = periods_in(text)
    threshold = _THRESHOLD.search(text)
    if threshold and _THRESHOLD_ASKS.search(text):
        # "How many years did net income exceed $30,000 thousand?" / "In which year was X less than 50%?"
        unit = (threshold.group("unit") or "").lower()
        scale = "" if unit in {"", "%", "percent"} else unit.rstrip("s")
        words = text[: threshold.start()] + " " + text[threshold.end() :]
        metric = [t for t in content_tokens(_strip_periods(words)) if t not in {"exceed", "exceeded", "quarter"}]
        return QuestionIntent(
            text,
            "threshold",
            periods,
            metric,
            compare_max=threshold.group("op")
            .lower()
            .startswith(("exceed", "greater", "more", "above", "higher", "over")),
            threshold=(Decimal(threshold.group("num").replace(",", "")), scale),
            count=bool(re.match(r"\s*how\s+many\b", text, re.I)),
        )
    if _PERIODS_ASKED.search(text):
        # "Which years does the table provide information for?": the periods the table covers.
        return QuestionIntent(text, "periods", periods, content_tokens(_strip_periods(text)))
    percent = bool(_PERCENT_WANTED.search(text))
    if _NEVER_A_FIGURE.search(text) or (
        _NOT_A_FIGURE.search(text) and not re.search(r"\bhow\s+(?:much|many)\b", text, re.I)
    ):
        return QuestionIntent(text, None, periods, content_tokens(_strip_periods(text)))
    kind: str
    compare_max = True
    if _COMPARE.search(text):
        kind = "compare"
        compare_max = not re.search(r"\b(?:low|small|less|least|min|fewer|decreas)", text, re.I)
    elif _RANK.search(text) and not re.search(r"\bhow\s+(?:much|many)\b", text, re.I):
        kind = "rank"
        compare_max = _RANK.search(text).group("dir").lower() in {"highest", "largest", "greatest", "most", "biggest"}
    elif _GROWTH.search(text) and not _ABSOLUTE.search(text):
        kind = "growth"
    elif _AVERAGE.search(text) and not _change_of_average(text):
        kind = "average"
    elif _CHANGE.search(text):
        kind = "difference"
    elif _RATIO.search(text):
        kind = "ratio"
    elif _SUM.search(text) and (len(periods) >= 2 or _SUM_TWO.search(_strip_periods(text))):
        kind = "sum"
    else:
        kind = "lookup"
    if kind in {"average", "sum", "lookup"} and _RESPECTIVE.search(text):
        kind = "lookup"  # "X and Y respectively": each value, not their total
    if kind in {"average", "sum", "lookup"}:
        periods = _expand_range(text, periods)
    body = _strip_periods(text).rstrip("?. ")
    metrics: list[list[str]] = []
    if kind == "ratio":
        for pattern in _TWO_METRICS:
            match = pattern.search(body)
            if match:
                metrics = [content_tokens(match.group("a")), content_tokens(match.group("b"))]
                break
    elif kind == "difference" and len(periods) < 2:
        match = _DIFFERENCE_TWO.search(body)
        if match:
            metrics = [content_tokens(match.group("a")), content_tokens(match.group("b"))]
            # "the net sales in 2019 between APAC and EMEA": the words before name the line item both share.
            shared = [t for t in content_tokens(body[: match.start()]) if t not in metrics[0] + metrics[1]]
            metrics = [shared + m for m in metrics] if shared and 0 < min(map(len, metrics)) <= 2 else metrics
    elif kind in {"sum", "average"} and len(periods) < 2:
        match = _SUM_TWO.search(body) or re.search(r"\baverage\s+(?:of\s+)?(?P<a>.+?)\s+and\s+(?P<b>.+)", body, re.I)
        if match:
            metrics = [content_tokens(match.group("a")), content_tokens(match.group("b"))]
    metrics = [m for m in metrics if m]
    if len(metrics) < 2:
        metrics = []
    metric = content_tokens(_OP_PHRASES.sub(" ", body))
    if kind == "sum" and re.search(r"\btotal\s+(?:amount|number|value)\b|\bin\s+total\b", body, re.I):
        metric = [token for token in metric if token != "total"]  # "the total amount of X": the operation
    return QuestionIntent(text, kind, periods, metric, metrics, percent, compare_max)
