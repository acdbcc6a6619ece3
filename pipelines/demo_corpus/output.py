"""Writes a corpus to disk: companies.json, documents.jsonl and manifest.json, byte-for-byte reproducible."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

from pipelines.demo_corpus.companies import CompanyProfile
from pipelines.demo_corpus.corpus import ACCESS_LEVELS, DOC_TYPES, DemoCorpus

GENERATOR = "argus-demo-corpus"
GENERATOR_VERSION = "1.0.0"  # bump when the same seed would produce different output


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, default=str) + "\n"


def company_record(company: CompanyProfile, financials: list[Any]) -> dict[str, Any]:
    record = asdict(company)
    record.pop("simulation")
    record["aliases"] = list(company.aliases)
    record["suppliers"] = list(company.suppliers)
    record["customers"] = list(company.customers)
    record["quarters"] = [
        {
            **asdict(q),
            "period_end": q.period_end.isoformat(),
            "earnings_date": q.earnings_date.isoformat(),
            "filing_date": q.filing_date.isoformat(),
        }
        for q in financials
    ]
    return record


def write_demo_corpus(corpus: DemoCorpus, out_dir: Path | str) -> dict[str, Any]:
    """Write the three files into ``out_dir`` (created if needed) and return the manifest."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    documents = "".join(
        json.dumps(doc.to_json_dict(), ensure_ascii=False, separators=(",", ":"), default=str) + "\n"
        for doc in corpus.documents
    ).encode("utf-8")
    companies = _json([company_record(c, corpus.financials.get(c.ticker, [])) for c in corpus.companies]).encode(
        "utf-8"
    )
    (out / "documents.jsonl").write_bytes(documents)
    (out / "companies.json").write_bytes(companies)
    by_type = Counter(d.doc_type for d in corpus.documents)
    by_access = Counter(d.access_level for d in corpus.documents)
    manifest = {
        "generator": GENERATOR,
        "generator_version": GENERATOR_VERSION,
        "seed": corpus.seed,
        "start_date": corpus.start_date.isoformat(),
        "end_date": corpus.end_date.isoformat(),
        "counts": {
            "companies": len(corpus.companies),
            "sectors": len({c.sector for c in corpus.companies}),
            "documents": len(corpus.documents),
            "by_type": {t: by_type.get(t, 0) for t in DOC_TYPES},
            "by_access_level": {a: by_access.get(a, 0) for a in ACCESS_LEVELS},
            "risk_events": len(corpus.events),
            "risk_events_by_type": dict(sorted(Counter(e.event_type for e in corpus.events).items())),
            "supply_links": len(corpus.links),
            "documents_with_pii": sum(1 for d in corpus.documents if d.planted["pii"]),
        },
        "files": {
            "documents.jsonl": {"sha256": hashlib.sha256(documents).hexdigest(), "bytes": len(documents)},
            "companies.json": {"sha256": hashlib.sha256(companies).hexdigest(), "bytes": len(companies)},
        },
        "risk_events": [e.to_dict() for e in corpus.events],
        "supply_links": [asdict(link) for link in corpus.links],
    }
    (out / "manifest.json").write_text(_json(manifest), encoding="utf-8")
    return manifest
