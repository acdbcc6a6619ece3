"""Small PDFs written by hand for tests (no binaries in the repository).

``make_pdf`` lays out each page's lines top to bottom in Helvetica, one text object per line,
which pypdf's text extraction returns as one line each.
"""

from __future__ import annotations

from io import BytesIO


def _escape(text: str) -> bytes:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)").encode("cp1252")


def make_pdf(
    pages: list[list[str]],
    *,
    title: str | None = None,
    outline: list[tuple[str, int]] | None = None,
    top: int = 760,
    line_height: int = 14,
) -> bytes:
    """A PDF with one page per entry of ``pages`` ([] makes a page without any text)."""
    page_count = len(pages)
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"",  # pages tree, filled below
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    kids = []
    for lines in pages:
        stream = b"".join(
            b"BT /F1 10 Tf 72 %d Td (%s) Tj ET\n" % (top - i * line_height, _escape(line))
            for i, line in enumerate(lines)
        )
        if not lines:
            stream = b"0.5 g 72 72 400 600 re f\n"  # a drawing but no text, like a scanned page
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
        content_number = len(objects)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents %d 0 R "
            b"/Resources << /Font << /F1 3 0 R >> >> >>" % content_number
        )
        kids.append(len(objects))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % k for k in kids),
        page_count,
    )
    out = BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    data = out.getvalue()
    if title is not None or outline:
        data = _rewrite(data, title=title, outline=outline or [])
    return data


def _rewrite(data: bytes, *, title: str | None, outline: list[tuple[str, int]]) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(BytesIO(data)))
    if title is not None:
        writer.add_metadata({"/Title": title, "/Author": "Jane Q. Analyst"})
    for text, page_index in outline:
        writer.add_outline_item(title=text, page_number=page_index)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def encrypt_pdf(data: bytes, *, user_password: str = "", owner_password: str = "owner") -> bytes:
    """RC4-128 (pypdf's built-in fallback; AES would need the cryptography package)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(BytesIO(data)))
    writer.encrypt(user_password=user_password, owner_password=owner_password, algorithm="RC4-128")
    out = BytesIO()
    writer.write(out)
    return out.getvalue()
