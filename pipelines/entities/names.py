"""Company-name normalisation and the tickers that are also ordinary words.

Plain Python with no spaCy import, so the app side can normalise names (for the company master's
aliases) without loading a model.
"""

from __future__ import annotations

import re
import unicodedata

# Legal-form words carry no identity: "Microsoft Corporation", "MICROSOFT CORP" and "Microsoft" are one company.
_LEGAL_SUFFIX = re.compile(
    r"(?:[,\s]+(?:inc|incorporated|corp|corporation|co|company|ltd|limited|plc|llc|lp|l\.p|n\.v|s\.a|ag|se|"
    r"holdings?|group|&\s*co|and\s+co|the))+\.?$",
    re.IGNORECASE,
)
_LEADING_THE = re.compile(r"^the\s+", re.IGNORECASE)
_CLASS_SUFFIX = re.compile(r"\s*\((?:class\s+[a-z]|the)\)\s*$", re.IGNORECASE)
_NON_WORD = re.compile(r"[^\w&\s]+")
_SPACES = re.compile(r"\s+")

# S&P 500 tickers that are English words or everyday acronyms ("IT spending", "CF" for cash flow, "MAR" for
# March). These link only in ticker form ($ALL, NYSE: ALL, "(ALL)" after a company name, next to "ticker");
# one- and two-letter tickers are treated the same way without being listed.
_COMMON_WORD_TICKER_LIST = """
    ALL ALLE AMP APP ARE BALL BEN CAT CMS COO COR COST DAY DOC DOW EXE FAST FIX GEN HAS HOOD HUM ICE IT KEY
    KEYS KIM LEN LIN LOW MAR MAS MET NOW ON PEG POOL PSA REG SOLV TAP TECH TEL TER USB WAT WELL YUM
"""
COMMON_WORD_TICKERS: frozenset[str] = frozenset(_COMMON_WORD_TICKER_LIST.split())


# A name cut down to one of these words ("News Corp" -> "News") would catch prose: keep the full name only.
_GENERIC_NAME_WORD_LIST = """
    news general american united first national international global public southern federal
    western eastern northern central pacific atlantic standard universal
"""
GENERIC_NAME_WORDS: frozenset[str] = frozenset(_GENERIC_NAME_WORD_LIST.split())


def is_generic_name(name: str) -> bool:
    return name.strip().lower() in GENERIC_NAME_WORDS


def normalise_company_name(name: str) -> str:
    """Lower-case, accent- and punctuation-free, without "The" and legal suffixes: the fuzzy-match key."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    text = _CLASS_SUFFIX.sub("", text.strip())
    text = _LEADING_THE.sub("", text)
    # Strip suffixes before punctuation so "Co." and "Inc.," are recognised; twice for "Holdings, Inc.".
    for _ in range(2):
        text = _LEGAL_SUFFIX.sub("", text).strip(" ,.")
    text = _NON_WORD.sub(" ", text.replace("'", "")).lower().replace("&", " and ")
    normalised = _SPACES.sub(" ", text).strip()
    return normalised or _SPACES.sub(" ", name.lower()).strip()


def short_company_name(name: str) -> str:
    """The display form of a name without "The" and legal suffixes ("The Coca-Cola Company" -> "Coca-Cola")."""
    text = _CLASS_SUFFIX.sub("", name.strip())
    text = _LEADING_THE.sub("", text)
    for _ in range(2):
        text = _LEGAL_SUFFIX.sub("", text).strip(" ,")
    return text.strip() or name.strip()


def is_word_like_ticker(ticker: str) -> bool:
    """A ticker that prose uses as a word or acronym, so a bare occurrence says nothing."""
    symbol = ticker.upper()
    return len(symbol.replace(".", "")) <= 2 or symbol in COMMON_WORD_TICKERS
