"""Company-master entries from packaged lists (pytickersymbols' S&P 500), as plain records."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from pipelines.entities.names import is_generic_name, short_company_name

GICS_SECTORS = (
    "Communication Services", "Consumer Discretionary", "Consumer Staples", "Energy", "Financials", "Health Care",
    "Industrials", "Information Technology", "Materials", "Real Estate", "Utilities",
)  # fmt: skip


# Names a company goes by that its listed name does not contain. Only unambiguous ones: "Walt" or "Platforms"
# alone would catch prose.
KNOWN_SHORT_NAMES: dict[str, tuple[str, ...]] = {
    "META": ("Meta", "Facebook"),
    "DIS": ("Disney",),
    "GOOGL": ("Google",),
    "GOOG": ("Google",),
    "BRK.B": ("Berkshire",),
    "JPM": ("JPMorgan", "J.P. Morgan"),
    "GS": ("Goldman",),
    "KO": ("Coca-Cola",),
    "WMT": ("Wal-Mart",),
    "ON": ("ON Semiconductor", "onsemi"),
    "ATVI": ("Activision",),
    "F": ("Ford",),
}


@dataclass(frozen=True)
class MasterEntry:
    ticker: str
    name: str
    aliases: tuple[str, ...] = ()
    sector: str = ""
    cik: str = ""
    extra: dict[str, str] = field(default_factory=dict, compare=False)


def sp500_entries() -> list[MasterEntry]:
    """S&P 500 members known to pytickersymbols: name, aliases (the name without legal suffix, share-class
    spellings such as "BRK-B") and the GICS sector where its industry list names one."""
    from pytickersymbols import PyTickerSymbols  # its YAML takes about a second to load: only when asked

    entries: dict[str, MasterEntry] = {}
    for stock in PyTickerSymbols().get_stocks_by_index("S&P 500"):
        symbol = (stock.get("symbol") or "").strip().upper()
        name = (stock.get("name") or "").replace("\u2013", "-").strip()  # the en dash in "Brown-Forman"
        if not symbol or not name:
            continue
        ticker = symbol.replace("-", ".")  # BRK.B, as the demo master and most news write it
        aliases = [name, short_company_name(name), *KNOWN_SHORT_NAMES.get(ticker, ())]
        aliases = [a for a in aliases if not is_generic_name(a)]
        if "." in ticker:
            aliases += [ticker.replace(".", "-"), ticker.replace(".", "/")]
        sector = next((s for s in GICS_SECTORS if s in (stock.get("industries") or [])), "")
        entries.setdefault(ticker, MasterEntry(ticker, name, tuple(dict.fromkeys(aliases)), sector))
    return list(entries.values())


def merge_entries(primary: Iterable[MasterEntry], extra: Iterable[MasterEntry]) -> list[MasterEntry]:
    """``primary`` keeps its names; an ``extra`` entry for the same ticker only adds aliases and an empty sector."""
    merged = {e.ticker: e for e in primary}
    for entry in extra:
        known = merged.get(entry.ticker)
        if known is None:
            merged[entry.ticker] = entry
            continue
        aliases = tuple(dict.fromkeys([*known.aliases, *(a for a in entry.aliases if a != known.name)]))
        merged[entry.ticker] = MasterEntry(known.ticker, known.name, aliases, known.sector or entry.sector, known.cik)
    return sorted(merged.values(), key=lambda e: e.ticker)
