"""The ingest chain: bytes -> parse -> clean -> redact -> chunk, in plain data.

    result = ingest_bytes(data, filename="q3.pdf", content_type="application/pdf",
                          options=IngestOptions(redaction=RedactionPolicy(redact_person_names=True)))
    for item in result.documents:
        item.chunks        # embed chunk.text; store chunk.chunk_id as the point id
        item.redactions    # the redaction log for the audit trail
        item.document      # cleaned + redacted text, blocks, title, metadata

Only redacted text leaves this module: ``IngestedDocument.document``, its title, metadata and
section paths, and every chunk come from the redacted document.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from pipelines.chunking import Chunk, ChunkingOptions, Tokenizer, chunk_document, content_hash, minilm_tokenizer
from pipelines.cleaning import clean_document
from pipelines.documents import DocumentFormat, LineError, ParsedDocument
from pipelines.parsing import ParseLimits, ParseResult, parse
from pipelines.parsing.errors import EmptyDocument
from pipelines.redaction import Redaction, RedactionPolicy, redact_document

# Recorded with every ingested document; bump when parsing, cleaning, redaction or chunking
# change their output so that the index can tell which documents need re-ingesting.
PIPELINE_VERSION = "argus-ingest/3"  # 2: chunks bounded in characters too; 3: table chunks with cells


@dataclass(frozen=True)
class IngestOptions:
    limits: ParseLimits = field(default_factory=ParseLimits)
    redaction: RedactionPolicy = field(default_factory=RedactionPolicy)
    chunking: ChunkingOptions = field(default_factory=ChunkingOptions)
    allow_partial_batches: bool = False  # JSON lines: refuse the whole batch when a line is bad


@dataclass(frozen=True)
class IngestedDocument:
    document: ParsedDocument  # cleaned and redacted; chunk offsets point into document.text
    redactions: tuple[Redaction, ...]
    chunks: tuple[Chunk, ...]
    content_sha256: str  # of document.text: the chunk ids derive from it
    source_sha256: str  # of the uploaded bytes (of the line, for a JSON lines batch member)
    pipeline_version: str = PIPELINE_VERSION
    settings: dict[str, Any] = field(default_factory=dict)  # tokenizer and bounds used

    @property
    def redaction_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for redaction in self.redactions:
            counts[redaction.kind.value] = counts.get(redaction.kind.value, 0) + 1
        return counts


@dataclass(frozen=True)
class IngestResult:
    format: DocumentFormat
    documents: tuple[IngestedDocument, ...]
    errors: tuple[LineError, ...] = ()  # bad JSON lines (only with allow_partial_batches)


def ingest_document(
    parsed: ParsedDocument, *, options: IngestOptions = IngestOptions(), tokenizer: Tokenizer | None = None
) -> IngestedDocument:
    """Clean, redact and chunk one parsed document."""
    cleaned = clean_document(parsed)
    if not cleaned.blocks:
        raise EmptyDocument("No text is left after cleaning (only boilerplate, page numbers or separators).")
    redacted = redact_document(cleaned, options.redaction)
    document = redacted.document
    text_hash = content_hash(document.text)
    chunks = chunk_document(document, options=options.chunking, tokenizer=tokenizer, document_key=text_hash)
    settings = {
        "tokenizer": (tokenizer or minilm_tokenizer()).name,
        "max_tokens": options.chunking.max_tokens,
        "overlap_tokens": options.chunking.overlap_tokens,
        "max_chars": options.chunking.max_chars,
        "redact_person_names": options.redaction.redact_person_names,
    }
    return IngestedDocument(
        document=document,
        redactions=redacted.redactions,
        chunks=tuple(chunks),
        content_sha256=text_hash,
        source_sha256=parsed.source_sha256 or hashlib.sha256(parsed.text.encode("utf-8")).hexdigest(),
        settings=settings,
    )


def ingest_bytes(
    data: bytes,
    *,
    filename: str | None = None,
    content_type: str | None = None,
    options: IngestOptions = IngestOptions(),
    tokenizer: Tokenizer | None = None,
) -> IngestResult:
    """Parse an upload and ingest every document in it; raises ``DocumentRejected`` on a refused file."""
    parsed = parse(data, filename=filename, content_type=content_type, limits=options.limits)
    if not options.allow_partial_batches:
        parsed.raise_for_errors()
    documents: list[IngestedDocument] = []
    errors = list(parsed.errors)
    for item in parsed.documents:
        try:
            documents.append(ingest_document(item, options=options, tokenizer=tokenizer))
        except EmptyDocument as exc:
            if item.line_number is None:
                raise
            errors.append(LineError(item.line_number, exc.reason_code, f"line {item.line_number}: {exc.message}"))
    result = ParseResult(parsed.format, tuple(item.document for item in documents), tuple(errors))
    if not options.allow_partial_batches or not documents:
        result.raise_for_errors()
    return IngestResult(format=parsed.format, documents=tuple(documents), errors=tuple(errors))
