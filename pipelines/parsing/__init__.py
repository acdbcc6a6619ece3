"""Parsing: uploaded bytes -> ``ParsedDocument`` (one, or one per line of a JSON lines batch).

    result = parse(data, filename="q3.pdf", content_type="application/pdf")
    result.documents   # tuple[ParsedDocument, ...]
    result.errors      # tuple[LineError, ...], JSON lines only

Every refusal is a ``DocumentRejected`` with a stable ``reason_code``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from pathlib import PurePosixPath

from pipelines.documents import DocumentFormat, LineError, ParsedDocument, build_document
from pipelines.parsing.detect import declared_charset, decode_text, detect_format
from pipelines.parsing.errors import (
    DocumentRejected,
    EmptyDocument,
    EncryptedPdf,
    FileTooLarge,
    InvalidEncoding,
    MalformedJsonl,
    NoTextLayer,
    TooManyDocuments,
    TooManyPages,
    TypeMismatch,
    UnreadableDocument,
    UnsupportedType,
)

__all__ = [
    "DocumentRejected",
    "EmptyDocument",
    "EncryptedPdf",
    "FileTooLarge",
    "InvalidEncoding",
    "MalformedJsonl",
    "NoTextLayer",
    "ParseLimits",
    "ParseResult",
    "TooManyDocuments",
    "TooManyPages",
    "TypeMismatch",
    "UnreadableDocument",
    "UnsupportedType",
    "detect_format",
    "parse",
]

MEGABYTE = 1024 * 1024


@dataclass(frozen=True)
class ParseLimits:
    max_bytes: int = 20 * MEGABYTE
    max_pages: int = 500
    max_batch_documents: int = 10_000


@dataclass(frozen=True)
class ParseResult:
    format: DocumentFormat
    documents: tuple[ParsedDocument, ...]
    errors: tuple[LineError, ...] = ()

    def raise_for_errors(self) -> None:
        """Refuse a batch with any bad line (the caller then stores nothing)."""
        if self.errors:
            bad = len(self.errors)
            raise MalformedJsonl(
                f"{bad} of {bad + len(self.documents)} lines are invalid; first: {self.errors[0].message}",
                self.errors,
            )


def _title_fallback(filename: str | None) -> str | None:
    if not filename:
        return None
    stem = PurePosixPath(filename.replace("\\", "/")).stem
    return " ".join(stem.replace("_", " ").replace("-", " ").split()) or None


def parse(
    data: bytes,
    *,
    filename: str | None = None,
    content_type: str | None = None,
    limits: ParseLimits = ParseLimits(),
) -> ParseResult:
    """Detect the format, check the limits and parse; raise ``DocumentRejected`` on a refused file.

    A JSON lines batch whose lines are all bad raises ``MalformedJsonl``; one with some good lines
    returns them with ``errors`` set (call ``raise_for_errors()`` to refuse it as a whole).
    """
    if len(data) > limits.max_bytes:
        raise FileTooLarge(
            f"The file is {len(data) / MEGABYTE:.1f} MB; the limit is {limits.max_bytes / MEGABYTE:.0f} MB.",
            {"bytes": len(data), "limit": limits.max_bytes},
        )
    document_format = detect_format(data, filename=filename, content_type=content_type)
    source_sha256 = hashlib.sha256(data).hexdigest()
    try:
        if document_format is DocumentFormat.JSONL:
            documents, errors = _parse_jsonl(data, limits=limits, filename=filename)
            return ParseResult(document_format, tuple(documents), tuple(errors))
        document = _parse_single(data, document_format, content_type=content_type, limits=limits, filename=filename)
    except RecursionError as exc:  # pathologically nested markup
        raise UnreadableDocument("The file is nested too deeply to be read.") from exc
    return ParseResult(document_format, (replace(document, source_sha256=source_sha256),))


def _parse_jsonl(
    data: bytes, *, limits: ParseLimits, filename: str | None
) -> tuple[list[ParsedDocument], list[LineError]]:
    from pipelines.parsing.jsonl import parse_jsonl

    documents, errors = parse_jsonl(data, max_documents=limits.max_batch_documents, source_name=filename)
    if not documents:
        if errors:
            raise MalformedJsonl(f"No valid line in the batch; first: {errors[0].message}", errors)
        raise EmptyDocument("The batch has no documents.")
    return documents, errors


def _parse_single(
    data: bytes, document_format: DocumentFormat, *, content_type: str | None, limits: ParseLimits, filename: str | None
) -> ParsedDocument:
    common = {"source_name": filename}
    if document_format is DocumentFormat.PDF:
        from pipelines.parsing.pdf import pdf_to_blocks

        pdf = pdf_to_blocks(data, max_pages=limits.max_pages)
        document = build_document(
            pdf.drafts, format=document_format, title=pdf.title, metadata=pdf.metadata, page_count=pdf.page_count,
            **common,
        )  # fmt: skip
        if not document.blocks:
            raise NoTextLayer("The PDF has no text besides page numbers and running headers.")
    elif document_format in (DocumentFormat.HTML, DocumentFormat.MARKDOWN):
        from pipelines.parsing.html import html_to_blocks, markdown_to_blocks

        is_html = document_format is DocumentFormat.HTML
        text = decode_text(data, charset=declared_charset(data, content_type, markup=is_html))
        content = html_to_blocks(text) if is_html else markdown_to_blocks(text)
        document = build_document(content.drafts, format=document_format, title=content.title,
                                  metadata=content.metadata, **common)  # fmt: skip
    else:
        from pipelines.parsing.text import guess_title, text_to_blocks

        text = decode_text(data, charset=declared_charset(data, content_type))
        drafts = text_to_blocks(text)
        document = build_document(drafts, format=document_format, title=guess_title(drafts), **common)
    if not document.blocks:
        raise EmptyDocument("No text was found in the file.")
    if document.title is None:
        return replace(document, title=_title_fallback(filename))
    return document
