"""Query understanding: which companies and periods a question names, and whether it asks for a comparison.

The research desk turns the result into search filters when the caller gave none (see
``apps.research.selectors``): the named companies become a ticker filter, the named fiscal years a
fiscal-year filter, each dropped again in a stated fallback when nothing matches. An answer quotes
only the named companies unless the question compares with peers::

    matcher = CompanyMatcher(MasterCompany(c.ticker, c.name, c.aliases) for c in master)
    intent = understand_query("How did $AAPL's gross margin change in FY2022?", matcher, as_of=date(2024, 3, 1))
    intent.tickers        # ("AAPL",)
    intent.fiscal_years   # (2022,)

Plain Python: no Django, no models, cheap enough to run on every search in the web process.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from pipelines.query.companies import CompanyMatcher, CompanyMention, MasterCompany
from pipelines.query.periods import FISCAL_PERIODS, PeriodMention, find_periods, fiscal_year_for_period_end

__all__ = [
    "FISCAL_PERIODS",
    "CompanyMatcher",
    "CompanyMention",
    "MasterCompany",
    "PeriodMention",
    "QueryIntent",
    "find_periods",
    "fiscal_year_for_period_end",
    "understand_query",
]

_COMPARISON = re.compile(
    r"\b(?:compar(?:e|es|ed|ing|ison|isons)|vs\.?|versus|relative\s+to|against|benchmark(?:ed|ing)?|"
    r"outperform\w*|underperform\w*|differ(?:s|ed|ence|ences)?\s+(?:between|from)|"
    r"(?:higher|lower|larger|smaller|bigger|better|worse|faster|slower|stronger|weaker)\s+than|rank(?:s|ed)?)\b",
    re.IGNORECASE,
)
# Words that ask for companies the question does not name.
_PEERS = re.compile(
    r"\b(?:peers?|peer\s+group|competitors?|competition|rivals?|industry|sector|comparables?|comps|"
    r"other\s+(?:companies|firms|issuers|banks|retailers))\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class QueryIntent:
    text: str
    as_of: dt.date
    companies: tuple[CompanyMention, ...]
    periods: tuple[PeriodMention, ...]
    comparison: bool
    peers: bool  # the question asks about companies it does not name (peers, competitors, the industry)
    latest: bool  # "latest", "most recent": the newest documents published by the as-of date

    @property
    def tickers(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(m.ticker for m in self.companies))

    @property
    def fiscal_years(self) -> tuple[int, ...]:
        return tuple(sorted({p.fiscal_year for p in self.periods if p.fiscal_year is not None}))

    @property
    def other_companies_allowed(self) -> bool:
        """Whether passages of companies the question does not name may be quoted.

        Only when it compares with companies it does not name ("Apple's margin against its peers"),
        or asks a comparison without naming any. "Compare Apple and Microsoft" names both and needs no third.
        """
        return self.peers or (self.comparison and not self.companies)

    def company_scope(self) -> tuple[str, ...]:
        """The tickers answers and default filters keep to; empty means any company."""
        return () if self.other_companies_allowed else self.tickers

    def to_dict(self) -> dict[str, object]:
        companies: dict[str, dict[str, object]] = {}
        for mention in self.companies:
            companies.setdefault(mention.ticker, mention.to_dict())
        return {
            "as_of": self.as_of.isoformat(),
            "companies": list(companies.values()),
            "periods": [p.to_dict() for p in self.periods],
            "fiscal_years": list(self.fiscal_years),
            "comparison": self.comparison,
            "peers": self.peers,
            "latest": self.latest,
        }


def understand_query(text: str, matcher: CompanyMatcher, *, as_of: dt.date) -> QueryIntent:
    """Companies, periods and comparison intent of a question; relative periods resolve against ``as_of``."""
    companies = tuple(matcher.find(text))
    periods, latest = find_periods(text, as_of)
    return QueryIntent(
        text=text,
        as_of=as_of,
        companies=companies,
        periods=tuple(periods),
        comparison=bool(_COMPARISON.search(text)),
        peers=bool(_PEERS.search(text)),
        latest=latest,
    )
