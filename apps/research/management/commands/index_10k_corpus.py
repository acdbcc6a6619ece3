"""Index the real 10-K filings from ../shared/data into a running instance.

The data is read where it lies (``ARGUS_SHARED_DATA``), never copied into the
repository. Each filing becomes one public ``10-K`` document whose items
("ITEM 1.", "ITEM 7." ...) are its sections, with its fiscal year taken from the
period of report (index.csv's ``period_of_report``): the FY2009 10-K of a 52/53-week
year ending on 3 January 2010 is fiscal 2009.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.research.models import DocumentType
from apps.research.services import DuplicateDocument, UploadMetadata, company_upsert, documents_upload
from pipelines.query import fiscal_year_for_period_end

DEFAULT_ITEMS = ("item_1", "item_1A", "item_7", "item_7A", "item_8")


class Command(BaseCommand):
    help = "Queue the 62 real 10-K filings of ../shared/data/sec_10k_items for ingestion."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--items", default=",".join(DEFAULT_ITEMS), help="comma-separated item keys, or 'all'")
        parser.add_argument("--limit", type=int, default=0, help="index only the first N filings")

    def handle(self, *args, **options) -> None:
        source = Path(settings.ARGUS_SHARED_DATA) / "sec_10k_items" / "edgar_crawler_10k_items.jsonl"
        if not source.exists():
            raise CommandError(f"{source} not found: set ARGUS_SHARED_DATA to the shared data folder.")
        queued = skipped = 0
        with source.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                if options["limit"] and number > options["limit"]:
                    break
                filing = json.loads(line)
                keys = (
                    [k for k in filing if k.startswith("item_")]
                    if options["items"] == "all"
                    else options["items"].split(",")
                )
                body = "\n\n".join(filing[k].strip() for k in keys if (filing.get(k) or "").strip())
                if not body:
                    continue
                ticker = (filing.get("ticker") or f"CIK{filing['cik']}").upper()
                period_end = _date(filing["period_of_report"]) if filing.get("period_of_report") else None
                company_upsert(ticker=ticker, name=filing["company"].title(), cik=str(filing["cik"]))
                try:
                    documents_upload(
                        uploader=None,
                        filename=f"{filing['filename'].rsplit('.', 1)[0]}.txt",
                        content_type="text/plain",
                        data=body.encode("utf-8"),
                        meta=UploadMetadata(
                            ticker=ticker,
                            doc_type=DocumentType.FORM_10K,
                            title=f"{filing['company'].title()} 10-K {filing['filing_date'][:4]}",
                            source=f"SEC EDGAR {filing['filename']}",
                            published_on=_date(filing["filing_date"]),
                            access_level="public",
                            extra={"cik": filing["cik"], "period_of_report": filing.get("period_of_report", "")},
                            fiscal_year=fiscal_year_for_period_end(period_end) if period_end else None,
                            fiscal_period="FY" if period_end else "",
                            period_end=period_end,
                        ),
                        actor_label="system:10k-corpus",
                    )
                    queued += 1
                except DuplicateDocument:
                    skipped += 1
        self.stdout.write(f"10-K corpus: {queued} filings queued for ingestion, {skipped} already present.")


def _date(value: str):
    import datetime as dt

    return dt.date.fromisoformat(value[:10])
