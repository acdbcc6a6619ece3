"""Company NER + linking quality and throughput on the labelled set in bench/data/entities_gold.jsonl.

    python -m bench.entities [--batch-size 32] [--threads 1]

Prints, separately for the demo world and for real 8-K text, mention-level precision/recall/F1 of linked
tickers (a prediction counts when its ticker is right and its span overlaps the gold span) and
sentence-level precision/recall/F1 of the set of tickers per sentence; then throughput of ``nlp.pipe``
batches against one text at a time, as a ratio measured in this process.

The 8-K sentences are not in the repository: each gold line names the filing item and character offsets in
../shared/data/sec_8k_events (or ARGUS_SHARED_DATA) and the SHA-256 of the sentence, and the text is read in
place. Without that folder the 8-K half is skipped with a message.

The company master is the demo master (seed 7) merged with the S&P 500 from pytickersymbols, as
``load_demo_corpus`` builds it, plus Activision Blizzard (an S&P 500 member until October 2023) for the
mislabelled-name case.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import REPO_ROOT, pin_threads, print_table, print_thread_settings

GOLD_PATH = REPO_ROOT / "bench" / "data" / "entities_gold.jsonl"


def shared_data_dir() -> Path:
    return Path(os.environ.get("ARGUS_SHARED_DATA") or REPO_ROOT.parent / "shared" / "data")


@dataclass
class Scores:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, tp: int, fp: int, fn: int) -> None:
        self.tp, self.fp, self.fn = self.tp + tp, self.fp + fp, self.fn + fn

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def company_records() -> list[Any]:
    from fixtures.demo_corpus import build_company_master
    from pipelines.entities import CompanyRecord
    from pipelines.entities.master import MasterEntry, merge_entries, sp500_entries

    demo = [MasterEntry(c.ticker, c.name, tuple(c.aliases), c.sector, c.cik or "") for c in build_company_master()]
    historic = [MasterEntry("ATVI", "Activision Blizzard, Inc.", ("Activision Blizzard", "Activision"))]
    entries = merge_entries(demo, [*sp500_entries(), *historic])
    return [CompanyRecord(e.ticker, e.name, e.aliases, e.cik) for e in entries]


def load_gold() -> tuple[list[dict[str, Any]], str]:
    """Gold rows with their text filled in; the second value says why 8-K rows are missing, if they are."""
    rows = [json.loads(line) for line in GOLD_PATH.read_text(encoding="utf-8").splitlines() if line.strip()]
    sec_rows = [r for r in rows if r["set"] == "sec_8k"]
    source = shared_data_dir() / "sec_8k_events" / "sec_8k_items.jsonl"
    if not source.exists():
        note = f"8-K half skipped: {source} not found (set ARGUS_SHARED_DATA to the shared/data folder)"
        return [r for r in rows if r["set"] != "sec_8k"], note
    items: dict[tuple[str, str], str] = {}
    with source.open(encoding="utf-8") as handle:
        for line in handle:
            item = json.loads(line)
            items.setdefault((item["filename"], item["item"]), item["text"])
    for row in sec_rows:
        ref = row["source"]
        text = items.get((ref["filename"], ref["item"]), "")[ref["start"] : ref["end"]]
        if hashlib.sha256(text.encode()).hexdigest() != ref["sha256"]:
            raise SystemExit(f"8-K sentence changed or missing: {ref['filename']} item {ref['item']} at {ref['start']}")
        row["text"] = text
    return rows, ""


def score(rows: Sequence[dict[str, Any]], results: Sequence[Any]) -> tuple[Scores, Scores, list[str]]:
    mentions, sentences, errors = Scores(), Scores(), []
    for row, result in zip(rows, results, strict=True):
        predicted = [(m.ticker, m.start, m.end, m.text) for m in result.mentions if m.ticker]
        unmatched = list(row["gold"])
        tp = 0
        for ticker, start, end, text in predicted:
            hit = next((g for g in unmatched if g["ticker"] == ticker and start < g["end"] and g["start"] < end), None)
            if hit is None:
                errors.append(f"  FP {ticker:6} {text!r} in: {row['text'][:110]}")
            else:
                unmatched.remove(hit)
                tp += 1
        for g in unmatched:
            errors.append(f"  FN {g['ticker']:6} {row['text'][g['start'] : g['end']]!r} in: {row['text'][:110]}")
        mentions.add(tp, len(predicted) - tp, len(unmatched))
        gold_set = {g["ticker"] for g in row["gold"]}
        predicted_set = {t for t, *_ in predicted}
        sentences.add(len(gold_set & predicted_set), len(predicted_set - gold_set), len(gold_set - predicted_set))
    return mentions, sentences, errors


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--show-errors", action="store_true")
    args = parser.parse_args(argv)
    pin_threads(args.threads)
    print_thread_settings()

    from pipelines.entities import EntityLinker

    started = time.perf_counter()
    linker = EntityLinker(company_records())
    built = time.perf_counter() - started
    print(f"linker: {len(linker.companies)} companies, {len(linker.patterns)} ruler patterns, built in {built:.1f} s")
    print(f"model: {linker.model_name} {linker.model_version}")
    rows, note = load_gold()
    if note:
        print(note)
    texts = [r["text"] for r in rows]
    results = linker.analyse(texts, batch_size=args.batch_size)

    table = []
    for name in ("demo", "sec_8k"):
        subset = [(r, res) for r, res in zip(rows, results, strict=True) if r["set"] == name]
        if not subset:
            continue
        mentions, sentences, errors = score([r for r, _ in subset], [res for _, res in subset])
        gold_count = sum(len(r["gold"]) for r, _ in subset)
        for level, s in (("mention", mentions), ("sentence", sentences)):
            table.append([name, level, len(subset), gold_count, s.tp, s.fp, s.fn,
                          f"{s.precision:.3f}", f"{s.recall:.3f}", f"{s.f1:.3f}"])  # fmt: skip
        if args.show_errors:
            print(f"{name} errors:\n" + "\n".join(errors))
    print_table(["set", "level", "sentences", "gold mentions", "tp", "fp", "fn", "precision", "recall", "F1"], table,
                title="Linked tickers (NER + linking)")  # fmt: skip

    # Throughput: the same texts, batched through nlp.pipe and then one call per text, in this process.
    linker.analyse(texts[:8], batch_size=args.batch_size)  # warm-up
    started = time.perf_counter()
    linker.analyse(texts, batch_size=args.batch_size)
    batched = time.perf_counter() - started
    started = time.perf_counter()
    for text in texts:
        linker.analyse([text])
    single = time.perf_counter() - started
    print_table(
        ["mode", "texts", "seconds", "texts/s"],
        [
            [f"nlp.pipe batch_size={args.batch_size}", len(texts), f"{batched:.2f}", f"{len(texts) / batched:.1f}"],
            ["one at a time", len(texts), f"{single:.2f}", f"{len(texts) / single:.1f}"],
        ],
        title=f"Throughput: batched is {single / batched:.2f}x one-at-a-time",
    )


if __name__ == "__main__":
    main()
