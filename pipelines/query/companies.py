"""Companies named in a question: tickers ($AAPL, NYSE: KO, (ALL), AAPL), names and aliases of the company master.

Plain Python and dictionary look-ups, no spaCy: a question is a sentence, and this runs in the web
process on every search. The rules follow the entity linker's (``pipelines.entities``):

- Ticker forms link even for tickers that are words: ``$ALL``, ``NYSE: ALL``, ``ticker ALL``, and
  ``(ALL)`` right after a name or a capitalised word.
- A bare upper-case ticker links only when it is not an ordinary word or finance acronym (``AAPL``
  yes; ``ALL``, ``ON``, ``A``, ``IT``, ``EPS``, ``CEO`` no) and the question is not in capitals.
- A name links when it starts with a capital ("Apple", "Coca-Cola's"); several words may be in lower
  case ("coca cola"? no: one token; "general motors" yes). A name that is also an everyday word
  ("Target", "Block", "Visa") does not link as the first word of a sentence ("Target price for ...?").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from pipelines.entities.names import is_generic_name, is_word_like_ticker, normalise_company_name, short_company_name

# Upper-case words of analyst questions that are tickers of some listed company in the SEC's list.
FINANCE_ACRONYMS = frozenset(
    """AI API ARPU AUM CAGR CAPEX CEO CET1 CFO COGS COO CPI CTO DCF EBIT EBITDA EPS ESG ETF EU EV FCF FX FY GAAP GDP
    GM HR IPO IR IRR KPI LBO LTM MD NII NIM NOI OPEX PE PP&E QOQ ROA ROE ROI ROIC SEC SGA TAM TTM UK US USA USD
    VAT WACC YOY YTD""".split()  # noqa: SIM905 - a word list reads better this way
)
# Company names that are everyday words: as a question's first word they are the word ("Target price of ...").
EVERYDAY_WORD_NAMES = frozenset(
    """target block visa match gap oracle progressive discover ball carrier snap square global key principal
    public southern intuitive mosaic waters equity realty best general first united""".split()  # noqa: SIM905
)
EXCHANGES = ("NYSE", "NASDAQ", "Nasdaq", "NasdaqGS", "NasdaqGM", "AMEX", "NYSEAMERICAN", "NYSEArca", "Cboe", "CBOE")
MAX_NAME_WORDS = 6
# Words after a shortened name that belong to it ("Horizon Bank" for Horizon Financial Corp).
NAME_DESCRIPTORS = frozenset(
    """bank bancorp bancshares corp corporation company co inc group holdings industries financial systems
    technologies partners trust savings stores airlines motors""".split()  # noqa: SIM905
)
_QUESTION_WORD = re.compile(r"(?i)(?:how|what|which|who|why|when|where|did|does|do|is|are|was|were|has|have|can)$")
MIN_PREFIX_WORD = 4  # "Zurn" of Zurn Industries; shorter first words are initials or everyday words
SHOUTING_SHARE = 0.6

_SYMBOL = r"[A-Za-z][A-Za-z0-9]{0,5}(?:[.\-/][A-Za-z0-9]{1,2})?"
_DOLLAR = re.compile(rf"(?<![\w$])\$(?P<t>{_SYMBOL})\b")
_EXCHANGE = re.compile(rf"\b(?:{'|'.join(EXCHANGES)})\s*:\s*(?P<t>{_SYMBOL})\b")
_KEYWORD = re.compile(r"\b(?:ticker|symbol|shares\s+of)\s*:?\s+(?P<t>[A-Z][A-Z0-9]{0,5}(?:[.\-/][A-Z]{1,2})?)\b")
_PAREN = re.compile(r"\((?P<t>[A-Z][A-Z0-9]{0,5}(?:[.\-/][A-Z]{1,2})?)\)")
_BARE = re.compile(r"(?<![\w$.])(?P<t>[A-Z][A-Z0-9]{0,5}(?:[.\-/][A-Z]{1,2})?)(?![\w&])")
_WORD = re.compile(r"[A-Za-z0-9]+(?:[.&'\u2019\-][A-Za-z0-9]+)*\.?")
_POSSESSIVE = re.compile(r"(?:'|\u2019)s?$")
_SENTENCE_END = re.compile(r"[.!?:;]\s*$")


@dataclass(frozen=True)
class MasterCompany:
    """A company of the master as the query parser needs it (the same fields as the entity linker's record)."""

    ticker: str
    name: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class CompanyMention:
    ticker: str
    name: str
    text: str
    start: int
    end: int
    method: str  # "ticker" or "name"

    def to_dict(self) -> dict[str, object]:
        return {"ticker": self.ticker, "name": self.name, "text": self.text, "method": self.method}


def _is_shouting(text: str) -> bool:
    words = [w for w in re.findall(r"[A-Za-z]{2,}", text)]
    return len(words) >= 3 and sum(w.isupper() for w in words) / len(words) >= SHOUTING_SHARE


class CompanyMatcher:
    """Finds the companies of a master in questions. Build once per master version; ``find`` is cheap."""

    def __init__(self, companies: Iterable[MasterCompany]) -> None:
        self.companies: dict[str, MasterCompany] = {}
        for company in companies:
            self.companies.setdefault(company.ticker.strip().upper(), company)
        self._names: dict[str, str] = {}  # normalised name -> ticker
        # Leading words of a name ("turner broadcasting" of Turner Broadcasting System): questions shorten names.
        # Kept only when one company alone starts so (None marks a prefix two companies share).
        self._prefixes: dict[str, str | None] = {}
        self._symbols: dict[str, str] = {}  # BRK-B, BRK/B -> BRK.B
        # Share classes share a name (GOOG/GOOGL): the longer symbol, the class A listing, keeps it.
        for ticker, company in sorted(self.companies.items(), key=lambda item: (-len(item[0]), item[0])):
            for name in (company.name, short_company_name(company.name), *company.aliases):
                name = name.strip()
                if len(name) < 2 or is_generic_name(name):
                    continue
                if name.upper() == name and len(name) <= 6 and " " not in name:
                    self._symbols.setdefault(name.replace("-", ".").replace("/", "."), ticker)
                    continue  # a ticker spelling among the aliases follows the ticker rules, not the name rules
                key = normalise_company_name(name)
                self._names.setdefault(key, ticker)
                words = key.split()
                for size in range(1, len(words)):
                    prefix = " ".join(words[:size])
                    if size == 1 and (len(prefix) < MIN_PREFIX_WORD or is_generic_name(prefix)):
                        continue
                    if len(words[size - 1]) < 3:  # "u s" of U.S. Bancorp, "j p" of J.P. Morgan
                        continue
                    if self._prefixes.get(prefix, ticker) != ticker:
                        self._prefixes[prefix] = None
                    else:
                        self._prefixes[prefix] = ticker
            if "." in ticker:
                for spelling in (ticker.replace(".", "-"), ticker.replace(".", "/")):
                    self._symbols.setdefault(spelling, ticker)

    def __len__(self) -> int:
        return len(self.companies)

    def ticker_for_symbol(self, symbol: str) -> str | None:
        symbol = symbol.strip().upper()
        if symbol in self.companies:
            return symbol
        return self._symbols.get(symbol) or self._symbols.get(symbol.replace("-", ".").replace("/", "."))

    def find(self, text: str) -> list[CompanyMention]:
        """Company mentions in order of appearance, one per place in the text (a name and its "(TICKER)" both)."""
        mentions = self._names_in(text)
        taken = [(m.start, m.end) for m in mentions]

        def free(start: int, end: int) -> bool:
            return not any(start < t_end and t_start < end for t_start, t_end in taken)

        def add(match: re.Match[str], ticker: str | None) -> None:
            if ticker is None or not free(match.start("t"), match.end("t")):
                return
            company = self.companies[ticker]
            mentions.append(
                CompanyMention(ticker, company.name, match.group(0), match.start("t"), match.end("t"), "ticker")
            )
            taken.append((match.start("t"), match.end("t")))

        for pattern in (_DOLLAR, _EXCHANGE, _KEYWORD):
            for match in pattern.finditer(text):
                add(match, self.ticker_for_symbol(match.group("t")))
        for match in _PAREN.finditer(text):
            ticker = self.ticker_for_symbol(match.group("t"))
            if ticker and is_word_like_ticker(ticker) and not self._follows_name(text, match.start(), mentions):
                continue  # "(A)" in a list of clauses is not Agilent
            add(match, ticker)
        if not _is_shouting(text):
            for match in _BARE.finditer(text):
                symbol = match.group("t")
                ticker = self.ticker_for_symbol(symbol)
                if ticker is None or is_word_like_ticker(symbol) or symbol in FINANCE_ACRONYMS:
                    continue
                add(match, ticker)
        return sorted(mentions, key=lambda m: m.start)

    @staticmethod
    def _follows_name(text: str, paren_start: int, mentions: list[CompanyMention]) -> bool:
        before = text[:paren_start].rstrip()
        if any(m.end == len(before) for m in mentions):
            return True
        words = before.split()
        # "Acme Holdings Corp (ALL)" yes; "Conditions (A) and (B)": a sentence's first word is capitalised anyway.
        return len(words) >= 2 and words[-1][:1].isupper() and not _SENTENCE_END.search(words[-2])

    def _names_in(self, text: str) -> list[CompanyMention]:
        words = list(_WORD.finditer(text))
        mentions: list[CompanyMention] = []
        index = 0
        while index < len(words):
            matched = None
            for size in range(min(MAX_NAME_WORDS, len(words) - index), 0, -1):
                first, last = words[index], words[index + size - 1]
                span_text = _POSSESSIVE.sub("", text[first.start() : last.end()].rstrip("."))
                key = normalise_company_name(span_text)
                ticker = self._names.get(key)
                prefix_only = ticker is None
                if prefix_only:
                    ticker = self._prefixes.get(key) if key not in self._names else None
                if ticker is None or not self._name_form_holds(text, first.start(), span_text, size, prefix_only):
                    continue
                if prefix_only and self._inside_longer_name(text, words, index, size):
                    continue  # "Horizon Bank" is not Bank of America, "Royal Philips" not Royal Caribbean
                matched = (size, ticker, first.start(), first.start() + len(span_text), span_text)
                break
            if matched is None:
                index += 1
                continue
            size, ticker, start, end, span_text = matched
            mentions.append(CompanyMention(ticker, self.companies[ticker].name, span_text, start, end, "name"))
            index += size
        return mentions

    @staticmethod
    def _inside_longer_name(text: str, words: list[re.Match[str]], index: int, size: int) -> bool:
        """Whether a capitalised word right before or after the span makes it part of a longer name
        ("Royal Philips"); a possessive ends the name ("Turner's Latin American channel"), and a descriptor
        after it is the company's own ("Horizon Bank")."""

        def capitalised(word: re.Match[str]) -> bool:
            return word.group()[:1].isupper() and word.group().rstrip(".").upper() not in FINANCE_ACRONYMS

        before = words[index - 1] if index > 0 else None
        if (
            before is not None
            and capitalised(before)
            and not _SENTENCE_END.search(text[: before.end()])
            and (index - 1 > 0 or not _QUESTION_WORD.match(before.group()))
        ):
            return True
        last = words[index + size - 1]
        after = words[index + size] if index + size < len(words) else None
        if after is None or _POSSESSIVE.search(last.group()) or not capitalised(after):
            return False
        return _POSSESSIVE.sub("", after.group()).lower().rstrip(".") not in NAME_DESCRIPTORS

    @staticmethod
    def _name_form_holds(text: str, start: int, span_text: str, size: int, prefix_only: bool = False) -> bool:
        # "apple harvest" is fruit; several lower-case words ("general motors") are still a name.
        if not span_text[:1].isupper() and not span_text[:1].isdigit() and (size < 2 or prefix_only):
            return False
        if prefix_only and not all(w[:1].isupper() or w[:1].isdigit() for w in span_text.split()):
            return False  # "Turner Broadcasting", not "Turner broadcasting rights"
        if size == 1 and (prefix_only or span_text.lower() in EVERYDAY_WORD_NAMES):
            # A capitalised word opening a sentence says nothing, unless it is possessive ("Zurn's").
            sentence_start = start == 0 or bool(_SENTENCE_END.search(text[:start]))
            if sentence_start and not text[start + len(span_text) :].startswith(("'", "\u2019")):
                return False
        return True
