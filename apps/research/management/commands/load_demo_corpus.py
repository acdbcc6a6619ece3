"""Build the demo research corpus with the repository's generator and ingest it (idempotent)."""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.research.services import (
    DuplicateDocument,
    UploadMetadata,
    company_master_import_sp500,
    company_upsert,
    documents_upload,
)
from fixtures.demo_corpus import build_company_master, build_demo_corpus, write_demo_corpus


class Command(BaseCommand):
    help = "Generate the demo corpus under var/demo_corpus and queue it for ingestion."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--documents", type=int, default=480)
        parser.add_argument("--out", default=str(Path(settings.VAR_DIR) / "demo_corpus"))

    def handle(self, *args, **options) -> None:
        if settings.IS_PRODUCTION:
            raise CommandError("The demo corpus is for the zero-setup run, not production.")
        out = Path(options["out"])
        companies = build_company_master(seed=options["seed"])
        corpus = build_demo_corpus(companies, n_documents=options["documents"], seed=options["seed"])
        manifest = write_demo_corpus(corpus, out)
        for company in json.loads((out / "companies.json").read_text()):
            company_upsert(
                ticker=company["ticker"],
                name=company["name"],
                aliases=company.get("aliases", []),
                sector=company.get("sector", ""),
                cik=str(company.get("cik", "")).lstrip("0"),
            )
        # After the demo companies, so their names stay; the rest of the S&P 500 gives the entity linker
        # the names a document may mention besides its own company.
        company_master_import_sp500()
        data = (out / "documents.jsonl").read_bytes()
        try:
            result = documents_upload(
                uploader=None,
                filename="demo-corpus.jsonl",
                content_type="application/x-ndjson",
                data=data,
                meta=UploadMetadata(source="Argus demo corpus"),
                actor_label="system:demo-corpus",
            )
        except DuplicateDocument:
            self.stdout.write("Demo corpus already loaded.")
            return
        self.stdout.write(
            f"Demo corpus: {len(result.documents)} documents about {len(companies)} companies queued "
            f"for ingestion (job {result.job.pk}); generator {manifest['generator_version']}, seed {manifest['seed']}"
        )
