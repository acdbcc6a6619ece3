"""Why a file was refused: one exception family with a stable, machine-readable reason code.

The Django side shows ``message`` to the uploader and stores ``reason_code`` on the failed
document; ``to_dict()`` is the API error body.
"""

from __future__ import annotations

from typing import Any


class DocumentRejected(Exception):
    """A file the ingest pipeline refuses. ``reason_code`` never changes for a given cause."""

    reason_code: str = "rejected"

    def __init__(self, reason_code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.reason_code = reason_code
        self.message = message
        self.details = dict(details or {})

    def to_dict(self) -> dict[str, Any]:
        return {"reason": self.reason_code, "message": self.message, "details": self.details}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.reason_code!r}, {self.message!r})"


class _FixedReason(DocumentRejected):
    reason_code = "rejected"

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(type(self).reason_code, message, details)


class FileTooLarge(_FixedReason):
    reason_code = "file_too_large"


class TooManyPages(_FixedReason):
    reason_code = "too_many_pages"


class TooManyDocuments(_FixedReason):
    """A JSON lines batch with more documents than the batch limit."""

    reason_code = "too_many_documents"


class UnsupportedType(_FixedReason):
    reason_code = "unsupported_type"


class TypeMismatch(_FixedReason):
    """The declared type (extension or content type) and the bytes disagree, e.g. a ``.pdf`` that is HTML."""

    reason_code = "type_mismatch"


class EmptyDocument(_FixedReason):
    reason_code = "empty_document"


class NoTextLayer(EmptyDocument):
    """A PDF whose pages carry no extractable text (typically a scan without OCR)."""

    reason_code = "no_text_layer"


class UnreadableDocument(_FixedReason):
    reason_code = "unreadable_document"


class EncryptedPdf(_FixedReason):
    reason_code = "encrypted_pdf"


class InvalidEncoding(_FixedReason):
    reason_code = "invalid_encoding"


class MalformedJsonl(_FixedReason):
    """A JSON lines batch with bad lines; ``line_errors`` says which line and why."""

    reason_code = "malformed_jsonl"

    def __init__(self, message: str, line_errors: list[Any] | tuple[Any, ...] = ()) -> None:
        self.line_errors = tuple(line_errors)
        super().__init__(message, {"line_errors": [error.to_dict() for error in self.line_errors]})
