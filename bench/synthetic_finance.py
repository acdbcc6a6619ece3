"""Realistic-looking finance passages from templates, for benchmarks and retrieval tests.

Not uniform random vectors: the text is embedded with the real model, so the vectors have
the cluster structure of real filings (topics, companies, boilerplate), which is what ANN
recall depends on. Every passage is unique (numbers, periods, companies and sentence mix
vary) and deterministic for a given seed.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import asdict, dataclass
from datetime import date, timedelta

COMPANIES = [
    ("AAPL", "Apple Inc.", "technology"), ("MSFT", "Microsoft Corporation", "technology"),
    ("NVDA", "NVIDIA Corporation", "semiconductors"), ("INTC", "Intel Corporation", "semiconductors"),
    ("AMD", "Advanced Micro Devices", "semiconductors"), ("GOOGL", "Alphabet Inc.", "technology"),
    ("AMZN", "Amazon.com Inc.", "retail"), ("META", "Meta Platforms Inc.", "technology"),
    ("ORCL", "Oracle Corporation", "software"), ("CRM", "Salesforce Inc.", "software"),
    ("ADBE", "Adobe Inc.", "software"), ("IBM", "International Business Machines", "technology"),
    ("JPM", "JPMorgan Chase & Co.", "banking"), ("BAC", "Bank of America Corporation", "banking"),
    ("C", "Citigroup Inc.", "banking"), ("WFC", "Wells Fargo & Company", "banking"),
    ("GS", "Goldman Sachs Group Inc.", "banking"), ("MS", "Morgan Stanley", "banking"),
    ("BLK", "BlackRock Inc.", "asset management"), ("SCHW", "Charles Schwab Corporation", "brokerage"),
    ("V", "Visa Inc.", "payments"), ("MA", "Mastercard Incorporated", "payments"),
    ("XOM", "Exxon Mobil Corporation", "energy"), ("CVX", "Chevron Corporation", "energy"),
    ("COP", "ConocoPhillips", "energy"), ("SLB", "Schlumberger Limited", "energy services"),
    ("JNJ", "Johnson & Johnson", "healthcare"), ("PFE", "Pfizer Inc.", "pharmaceuticals"),
    ("MRK", "Merck & Co.", "pharmaceuticals"), ("ABBV", "AbbVie Inc.", "pharmaceuticals"),
    ("LLY", "Eli Lilly and Company", "pharmaceuticals"), ("UNH", "UnitedHealth Group", "healthcare"),
    ("WMT", "Walmart Inc.", "retail"), ("COST", "Costco Wholesale Corporation", "retail"),
    ("HD", "Home Depot Inc.", "retail"), ("TGT", "Target Corporation", "retail"),
    ("NKE", "Nike Inc.", "consumer goods"), ("PG", "Procter & Gamble Company", "consumer goods"),
    ("KO", "Coca-Cola Company", "beverages"), ("PEP", "PepsiCo Inc.", "beverages"),
    ("MCD", "McDonald's Corporation", "restaurants"), ("SBUX", "Starbucks Corporation", "restaurants"),
    ("BA", "Boeing Company", "aerospace"), ("LMT", "Lockheed Martin Corporation", "defense"),
    ("CAT", "Caterpillar Inc.", "industrials"), ("DE", "Deere & Company", "industrials"),
    ("GE", "General Electric Company", "industrials"), ("HON", "Honeywell International", "industrials"),
    ("UPS", "United Parcel Service", "logistics"), ("FDX", "FedEx Corporation", "logistics"),
    ("F", "Ford Motor Company", "automotive"), ("GM", "General Motors Company", "automotive"),
    ("TSLA", "Tesla Inc.", "automotive"), ("T", "AT&T Inc.", "telecommunications"),
    ("VZ", "Verizon Communications", "telecommunications"), ("DIS", "Walt Disney Company", "media"),
    ("NFLX", "Netflix Inc.", "media"), ("NEE", "NextEra Energy Inc.", "utilities"),
    ("DUK", "Duke Energy Corporation", "utilities"), ("AMT", "American Tower Corporation", "real estate"),
]  # fmt: skip

SEGMENTS = [
    "Consumer",
    "Enterprise",
    "Cloud Services",
    "Wholesale",
    "Commercial Banking",
    "Wealth Management",
    "Upstream",
    "Downstream",
    "Pharmaceutical",
    "Medical Devices",
    "International",
    "North America",
    "Services",
    "Products",
    "Advertising",
    "Subscriptions",
    "Industrial Solutions",
    "Defense Systems",
]
REGIONS = [
    "Europe",
    "Greater China",
    "Japan",
    "Latin America",
    "the Middle East",
    "India",
    "Canada",
    "Southeast Asia",
    "the United Kingdom",
    "Germany",
    "Brazil",
    "Mexico",
    "Australia",
    "Korea",
]
PRODUCTS = [
    "data center processors",
    "smartphones",
    "cloud subscriptions",
    "credit cards",
    "crude oil",
    "natural gas",
    "oncology drugs",
    "vaccines",
    "electric vehicles",
    "jet engines",
    "soft drinks",
    "athletic footwear",
    "streaming memberships",
    "wireless plans",
    "construction equipment",
    "enterprise software licenses",
    "mortgage loans",
    "commercial aircraft",
    "packaged foods",
]
INSTRUMENTS = ["Senior Notes", "Senior Unsecured Notes", "Convertible Notes", "Debentures", "Green Bonds"]
FACILITIES = [
    "Term Loan A",
    "Term Loan B",
    "revolving credit facility",
    "commercial paper program",
    "delayed-draw term loan",
]
RATINGS = ["AA-", "A+", "A", "A-", "BBB+", "BBB", "BBB-", "BB+"]
AGENCIES = ["Moody's", "S&P Global", "Fitch"]
REGULATORS = [
    "the SEC",
    "the Federal Reserve",
    "the European Commission",
    "the FTC",
    "the Department of Justice",
    "the CFPB",
    "the FDA",
    "the OCC",
    "the UK Competition and Markets Authority",
]
QUARTERS = ["first", "second", "third", "fourth"]
DOC_TYPES = ["filing", "filing", "transcript", "report", "news"]
SECTIONS = {
    "filing": [
        "Item 1. Business",
        "Item 1A. Risk Factors",
        "Item 7. Management's Discussion and Analysis",
        "Item 7A. Market Risk",
        "Item 8. Financial Statements",
    ],
    "transcript": ["Prepared Remarks", "Question and Answer"],
    "report": ["Investment Thesis", "Valuation", "Risks", "Estimates"],
    "news": ["Body"],
}
ACCESS_LEVELS = ["public"] * 6 + ["internal"] * 3 + ["restricted"]

TOPICS: dict[str, list[str]] = {
    "revenue": [
        "{company} reported net revenue of ${bn} billion for the {q} quarter of fiscal {year}, "
        "up {pct}% year over year.",
        "Revenue in the {segment} segment grew {pct}% to ${mn} million, driven by higher demand for {product}.",
        "Net sales of {product} decreased {pct}% compared with fiscal {prev}, primarily due to lower unit volumes.",
        "Organic revenue growth was {pct}% excluding the effect of acquisitions and currency.",
    ],
    "margins": [
        "Gross margin was {pct1}% compared with {pct2}% a year earlier, reflecting product mix and cost savings.",
        "Operating margin in {segment} contracted by {bp} basis points as input costs rose faster than prices.",
        "We expect gross margin between {pct1}% and {pct2}% for fiscal {next}.",
    ],
    "liquidity": [
        "As of {date}, we had ${bn} billion in cash, cash equivalents and marketable securities.",
        "We believe existing cash, cash from operations and our ${bn} billion {facility} will be sufficient to meet "
        "our liquidity needs for at least the next twelve months.",
        "Free cash flow was ${mn} million in the quarter, and capital expenditures totaled ${mn2} million.",
    ],
    "debt": [
        "In {month} {year}, {company} issued ${mn} million of {coupon}% {instrument} due {maturity}.",
        "The proceeds were used to repay amounts outstanding under the {facility} and for general corporate purposes.",
        "Total long-term debt was ${bn} billion at year end, with a weighted average interest rate of {coupon}%.",
        "{agency} affirmed our long-term credit rating at {rating} with a stable outlook.",
    ],
    "covenants": [
        "The {facility} requires us to maintain a maximum net leverage ratio of {ratio}x, tested quarterly.",
        "We were in compliance with all financial covenants as of {date}.",
        "A breach of the interest coverage covenant of {ratio2}x could accelerate repayment of outstanding borrowings.",
    ],
    "capital_return": [
        "The board authorized a new ${bn} billion share repurchase program and raised the quarterly dividend to "
        "${dps} per share.",
        "During fiscal {year} we repurchased {shares} million shares for ${bn} billion.",
        "We returned ${bn} billion to shareholders through dividends and buybacks in the {q} quarter.",
    ],
    "litigation": [
        "{company} is a defendant in a putative class action alleging violations of securities laws related to "
        "disclosures about {product}.",
        "We recorded a litigation reserve of ${mn} million related to patent infringement claims.",
        "{regulator} opened an investigation into our {product} practices; the outcome cannot be predicted.",
    ],
    "cyber": [
        "A cybersecurity incident could compromise customer data, disrupt operations and result in "
        "regulatory penalties.",
        "We detected unauthorized access to a third-party vendor system in {month} {year}; no material impact was "
        "identified.",
        "Our information security program is overseen by the audit committee and tested by external assessors.",
    ],
    "supply_chain": [
        "We rely on a limited number of suppliers in {region} for components used in {product}.",
        "Supply constraints reduced {segment} shipments by approximately {pct}% in the {q} quarter.",
        "Freight and logistics costs increased ${mn} million year over year.",
    ],
    "fx": [
        "Foreign currency movements reduced reported revenue by {pct}%, mainly from a weaker currency in {region}.",
        "We hedge a portion of forecasted transactions with foreign exchange forward contracts with maturities up to "
        "{months} months.",
        "A 10% strengthening of the U.S. dollar would decrease operating income by approximately ${mn} million.",
    ],
    "tariffs": [
        "New tariffs on imports from {region} increased our cost of {product} by approximately ${mn} million.",
        "We are diversifying manufacturing away from {region} to mitigate trade restrictions.",
        "Export controls limit our ability to sell {product} to certain customers in {region}.",
    ],
    "guidance": [
        "For fiscal {next}, we expect revenue of ${bn} billion to ${bn2} billion and diluted EPS of ${eps} to ${eps2}.",
        "Management lowered full-year guidance, citing softer demand for {product} in {region}.",
        "We reaffirm our outlook for mid-single-digit revenue growth in {segment}.",
    ],
    "capex": [
        "Capital expenditures are expected to be approximately ${bn} billion in fiscal {next}, primarily for "
        "{product} capacity.",
        "We began construction of a new facility in {region} with an estimated cost of ${mn} million.",
    ],
    "workforce": [
        "We reduced headcount by approximately {pct}% as part of a restructuring plan and recorded severance charges "
        "of ${mn} million.",
        "As of {date}, we employed approximately {employees} people worldwide.",
        "Labor agreements covering {pct}% of our workforce expire in fiscal {next}.",
    ],
    "inventory": [
        "Inventories increased to ${bn} billion as we built stock of {product} ahead of the holiday season.",
        "We recorded inventory write-downs of ${mn} million for excess and obsolete {product}.",
    ],
    "goodwill": [
        "We recognized a goodwill impairment charge of ${mn} million in the {segment} reporting unit.",
        "The annual goodwill impairment test indicated that the fair value of each reporting unit exceeded its "
        "carrying amount.",
    ],
    "pension": [
        "Our defined benefit pension plans were underfunded by ${mn} million at year end.",
        "A {bp} basis point decrease in the discount rate would increase the projected benefit obligation by "
        "${mn} million.",
    ],
    "tax": [
        "The effective tax rate was {pct1}% compared with {pct2}% in the prior year, due to the geographic mix of "
        "earnings.",
        "We are under examination by tax authorities in {region} for fiscal years {prev} through {year}.",
    ],
    "capital_ratios": [
        "Our Common Equity Tier 1 ratio was {pct1}% under the standardized approach, above the regulatory minimum.",
        "The supplementary leverage ratio was {pct2}% and the liquidity coverage ratio averaged {lcr}%.",
        "Net interest income rose {pct}% to ${bn} billion as deposit costs stabilized.",
        "The provision for credit losses was ${mn} million, reflecting higher charge-offs in card lending.",
    ],
    "acquisitions": [
        "{company} completed the acquisition of a {segment} business in {region} for ${bn} billion in cash.",
        "The acquisition is expected to be accretive to adjusted EPS in fiscal {next}.",
        "We divested our {segment} operations in {region} and recognized a pre-tax gain of ${mn} million.",
    ],
    "climate": [
        "Extreme weather events in {region} could damage our facilities and disrupt operations.",
        "We target a {pct}% reduction in Scope 1 and 2 greenhouse gas emissions by {maturity}.",
        "Carbon pricing regulation in {region} could increase our operating costs.",
    ],
    "rates": [
        "Higher interest rates increased interest expense by ${mn} million compared with fiscal {prev}.",
        "A 100 basis point increase in rates would reduce the fair value of our fixed-rate debt by ${mn} million.",
    ],
    "customers": [
        "Our largest customer accounted for {pct}% of net revenue in fiscal {year}.",
        "The loss of a major distributor in {region} could materially affect {segment} sales.",
    ],
    "regulation": [
        "{regulator} adopted new rules affecting {product}, which may increase compliance costs.",
        "We received a consent order from {regulator} requiring improvements to our compliance program.",
    ],
}
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


@dataclass(frozen=True)
class GeneratorParams:
    n: int
    seed: int = 20240601
    version: int = 1  # bump when the templates change, so caches keyed on this go stale

    def key(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class SyntheticChunk:
    chunk_id: str
    document_id: str
    text: str
    ticker: str
    company: str
    doc_type: str
    section: str
    topic: str
    access_level: str
    published_at: date


def _fill(template: str, rng: random.Random, ticker: str, company: str, year: int) -> str:
    values = {
        "company": company, "ticker": ticker, "year": year, "prev": year - 1, "next": year + 1,
        "q": rng.choice(QUARTERS), "pct": rng.randint(1, 35), "pct1": round(rng.uniform(8, 65), 1),
        "pct2": round(rng.uniform(5, 60), 1), "bp": rng.choice([25, 50, 75, 100, 150, 200, 250]),
        "bn": round(rng.uniform(0.4, 95), 1), "bn2": round(rng.uniform(1, 120), 1), "mn": rng.randint(12, 4800),
        "mn2": rng.randint(10, 2500), "segment": rng.choice(SEGMENTS), "region": rng.choice(REGIONS),
        "product": rng.choice(PRODUCTS), "facility": rng.choice(FACILITIES), "instrument": rng.choice(INSTRUMENTS),
        "coupon": f"{rng.choice([2, 3, 4, 5, 6, 7])}.{rng.choice(['125', '250', '375', '500', '625', '750', '875'])}",
        "maturity": year + rng.randint(3, 30), "month": rng.choice(MONTHS), "rating": rng.choice(RATINGS),
        "agency": rng.choice(AGENCIES), "ratio": f"{rng.uniform(2.5, 5.0):.2f}", "ratio2": f"{rng.uniform(2, 4):.1f}",
        "dps": f"{rng.uniform(0.1, 3.5):.2f}", "shares": rng.randint(3, 900), "regulator": rng.choice(REGULATORS),
        "months": rng.choice([6, 12, 18, 24, 36]), "eps": f"{rng.uniform(0.5, 12):.2f}",
        "eps2": f"{rng.uniform(1, 14):.2f}", "employees": f"{rng.randint(3, 1600) * 1000:,}",
        "lcr": rng.randint(105, 160), "date": f"{rng.choice(MONTHS)} {rng.randint(1, 28)}, {year}",
    }  # fmt: skip
    return template.format(**values)


def generate_chunks(params: GeneratorParams) -> list[SyntheticChunk]:
    """``params.n`` unique passages of 3-6 sentences: a main topic plus one or two asides."""
    rng = random.Random(params.seed)
    topics = list(TOPICS)
    chunks: list[SyntheticChunk] = []
    seen: set[str] = set()  # identical passages would make "the exact top 10" ambiguous
    document_index = 0
    while len(chunks) < params.n:
        ticker, company, _sector = rng.choice(COMPANIES)
        doc_type = rng.choice(DOC_TYPES)
        published = date(2018, 1, 1) + timedelta(days=rng.randint(0, 8 * 365))
        access_level = rng.choice(ACCESS_LEVELS)
        document_id = f"syn-{document_index:06d}"
        document_index += 1
        for position in range(rng.randint(3, 12)):
            if len(chunks) >= params.n:
                break
            topic = rng.choice(topics)
            sentences = rng.sample(TOPICS[topic], k=min(len(TOPICS[topic]), rng.randint(2, 4)))
            for aside in rng.sample(topics, k=rng.randint(1, 2)):
                sentences.insert(rng.randint(0, len(sentences)), rng.choice(TOPICS[aside]))
            text = " ".join(_fill(s, rng, ticker, company, published.year) for s in sentences)
            if doc_type != "filing" and rng.random() < 0.5:
                text = f"{company} ({ticker}): {text}"
            if text in seen:
                continue
            seen.add(text)
            chunks.append(
                SyntheticChunk(
                    chunk_id=f"{document_id}:{position:03d}",
                    document_id=document_id,
                    text=text,
                    ticker=ticker,
                    company=company,
                    doc_type=doc_type,
                    section=rng.choice(SECTIONS[doc_type]),
                    topic=topic,
                    access_level=access_level,
                    published_at=published,
                )
            )
    return chunks
