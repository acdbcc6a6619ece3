"""Demo corpus for the zero-setup run: real S&P 500 companies, synthetic documents about them.

``build_company_master`` picks real constituents (names, tickers, GICS sectors from pitindex; aliases
and ISINs from pytickersymbols) and gives them fictional, internally consistent financials and supply
relationships. ``generate_demo_corpus`` writes filings excerpts, news, research notes, call
transcripts and internal memos about them, with planted ground truth in each document's ``planted``
metadata: risk events (default, fraud, litigation, downgrade, regulatory action, liquidity stress)
with type, date and severity; key metrics and the exact strings that print them; sentiment;
supply relationships; company mentions; and the synthetic PII the redaction step must remove.

Everything is a pure function of the seed. ``python -m pipelines.demo_corpus --out DIR --seed 7``
writes ``companies.json``, ``documents.jsonl`` (the ingest's JSON lines batch format) and
``manifest.json``.
"""

from pipelines.demo_corpus.companies import (
    CompanyProfile,
    QuarterFinancials,
    SupplyLink,
    build_company_master,
    quarterly_financials,
    source_constituents,
)
from pipelines.demo_corpus.context import RISK_EVENT_TYPES, SEVERITIES, RiskEvent
from pipelines.demo_corpus.corpus import (
    ACCESS_LEVELS,
    DOC_TYPES,
    DemoCorpus,
    DemoDocument,
    build_demo_corpus,
    generate_demo_corpus,
)
from pipelines.demo_corpus.output import GENERATOR_VERSION, write_demo_corpus

__all__ = [
    "ACCESS_LEVELS",
    "DOC_TYPES",
    "GENERATOR_VERSION",
    "RISK_EVENT_TYPES",
    "SEVERITIES",
    "CompanyProfile",
    "DemoCorpus",
    "DemoDocument",
    "QuarterFinancials",
    "RiskEvent",
    "SupplyLink",
    "build_company_master",
    "build_demo_corpus",
    "generate_demo_corpus",
    "quarterly_financials",
    "source_constituents",
    "write_demo_corpus",
]
