"""Formatting and the per-document writer that records what a template put into the text.

A template never states its ground truth separately from its text: company names, people and
contact details go in through placeholders, and the writer records each one only when the
chosen wording actually uses it. So ``planted`` metadata lists exactly what the text contains.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

ORDINALS = {1: "first", 2: "second", 3: "third", 4: "fourth"}


def long_date(day: date) -> str:
    return f"{day:%B} {day.day}, {day.year}"


def month_day(day: date) -> str:
    return f"{day:%B} {day.day}"


def usd_millions(value_musd: float) -> str:
    """SEC filing style: "$94,930 million"."""
    return f"${value_musd:,.0f} million"


def usd_compact(value_musd: float) -> str:
    """Press and call style: "$94.9 billion", "$1.58 billion", "$930 million"."""
    if abs(value_musd) >= 10_000:
        return f"${value_musd / 1000:,.1f} billion"
    if abs(value_musd) >= 1000:
        return f"${value_musd / 1000:,.2f} billion"
    return f"${value_musd:,.0f} million"


def with_article(noun_phrase: str) -> str:
    return ("an " if noun_phrase[:1].lower() in "aeiou" else "a ") + noun_phrase


def pct(value: float) -> str:
    return f"{value:.1f}%"


def change_phrase(value_pct: float, *, up: str = "up", down: str = "down") -> str:
    """ "up 6.1%" / "down 2.3%" / "flat"."""
    if abs(value_pct) < 0.05:
        return "flat"
    return f"{up if value_pct > 0 else down} {abs(value_pct):.1f}%"


def multiple(value: float) -> str:
    return f"{value:.1f}x"


def quarter_label(period: str) -> str:
    """ "2024Q3" -> "Q3 2024"."""
    return f"Q{period[5]} {period[:4]}"


def quarter_words(period: str) -> str:
    """ "2024Q3" -> "third quarter of 2024"."""
    return f"{ORDINALS[int(period[5])]} quarter of {period[:4]}"


def md_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


@dataclass(frozen=True)
class Mention:
    """A company name as it appears in text; recorded as an entity mention when used."""

    ticker: str
    text: str


@dataclass(frozen=True)
class PiiValue:
    """A piece of synthetic PII; recorded in ``planted["pii"]`` when used."""

    kind: str  # email, phone, iban, account, person
    text: str


@dataclass(frozen=True)
class Figure:
    """A key metric as printed; recorded in ``planted["metrics_text"]`` under ``name`` when used."""

    name: str
    text: str


class _Fields(dict):
    def __init__(self, writer: DocWriter, values: Mapping[str, Any]) -> None:
        super().__init__(values)
        self._writer = writer

    def __getitem__(self, key: str) -> Any:
        value = super().__getitem__(key)
        return self._writer.use(value)


@dataclass
class DocWriter:
    """Renders one document's wording with its own random stream and collects what it planted."""

    rng: random.Random
    base: dict[str, Any] = field(default_factory=dict)
    mentions: dict[str, list[str]] = field(default_factory=dict)
    pii: list[dict[str, str]] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    metrics_text: dict[str, str] = field(default_factory=dict)
    risk_events: list[dict[str, Any]] = field(default_factory=list)
    relationships: list[dict[str, Any]] = field(default_factory=list)

    def use(self, value: Any) -> Any:
        if isinstance(value, Mention):
            forms = self.mentions.setdefault(value.ticker, [])
            if value.text not in forms:
                forms.append(value.text)
            return value.text
        if isinstance(value, PiiValue):
            entry = {"kind": value.kind, "value": value.text}
            if entry not in self.pii:
                self.pii.append(entry)
            return value.text
        if isinstance(value, Figure):
            self.metrics_text.setdefault(value.name, value.text)
            return value.text
        return value

    def fill(self, template: str | Sequence[str], **values: Any) -> str:
        """Format one template (or a random one of several) with the base fields plus ``values``."""
        chosen = template if isinstance(template, str) else self.rng.choice(list(template))
        return chosen.format_map(_Fields(self, {**self.base, **values}))

    def pick(self, options: Sequence[Any]) -> Any:
        return self.rng.choice(list(options))

    def chance(self, probability: float) -> bool:
        return self.rng.random() < probability

    def some(self, options: Sequence[Any], low: int, high: int) -> list[Any]:
        """A random subset of ``options`` (between low and high items), in random order."""
        count = min(len(options), self.rng.randint(low, high))
        return self.rng.sample(list(options), count)

    def paragraph(self, *sentences: str | None) -> str:
        return " ".join(s for s in sentences if s)
