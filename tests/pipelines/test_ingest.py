"""The whole chain, bytes to chunks: redaction happens before chunking, offsets hold end to end."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import pytest

from pipelines.chunking import ChunkingOptions
from pipelines.documents import DocumentFormat
from pipelines.ingest import PIPELINE_VERSION, IngestOptions, ingest_bytes, ingest_document
from pipelines.parsing import DocumentRejected, MalformedJsonl, parse
from pipelines.redaction import RedactionPolicy
from tests.pipelines.conftest import REPO_ROOT
from tests.pipelines.pdf_factory import make_pdf

PII = ["jane.doe@acme.com", "+44 20 7946 0958", "GB82 WEST 1234 5698 7654 32", "4111 1111 1111 1111", "123-45-6789"]
SMALL = IngestOptions(chunking=ChunkingOptions(max_tokens=48, overlap_tokens=8))


SECTIONS = ["Business Overview", "Risk Factors", "Results of Operations", "Market Risk"]


def pdf_with_pii() -> bytes:
    pages = []
    for number in range(1, 5):
        pages.append([
            "ACME Corp Research | Confidential",
            f"Item {number}. {SECTIONS[number - 1]}",
            f"Revenue in segment {number} grew {number * 3}.5% to ${number},250 million, and the analyst",
            f"responsible, reachable at {PII[number - 1]}, expects margins of {10 + number}% in 2024.",
            f"Client account details on file: {PII[number]}.",
            f"Page {number} of 4",
        ])  # fmt: skip
    return make_pdf(pages, title="ACME research note")


def all_exposed_text(item) -> str:
    document = item.document
    paths = [" ".join(b.section_path) for b in document.blocks]
    return "\n".join([document.text, document.title or "", json.dumps(document.metadata), *paths,
                      *(c.text for c in item.chunks)])  # fmt: skip


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (pdf_with_pii(), "note.pdf"),
        (("<h1>Note</h1><p>" + " ".join(PII) + " revenue $5 million</p>").encode(), "note.html"),
        (("# Note\n\n" + "\n\n".join(PII) + "\n\nMargin 12%.").encode(), "note.md"),
        (("NOTE\n\n" + " ; ".join(PII) + " and 2023 revenue of $1,234,567.").encode(), "note.txt"),
        (json.dumps({"text": " ".join(PII) + " EPS $0.42", "ticker": "ACME"}).encode(), "batch.jsonl"),
    ],
)
def test_no_pii_reaches_chunks_in_any_format(data, filename, words):
    result = ingest_bytes(data, filename=filename, options=SMALL, tokenizer=words)
    assert result.documents
    for item in result.documents:
        exposed = all_exposed_text(item)
        for value in PII:
            if value in data.decode("utf-8", errors="ignore"):
                assert value not in exposed, (filename, value)
        assert item.redactions and all(r.value_hash and len(r.value_hash) == 64 for r in item.redactions)
        assert item.pipeline_version == PIPELINE_VERSION
        for chunk in item.chunks:
            assert item.document.text[chunk.start : chunk.end] == chunk.text
            assert chunk.token_count <= 48


def test_pdf_ingest_keeps_pages_sections_and_numbers(words):
    item = ingest_bytes(pdf_with_pii(), filename="note.pdf", options=SMALL, tokenizer=words).documents[0]
    assert item.document.format is DocumentFormat.PDF and item.document.title == "ACME research note"
    assert "Confidential" not in item.document.text and "Page 2 of 4" not in item.document.text
    sections = {c.section_title for c in item.chunks}
    titles = [f"Item {n}. {SECTIONS[n - 1]}" for n in range(1, 5)]
    assert sections == set(titles)
    for number, title in enumerate(titles, start=1):
        assert next((c.page_start, c.page_end) for c in item.chunks if c.section_title == title) == (number, number)
    text = "\n".join(c.text for c in item.chunks)
    for number in range(1, 5):
        assert f"{number * 3}.5%" in text and f"${number},250 million" in text
    # Page n names PII[n - 1] and PII[n].
    assert item.redaction_counts == {"email": 1, "phone": 2, "iban": 2, "card": 2, "national_id": 1}
    assert item.settings == {"tokenizer": "whitespace", "max_tokens": 48, "overlap_tokens": 8,
                             "max_chars": 2000, "redact_person_names": False}  # fmt: skip


def test_redaction_log_offsets_point_into_the_cleaned_text(words):
    parsed = parse(pdf_with_pii(), filename="note.pdf").documents[0]
    item = ingest_document(parsed, options=SMALL, tokenizer=words)
    for entry in (r for r in item.redactions if r.field == "text"):
        assert item.document.text[entry.redacted_start : entry.redacted_end] == entry.replacement


def test_person_names_are_redacted_when_the_document_policy_says_so(words):
    data = b"Analyst note\n\nOur analyst Sarah Connor raised the target to $210; Peter Parker disagreed."
    plain = ingest_bytes(data, filename="n.txt", tokenizer=words).documents[0]
    assert "Sarah Connor" in plain.document.text
    options = IngestOptions(redaction=RedactionPolicy(redact_person_names=True))
    named = ingest_bytes(data, filename="n.txt", options=options, tokenizer=words).documents[0]
    assert "Sarah Connor" not in all_exposed_text(named) and "Peter Parker" not in all_exposed_text(named)
    assert "$210" in named.chunks[0].text and named.redaction_counts == {"person": 2}


def test_chunk_ids_are_stable_across_runs_and_follow_the_content_hash(words):
    first = ingest_bytes(pdf_with_pii(), filename="a.pdf", options=SMALL, tokenizer=words).documents[0]
    second = ingest_bytes(pdf_with_pii(), filename="b.pdf", options=SMALL, tokenizer=words).documents[0]
    assert [c.chunk_id for c in first.chunks] == [c.chunk_id for c in second.chunks]
    assert first.content_sha256 == second.content_sha256 and first.source_sha256 == second.source_sha256


def test_jsonl_batch_is_refused_whole_by_default_and_partially_on_request(words):
    data = b'{"text": "Good line about $5 revenue."}\n{"text": ""}\n{"text": "Another good line."}\n'
    with pytest.raises(MalformedJsonl) as caught:
        ingest_bytes(data, filename="b.jsonl", tokenizer=words)
    assert [e.line_number for e in caught.value.line_errors] == [2]
    partial = ingest_bytes(data, filename="b.jsonl", tokenizer=words,
                           options=dataclasses.replace(SMALL, allow_partial_batches=True))  # fmt: skip
    assert [d.document.line_number for d in partial.documents] == [1, 3]
    assert [(e.line_number, e.reason_code) for e in partial.errors] == [(2, "empty_text")]


def test_jsonl_line_left_empty_by_cleaning_is_a_line_error(words):
    data = b'{"text": "Real text here."}\n{"text": "........\\n-------"}\n'
    with pytest.raises(MalformedJsonl) as caught:
        ingest_bytes(data, filename="b.jsonl", tokenizer=words)
    assert [(e.line_number, e.reason_code) for e in caught.value.line_errors] == [(2, "empty_document")]
    partial = ingest_bytes(data, filename="b.jsonl", tokenizer=words,
                           options=IngestOptions(allow_partial_batches=True))  # fmt: skip
    assert len(partial.documents) == 1 and partial.errors[0].line_number == 2


def test_a_single_document_left_empty_by_cleaning_is_rejected(words):
    with pytest.raises(DocumentRejected) as caught:
        ingest_bytes(b"<p>-----------</p><p>...........</p>", filename="a.html", tokenizer=words)
    assert caught.value.reason_code == "empty_document"


def test_default_tokenizer_is_the_embedding_models():
    item = ingest_bytes(b"Revenue rose 12% to $5 million.", filename="a.txt").documents[0]
    assert item.settings["tokenizer"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert item.chunks[0].token_count == 11  # [CLS] revenue rose 12 % to $ 5 million . [SEP]


IMPORT_CHECK = """
import sys
from pipelines.ingest import ingest_bytes, IngestOptions
from pipelines.chunking import WhitespaceTokenizer
import pipelines.parsing.pdf, pipelines.parsing.html
ingest_bytes(b"Revenue rose. Contact a@b.com", filename="a.txt", tokenizer=WhitespaceTokenizer())
heavy = sorted(m for m in ("torch", "transformers", "sentence_transformers", "spacy", "django") if m in sys.modules)
print(",".join(heavy))
"""


def test_pipeline_imports_no_model_libraries_and_no_django():
    proc = subprocess.run(
        [sys.executable, "-c", IMPORT_CHECK], capture_output=True, text=True, timeout=120, cwd=REPO_ROOT
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "", f"heavy imports: {proc.stdout}"


def test_a_json_line_with_one_huge_unbroken_text_is_split_like_any_text(words):
    # Once a 15 MB line became a single 15,000,000-character chunk of 3 tokens.
    text = "Lead paragraph. " + "Z" * 300_000 + " closing words."
    data = (json.dumps({"title": "Huge", "text": text}) + "\n").encode()
    [item] = ingest_bytes(data, filename="huge.jsonl", tokenizer=words).documents
    limit = IngestOptions().chunking.max_chars
    assert len(item.chunks) >= 300_000 // limit
    assert max(len(chunk.text) for chunk in item.chunks) <= limit
    content = "".join(chunk.text[chunk.content_start - chunk.start :] for chunk in item.chunks)
    assert content.replace(" ", "") == item.document.text.replace(" ", "")
