"""Which format a file is: the declared type (extension, content type) checked against the bytes.

The declaration decides between the text formats (a ``.md`` file is Markdown even though Markdown
cannot be sniffed); the bytes have the last word on binaries: a ``.pdf`` must start like a PDF,
and a PDF or a binary file is never accepted under a text declaration.
"""

from __future__ import annotations

import codecs
import json
import re
from pathlib import PurePosixPath

from pipelines.documents import DocumentFormat
from pipelines.parsing.errors import EmptyDocument, InvalidEncoding, TypeMismatch, UnsupportedType

EXTENSIONS: dict[str, DocumentFormat] = {
    ".pdf": DocumentFormat.PDF,
    ".html": DocumentFormat.HTML,
    ".htm": DocumentFormat.HTML,
    ".xhtml": DocumentFormat.HTML,
    ".txt": DocumentFormat.TEXT,
    ".text": DocumentFormat.TEXT,
    ".md": DocumentFormat.MARKDOWN,
    ".markdown": DocumentFormat.MARKDOWN,
    ".jsonl": DocumentFormat.JSONL,
    ".ndjson": DocumentFormat.JSONL,
    ".jsonlines": DocumentFormat.JSONL,
}
CONTENT_TYPES: dict[str, DocumentFormat] = {
    "application/pdf": DocumentFormat.PDF,
    "application/x-pdf": DocumentFormat.PDF,
    "text/html": DocumentFormat.HTML,
    "application/xhtml+xml": DocumentFormat.HTML,
    "text/plain": DocumentFormat.TEXT,
    "text/markdown": DocumentFormat.MARKDOWN,
    "text/x-markdown": DocumentFormat.MARKDOWN,
    "application/jsonl": DocumentFormat.JSONL,
    "application/x-jsonl": DocumentFormat.JSONL,
    "application/jsonlines": DocumentFormat.JSONL,
    "application/x-jsonlines": DocumentFormat.JSONL,
    "application/json-lines": DocumentFormat.JSONL,
    "application/x-ndjson": DocumentFormat.JSONL,
    "application/ndjson": DocumentFormat.JSONL,
    "application/json": DocumentFormat.JSONL,  # what browsers send for .jsonl; the lines are checked anyway
}
GENERIC_CONTENT_TYPES = {"", "application/octet-stream", "binary/octet-stream", "application/unknown"}

# Leading bytes of binary formats people upload by mistake.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a ZIP archive (docx, xlsx, pptx or zip)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "a legacy Office document (doc, xls, ppt)"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"{\\rtf", "an RTF document"),
    (b"\x7fELF", "an executable"),
    (b"MZ", "an executable"),
)
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_HTML_START = re.compile(rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body|\?xml)", re.IGNORECASE | re.DOTALL)
_HTML_TAGS = re.compile(rb"<(?:html|head|body|div|p|h[1-6]|table|span|br|title|meta)[\s>/]", re.IGNORECASE)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:\-]+)""", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9_.:\-]+)""", re.IGNORECASE)


def split_content_type(content_type: str | None) -> tuple[str, str | None]:
    """``"text/html; charset=ISO-8859-1"`` -> ``("text/html", "ISO-8859-1")``."""
    if not content_type:
        return "", None
    mime, _, params = content_type.partition(";")
    charset = None
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip("\"'")
    return mime.strip().lower(), charset


def _bom_encoding(data: bytes) -> str | None:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return encoding
    return None


def binary_kind(data: bytes) -> str | None:
    """A description of a binary (non-PDF) file, or None when the bytes can be text."""
    for magic, description in _MAGIC:
        if data.startswith(magic):
            return description
    if _bom_encoding(data) in {"utf-16", "utf-32"}:
        return None
    if b"\x00" in data[:8192]:
        return "a binary file"
    return None


def is_pdf(data: bytes) -> bool:
    # The PDF spec lets "%PDF-" appear within the first 1024 bytes (some generators prepend junk).
    return b"%PDF-" in data[:1024]


def sniff(data: bytes) -> DocumentFormat | str:
    """The format the bytes look like; a description string for unsupported binaries."""
    if is_pdf(data):
        return DocumentFormat.PDF
    binary = binary_kind(data)
    if binary:
        return binary
    head = data[:4096]
    bom = _bom_encoding(head)
    if bom in {"utf-16", "utf-32"}:
        head = head.decode(bom, errors="ignore").encode("utf-8")
    elif bom:
        head = head[len(codecs.BOM_UTF8) :]
    if _HTML_START.match(head) or len(_HTML_TAGS.findall(head)) >= 3:
        return DocumentFormat.HTML
    first_line = next((line.strip() for line in head.splitlines() if line.strip()), b"")
    if first_line.startswith(b"{") and first_line.endswith(b"}"):
        try:
            if isinstance(json.loads(first_line), dict):
                return DocumentFormat.JSONL
        except ValueError:
            pass
    return DocumentFormat.TEXT


def file_extension(filename: str | None) -> str:
    """``"Q3 report.PDF"`` -> ``".pdf"``; a ``#fragment`` is ignored (``"batch.jsonl#L3"`` -> ``".jsonl"``)."""
    if not filename:
        return ""
    suffix = PurePosixPath(filename.replace("\\", "/")).suffix.lower()
    return suffix.split("#", 1)[0]


def detect_format(data: bytes, *, filename: str | None = None, content_type: str | None = None) -> DocumentFormat:
    """Resolve the format of an upload or raise ``UnsupportedType`` / ``TypeMismatch`` / ``EmptyDocument``."""
    if not data.strip():
        raise EmptyDocument("The file is empty.")
    extension = file_extension(filename)
    mime, _ = split_content_type(content_type)
    by_extension = EXTENSIONS.get(extension)
    if extension and by_extension is None:
        raise UnsupportedType(
            f"Files of type '{extension}' are not supported; upload PDF, HTML, plain text, Markdown or JSON lines.",
            {"extension": extension},
        )
    by_content_type = CONTENT_TYPES.get(mime)
    if by_extension is None and mime not in GENERIC_CONTENT_TYPES and by_content_type is None:
        raise UnsupportedType(f"Content type '{mime}' is not supported.", {"content_type": mime})
    declared = by_extension or by_content_type
    sniffed = sniff(data)
    if declared is DocumentFormat.PDF:
        if sniffed is not DocumentFormat.PDF:
            raise TypeMismatch(
                f"The file is declared as a PDF but its content is not a PDF ({_describe(sniffed)}).",
                {"declared": "pdf", "found": str(sniffed)},
            )
        return DocumentFormat.PDF
    if sniffed is DocumentFormat.PDF:
        if declared is None:
            return DocumentFormat.PDF
        raise TypeMismatch(
            f"The file is declared as {declared.value} but its content is a PDF; upload it with a .pdf name.",
            {"declared": declared.value, "found": "pdf"},
        )
    if not isinstance(sniffed, DocumentFormat):
        if declared is not None:
            raise TypeMismatch(
                f"The file is declared as {declared.value} but its content is {sniffed}.",
                {"declared": declared.value, "found": sniffed},
            )
        raise UnsupportedType(f"Unsupported file: its content is {sniffed}.", {"found": sniffed})
    return declared or sniffed


def _describe(found: DocumentFormat | str) -> str:
    if isinstance(found, DocumentFormat):
        return f"it looks like {found.value}"
    return f"it is {found}"


def declared_charset(data: bytes, content_type: str | None, *, markup: bool = False) -> str | None:
    """The charset the sender declared: the content type first, then (HTML) a meta tag or XML declaration."""
    _, charset = split_content_type(content_type)
    if charset or not markup:
        return charset
    head = data[:4096]
    match = _XML_ENCODING.match(head) or _META_CHARSET.search(head)
    return match.group(1).decode("ascii") if match else None


def decode_text(data: bytes, *, charset: str | None = None) -> str:
    """Decode text: a byte-order mark wins, then UTF-8, then the declared charset; otherwise refuse.

    No guessing beyond that: a wrong guess (latin-1 decodes anything) would index mojibake silently.
    """
    bom = _bom_encoding(data)
    if bom:
        try:
            return data.decode(bom)
        except UnicodeDecodeError as exc:
            raise InvalidEncoding(f"The file starts with a {bom} byte-order mark but is not valid {bom}.") from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as utf8_error:
        if not charset or _is_utf8(charset):
            raise InvalidEncoding(
                f"The file is not valid UTF-8 (invalid byte at offset {utf8_error.start}) and declares no other "
                "charset; save it as UTF-8 or declare its charset.",
                {"offset": utf8_error.start},
            ) from utf8_error
    try:
        codec = codecs.lookup(charset)
    except LookupError as exc:
        raise InvalidEncoding(f"The declared charset '{charset}' is unknown.", {"charset": charset}) from exc
    try:
        return data.decode(codec.name)
    except UnicodeDecodeError as exc:
        raise InvalidEncoding(
            f"The file is neither valid UTF-8 nor valid {charset} (invalid byte at offset {exc.start}).",
            {"charset": charset, "offset": exc.start},
        ) from exc


def _is_utf8(charset: str) -> bool:
    try:
        return codecs.lookup(charset).name == "utf-8"
    except LookupError:
        return False
