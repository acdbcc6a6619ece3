"""Checks on a generated report: the full schema, the citations, and every number against its source.

Constrained decoding enforces most of the schema, but not all of it (xgrammar ignores
``uniqueItems``, and a schema keyword a library drops fails silently), so the parsed object is
validated again with jsonschema. Numbers are then checked against the full text of the chunk
each one cites: a value the grammar allowed can still be cited to text that does not state it
when the schema was built from other passages, or when the report did not come from the grammar.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from pipelines.reports.figures import (
    MISMATCH_ORDER,
    extract_numbers,
    iter_numbers,
    parse_unit,
    support_mismatch,
    to_decimal,
)
from pipelines.reports.indicators import LEXICON, lexeme_for
from pipelines.reports.schema import INSUFFICIENT
from pipelines.reports.spec import Passage, passage_index

# "mismatch": the source states the number, but with another sign, unit, scale or period (``reason`` says which).
# "conflict": the cited source states it, but another source about the company gives another value for that period.
MetricStatus = Literal["matched", "mismatch", "not_found", "no_citation", "insufficient", "conflict"]
TARGET_PRICE_NAME = "target price"
UNSUPPORTED = ("mismatch", "not_found", "no_citation")
REASONS = {
    "sign": "the source states the opposite sign or direction",
    "unit": "the source states it in another unit",
    "scale": "the source states another scale",
    "period": "the source states it for another period",
    "not_found": "not found in the cited source",
    "no_citation": "no source cited",
    "conflict": "another source gives a different value for this period",
}


class ReportOutputError(ValueError):
    """Model output that is not JSON (a generation cut off at max_new_tokens, usually)."""


@dataclass(frozen=True)
class MetricCheck:
    name: str
    value: str
    citation: str | None
    status: MetricStatus
    unit: str = ""
    reason: str = ""  # a key of REASONS when the number is not supported
    period: str = ""

    @property
    def flagged(self) -> bool:
        return self.status in UNSUPPORTED

    @property
    def numeric(self) -> bool:
        return self.status != "insufficient"

    @property
    def why(self) -> str:
        return REASONS.get(self.reason or self.status, self.reason or self.status)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "unit": self.unit,
            "period": self.period,
            "citation": self.citation,
            "status": self.status,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class ReportFindings:
    valid: bool  # the schema holds and every citation is one of the passages
    schema_errors: list[str]
    metric_checks: list[MetricCheck]
    matched_share: float | None  # matched / numeric metrics; None when the report states no number
    # Names of what failed its number check: metric names, "target price", "thesis", "risks[i]".
    flagged: list[str]
    citation_errors: list[str] = field(default_factory=list)
    text_checks: list[MetricCheck] = field(default_factory=list)  # numbers inside the thesis and risks
    # Sources that disagree on a key metric: {name, period, value, unit, citation, doc_type, others: [...]}.
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # said on the report: base-model fallback, junk text replaced

    @property
    def unsupported(self) -> list[MetricCheck]:
        """Every number (metric, target price, thesis, risk) its cited source does not support."""
        return [c for c in [*self.metric_checks, *self.text_checks] if c.flagged]

    @property
    def numbers_checked(self) -> int:
        return sum(c.numeric for c in [*self.metric_checks, *self.text_checks])

    @property
    def supported_share(self) -> float | None:
        """Supported / all numbers stated (metrics, target price, thesis, risks); None when there are none."""
        total = self.numbers_checked
        return (total - len(self.unsupported)) / total if total else None

    @property
    def needs_attention(self) -> bool:
        return bool(self.unsupported)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; ``from_dict`` reads it back (stored with the report, read again for the PDF)."""
        return {
            "valid": self.valid,
            "schema_errors": list(self.schema_errors),
            "citation_errors": list(self.citation_errors),
            "metric_checks": [c.to_dict() for c in self.metric_checks],
            "text_checks": [c.to_dict() for c in self.text_checks],
            "matched_share": self.matched_share,
            "supported_share": self.supported_share,
            "numbers_checked": self.numbers_checked,
            "unsupported": [c.to_dict() | {"why": c.why} for c in self.unsupported],
            "flagged": list(self.flagged),
            "conflicts": [dict(c) for c in self.conflicts],
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReportFindings:
        """Tolerant of missing keys (an empty dict is "nothing checked") and of extra keys."""

        def checks(key: str) -> list[MetricCheck]:
            return [
                MetricCheck(
                    name=str(c.get("name", "")),
                    value=str(c.get("value", "")),
                    citation=c.get("citation"),
                    status=c.get("status", "not_found"),
                    unit=str(c.get("unit") or ""),
                    reason=str(c.get("reason") or ""),
                    period=str(c.get("period") or ""),
                )
                for c in data.get(key) or []
                if isinstance(c, Mapping)
            ]

        return cls(
            valid=bool(data.get("valid", False)),
            schema_errors=[str(e) for e in data.get("schema_errors") or []],
            metric_checks=checks("metric_checks"),
            matched_share=data.get("matched_share"),
            flagged=[str(f) for f in data.get("flagged") or []],
            citation_errors=[str(e) for e in data.get("citation_errors") or []],
            text_checks=checks("text_checks"),
            conflicts=[dict(c) for c in data.get("conflicts") or [] if isinstance(c, Mapping)],
            notes=[str(n) for n in data.get("notes") or []],
        )


def parse_model_json(text: str) -> Any:
    """Parse model output; ``strict=False`` since a grammar may legally emit raw control characters in strings."""
    stripped = text.strip()
    fenced = re.fullmatch(r"```(?:json)?\s*(.*?)\s*```", stripped, re.DOTALL)
    if fenced:
        stripped = fenced.group(1)
    try:
        return json.loads(stripped, strict=False)
    except json.JSONDecodeError as exc:
        snippet = stripped if len(stripped) <= 200 else stripped[:100] + " ... " + stripped[-80:]
        raise ReportOutputError(f"model output is not valid JSON ({exc.msg} at char {exc.pos}): {snippet!r}") from exc


def _path(parts: Sequence[Any]) -> str:
    text = "report"
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def _shorten(message: str, limit: int = 240) -> str:
    return message if len(message) <= limit else message[: limit - 3] + "..."


def validate_report(obj: Any, schema: dict[str, Any]) -> list[str]:
    """Every way ``obj`` breaks ``schema``, as readable messages; empty when it is valid."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match

    validator = Draft202012Validator(schema)
    messages = []
    for error in sorted(validator.iter_errors(obj), key=lambda e: (list(e.absolute_path), e.message)):
        message = error.message
        if error.context:
            # anyOf: say why the closest branch failed, not just "not valid under any of the given schemas".
            closest = best_match(error.context)
            where = _path(list(error.absolute_path) + list(closest.relative_path))
            message = f"no allowed form matches (closest: {where}: {_shorten(closest.message, 160)})"
        messages.append(f"{_path(error.absolute_path)}: {_shorten(message)}")
    return messages


def _texts(passages: Mapping[str, Any] | Sequence[Any]) -> dict[str, str]:
    return {chunk_id: p.text for chunk_id, p in passage_index(passages).items()}


def _wanted_unit(name: str, unit: str) -> str:
    """A per-share indicator's unit ("USD" for a target price or EPS) means per share."""
    lexeme = lexeme_for(name)
    if (lexeme.per_share or name == TARGET_PRICE_NAME) and unit and not parse_unit(unit).per_share:
        return f"{unit} per share"
    return unit


def _check(name: str, value: Any, unit: str, citation: Any, texts: Mapping[str, str], period: Any = "") -> MetricCheck:
    value_text = "" if value is None else str(value)
    period_text = "" if period is None or str(period).strip().lower() == INSUFFICIENT else str(period)
    cited = citation if isinstance(citation, str) and citation else None
    if value_text.strip().lower() == INSUFFICIENT:
        return MetricCheck(name, value_text, cited, "insufficient", unit, period=period_text)
    if cited is None:
        return MetricCheck(name, value_text, None, "no_citation", unit, "no_citation", period_text)
    number, number_unit = value_text, unit
    if to_decimal(value_text) is None:
        # A value written with its unit ("3.1%", "$2,359 million"), as a report from outside the grammar may be.
        written = extract_numbers(value_text)
        if len(written) == 1:
            number, number_unit = written[0].value, written[0].unit or unit
    text = texts.get(cited)
    lexeme = lexeme_for(name)
    if text is None or to_decimal(number) is None:
        reason = "not_found"
    elif lexeme in LEXICON and not lexeme.admits_unit(_wanted_unit(name, number_unit)):
        reason = "unit"  # "revenue growth" in USD billion: the source's figure cannot be this indicator
    else:
        reason = support_mismatch(number, _wanted_unit(name, number_unit), text, period=period_text) or ""
    if not reason:
        return MetricCheck(name, value_text, cited, "matched", unit, period=period_text)
    status: MetricStatus = "not_found" if reason == "not_found" else "mismatch"
    return MetricCheck(name, value_text, cited, status, unit, reason, period_text)


def check_metric_numbers(
    report: Mapping[str, Any], passages: Mapping[str, str] | Mapping[str, Passage] | Sequence[Passage]
) -> list[MetricCheck]:
    """One check per key metric (and the target price, when given): is its number in its cited chunk?

    ``passages`` maps chunk id -> full chunk text (or Passage); a list of Passages works too.
    """
    texts = _texts(passages)
    checks = []
    for metric in report.get("key_metrics") or []:
        if not isinstance(metric, Mapping):
            continue
        checks.append(
            _check(
                str(metric.get("name", "")),
                metric.get("value"),
                str(metric.get("unit") or ""),
                metric.get("citation"),
                texts,
                metric.get("period"),
            )
        )
    target = report.get("target_price")
    if isinstance(target, Mapping):
        checks.append(
            _check(
                TARGET_PRICE_NAME, target.get("value"), str(target.get("currency") or ""), target.get("citation"), texts
            )
        )
    return checks


def _cited(value: Any, path: list[Any]) -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key == "citation" and item is not None:
                found.append((_path([*path, key]), item))
            elif key == "citations" and isinstance(item, list):
                found.extend((_path([*path, key, i]), c) for i, c in enumerate(item))
            else:
                found.extend(_cited(item, [*path, key]))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found.extend(_cited(item, [*path, i]))
    return found


def report_citations(report: Any) -> list[str]:
    """Every chunk id the report cites, first appearance first: its citations list, then metrics, risks, ..."""
    ordered: list[str] = []
    for chunk_id in (report.get("citations") or []) if isinstance(report, Mapping) else []:
        if isinstance(chunk_id, str) and chunk_id not in ordered:
            ordered.append(chunk_id)
    for _, chunk_id in _cited(report, []):
        if isinstance(chunk_id, str) and chunk_id not in ordered:
            ordered.append(chunk_id)
    return ordered


def citation_fields(report: Any) -> dict[str, list[str]]:
    """Chunk id -> the fields citing it ("citations", "key_metrics[0]", "target_price", "risks[1]"), in
    first-citation order (the order of ``report_citations``)."""
    fields: dict[str, list[str]] = {chunk_id: [] for chunk_id in report_citations(report)}
    for chunk_id in (report.get("citations") or []) if isinstance(report, Mapping) else []:
        if isinstance(chunk_id, str) and "citations" not in fields[chunk_id]:
            fields[chunk_id].append("citations")
    for where, chunk_id in _cited(report, []):
        name = re.sub(r"\.citations?(?:\[\d+\])?$", "", where).removeprefix("report").lstrip(".")
        if isinstance(chunk_id, str) and name and name not in fields[chunk_id]:
            fields[chunk_id].append(name)
    return fields


def check_citations(report: Any, passages: Mapping[str, Any] | Sequence[Any]) -> list[str]:
    """Messages for every citation, anywhere in the report, that is not one of the passages."""
    known = set(passage_index(passages))
    return [
        f"{where}: {chunk_id!r} is not one of the passages"
        for where, chunk_id in _cited(report, [])
        if not isinstance(chunk_id, str) or chunk_id not in known
    ]


def _unique(items: list[Any]) -> list[Any]:
    kept: list[Any] = []
    for item in items:
        if item not in kept:
            kept.append(item)
    return kept


def tidy_report(report: Any) -> Any:
    """The report with exact repeats dropped from ``citations``, ``key_metrics`` and ``risks`` (order kept).

    Lossless: xgrammar does not enforce ``uniqueItems``, and SmolLM2-135M repeated one extra metric
    three times in a trial run. Apply to the parsed output before ``report_findings``. Required
    metrics have distinct names, so only repeated extras can go. The input is not modified.
    """
    if not isinstance(report, Mapping):
        return report
    tidied = dict(report)
    for key in ("citations", "key_metrics", "risks"):
        if isinstance(report.get(key), list):
            tidied[key] = _unique(report[key])
    return tidied


def check_text_numbers(report: Mapping[str, Any], passages: Mapping[str, Any] | Sequence[Any]) -> list[MetricCheck]:
    """Numbers written in the free text: each risk's against its cited chunk, the thesis's against any cited chunk.

    The grammar cannot ground a number inside free text ("net debt/EBITDA is 6.1%" when the source says
    6.1x), so these are checked after the fact; ``name`` is ``"thesis"`` or ``"risks[i]"``.
    """
    texts = _texts(passages)
    checks: list[MetricCheck] = []

    def check(name: str, text: Any, cited: list[Any]) -> None:
        if not isinstance(text, str) or text.strip().lower() == INSUFFICIENT:
            return
        sources = [texts[c] for c in cited if isinstance(c, str) and c in texts]
        label = cited[0] if len(cited) == 1 and isinstance(cited[0], str) else None
        for mention in iter_numbers(text):
            if not cited:
                checks.append(MetricCheck(name, mention.value, label, "no_citation", mention.unit, "no_citation"))
                continue
            misses = [support_mismatch(mention.value, mention.unit, source) for source in sources] or ["not_found"]
            if None in misses:
                checks.append(MetricCheck(name, mention.value, label, "matched", mention.unit))
                continue
            # The closest miss over the cited sources says why.
            reason = max(misses, key=lambda m: MISMATCH_ORDER.index(m or "not_found")) or "not_found"
            status: MetricStatus = "not_found" if reason == "not_found" else "mismatch"
            checks.append(MetricCheck(name, mention.value, label, status, mention.unit, reason))

    check("thesis", report.get("thesis"), report_citations(report))
    for i, risk in enumerate(report.get("risks") or []):
        if isinstance(risk, Mapping):
            check(f"risks[{i}]", risk.get("risk"), [risk.get("citation")] if risk.get("citation") else [])
    return checks


def metric_conflicts(
    report: Mapping[str, Any],
    passages: Sequence[Passage],
    *,
    ticker: str = "",
    as_of: str | None = None,
    trust: Mapping[str, int] | None = None,
) -> list[dict[str, Any]]:
    """Per key metric the report fills, the other passages about the company that give another value for
    its period (``candidates.candidate_conflicts``), each with its citation and document type."""
    from pipelines.reports.candidates import candidate_conflicts, figure_candidates

    found = []
    for metric in report.get("key_metrics") or []:
        if not isinstance(metric, Mapping) or str(metric.get("value", "")).strip().lower() == INSUFFICIENT:
            continue
        name = str(metric.get("name", ""))
        candidates = figure_candidates(name, passages, ticker=ticker, as_of=as_of, trust=trust)
        chosen = next(
            (
                c
                for c in candidates
                if c.chunk_id == metric.get("citation")
                and c.value == str(metric.get("value"))
                and c.unit == metric.get("unit")
            ),
            None,
        )
        if chosen is None:
            continue
        others = candidate_conflicts(chosen, candidates)
        if others:
            found.append(
                {
                    "name": name,
                    "period": chosen.period,
                    "value": chosen.value,
                    "unit": chosen.unit,
                    "citation": chosen.chunk_id,
                    "doc_type": chosen.doc_type,
                    "others": [
                        {
                            "value": o.value,
                            "unit": o.unit,
                            "period": o.period,
                            "citation": o.chunk_id,
                            "doc_type": o.doc_type,
                        }
                        for o in others
                    ],
                }
            )
    return found


def report_findings(
    report: Any,
    schema: dict[str, Any],
    passages: Mapping[str, Any] | Sequence[Any],
    *,
    spec: Any = None,
    trust: Mapping[str, int] | None = None,
    notes: Sequence[str] = (),
) -> ReportFindings:
    """``spec`` (a ``ReportRequestSpec``), when given, turns on the conflict check across the passages."""
    schema_errors = validate_report(report, schema)
    citation_errors = check_citations(report, passages)
    checks = check_metric_numbers(report, passages) if isinstance(report, Mapping) else []
    conflicts: list[dict[str, Any]] = []
    if spec is not None and isinstance(report, Mapping):
        conflicts = metric_conflicts(
            report, list(passage_index(passages).values()), ticker=spec.ticker, as_of=spec.as_of, trust=trust
        )
        disputed = {c["name"] for c in conflicts}
        # Shown as a conflict with both citations, never as "matched".
        checks = [
            replace(c, status="conflict", reason="conflict") if c.name in disputed and c.status == "matched" else c
            for c in checks
        ]
    text_checks = check_text_numbers(report, passages) if isinstance(report, Mapping) else []
    numeric = [c for c in checks if c.numeric]
    matched = sum(c.status == "matched" for c in numeric)
    # A conflict is supported by its cited source: it is shown, not counted as unsupported.
    return ReportFindings(
        valid=not schema_errors and not citation_errors,
        schema_errors=schema_errors,
        metric_checks=checks,
        matched_share=matched / len(numeric) if numeric else None,
        flagged=_unique([c.name for c in [*checks, *text_checks] if c.flagged]),
        citation_errors=citation_errors,
        text_checks=text_checks,
        conflicts=conflicts,
        notes=list(notes),
    )


# Free text a small model can degenerate into: "S1111111111111111111111111", "margin margin margin ...".
# The grammar's pattern admits them (letters, digits, punctuation in any order), so they are caught here.
MIN_TEXT_WORDS = 4
MIN_LETTER_SHARE = 0.6  # of the non-space characters
MAX_RUN = 4  # the same character more than this many times in a row
MAX_WORD_CHARS = 25
MAX_WORD_SHARE = 0.4  # of the words, one word (of five or more)
_WORDS = re.compile(r"[A-Za-z][A-Za-z'-]*")


def junk_reason(text: str) -> str:
    """Why ``text`` is not usable prose, or "" when it is."""
    stripped = " ".join(str(text).split())
    compact = stripped.replace(" ", "")
    words = [w.lower() for w in _WORDS.findall(stripped) if len(w) > 1]
    if len(words) < MIN_TEXT_WORDS:
        return f"fewer than {MIN_TEXT_WORDS} words"
    if re.search(rf"(.)\1{{{MAX_RUN},}}", compact):
        return "a character repeated"
    if any(len(token) > MAX_WORD_CHARS for token in stripped.split()):
        return "an overlong word"
    if compact and sum(ch.isalpha() for ch in compact) / len(compact) < MIN_LETTER_SHARE:
        return "too few letters"
    if len(words) >= 5 and max(words.count(w) for w in set(words)) / len(words) > MAX_WORD_SHARE:
        return "a word repeated"
    if re.search(r"\b(\w+(?:\W+\w+){1,5})(?:\W+\1\b){2,}", stripped, re.IGNORECASE):
        return "a phrase repeated"
    return ""


def guard_free_text(report: Any) -> tuple[Any, list[str]]:
    """The report with junk free text replaced: a junk thesis becomes "insufficient evidence", a junk risk is
    dropped (a risk has no insufficient form). Returns the new report and one note per replaced field.

    Apply after ``tidy_report`` and before ``report_findings``; the input is not modified.
    """
    if not isinstance(report, Mapping):
        return report, []
    guarded, notes = dict(report), []
    thesis = report.get("thesis")
    if isinstance(thesis, str) and thesis.strip().lower() != INSUFFICIENT:
        reason = junk_reason(thesis)
        if reason:
            guarded["thesis"] = INSUFFICIENT
            notes.append(f"The thesis the model wrote was unusable ({reason}); it is shown as {INSUFFICIENT}.")
    if isinstance(report.get("risks"), list):
        kept = []
        for i, risk in enumerate(report["risks"]):
            reason = junk_reason(risk.get("risk", "")) if isinstance(risk, Mapping) else "not an object"
            if reason:
                notes.append(f"Risk {i + 1} the model wrote was unusable ({reason}) and was left out.")
            else:
                kept.append(risk)
        guarded["risks"] = kept
    return guarded, notes
