"""bench/risk_pipeline.py in quick mode, over a tiny 8-K file: the report's structure, not its figures."""

from __future__ import annotations

import json
import re

from bench import risk_pipeline
from bench.risk_pipeline import PipelineArticle, demo_linker, main, process_articles

FILER = {"cik": "999001", "company": "ACME WIDGETS INC", "ticker": "ACMW"}
ROWS = [
    {**FILER, "filing_date": "2021-03-01", "item": "9.01", "risk_relevant": False,
     "text": "Item 9.01 Financial Statements and Exhibits. Exhibit 99.1 Press release."},
    {**FILER, "filing_date": "2021-03-08", "item": "1.03", "risk_relevant": True,
     "text": "On March 8, 2021, Acme Widgets Inc. filed a voluntary petition under Chapter 11 of the "
             "Bankruptcy Code."},
    {**FILER, "filing_date": "2021-03-09", "item": "5.02", "risk_relevant": True,
     "text": "On March 9, 2021, the Chief Financial Officer of Acme Widgets Inc. resigned."},
]  # fmt: skip


def test_bench_constants_match_the_app():
    from apps.risk import monitoring

    assert risk_pipeline.WINDOW_DAYS == monitoring.WINDOW_DAYS
    # Counterfactuals: both call pipelines.risk.scoring.top_article_counterfactuals with its defaults.


def test_batched_and_single_article_processing_give_the_same_signals():
    from datetime import UTC, datetime

    from fixtures.demo_corpus import build_company_master

    companies = build_company_master(n=6, seed=7)
    linker = demo_linker(companies)
    when = datetime(2023, 5, 2, 9, tzinfo=UTC)
    articles = [
        PipelineArticle(f"a{i}", when, f"{c.name} shares fell", f"{c.name} was downgraded by Moody's. Sales rose.")
        for i, c in enumerate(companies)
    ]

    batched = process_articles(linker, articles, batch_size=32)
    single = [p for a in articles for p in process_articles(linker, [a], batch_size=1)]

    assert [p.signals for p in batched] == [p.signals for p in single]
    assert all(c.ticker in {t for s in p.signals for t in s.tickers} for c, p in zip(companies, batched, strict=True))
    assert any(hit.event_type.value == "rating_downgrade" for p in batched for hit in p.text_events)


def test_quick_run_prints_every_section(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "sec_8k_events"
    folder.mkdir()
    (folder / "sec_8k_items.jsonl").write_text("\n".join(json.dumps(r) for r in ROWS) + "\n", encoding="utf-8")
    monkeypatch.setenv("ARGUS_SHARED_DATA", str(tmp_path))

    assert main(["--quick"]) == 0

    printed = capsys.readouterr().out
    assert re.search(r"torch\.get_num_threads\(\)\s+1\b", printed)
    assert "sentiment model: " in printed
    assert re.search(r"batched / one at a time = \d+\.\d+x articles/s \(same signals per article: True\)", printed)
    assert re.search(r"Full rescore: 50 companies x 5 days", printed)
    assert re.search(r"\+ leave-one-out counterfactuals .* \d+\.\dx plain scoring", printed)
    assert re.search(r"warning: detected \d+/\d+", printed)
    assert re.search(r"false alerts >= watch on \d+ quiet companies", printed)
    assert "neighbour contribution from" in printed
    # a Chapter 11 item alone must put its filer on watch that day (scoring.py: about 68, a warning)
    assert re.search(r"^\s+1\.03\s+default\s+critical\s+critical\s+1\s+1 \(100%\)", printed, re.MULTILINE)
    assert re.search(r"on routine-only days \(2\.02, 7\.01, 8\.01, 9\.01\): 0 of 1 days", printed)
    # the 9.01 item names no company: two of three
    assert re.search(r"NER: filer linked in the item text \(title excluded\) in 2/3 items", printed)
