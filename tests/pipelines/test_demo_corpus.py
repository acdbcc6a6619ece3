"""The demo corpus generator: deterministic, real companies, consistent numbers, planted ground truth."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import warnings
from collections import defaultdict
from datetime import date
from pathlib import Path

import pytest

from pipelines.demo_corpus import (
    ACCESS_LEVELS,
    DOC_TYPES,
    RISK_EVENT_TYPES,
    SEVERITIES,
    DemoCorpus,
    build_company_master,
    build_demo_corpus,
    generate_demo_corpus,
    quarterly_financials,
    write_demo_corpus,
)
from pipelines.demo_corpus.__main__ import main as cli_main
from pipelines.demo_corpus.companies import DEFAULT_AS_OF, RATING_SCALE, REFERENCE_YEAR
from pipelines.demo_corpus.people import FIRST_NAMES, SURNAMES

REPO_ROOT = Path(__file__).resolve().parents[2]
PATTERN_PII = ("email", "phone", "iban", "account")


@pytest.fixture(scope="module")
def corpus() -> DemoCorpus:
    """The default corpus, as the zero-setup run builds it."""
    return build_demo_corpus(build_company_master(seed=7), seed=7)


@pytest.fixture(scope="module")
def documents(corpus: DemoCorpus) -> list:
    return corpus.documents


def parse_money_musd(text: str) -> float:
    """ "$94.9 billion" / "$9,311 million" / "1,575" (a $ millions table cell) -> $ millions."""
    number = float(re.sub(r"[^\d.]", "", text.split(" ")[0]))
    if text.endswith("billion"):
        return number * 1000
    return number


def printed_tolerance(name: str, text: str) -> float:
    """How far a printed figure may be from the planted value, given how it was rounded."""
    if name == "net_debt_to_ebitda":
        return 0.051
    if name.endswith("_pct") or name == "eps_diluted":
        return 0.0051
    if text.endswith("billion"):
        return 50.1 if "." in text and len(text.split(".")[1].split(" ")[0]) == 1 else 5.1
    return 0.51


def iban_mod97_ok(iban: str) -> bool:
    compact = iban.replace(" ", "")
    return int("".join(str(int(ch, 36)) for ch in compact[4:] + compact[:4])) % 97 == 1


# --- determinism ------------------------------------------------------------------------------------


def test_same_seed_writes_byte_identical_files(corpus: DemoCorpus, tmp_path: Path) -> None:
    first = write_demo_corpus(corpus, tmp_path / "first")
    rebuilt = build_demo_corpus(build_company_master(seed=7), seed=7)
    second = write_demo_corpus(rebuilt, tmp_path / "second")

    for name in ("companies.json", "documents.jsonl", "manifest.json"):
        assert (tmp_path / "first" / name).read_bytes() == (tmp_path / "second" / name).read_bytes(), name
    documents_bytes = (tmp_path / "first" / "documents.jsonl").read_bytes()
    assert first["files"]["documents.jsonl"]["sha256"] == hashlib.sha256(documents_bytes).hexdigest()
    assert first == second
    assert first["seed"] == 7
    assert first["generator_version"]


def test_another_seed_gives_another_corpus() -> None:
    small_a = generate_demo_corpus(build_company_master(n=12, seed=7), n_documents=80, seed=7)
    small_b = generate_demo_corpus(build_company_master(n=12, seed=8), n_documents=80, seed=8)
    assert {d.text for d in small_a}.isdisjoint({d.text for d in small_b})


def test_cli_output_matches_the_library_and_is_reproducible(tmp_path: Path) -> None:
    args = ["--seed", "3", "--companies", "20", "--documents", "300"]
    subprocess.run(
        [sys.executable, "-m", "pipelines.demo_corpus", "--out", str(tmp_path / "cli"), *args],
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
    )
    assert cli_main(["--out", str(tmp_path / "in_process"), *args]) == 0

    for name in ("companies.json", "documents.jsonl", "manifest.json"):
        assert (tmp_path / "cli" / name).read_bytes() == (tmp_path / "in_process" / name).read_bytes(), name
    manifest = json.loads((tmp_path / "cli" / "manifest.json").read_text())
    lines = (tmp_path / "cli" / "documents.jsonl").read_text(encoding="utf-8").splitlines()
    assert manifest["counts"]["documents"] == len(lines) == 300
    assert manifest["counts"]["companies"] == 20
    assert len(json.loads((tmp_path / "cli" / "companies.json").read_text())) == 20


def test_generator_imports_no_django() -> None:
    code = "import sys, pipelines.demo_corpus; assert not any(m.startswith('django') for m in sys.modules)"
    subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, check=True)


# --- counts -----------------------------------------------------------------------------------------


def test_default_corpus_has_the_promised_breadth(corpus: DemoCorpus) -> None:
    documents = corpus.documents
    assert len(corpus.companies) >= 30
    assert len({c.sector for c in corpus.companies}) >= 8
    assert len(documents) >= 400
    assert {d.doc_type for d in documents} == set(DOC_TYPES)
    assert {d.access_level for d in documents} == set(ACCESS_LEVELS)
    levels = [d.access_level for d in documents]
    assert levels.count("public") > len(levels) * 0.7  # most documents are public
    assert 0 < levels.count("restricted") < len(levels) * 0.1  # a few restricted memos
    assert all(corpus.start_date <= d.published <= corpus.end_date for d in documents)
    assert (max(d.published for d in documents) - min(d.published for d in documents)).days > 600
    assert {d.ticker for d in documents} == {c.ticker for c in corpus.companies}
    assert len({d.doc_id for d in documents}) == len(documents)


@pytest.mark.parametrize("n_documents", [25, 150])
def test_exactly_the_requested_number_of_documents(n_documents: int) -> None:
    companies = build_company_master(n=20, seed=11)
    documents = generate_demo_corpus(companies, n_documents=n_documents, seed=11)
    assert len(documents) == n_documents
    assert len({d.doc_id for d in documents}) == n_documents


@pytest.mark.parametrize(
    ("start", "end"), [(date(2024, 1, 1), date(2024, 3, 1)), (date(2019, 1, 1), date(2020, 12, 31))]
)
def test_unusable_date_ranges_are_refused(start: date, end: date) -> None:
    with pytest.raises(ValueError, match=r"dates must|six months"):
        generate_demo_corpus(build_company_master(n=12, seed=1), n_documents=50, start_date=start, end_date=end)


def test_restricted_documents_are_memos_and_internal_ones_are_house_research(documents: list) -> None:
    for doc in documents:
        if doc.access_level == "restricted":
            assert doc.planted["kind"] in {"credit-memo", "credit-review", "mna-screen"}
            assert "RESTRICTED" in doc.text
        elif doc.access_level == "internal":
            assert doc.source.startswith("Argus")
            assert doc.doc_type in {"report", "other"}


# --- real companies ---------------------------------------------------------------------------------


def test_companies_are_real_sp500_members_with_their_source_names(corpus: DemoCorpus) -> None:
    import pitindex
    from pytickersymbols import PyTickerSymbols

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        members = pitindex.get_constituents(DEFAULT_AS_OF, "sp500").set_index("ticker")
    listed = {s["symbol"] for s in PyTickerSymbols().get_stocks_by_index("S&P 500") if s.get("symbol")}
    for company in corpus.companies:
        assert company.ticker in members.index, company.ticker
        row = members.loc[company.ticker]
        assert company.source_name == row["name"]
        assert company.sector == row["gics_sector"]
        assert company.sub_industry == row["gics_sub_industry"]
        assert company.ticker in listed or company.ticker.replace(".", "-") in listed
        assert {company.name, company.short_name, company.ticker} <= set(company.aliases)


def test_company_profiles_agree_with_their_quarters(corpus: DemoCorpus) -> None:
    for company in corpus.companies:
        quarters = {q.period: q for q in quarterly_financials(company)}
        year = [quarters[f"{REFERENCE_YEAR}Q{i}"] for i in range(1, 5)]
        assert company.revenue_musd == sum(q.revenue_musd for q in year) == year[-1].fy_revenue_musd
        assert company.ebitda_musd == sum(q.ebitda_musd for q in year)
        assert 0 < company.ebitda_margin_pct < company.gross_margin_pct < 100
        assert company.net_debt_musd == year[-1].net_debt_musd
        assert company.market_cap_musd == pytest.approx(company.shares_outstanding_m * company.share_price_usd, abs=1)
        assert company.credit_rating in RATING_SCALE
        for q in quarters.values():
            assert q.gross_profit_musd / q.revenue_musd * 100 == pytest.approx(q.gross_margin_pct, abs=0.051)
            assert q.net_debt_musd == q.total_debt_musd - q.cash_musd
            assert q.net_debt_to_ebitda == pytest.approx(q.net_debt_musd / q.ltm_ebitda_musd, abs=0.0051)
            assert q.period_end < q.earnings_date <= q.filing_date
            assert q.next_quarter_guidance_low_musd < q.next_quarter_guidance_high_musd


def test_stressed_companies_deteriorate_through_the_corpus(corpus: DemoCorpus) -> None:
    stressed = [c for c in corpus.companies if c.credit_profile == "stressed"]
    assert len(stressed) >= 2
    for company in stressed:
        quarters = corpus.financials[company.ticker]
        assert quarters[-1].net_debt_to_ebitda > quarters[0].net_debt_to_ebitda
        assert quarters[-1].ebitda_margin_pct < quarters[0].ebitda_margin_pct


# --- numbers consistent across documents ------------------------------------------------------------


def test_printed_figures_match_the_planted_metrics(documents: list) -> None:
    checked = 0
    for doc in documents:
        metrics, printed = doc.planted["metrics"], doc.planted["metrics_text"]
        for name, text in printed.items():
            assert text in doc.text, (doc.doc_id, name, text)
            value = abs(metrics[name])
            shown = parse_money_musd(text) if name.endswith("_musd") else float(re.sub(r"[^\d.]", "", text))
            assert shown == pytest.approx(value, abs=printed_tolerance(name, text)), (doc.doc_id, name, text)
            checked += 1
    assert checked > 1000


def test_documents_about_the_same_company_quarter_report_the_same_numbers(corpus: DemoCorpus) -> None:
    by_period = defaultdict(list)
    for doc in corpus.documents:
        if doc.planted["metrics"]:
            by_period[(doc.ticker, doc.planted["metrics"]["period"])].append(doc)
    quarters = {(q.ticker, q.period): q for qs in corpus.financials.values() for q in qs}
    multi_type = 0
    for (ticker, period), docs in by_period.items():
        truth = quarters[(ticker, period)].key_metrics()
        for doc in docs:
            planted = doc.planted["metrics"]
            assert {k: planted[k] for k in truth} == truth, doc.doc_id
            if "revenue_musd" in doc.planted["metrics_text"]:
                shown = parse_money_musd(doc.planted["metrics_text"]["revenue_musd"])
                assert shown == pytest.approx(truth["revenue_musd"], abs=50.1)
        multi_type += len({d.doc_type for d in docs}) >= 3
    assert multi_type >= 30


def test_annual_report_fourth_quarter_revenue_equals_the_earnings_call(documents: list) -> None:
    tenk = {(d.ticker, d.planted["period"]): d for d in documents if "Form 10-K" in d.title}
    calls = {(d.ticker, d.planted["period"]): d for d in documents if d.doc_type == "transcript"}
    pairs = sorted(set(tenk) & set(calls))
    assert pairs, "no company-year has both a 10-K excerpt and a fourth-quarter call"
    for key in pairs:
        filing, call = tenk[key], calls[key]
        revenue = filing.planted["metrics"]["revenue_musd"]
        assert f"${revenue:,} million" in filing.text  # filing style
        assert call.planted["metrics"]["revenue_musd"] == revenue
        assert parse_money_musd(call.planted["metrics_text"]["revenue_musd"]) == pytest.approx(revenue, abs=50.1)
        fy_total = filing.planted["metrics"]["fy_revenue_musd"]
        assert f"${fy_total:,} million" in filing.text
        assert call.planted["metrics"]["fy_revenue_musd"] == fy_total


# --- planted risk events ----------------------------------------------------------------------------


def test_every_risk_event_type_is_planted_with_metadata(corpus: DemoCorpus) -> None:
    events = {e.event_id: e for e in corpus.events}
    assert {e.event_type for e in corpus.events} == set(RISK_EVENT_TYPES)
    for event in corpus.events:
        assert event.severity in SEVERITIES
        assert corpus.start_date <= event.date <= corpus.end_date
        primary = [
            d
            for d in corpus.documents
            if any(r["event_id"] == event.event_id and r["role"] == "primary" for r in d.planted["risk_events"])
        ]
        assert len(primary) == 1, event.event_id
        story = primary[0]
        assert story.doc_type == "news" and story.published == event.date and story.ticker == event.ticker
        assert story.planted["sentiment"]["polarity"] == "negative"
        company = next(c for c in corpus.companies if c.ticker == event.ticker)
        assert any(alias in story.text for alias in company.aliases)
    for doc in corpus.documents:
        for planted in doc.planted["risk_events"]:
            event = events[planted["event_id"]]
            assert (planted["type"], planted["ticker"], planted["date"], planted["severity"]) == (
                event.event_type,
                event.ticker,
                event.date.isoformat(),
                event.severity,
            )
            if planted["role"] != "precursor":
                assert doc.published >= event.date, doc.doc_id


def test_credit_events_follow_the_numbers(corpus: DemoCorpus) -> None:
    stressed = {c.ticker for c in corpus.companies if c.credit_profile == "stressed"}
    for event in corpus.events:
        if event.event_type in ("default", "liquidity_stress"):
            assert event.ticker in stressed
        if event.event_type == "downgrade":
            assert RATING_SCALE.index(event.details["to_rating"]) > RATING_SCALE.index(event.details["from_rating"])
    default = next(e for e in corpus.events if e.event_type == "default")
    earlier = [e for e in corpus.events if e.ticker == default.ticker and e.date < default.date]
    assert {"liquidity_stress", "downgrade"} <= {e.event_type for e in earlier}


def test_risk_events_reach_filings_memos_and_counterparties(documents: list) -> None:
    roles = defaultdict(set)
    for doc in documents:
        for planted in doc.planted["risk_events"]:
            roles[planted["role"]].add(doc.doc_type)
    assert "filing" in roles["filing"]  # 8-K current reports
    assert "other" in roles["assessment"]  # credit committee memos
    assert "filing" in roles["mention"] and "transcript" in roles["mention"]
    assert roles["exposure"] == {"news"}
    memos = [d for d in documents if d.planted["kind"] == "credit-memo"]
    assert memos and all(d.access_level == "restricted" and d.planted["risk_events"] for d in memos)


def test_sentiment_is_planted_and_both_polarities_occur(documents: list) -> None:
    polarities = {d.planted["sentiment"]["polarity"] for d in documents}
    assert polarities == {"positive", "neutral", "negative"}
    for doc in documents:
        sentiment = doc.planted["sentiment"]
        assert -1 <= sentiment["score"] <= 1
        expected = "positive" if sentiment["score"] > 0.15 else "negative" if sentiment["score"] < -0.15 else "neutral"
        assert sentiment["polarity"] == expected


# --- relationships and entities ---------------------------------------------------------------------


def test_every_supply_link_is_written_into_some_document(corpus: DemoCorpus) -> None:
    assert len(corpus.links) >= len(corpus.companies)
    aliases = {c.ticker: c.aliases for c in corpus.companies}
    covered = set()
    for doc in corpus.documents:
        mentioned = {e["ticker"] for e in doc.planted["entities"]}
        for link in doc.planted["relationships"]:
            assert {link["supplier"], link["customer"]} <= mentioned, doc.doc_id
            for ticker in (link["supplier"], link["customer"]):
                assert any(alias in doc.text or alias in doc.title for alias in aliases[ticker])
            covered.add((link["supplier"], link["customer"]))
    assert covered == {(link.supplier, link.customer) for link in corpus.links}


def test_entity_mentions_are_in_the_text(documents: list) -> None:
    for doc in documents:
        assert doc.planted["entities"][0]["ticker"] == doc.ticker
        for entity in doc.planted["entities"]:
            assert entity["mentions"], doc.doc_id
            for form in entity["mentions"]:
                assert form in doc.text or form in doc.title, (doc.doc_id, form)


# --- PII ------------------------------------------------------------------------------------------


def test_synthetic_pii_is_planted_in_some_documents(documents: list) -> None:
    with_pattern_pii = [d for d in documents if any(p["kind"] in PATTERN_PII for p in d.planted["pii"])]
    assert 0.1 * len(documents) < len(with_pattern_pii) < 0.6 * len(documents)
    kinds = {p["kind"] for d in documents for p in d.planted["pii"]}
    assert kinds == {"email", "phone", "iban", "account", "person"}
    for doc in documents:
        for pii in doc.planted["pii"]:
            assert pii["value"] in doc.text, (doc.doc_id, pii)
            if pii["kind"] == "email":
                assert pii["value"].endswith(".example")
            elif pii["kind"] == "phone":
                assert re.fullmatch(r"(\+1 )?\(\d{3}\) 555-01\d\d|\+44 20 7946 0\d{3}", pii["value"])
            elif pii["kind"] == "iban":
                assert iban_mod97_ok(pii["value"])
            elif pii["kind"] == "person":
                first, last = pii["value"].split(" ", 1)
                assert first in FIRST_NAMES and last in SURNAMES  # fictional people only


def test_redaction_removes_every_planted_value_and_nothing_else(documents: list) -> None:
    from pipelines.redaction import redact_text

    for doc in documents:
        planted = [p["value"] for p in doc.planted["pii"] if p["kind"] in PATTERN_PII]
        result = redact_text(doc.text)
        for value in planted:
            assert value not in result.text, (doc.doc_id, value)
        for redaction in result.redactions:
            removed = doc.text[redaction.start : redaction.end]
            assert any(removed in value or value in removed for value in planted), (doc.doc_id, removed)


# --- text shape -------------------------------------------------------------------------------------


def test_filings_reports_and_transcripts_are_markdown_with_sections(documents: list) -> None:
    from pipelines.parsing.html import markdown_to_blocks

    structured = [d for d in documents if d.doc_type in ("filing", "report", "transcript")]
    for doc in structured:
        assert doc.text_format == "markdown"
        assert doc.text.startswith("# ")
        assert re.search(r"^## \S", doc.text, re.MULTILINE), doc.doc_id
    for doc in structured[::15]:
        headings = [b for b in markdown_to_blocks(doc.text).drafts if b.kind.value == "heading"]
        assert len(headings) >= 3, doc.doc_id
    for doc in documents:
        if doc.doc_type == "news":
            assert doc.text_format == "text"
            assert not re.search(r"^#", doc.text, re.MULTILINE)
            assert doc.text.count("\n\n") >= 2  # paragraphs


def test_texts_are_varied(documents: list) -> None:
    assert len({d.title for d in documents}) > 0.95 * len(documents)
    assert len({d.text for d in documents}) == len(documents)
    for doc_type in DOC_TYPES:
        # The wording without names and numbers: templates must vary, not just the values filled in.
        skeletons = [re.sub(r"[A-Z][\w&.'-]*|\d", "", d.text) for d in documents if d.doc_type == doc_type]
        assert len(set(skeletons)) > 0.9 * len(skeletons), doc_type


def test_documents_jsonl_is_a_valid_ingest_batch(corpus: DemoCorpus, tmp_path: Path) -> None:
    from pipelines.parsing.jsonl import parse_jsonl

    write_demo_corpus(corpus, tmp_path)
    lines = (tmp_path / "documents.jsonl").read_bytes().splitlines(keepends=True)
    sample = b"".join(lines[::8])
    parsed, errors = parse_jsonl(sample, max_documents=1000, source_name="documents.jsonl")
    assert errors == []
    assert len(parsed) == len(lines[::8])
    for raw, document in zip(lines[::8], parsed, strict=True):
        record = json.loads(raw)
        assert document.metadata["ticker"] == record["ticker"]
        assert document.metadata["type"] == record["type"] in DOC_TYPES
        assert document.metadata["date"] == record["date"]
        found = {**document.metadata.get("extra", {}), **document.metadata}
        assert found["access_level"] == record["access_level"]
        assert found["doc_id"] == record["doc_id"]
        assert date.fromisoformat(record["date"])
