"""python -m pipelines.demo_corpus --out var/demo_corpus --seed 7"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date

from pipelines.demo_corpus import build_company_master, build_demo_corpus, write_demo_corpus


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.demo_corpus", description=__doc__)
    parser.add_argument("--out", default="var/demo_corpus", help="output directory (default: var/demo_corpus)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--companies", type=int, default=32, help="number of companies (default: 32)")
    parser.add_argument("--documents", type=int, default=480, help="number of documents (default: 480)")
    parser.add_argument("--start", type=date.fromisoformat, default=date(2023, 1, 1), help="first date (ISO)")
    parser.add_argument("--end", type=date.fromisoformat, default=date(2024, 12, 31), help="last date (ISO)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    companies = build_company_master(n=args.companies, seed=args.seed)
    corpus = build_demo_corpus(companies, args.documents, args.seed, args.start, args.end)
    manifest = write_demo_corpus(corpus, args.out)
    counts = manifest["counts"]
    sys.stdout.write(
        f"wrote {counts['documents']} documents about {counts['companies']} companies to {args.out} "
        f"(by type {counts['by_type']}, by access {counts['by_access_level']}, "
        f"{counts['risk_events']} risk events) in {time.perf_counter() - started:.1f}s\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
