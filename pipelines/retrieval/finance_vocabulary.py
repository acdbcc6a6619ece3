"""Finance vocabulary for keyword search: an analyst writes "capex", the filing says "purchases of
property, plant and equipment".

Two steps, applied by :class:`pipelines.retrieval.bm25.KeywordEncoder` to indexed text and to
queries alike (so they always agree):

1. :func:`normalise_tokens` rewrites numbers, filing forms and fiscal periods into single word
   tokens, because Qdrant's BM25 word tokeniser splits on every non-alphanumeric character:
   "10-K" became "10" + "k", "$383.3" became "383" + "3", "2.5%" became "2" + "5" and
   "383,285" became "383" + "285". After it: "10k", "383p3", "2p5", "383285"; "FY 22", "FY2022"
   and "fiscal 2022" all carry "fy2022"; "second quarter" carries "q2". Alphanumeric tokens
   (tickers, "FY2022", "Q2") were already kept whole.
2. :meth:`FinanceVocabulary.concept_terms` finds the metrics of the table
   (``data/finance_vocabulary.csv``: one row per concept, ``|``-separated aliases, a note) and
   returns one concept token per mention ("xfvcapex" for any capex alias). The token is added
   to the text BM25 sees, on both sides, so every alias of a concept matches every other, in
   both directions, with the concept's own IDF; a chunk's ordinary words are left as they were.

Matching is on lower-cased words with punctuation removed ("&" reads "and", an apostrophe
nothing), so "SG&A", "sg&a" and "selling, general and administrative" are all found, and the
last word of an alias may take a plural "s"/"es". Changing the table or these rules changes the
stored sparse vectors: re-index afterwards (queries and the index must use the same rules).
"""

from __future__ import annotations

import csv
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

VOCABULARY_FILE = Path(__file__).with_name("data") / "finance_vocabulary.csv"
# Prefix of concept tokens: not an English word, so it never collides with text, and it survives
# the Snowball stemmer unchanged.
CONCEPT_PREFIX = "xfv"

_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_DECIMAL = re.compile(r"(?<=\d)\.(?=\d)")
# Filing forms and similar codes: 10-K, 10-Q, 8-K, 20-F, S-1, 10-K/A, COVID-19.
_CODE_NUMBER_FIRST = re.compile(r"\b(\d{1,2})-([A-Za-z]{1,2})\b")
_CODE_LETTERS_FIRST = re.compile(r"\b([A-Za-z]{1,5})-(\d{1,2})\b")
# Share classes: BRK.B, BF.B (before the decimal rule could see them: no digits involved).
_SHARE_CLASS = re.compile(r"\b([A-Z]{1,5})\.([A-Z])\b(?!\.)")
_FY_SHORT = re.compile(r"\bFY\s?['\u2019]?(\d{2})\b", re.IGNORECASE)
_FY_LONG = re.compile(r"\bFY\s+(\d{4})\b", re.IGNORECASE)
_FISCAL_YEAR = re.compile(r"\bfiscal(?:\s+year)?\s+(\d{4})\b", re.IGNORECASE)
_QUARTER_WORDS = re.compile(r"\b(first|second|third|fourth)[\s-]+(?:fiscal\s+)?quarter\b", re.IGNORECASE)
_QUARTER_SHORT = re.compile(r"\b([1-4])Q\s?['\u2019]?(\d{2})\b", re.IGNORECASE)
_QUARTER_NUMBER = {"first": "1", "second": "2", "third": "3", "fourth": "4"}
_WORDS = re.compile(r"[a-z0-9]+")


def _century(two_digits: str) -> str:
    # Filings in the corpus run 1993-2023: "FY98" is 1998, "FY22" 2022.
    return ("19" if int(two_digits) > 50 else "20") + two_digits


def normalise_tokens(text: str) -> str:
    """The text with numbers, forms and periods rewritten as single tokens (see the module)."""
    text = _THOUSANDS.sub("", text)
    text = _DECIMAL.sub("p", text)
    text = _SHARE_CLASS.sub(r"\1\2", text)
    text = _CODE_NUMBER_FIRST.sub(r"\1\2", text)
    text = _CODE_LETTERS_FIRST.sub(r"\1\2", text)
    text = _FY_LONG.sub(r"FY\1", text)
    text = _FY_SHORT.sub(lambda m: f"FY{_century(m.group(1))}", text)
    text = _QUARTER_SHORT.sub(lambda m: f"Q{m.group(1)} {_century(m.group(2))}", text)
    # Added, not replaced: "fiscal 2022" keeps its words and gains the analyst's "FY2022".
    extra = [f"FY{m.group(1)}" for m in _FISCAL_YEAR.finditer(text)]
    extra += [f"Q{_QUARTER_NUMBER[m.group(1).lower()]}" for m in _QUARTER_WORDS.finditer(text)]
    return f"{text} {' '.join(extra)}" if extra else text


def _plain_words(text: str) -> str:
    text = text.lower().replace("&", " and ").replace("'", "").replace("\u2019", "")
    return " ".join(_WORDS.findall(text))


@dataclass(frozen=True)
class Concept:
    key: str
    aliases: tuple[str, ...]
    note: str = ""

    @property
    def token(self) -> str:
        return CONCEPT_PREFIX + self.key.replace("_", "")


class FinanceVocabulary:
    """The expansion table: concepts, their aliases, and a matcher over text."""

    def __init__(self, concepts: Iterable[Concept]) -> None:
        self.concepts = tuple(concepts)
        keys = [c.key for c in self.concepts]
        if len(set(keys)) != len(keys):
            raise ValueError("duplicate concept keys in the finance vocabulary")
        self._by_alias: dict[str, set[str]] = {}
        for concept in self.concepts:
            for alias in concept.aliases:
                plain = _plain_words(alias)
                if plain:
                    self._by_alias.setdefault(plain, set()).add(concept.key)
        self._by_key = {c.key: c for c in self.concepts}
        # Longest aliases first, so "net income per share" is tried before "net income" at the
        # same position; one regex for the whole table keeps indexing at one pass per chunk.
        alternatives = sorted(self._by_alias, key=lambda a: (-len(a), a))
        pattern = "|".join(re.escape(a) + r"(?:s|es)?" for a in alternatives)
        self._matcher = re.compile(rf"(?<![a-z0-9])(?:{pattern})(?![a-z0-9])")

    @classmethod
    def from_csv(cls, path: Path = VOCABULARY_FILE) -> FinanceVocabulary:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        return cls(
            Concept(
                key=row["concept"].strip(),
                aliases=tuple(a.strip() for a in row["aliases"].split("|") if a.strip()),
                note=(row.get("note") or "").strip(),
            )
            for row in rows
            if row.get("concept", "").strip()
        )

    def concept(self, key: str) -> Concept:
        return self._by_key[key]

    def concepts_in(self, text: str) -> list[str]:
        """Concept keys mentioned in ``text``, one entry per mention, in text order."""
        found: list[str] = []
        plain = _plain_words(text)
        position = 0
        while match := self._matcher.search(plain, position):
            found.extend(sorted(self._concepts_of(match.group())))
            position = match.end()
        return found

    def _concepts_of(self, matched: str) -> set[str]:
        if matched in self._by_alias:
            return self._by_alias[matched]
        for suffix in ("es", "s"):
            if matched.endswith(suffix) and matched[: -len(suffix)] in self._by_alias:
                return self._by_alias[matched[: -len(suffix)]]
        return set()

    def concept_terms(self, text: str) -> list[str]:
        """The concept tokens to add to ``text`` for BM25: one per mention."""
        return [self._by_key[key].token for key in self.concepts_in(text)]

    def expand(self, text: str) -> dict[str, tuple[str, ...]]:
        """For display and debugging: each concept the text names, with the aliases it matches."""
        return {key: self._by_key[key].aliases for key in dict.fromkeys(self.concepts_in(text))}

    def keyword_text(self, text: str) -> str:
        """What BM25 tokenises: the normalised text plus a concept token per metric mention."""
        normalised = normalise_tokens(text)
        terms = self.concept_terms(text)
        return f"{normalised}\n{' '.join(terms)}" if terms else normalised


@functools.cache
def default_vocabulary() -> FinanceVocabulary:
    return FinanceVocabulary.from_csv()
