"""Company-master entries from packaged lists (pytickersymbols' S&P 500) and SEC ticker/CIK files, as plain records."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

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


# --- SEC CIKs -------------------------------------------------------------------------------------

_CIK_COLUMNS = ("cik", "cik_str", "cik_number")
_NAME_COLUMNS = ("name", "title", "company", "company_name", "conformed_name")
_TICKER_COLUMNS = ("ticker", "symbol")


def _sec_name(name: str) -> str:
    """SEC index files shout ("SANDISK CORP") and append the state ("SPACEHAB INC \\WA\\"); company_tickers.json
    does not ("Apple Inc.")."""
    name = re.sub(r"\s*\\[A-Za-z]{2,3}\\?\s*$", "", " ".join(name.split()))
    return name.title() if name.isupper() else name


def _sec_entry(ticker: Any, cik: Any, name: Any) -> MasterEntry | None:
    cik_text = str(cik or "").strip().lstrip("0")
    name_text = _sec_name(str(name or ""))
    if not cik_text.isdigit() or not name_text:
        return None
    # A filer without a listed ticker gets "CIK<number>", as index_10k_corpus names it, so its documents link.
    symbol = str(ticker or "").strip().upper().replace("-", ".") or f"CIK{cik_text}"
    aliases = tuple(a for a in dict.fromkeys([short_company_name(name_text)]) if a != name_text)
    return MasterEntry(symbol, name_text, aliases, "", cik_text)


def sec_entries_from_file(path: Any) -> list[MasterEntry]:
    """Entries of an SEC ticker/CIK list: ``company_tickers.json`` ({"0": {"cik_str", "ticker", "title"}}),
    ``company_tickers_exchange.json`` ({"fields": [...], "data": [[...]]}), or a CSV with ticker, cik and name
    columns (``cik_str``/``title`` spellings accepted). Rows without a CIK or name are skipped."""
    import csv
    import json
    from pathlib import Path

    path = Path(path)
    rows: list[dict[str, Any]]
    if path.suffix.lower() == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and "fields" in data and "data" in data:
            rows = [dict(zip(data["fields"], row, strict=False)) for row in data["data"]]
        elif isinstance(data, dict):
            rows = list(data.values())
        else:
            rows = list(data)
    else:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
    entries = []
    for row in rows:
        lowered = {str(k).strip().lower(): v for k, v in row.items()}

        def first(names: tuple[str, ...], values: dict[str, Any] = lowered) -> Any:
            return next((values[n] for n in names if values.get(n) not in (None, "")), "")

        entry = _sec_entry(first(_TICKER_COLUMNS), first(_CIK_COLUMNS), first(_NAME_COLUMNS))
        if entry is not None:
            entries.append(entry)
    return _first_per_ticker(entries)


def sec_entries_from_shared_data(shared_dir: Any) -> list[MasterEntry]:
    """The filers of the shared 10-K index (``sec_10k_items/index.csv``) and 8-K items (``sec_8k_events``)."""
    import json
    from pathlib import Path

    base = Path(shared_dir)
    entries: list[MasterEntry] = []
    index = base / "sec_10k_items" / "index.csv"
    if index.exists():
        entries += sec_entries_from_file(index)
    events = base / "sec_8k_events" / "sec_8k_items.jsonl"
    if events.exists():
        with events.open(encoding="utf-8") as lines:
            for line in lines:
                row = json.loads(line)
                entry = _sec_entry(row.get("ticker"), row.get("cik"), row.get("company"))
                if entry is not None:
                    entries.append(entry)
    return _first_per_ticker(entries)


def _first_per_ticker(entries: Iterable[MasterEntry]) -> list[MasterEntry]:
    """One entry per ticker (the first), and one per CIK for filers without a ticker."""
    seen: dict[str, MasterEntry] = {}
    for entry in entries:
        seen.setdefault(entry.ticker, entry)
    return sorted(seen.values(), key=lambda e: e.ticker)
