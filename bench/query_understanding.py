"""Company detection in questions (pipelines.query) on the 10-K retrieval questions.

    python -m bench.query_understanding

Each question of bench/data/retrieval_eval_10k.jsonl names the filer it is about (its ``company`` /
filename CIK). The master is what ``import_company_master --sp500 --sec-shared`` builds: the S&P 500
(pytickersymbols) and the filers of the shared 10-K index and 8-K items (ARGUS_SHARED_DATA). A question
counts as right when the detected tickers are exactly the filer's; "wrong company" when any other
company is detected (the case the answer guard exists for); "none" when nothing is detected, where
search then runs without a company filter.

These questions were written by the project itself, with the company's name in them: a ceiling, not the
held-out figure. Prints the counts, then a few misses to read.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

from bench.common import REPO_ROOT
from pipelines.entities.master import merge_entries, sec_entries_from_shared_data, sp500_entries
from pipelines.query import CompanyMatcher, MasterCompany, understand_query

QUESTIONS = REPO_ROOT / "bench" / "data" / "retrieval_eval_10k.jsonl"


def main() -> None:
    shared = Path(os.environ.get("ARGUS_SHARED_DATA") or REPO_ROOT.parent / "shared" / "data")
    filers = sec_entries_from_shared_data(shared)
    if not filers:
        print(f"shared data not found at {shared}: set ARGUS_SHARED_DATA")
        return
    entries = merge_entries(sp500_entries(), filers)
    matcher = CompanyMatcher(MasterCompany(e.ticker, e.name, e.aliases) for e in entries)
    ticker_by_cik = {e.cik: e.ticker for e in filers}
    counts = {"right": 0, "wrong company": 0, "none": 0}
    misses: list[str] = []
    rows = [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]

    for row in rows:
        gold = ticker_by_cik.get(row["filename"].split("_", 1)[0])
        found = set(understand_query(row["question"], matcher, as_of=dt.date(2024, 1, 1)).tickers)
        if found == {gold}:
            counts["right"] += 1
        elif found - {gold}:
            counts["wrong company"] += 1
            misses.append(f"  wrong {sorted(found)} (gold {gold}): {row['question']}")
        else:
            counts["none"] += 1
            misses.append(f"  none (gold {gold}): {row['question']}")
    total = len(rows)
    print(f"{total} questions, master of {len(matcher)} companies")
    for name, count in counts.items():
        print(f"  {name:14s} {count:4d}  {count / total:.3f}")
    print("first misses:")
    for line in misses[:12]:
        print(line)


if __name__ == "__main__":
    main()
