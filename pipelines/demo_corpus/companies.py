"""The company master: real S&P 500 constituents with synthetic, internally consistent financials.

Names, tickers and GICS sectors come from ``pitindex`` (point-in-time S&P 500 membership), aliases,
ISINs, headquarters and a revenue scale from ``pytickersymbols``. Everything else (quarterly
results, leverage, share price, ratings, executives, who supplies whom) is generated from the seed
and is fictional.

Banks and insurers are left out: they report net interest income and capital ratios, not gross
margin or EBITDA, so the same metrics (revenue growth, gross margin, net debt/EBITDA) would be
meaningless for them. Financials are represented by payment processors and exchanges.
"""

from __future__ import annotations

import math
import random
import re
import warnings
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from typing import Any

from pipelines.demo_corpus.people import Organization, Person, make_person

REFERENCE_YEAR = 2023  # the profile's annual figures are this fiscal year's; quarters are simulated around it
SIMULATION_START_YEAR = 2020
SIMULATION_END_YEAR = 2026
FINANCIALS_KEPT = ("Transaction & Payment Processing Services", "Financial Exchanges & Data")
DEFAULT_AS_OF = "2024-06-30"


@dataclass(frozen=True)
class SectorProfile:
    growth: tuple[float, float]  # annual revenue growth, %
    gross_margin: tuple[float, float]
    ebitda_margin: tuple[float, float]
    leverage: tuple[float, float]  # net debt / EBITDA
    ev_multiple: tuple[float, float]  # EV / EBITDA
    capex_pct: tuple[float, float]  # capex / revenue, %
    da_pct: tuple[float, float]  # D&A / revenue, %


# fmt: off
SECTORS: dict[str, SectorProfile] = {
    "Information Technology": SectorProfile((3, 18), (42, 78), (24, 45), (-1.2, 0.9), (15, 28), (3, 8), (3, 7)),
    "Communication Services": SectorProfile((1, 12), (38, 65), (22, 45), (0.4, 2.8), (7, 16), (5, 14), (6, 12)),
    "Consumer Discretionary": SectorProfile((2, 12), (24, 45), (10, 22), (0.4, 2.4), (9, 18), (3, 7), (3, 5)),
    "Consumer Staples": SectorProfile((1, 6), (24, 55), (9, 25), (1.0, 3.0), (11, 17), (2, 5), (2, 4)),
    "Energy": SectorProfile((-5, 8), (28, 45), (20, 38), (0.3, 1.8), (4.5, 8), (8, 14), (7, 11)),
    "Financials": SectorProfile((6, 13), (70, 85), (48, 66), (0.5, 2.4), (16, 25), (2, 5), (3, 6)),
    "Health Care": SectorProfile((2, 10), (45, 75), (16, 35), (0.6, 3.0), (10, 18), (3, 6), (3, 6)),
    "Industrials": SectorProfile((2, 9), (22, 38), (12, 24), (0.8, 2.8), (10, 18), (2, 6), (2, 5)),
    "Materials": SectorProfile((-3, 7), (22, 38), (15, 30), (0.8, 2.5), (7, 13), (5, 9), (4, 7)),
    "Real Estate": SectorProfile((3, 9), (60, 75), (50, 68), (4.5, 6.2), (16, 24), (8, 20), (20, 30)),
    "Utilities": SectorProfile((2, 7), (40, 55), (32, 45), (4.4, 6.0), (10, 14), (25, 40), (12, 16)),
}
# fmt: on
# Low-margin industries, where the sector ranges would be far off (a grocer is not a brand owner).
_SUB_INDUSTRY_MARGINS: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {
    "Merchandise Retail": ((20, 30), (5, 9)),
    "Food Retail": ((24, 30), (4, 7)),
    "Drug Retail": ((18, 24), (3, 6)),
    "Broadline Retail": ((38, 48), (10, 16)),
    "Managed Health Care": ((15, 22), (4, 8)),
    "Health Care Services": ((15, 22), (4, 8)),
    "Health Care Distributors": ((4, 8), (1.2, 2.5)),
    "Refining": ((8, 14), (4, 9)),
    "Automobile Manufacturers": ((13, 20), (8, 13)),
    "Passenger Airlines": ((22, 30), (10, 16)),
}
# Sectors where a demo liquidity crunch or default reads as plausible.
_STRESS_PRONE_SECTORS = ("Utilities", "Real Estate", "Materials", "Energy", "Consumer Discretionary",
                         "Communication Services", "Industrials")  # fmt: skip
# Utilities and REITs carry more debt for the same credit quality.
_RATING_LEVERAGE_ALLOWANCE = {"Utilities": 2.0, "Real Estate": 2.0}
RATING_SCALE = ("AA+", "AA", "AA-", "A+", "A", "A-", "BBB+", "BBB", "BBB-", "BB+", "BB", "BB-", "B+", "B", "B-",
                "CCC+", "CCC", "D")  # fmt: skip
# Retailers, restaurants and toy makers sell most in the fourth quarter.
_HOLIDAY_SEASONALITY = (0.93, 0.97, 0.98, 1.12)

_NAME_SUFFIXES = re.compile(
    r"(,?\s+(Inc\.?|Incorporated|Corporation|Corp\.?|Company|Co\.|plc|PLC|Ltd\.?|Limited|N\.V\.|S\.A\.|"
    r"Holdings?|Group|& Co\.?))+$"
)


@dataclass(frozen=True)
class SupplyLink:
    supplier: str
    customer: str
    product: str
    share_of_supplier_revenue_pct: float
    since_year: int


@dataclass(frozen=True)
class CompanyProfile:
    ticker: str
    name: str  # display name, e.g. "The Coca-Cola Company"
    short_name: str  # "Coca-Cola"
    source_name: str  # the name exactly as pitindex gives it
    aliases: tuple[str, ...]
    sector: str  # GICS sector
    sub_industry: str  # GICS sub-industry
    cik: str | None
    isin: str | None
    headquarters: str | None
    employees: int
    domain: str  # fictional investor-relations domain under .example
    # Fiscal year REFERENCE_YEAR (calendar fiscal years throughout the demo), from the simulated quarters.
    fiscal_year: int
    revenue_musd: int
    revenue_growth_pct: float
    gross_margin_pct: float
    ebitda_musd: int
    ebitda_margin_pct: float
    net_debt_musd: int
    net_debt_to_ebitda: float
    shares_outstanding_m: float
    share_price_usd: float
    market_cap_musd: int
    credit_rating: str  # fictional agency rating at the end of the reference year
    credit_profile: str  # "steady", "growth" or "stressed" (stressed names deteriorate through the corpus)
    ceo: Person
    cfo: Person
    investor_relations: Person
    supply_links: tuple[SupplyLink, ...] = ()
    # Parameters of the quarterly simulation; quarterly_financials() reproduces the quarters from them.
    simulation: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def suppliers(self) -> tuple[str, ...]:
        return tuple(link.supplier for link in self.supply_links if link.customer == self.ticker)

    @property
    def customers(self) -> tuple[str, ...]:
        return tuple(link.customer for link in self.supply_links if link.supplier == self.ticker)


@dataclass(frozen=True)
class QuarterFinancials:
    """One fiscal quarter. Money in $ millions (integers), ratios rounded as they are printed."""

    ticker: str
    period: str  # "2024Q3"
    fiscal_year: int
    fiscal_quarter: int
    period_end: date
    earnings_date: date  # results press release and call
    filing_date: date  # 10-Q, or 10-K for the fourth quarter
    revenue_musd: int
    revenue_growth_yoy_pct: float
    gross_profit_musd: int
    gross_margin_pct: float
    ebitda_musd: int
    ebitda_margin_pct: float
    operating_income_musd: int
    net_income_musd: int
    eps_diluted: float
    operating_cash_flow_musd: int
    capex_musd: int
    free_cash_flow_musd: int
    cash_musd: int
    total_debt_musd: int
    net_debt_musd: int
    ltm_ebitda_musd: int
    net_debt_to_ebitda: float
    shares_diluted_m: float
    share_price_usd: float  # close on the last day of the quarter
    consensus_revenue_musd: int
    consensus_eps: float
    next_quarter_guidance_low_musd: int
    next_quarter_guidance_high_musd: int
    fy_revenue_musd: int | None = None  # fourth quarter only: the fiscal year total

    @property
    def revenue_surprise_pct(self) -> float:
        return round((self.revenue_musd / self.consensus_revenue_musd - 1) * 100, 1)

    def key_metrics(self) -> dict[str, Any]:
        metrics: dict[str, Any] = {
            "period": self.period,
            "revenue_musd": self.revenue_musd,
            "revenue_growth_yoy_pct": self.revenue_growth_yoy_pct,
            "gross_margin_pct": self.gross_margin_pct,
            "ebitda_musd": self.ebitda_musd,
            "ebitda_margin_pct": self.ebitda_margin_pct,
            "net_income_musd": self.net_income_musd,
            "eps_diluted": self.eps_diluted,
            "net_debt_musd": self.net_debt_musd,
            "net_debt_to_ebitda": self.net_debt_to_ebitda,
            "free_cash_flow_musd": self.free_cash_flow_musd,
        }
        if self.fy_revenue_musd is not None:
            metrics["fy_revenue_musd"] = self.fy_revenue_musd
        return metrics


# --- source data -----------------------------------------------------------------------------------


@cache
def _constituents(as_of: str) -> tuple[dict[str, Any], ...]:
    import pitindex  # pandas-backed and slow to import; only the generator needs it

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "bundled data is N days old": the demo wants a fixed snapshot
        frame = pitindex.get_constituents(as_of, "sp500")
    rows = []
    for record in frame.to_dict("records"):
        if not isinstance(record.get("gics_sector"), str):
            continue  # historical members without GICS data
        rows.append({key: (value if isinstance(value, str) else None) for key, value in record.items()})
    return tuple(rows)


@cache
def _ticker_symbols() -> dict[str, dict[str, Any]]:
    from pytickersymbols import PyTickerSymbols

    stocks: dict[str, dict[str, Any]] = {}
    for stock in PyTickerSymbols().get_stocks_by_index("S&P 500"):
        if stock.get("symbol"):
            stocks.setdefault(stock["symbol"].replace("-", "."), stock)
    return stocks


def source_constituents(as_of: str = DEFAULT_AS_OF) -> dict[str, dict[str, Any]]:
    """pitindex S&P 500 rows by ticker (what the master's names and sectors must match)."""
    return {row["ticker"]: dict(row) for row in _constituents(as_of)}


def _parse_revenue_bn(text: str | None) -> float | None:
    if not isinstance(text, str):
        return None
    match = re.search(r"(\d[\d,]*(?:\.\d+)?)\s*(billion|million)", text, re.IGNORECASE)
    if not match:
        return None
    value = float(match.group(1).replace(",", ""))
    return value if match.group(2).lower() == "billion" else value / 1000


def _parse_employees(text: str | int | None) -> int | None:
    if isinstance(text, int):
        return text
    match = re.search(r"(\d[\d,]{2,})", text or "")
    return int(match.group(1).replace(",", "")) if match else None


def _display_name(source_name: str) -> str:
    name = re.sub(r"\s*\(Class [A-Z]\)", "", source_name).replace("\u2013", "-")  # the en dash in "Brown-Forman"
    if name.endswith(" (The)"):
        name = "The " + name[: -len(" (The)")]
    return name


def _short_name(name: str) -> str:
    short = _NAME_SUFFIXES.sub("", name.removeprefix("The ")).strip(" ,")
    return short or name


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", text.lower()) or "company"


# --- the master ------------------------------------------------------------------------------------


def _candidates(as_of: str) -> dict[str, list[dict[str, Any]]]:
    stocks = _ticker_symbols()
    by_sector: dict[str, list[dict[str, Any]]] = {}
    seen_names: set[str] = set()
    for row in sorted(_constituents(as_of), key=lambda r: r["ticker"]):
        if row["gics_sector"] == "Financials" and row["gics_sub_industry"] not in FINANCIALS_KEPT:
            continue
        stock = stocks.get(row["ticker"])
        if stock is None:
            continue
        revenue_bn = _parse_revenue_bn(stock.get("metadata", {}).get("revenue"))
        name = _display_name(row["name"])
        if revenue_bn is None or name in seen_names:  # GOOG/GOOGL, FOX/FOXA: one listing per company
            continue
        seen_names.add(name)
        by_sector.setdefault(row["gics_sector"], []).append({**row, "stock": stock, "revenue_bn": revenue_bn})
    return by_sector


def _choose(by_sector: dict[str, list[dict[str, Any]]], n: int, rng: random.Random) -> list[dict[str, Any]]:
    """``n`` companies spread evenly over the sectors, each drawn from its sector's largest names."""
    sectors = sorted(by_sector)
    rng.shuffle(sectors)
    quotas = {sector: n // len(sectors) for sector in sectors}
    for sector in sectors[: n % len(sectors)]:
        quotas[sector] += 1
    chosen: list[dict[str, Any]] = []
    shortfall = 0
    for sector in sectors:
        pool = sorted(by_sector[sector], key=lambda r: -r["revenue_bn"])
        take = min(len(pool), quotas[sector])
        shortfall += quotas[sector] - take
        # Well-known names make a better demo: draw from the top of the sector by revenue.
        chosen += rng.sample(pool[: max(take, min(len(pool), 3 * take + 2))], take)
    if shortfall:
        rest = sorted((r for rows in by_sector.values() for r in rows if r not in chosen), key=lambda r: r["ticker"])
        chosen += rng.sample(rest, min(shortfall, len(rest)))
    return sorted(chosen, key=lambda r: r["ticker"])


def _rating_for(leverage: float, sector: str, margin: float) -> str:
    adjusted = leverage - _RATING_LEVERAGE_ALLOWANCE.get(sector, 0.0) - (margin - 20) / 60
    thresholds = (-0.5, 0.3, 1.0, 1.6, 2.2, 2.8, 3.4, 4.0, 4.6, 5.2, 5.8, 6.5)
    for notch, threshold in enumerate(thresholds):
        if adjusted < threshold:
            return RATING_SCALE[notch + 2]  # nothing in the demo starts at AA+ or AA
    return "B-"


def _profile_params(row: dict[str, Any], rng: random.Random, credit_profile: str) -> dict[str, Any]:
    sector = SECTORS[row["gics_sector"]]
    u = rng.uniform
    margins = (sector.gross_margin, sector.ebitda_margin)
    for keyword, override in _SUB_INDUSTRY_MARGINS.items():
        if keyword in (row["gics_sub_industry"] or ""):
            margins = override
    gross_margin = u(*margins[0])
    ebitda_margin = min(u(*margins[1]), gross_margin * 0.8)
    params: dict[str, Any] = {
        "revenue_ref_musd": row["revenue_bn"] * 1000 * u(0.86, 0.98),
        "growth": u(*sector.growth),
        "gross_margin": gross_margin,
        "ebitda_margin": ebitda_margin,
        "leverage": u(*sector.leverage),
        "ev_multiple": u(*sector.ev_multiple),
        "capex_pct": u(*sector.capex_pct),
        "da_pct": min(u(*sector.da_pct), ebitda_margin * 0.6),
        "cash_pct": u(0.25, 0.9),  # cash / quarterly revenue
        "gross_debt_pct": u(0.3, 1.2),  # debt / quarterly revenue, for net-cash companies
        "interest_rate": u(3.5, 5.5),
        "buyback_rate": u(0.0, 0.9),  # % of shares retired per quarter
        "cash_conversion": u(0.72, 0.9),
        "price_ref": round(math.exp(u(math.log(30), math.log(520))), 2),
        "report_lag_days": rng.randint(20, 34),
        "seasonality": [round(u(-0.03, 0.03), 4) for _ in range(4)],
        "holiday_seasonal": row["gics_sector"] == "Consumer Discretionary"
        or "Retail" in (row["gics_sub_industry"] or ""),
        "stressed": credit_profile == "stressed",
        "credit_profile": credit_profile,
    }
    if credit_profile == "stressed":
        # A levered name whose sales and margins slide through the corpus window: the planted
        # liquidity stress, downgrades and default then sit on numbers that point the same way.
        params.update(
            growth=u(1, 4),
            leverage=u(3.4, 4.2) + _RATING_LEVERAGE_ALLOWANCE.get(row["gics_sector"], 0.0),
            ev_multiple=u(5, 8),
            interest_rate=u(6.0, 8.0),
            buyback_rate=0.0,
            cash_pct=u(0.15, 0.3),
        )
    elif credit_profile == "growth":
        params["growth"] = params["growth"] + u(4, 10)
    return params


def build_company_master(n: int = 32, seed: int = 7, *, as_of: str = DEFAULT_AS_OF) -> list[CompanyProfile]:
    """``n`` real S&P 500 members (as of ``as_of``) spread over the GICS sectors, with fictional
    financial profiles, executives and supply relationships, all determined by ``seed``."""
    rng = random.Random(f"demo-corpus|{seed}|companies")
    chosen = _choose(_candidates(as_of), n, rng)
    stressed_count = max(2, round(len(chosen) / 10))
    growth_count = max(2, round(len(chosen) / 6))
    prone = sorted(
        (i for i, row in enumerate(chosen) if row["gics_sector"] in _STRESS_PRONE_SECTORS),
        key=lambda i: chosen[i]["revenue_bn"],
    )
    # The smaller names of the stress-prone sectors get the deteriorating profiles.
    stressed = set(rng.sample(prone[: max(stressed_count, len(prone) // 2)], min(stressed_count, len(prone))))
    others = [i for i in range(len(chosen)) if i not in stressed]
    growth = set(rng.sample(others, min(growth_count, len(others))))
    credit_profiles = {
        i: "stressed" if i in stressed else "growth" if i in growth else "steady" for i in range(len(chosen))
    }
    taken_names: set[str] = set()
    profiles = []
    for index, row in enumerate(chosen):
        company_rng = random.Random(f"demo-corpus|{seed}|company|{row['ticker']}")
        params = _profile_params(row, company_rng, credit_profiles[index])
        params["seed"] = f"{seed}|{row['ticker']}"
        profiles.append(_profile(row, params, company_rng, taken_names))
    links = _supply_links(profiles, rng)
    return [
        _with_links(profile, tuple(link for link in links if profile.ticker in (link.supplier, link.customer)))
        for profile in profiles
    ]


def _with_links(profile: CompanyProfile, links: tuple[SupplyLink, ...]) -> CompanyProfile:
    from dataclasses import replace

    return replace(profile, supply_links=links)


def _profile(row: dict[str, Any], params: dict[str, Any], rng: random.Random, taken_names: set[str]) -> CompanyProfile:
    stock = row["stock"]
    metadata = stock.get("metadata", {})
    name = _display_name(row["name"])
    short = _short_name(name)
    domain = f"{_slug(short)}-ir.example"
    org = Organization(name, domain, "new_york")
    ceo = make_person(rng, title="Chief Executive Officer", organization=org, taken=taken_names)
    cfo = make_person(rng, title="Chief Financial Officer", organization=org, taken=taken_names)
    ir = make_person(rng, title="Head of Investor Relations", organization=org, taken=taken_names)
    aliases: list[str] = []
    for alias in (name, row["name"], short, stock.get("name"), row["ticker"]):
        if alias and alias not in aliases:
            aliases.append(alias)
    quarters = {q.period: q for q in _simulate(row["ticker"], params)}
    year = [quarters[f"{REFERENCE_YEAR}Q{q}"] for q in range(1, 5)]
    prior = [quarters[f"{REFERENCE_YEAR - 1}Q{q}"] for q in range(1, 5)]
    revenue = sum(q.revenue_musd for q in year)
    ebitda = sum(q.ebitda_musd for q in year)
    last = year[-1]
    market_cap = round(last.shares_diluted_m * last.share_price_usd)
    # pytickersymbols' "country" is the headquarters city and state; its metadata field often holds a street address.
    location = stock.get("country") if "," in (stock.get("country") or "") else metadata.get("headquarters")
    headquarters = re.sub(r"\s+,", ",", location or "").strip() or None
    isins = stock.get("isins") or []
    return CompanyProfile(
        ticker=row["ticker"],
        name=name,
        short_name=short,
        source_name=row["name"],
        aliases=tuple(aliases),
        sector=row["gics_sector"],
        sub_industry=row["gics_sub_industry"] or row["gics_sector"],
        cik=row.get("cik"),
        isin=isins[0] if isins else None,
        headquarters=headquarters,
        employees=_parse_employees(metadata.get("employees")) or rng.randint(5, 80) * 1000,
        domain=domain,
        fiscal_year=REFERENCE_YEAR,
        revenue_musd=revenue,
        revenue_growth_pct=round((revenue / sum(q.revenue_musd for q in prior) - 1) * 100, 1) + 0.0,
        gross_margin_pct=round(sum(q.gross_profit_musd for q in year) / revenue * 100, 1),
        ebitda_musd=ebitda,
        ebitda_margin_pct=round(ebitda / revenue * 100, 1),
        net_debt_musd=last.net_debt_musd,
        net_debt_to_ebitda=last.net_debt_to_ebitda,
        shares_outstanding_m=last.shares_diluted_m,
        share_price_usd=last.share_price_usd,
        market_cap_musd=market_cap,
        credit_rating=_rating_for(last.net_debt_to_ebitda, row["gics_sector"], params["ebitda_margin"]),
        credit_profile=params["credit_profile"],
        ceo=ceo,
        cfo=cfo,
        investor_relations=ir,
        simulation=params,
    )


# --- quarterly financials --------------------------------------------------------------------------


def _quarter_end(year: int, quarter: int) -> date:
    return date(year, 3 * quarter, 31 if quarter in (1, 4) else 30)


def _simulate(ticker: str, params: dict[str, Any]) -> list[QuarterFinancials]:
    """Quarters SIMULATION_START_YEAR..SIMULATION_END_YEAR. Each quarter's noise has its own random
    stream, so a quarter's numbers never depend on which date range a corpus asks for."""
    periods = [(y, q) for y in range(SIMULATION_START_YEAR, SIMULATION_END_YEAR + 1) for q in range(1, 5)]
    seasonality = list(_HOLIDAY_SEASONALITY) if params["holiday_seasonal"] else [1.0] * 4
    seasonality = [s + d for s, d in zip(seasonality, params["seasonality"], strict=True)]
    mean = sum(seasonality) / 4
    seasonality = [s / mean for s in seasonality]
    stressed = params["stressed"]

    draws = []
    level = 0.0
    for year, quarter in periods:
        q_rng = random.Random(f"{params['seed']}|{year}Q{quarter}")
        t = (year - REFERENCE_YEAR) + (quarter - 1) / 4  # years since the start of the reference year
        growth = params["growth"]
        if stressed and t > 0:
            growth -= 9 * t  # the slide starts in the reference year and steepens
        level += math.log1p(growth / 100) / 4 + q_rng.gauss(0, 0.008)
        draws.append((year, quarter, t, level, q_rng))
    reference = [math.exp(lv) * seasonality[q - 1] for y, q, _, lv, _ in draws if y == REFERENCE_YEAR]
    scale = params["revenue_ref_musd"] / sum(reference)

    results: list[QuarterFinancials] = []
    revenue_by_period: dict[tuple[int, int], int] = {}
    ebitda_history: list[int] = []
    valuation = 0.0  # log deviation of the EV/EBITDA multiple from the company's norm, mean-reverting
    reference_ebitda = params["revenue_ref_musd"] * params["ebitda_margin"] / 100
    market_cap = max(params["ev_multiple"] - params["leverage"], 1.5) * reference_ebitda
    reference_shares = max(market_cap / params["price_ref"], 50.0)
    for index, (year, quarter, t, level, q_rng) in enumerate(draws):
        revenue = max(1, round(math.exp(level) * seasonality[quarter - 1] * scale))
        revenue_by_period[(year, quarter)] = revenue
        drift = max(t, 0.0) if stressed else 0.0
        gross_margin = params["gross_margin"] + q_rng.gauss(0, 0.6) - 3.0 * drift
        ebitda_margin = min(params["ebitda_margin"] + q_rng.gauss(0, 0.7) - 4.0 * drift, gross_margin - 3)
        gross_profit = round(revenue * gross_margin / 100)
        ebitda = round(revenue * ebitda_margin / 100)
        ebitda_history.append(ebitda)
        ltm_ebitda = sum(ebitda_history[-4:]) * 4 // len(ebitda_history[-4:])
        leverage = params["leverage"] + q_rng.gauss(0, 0.06) + (0.9 * drift if stressed else 0.0)
        net_debt = round(leverage * ltm_ebitda)
        if net_debt < 0:
            total_debt = round(revenue * params["gross_debt_pct"])
            cash = total_debt - net_debt
        else:
            cash = round(revenue * params["cash_pct"] * (1 - 0.35 * min(drift, 1.5)))
            total_debt = net_debt + cash
        depreciation = round(revenue * params["da_pct"] / 100)
        operating_income = ebitda - depreciation
        interest = round(total_debt * params["interest_rate"] / 100 / 4)
        pretax = operating_income - interest
        net_income = round(pretax * (0.79 if pretax > 0 else 0.95))
        # Buybacks shrink the count; the reference is the first quarter of REFERENCE_YEAR.
        reference_index = (REFERENCE_YEAR - SIMULATION_START_YEAR) * 4
        shares = round(reference_shares * (1 - params["buyback_rate"] / 100) ** (index - reference_index), 1)
        operating_cash_flow = round(ebitda * params["cash_conversion"] - max(pretax, 0) * 0.21)
        capex = round(revenue * params["capex_pct"] / 100)
        prior = revenue_by_period.get((year - 1, quarter))
        growth_yoy = round((revenue / prior - 1) * 100, 1) + 0.0 if prior else round(params["growth"], 1)
        # The share price follows the fundamentals: equity value at the company's EV/EBITDA multiple
        # (de-rated as a stressed name deteriorates), never below a small option value.
        valuation = 0.7 * valuation + q_rng.gauss(0, 0.08)
        multiple_now = params["ev_multiple"] * math.exp(valuation) * (1 - 0.12 * min(drift, 3.0))
        equity = max(multiple_now * ltm_ebitda - net_debt, 0.3 * max(ltm_ebitda, 1))
        price = round(equity / shares, 2)
        surprise = q_rng.gauss(0.004, 0.018)
        eps = round(net_income / shares, 2)
        results.append(
            QuarterFinancials(
                ticker=ticker,
                period=f"{year}Q{quarter}",
                fiscal_year=year,
                fiscal_quarter=quarter,
                period_end=_quarter_end(year, quarter),
                earnings_date=_quarter_end(year, quarter)
                + timedelta(days=params["report_lag_days"] + (12 if quarter == 4 else 0)),
                filing_date=_quarter_end(year, quarter)
                + timedelta(days=params["report_lag_days"] + (30 if quarter == 4 else 9) + q_rng.randint(0, 4)),
                revenue_musd=revenue,
                revenue_growth_yoy_pct=growth_yoy,
                gross_profit_musd=gross_profit,
                gross_margin_pct=round(gross_profit / revenue * 100, 1),
                ebitda_musd=ebitda,
                ebitda_margin_pct=round(ebitda / revenue * 100, 1),
                operating_income_musd=operating_income,
                net_income_musd=net_income,
                eps_diluted=eps,
                operating_cash_flow_musd=operating_cash_flow,
                capex_musd=capex,
                free_cash_flow_musd=operating_cash_flow - capex,
                cash_musd=cash,
                total_debt_musd=total_debt,
                net_debt_musd=net_debt,
                ltm_ebitda_musd=ltm_ebitda,
                net_debt_to_ebitda=round(net_debt / ltm_ebitda, 2) if ltm_ebitda > 0 else 99.0,
                shares_diluted_m=shares,
                share_price_usd=price,
                consensus_revenue_musd=round(revenue / (1 + surprise)),
                consensus_eps=round(eps / (1 + surprise * 2.5), 2) if eps else 0.0,
                next_quarter_guidance_low_musd=0,
                next_quarter_guidance_high_musd=0,
                fy_revenue_musd=None,
            )
        )
    return _with_guidance_and_totals(results, params)


def _with_guidance_and_totals(quarters: list[QuarterFinancials], params: dict[str, Any]) -> list[QuarterFinancials]:
    from dataclasses import replace

    finished = []
    for index, quarter in enumerate(quarters):
        g_rng = random.Random(f"{params['seed']}|{quarter.period}|guidance")
        following = quarters[index + 1] if index + 1 < len(quarters) else quarter
        # Guidance brackets what the next quarter then delivers, a little conservatively.
        centre = following.revenue_musd * g_rng.uniform(0.975, 1.01)
        half_width = following.revenue_musd * g_rng.uniform(0.01, 0.025)
        fy_total = None
        if quarter.fiscal_quarter == 4:
            fy_total = sum(q.revenue_musd for q in quarters[index - 3 : index + 1])
        finished.append(
            replace(
                quarter,
                next_quarter_guidance_low_musd=round(centre - half_width),
                next_quarter_guidance_high_musd=round(centre + half_width),
                fy_revenue_musd=fy_total,
            )
        )
    return finished


def quarterly_financials(company: CompanyProfile) -> list[QuarterFinancials]:
    """The company's simulated quarters (SIMULATION_START_YEAR..SIMULATION_END_YEAR); the profile's
    annual figures are the sums and year-end values of its REFERENCE_YEAR quarters."""
    return _simulate(company.ticker, company.simulation)


def rating_after(rating: str, notches: int) -> str:
    index = RATING_SCALE.index(rating) if rating in RATING_SCALE else RATING_SCALE.index("BBB")
    return RATING_SCALE[min(len(RATING_SCALE) - 1, index + notches)]


# --- who supplies whom -----------------------------------------------------------------------------

# (keyword in the supplier's GICS sub-industry or sector, what it supplies, customer sectors, and
# keywords one of which the customer's sub-industry must contain; empty means any)
# fmt: off
_SUPPLY_RULES: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("Managed Health Care", "", (), ()),
    ("Health Care Services", "", (), ()),
    ("Retail", "", (), ()),
    ("Restaurants", "", (), ()),
    ("Hotels", "", (), ()),
    ("Automobile Manufacturers", "fleet vehicles",
     ("Industrials", "Utilities", "Consumer Discretionary"),
     ("Ground Transportation", "Rental", "Logistics", "Utilities")),
    ("Apparel", "apparel and footwear", ("Consumer Discretionary", "Consumer Staples"), ("Retail",)),
    ("Semiconductor Materials", "wafer-fab equipment and process tools",
     ("Information Technology",),
     ("Semiconductors",)),
    ("Semiconductors", "custom processors and networking chips",
     ("Information Technology", "Communication Services", "Consumer Discretionary", "Industrials"),
     ("Hardware", "Communications Equipment", "Automobile", "Aerospace", "Electronic", "Interactive", "Electrical")),
    ("Software", "enterprise software subscriptions and cloud services",
     ("Financials", "Health Care", "Consumer Staples", "Industrials", "Consumer Discretionary", "Energy"),
     ()),
    ("IT Consulting", "IT outsourcing and consulting services",
     ("Financials", "Health Care", "Consumer Staples", "Utilities", "Energy"),
     ()),
    ("Hardware", "devices, servers and storage systems",
     ("Communication Services", "Financials", "Information Technology", "Real Estate"),
     ("Telecommunication", "Cable", "Interactive", "Exchanges", "Payment", "Software", "REITs", "IT Consulting")),
    ("Communications Equipment", "networking and communications equipment",
     ("Communication Services", "Information Technology", "Real Estate"),
     ("Telecommunication", "Cable", "Interactive", "Software", "Data Center", "Tower", "IT Consulting")),
    ("Electronic", "electronic components and sensors",
     ("Information Technology", "Industrials", "Consumer Discretionary", "Health Care"),
     ()),
    ("Information Technology", "technology products and services",
     ("Financials", "Health Care", "Industrials", "Consumer Staples"),
     ()),
    ("Industrial Gases", "industrial gases under long-term supply contracts",
     ("Materials", "Health Care", "Energy", "Information Technology"),
     ()),
    ("Chemicals", "specialty chemicals and polymers",
     ("Consumer Staples", "Industrials", "Materials", "Consumer Discretionary", "Health Care"),
     ("Products", "Packaging", "Automobile", "Machinery", "Building", "Pharmaceuticals", "Food", "Household",
      "Personal Care", "Equipment", "Paper", "Aerospace")),
    ("Packaging", "packaging and containers",
     ("Consumer Staples", "Health Care", "Consumer Discretionary"),
     ("Food", "Beverages", "Soft Drinks", "Brewers", "Household", "Personal Care", "Pharmaceuticals", "Retail",
      "Restaurants")),
    ("Paper", "packaging and containers",
     ("Consumer Staples", "Consumer Discretionary"),
     ("Food", "Beverages", "Soft Drinks", "Household", "Personal Care", "Retail", "Restaurants")),
    ("Steel", "steel products", ("Industrials", "Consumer Discretionary", "Energy"), ()),
    ("Copper", "copper and metal concentrates", ("Industrials", "Information Technology", "Materials"), ()),
    ("Gold", "precious metals", ("Information Technology", "Health Care"), ()),
    ("Construction Materials", "aggregates and cement", ("Industrials", "Real Estate", "Utilities"), ()),
    ("Fertilizers", "crop nutrients", ("Consumer Staples",), ("Agricultural", "Food")),
    ("Materials", "raw materials", ("Industrials", "Consumer Staples", "Consumer Discretionary"), ()),
    ("Equipment & Services", "drilling and oilfield services", ("Energy",), ("Integrated", "Exploration", "Refining")),
    ("Refining", "refined fuels",
     ("Industrials", "Consumer Discretionary", "Utilities", "Materials"),
     ("Airlines", "Logistics", "Freight", "Trucking", "Rail", "Chemicals", "Ground Transportation", "Utilities")),
    ("Storage & Transportation", "natural gas transportation and storage", ("Utilities", "Energy", "Materials"), ()),
    ("Energy", "crude oil, natural gas and fuels",
     ("Utilities", "Industrials", "Materials"),
     ("Utilities", "Chemicals", "Airlines", "Logistics", "Rail")),
    ("Aerospace", "aircraft systems and components", ("Industrials",), ("Airlines", "Aerospace")),
    ("Logistics", "freight and logistics services",
     ("Consumer Discretionary", "Consumer Staples", "Health Care", "Information Technology"),
     ()),
    ("Rail", "rail freight services", ("Materials", "Energy", "Consumer Staples", "Industrials"), ()),
    ("Trucking", "trucking and freight services", ("Consumer Staples", "Consumer Discretionary"), ()),
    ("Electrical", "electrical equipment and power systems",
     ("Utilities", "Real Estate", "Information Technology", "Industrials"),
     ()),
    ("Machinery", "machinery and equipment", ("Energy", "Materials", "Industrials", "Utilities"), ()),
    ("Environmental", "waste management services", ("Consumer Staples", "Health Care", "Industrials"), ()),
    ("Ground Transportation", "corporate mobility and delivery services",
     ("Consumer Discretionary", "Consumer Staples", "Financials"),
     ("Retail", "Restaurants", "Payment")),
    ("Industrials", "industrial products and services", ("Energy", "Utilities", "Materials", "Consumer Staples"), ()),
    ("Utilities", "electricity under long-term power purchase agreements",
     ("Information Technology", "Real Estate", "Materials"),
     ("Semiconductors", "Data Center", "Specialized", "Industrial REITs", "Chemicals", "Gases", "Metals", "Steel")),
    ("Data Center", "data center capacity", ("Communication Services", "Information Technology", "Financials"), ()),
    ("Tower", "tower and fibre leases", ("Communication Services",), ("Telecommunication", "Cable")),
    ("Industrial REITs", "logistics warehouse space",
     ("Consumer Discretionary", "Consumer Staples", "Industrials"),
     ("Retail", "Logistics", "Apparel", "Distributors", "Food")),
    ("Retail REITs", "retail space",
     ("Consumer Discretionary", "Consumer Staples"),
     ("Retail", "Apparel", "Restaurants")),
    ("Specialized REITs", "records storage and data center services",
     ("Health Care", "Financials", "Information Technology"),
     ()),
    ("Real Estate", "leased space", ("Consumer Discretionary", "Health Care", "Financials"), ()),
    ("Interactive Media", "digital advertising services", ("Consumer Discretionary", "Consumer Staples"), ()),
    ("Telecom", "connectivity and network services", ("Financials", "Information Technology", "Industrials"), ()),
    ("Cable", "enterprise connectivity services", ("Financials", "Information Technology", "Health Care"), ()),
    ("Communication Services", "media and advertising services", ("Consumer Staples", "Consumer Discretionary"), ()),
    ("Distributors", "pharmaceutical and medical-supply distribution", ("Health Care",), ()),
    ("Life Sciences", "laboratory instruments and consumables", ("Health Care",), ("Pharmaceuticals", "Biotechnology")),
    ("Health Care Equipment", "medical devices", ("Health Care",), ("Facilities", "Distributors")),
    ("Health Care Supplies", "medical supplies", ("Health Care",), ("Facilities", "Distributors")),
    ("Pharmaceuticals", "pharmaceutical products",
     ("Health Care", "Consumer Staples"),
     ("Distributors", "Drug Retail", "Managed Health Care", "Health Care Services")),
    ("Biotechnology", "specialty medicines", ("Health Care",), ("Distributors", "Managed Health Care")),
    ("Health Care", "medical products", ("Health Care",), ("Facilities", "Distributors")),
    ("Payment", "payment processing and card services",
     ("Consumer Discretionary", "Consumer Staples"),
     ("Retail", "Restaurants", "Hotels", "Apparel", "Ground Transportation")),
    ("Exchanges", "market data and trading services", ("Financials",), ()),
    ("Automotive Parts", "automotive parts", ("Consumer Discretionary",), ("Automobile",)),
    ("Consumer Discretionary", "consumer products", ("Consumer Discretionary", "Consumer Staples"), ("Retail",)),
    ("Beverages", "beverages", ("Consumer Staples", "Consumer Discretionary"), ("Retail", "Restaurants")),
    ("Soft Drinks", "beverages", ("Consumer Staples", "Consumer Discretionary"), ("Retail", "Restaurants")),
    ("Food", "packaged foods and ingredients",
     ("Consumer Staples", "Consumer Discretionary"),
     ("Retail", "Restaurants", "Distributors")),
    ("Agricultural", "grain and food ingredients", ("Consumer Staples",), ("Packaged Foods", "Beverages")),
    ("Consumer Staples", "consumer staples products", ("Consumer Staples",), ("Retail", "Distributors")),
)
# fmt: on


def supply_offering(company: CompanyProfile) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """What the company sells to other businesses, to which sectors and sub-industries (empty if nothing)."""
    for keyword, product, sectors, sub_industries in _SUPPLY_RULES:
        if keyword in company.sub_industry or keyword == company.sector:
            return product, sectors, sub_industries
    return "", (), ()


def _can_supply(supplier: CompanyProfile, customer: CompanyProfile) -> str | None:
    product, sectors, sub_industries = supply_offering(supplier)
    if not product or customer.ticker == supplier.ticker or customer.sector not in sectors:
        return None
    if sub_industries and not any(word in customer.sub_industry for word in sub_industries):
        return None
    return product


def _supply_links(profiles: list[CompanyProfile], rng: random.Random) -> list[SupplyLink]:
    links: list[SupplyLink] = []
    for supplier in profiles:
        customers = [c for c in profiles if _can_supply(supplier, c)]
        for customer in rng.sample(customers, min(len(customers), rng.randint(1, 2))):
            links.append(
                SupplyLink(
                    supplier=supplier.ticker,
                    customer=customer.ticker,
                    product=_can_supply(supplier, customer) or "",
                    share_of_supplier_revenue_pct=round(rng.uniform(2.5, 14.0), 1),
                    since_year=rng.randint(2009, 2021),
                )
            )
    return sorted(links, key=lambda link: (link.supplier, link.customer))
