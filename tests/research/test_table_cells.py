"""Table chunks are stored with their cells, and a cell citation opens the document page at the cell."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.research.models import DocumentChunk
from apps.research.selectors import chunk_page_url, table_cell_for_user
from apps.research.services import document_chunks_replace
from pipelines.chunking import ChunkingOptions, WhitespaceTokenizer
from pipelines.ingest import IngestOptions, ingest_bytes
from tests.conftest import client_for
from tests.pipelines.test_tables import sec_html
from tests.research.test_pages import make_document
from tests.ui.html import find_all, find_one

pytestmark = pytest.mark.django_db


@pytest.fixture
def filing(analyst):
    """A stored document whose long table is split over several table chunks."""
    document = make_document(analyst, title="Acme 10-K 2023")
    options = IngestOptions(chunking=ChunkingOptions(max_tokens=80, overlap_tokens=4))
    ingested = ingest_bytes(sec_html(extra_rows=30), filename="10k.html", options=options,
                            tokenizer=WhitespaceTokenizer()).documents[0]  # fmt: skip
    document_chunks_replace(document=document, ingested=ingested)
    return document


def table_chunks(document) -> list[DocumentChunk]:
    return list(DocumentChunk.objects.filter(document=document, kind="table").order_by("ordinal"))


def test_table_chunks_are_stored_with_kind_cells_and_repeated_headers(filing):
    chunks = table_chunks(filing)
    assert len(chunks) >= 2
    assert DocumentChunk.objects.filter(document=filing, kind="text").exists()
    assert all(not chunk.table for chunk in DocumentChunk.objects.filter(document=filing, kind="text"))
    for chunk in chunks:
        assert chunk.table["parts"] == len(chunks)
        assert chunk.table["title"] in chunk.text  # the stored (indexed) text repeats the title
        for row in chunk.table["rows"]:
            assert row["label"] in chunk.text


def test_a_cell_citation_opens_the_chunk_and_marks_that_cell(analyst, filing):
    chunk = table_chunks(filing)[1]
    row = chunk.table["rows"][2]
    url = chunk_page_url(filing.pk, chunk.chunk_id, cell=f"r{row['index']}c1")
    assert url.endswith(f"&cell=r{row['index']}c1#cell-{chunk.chunk_id}-r{row['index']}c1")

    response = client_for(analyst).get(url)

    assert response.status_code == 200
    cited = find_all(response.content, data_testid="cited-cell")
    assert len(cited) == 1
    (cell,) = cited
    assert cell.attrs["id"] == f"cell-{chunk.chunk_id}-r{row['index']}c1"
    assert cell.text.strip() == row["cells"][1]["text"]
    assert "chunk-table__cited" in cell.attrs["class"]
    # The chunk holding it is the marked one, and shown as a table with its title.
    marked = find_one(response.content, id=f"chunk-{chunk.chunk_id}")
    assert "chunk--cited" in marked.attrs["class"]
    assert find_all(response.content, data_testid="chunk-table")


def test_a_chunk_citation_without_a_cell_marks_no_cell(analyst, filing):
    chunk = table_chunks(filing)[0]
    response = client_for(analyst).get(
        reverse("research:document-detail", args=[filing.pk]), {"chunk": chunk.chunk_id, "cell": "nonsense"}
    )
    assert response.status_code == 200
    assert not find_all(response.content, data_testid="cited-cell")


def test_cell_reference_resolves_to_row_label_column_and_period(analyst, filing):
    chunk = table_chunks(filing)[-1]
    row = chunk.table["rows"][-1]

    cell = table_cell_for_user(analyst, f"{chunk.chunk_id}#r{row['index']}c0")

    assert cell is not None
    assert (cell.document_id, cell.document_title) == (str(filing.pk), "Acme 10-K 2023")
    assert cell.row_label == row["label"]
    assert cell.column_header == "Years ended September 30, 2023"
    assert cell.period["label"] == "FY2023"
    assert cell.value == row["cells"][0]["value"] and cell.scale == "millions" and cell.unit == "$"
    assert cell.table_index == 0
    assert cell.url == chunk_page_url(filing.pk, chunk.chunk_id, cell=f"r{row['index']}c0")
    # A row of another part, a column out of range, a malformed reference: nothing.
    assert table_cell_for_user(analyst, f"{chunk.chunk_id}#r0c0") is None
    assert table_cell_for_user(analyst, f"{chunk.chunk_id}#r{row['index']}c9") is None
    assert table_cell_for_user(analyst, chunk.chunk_id) is None


def test_a_restricted_documents_cell_does_not_resolve_for_an_analyst(analyst, admin_user):
    document = make_document(admin_user, title="Restricted memo", access_level="restricted")
    ingested = ingest_bytes(sec_html(), filename="memo.html", tokenizer=WhitespaceTokenizer()).documents[0]
    document_chunks_replace(document=document, ingested=ingested)
    chunk = table_chunks(document)[0]
    assert table_cell_for_user(admin_user, f"{chunk.chunk_id}#r0c0") is not None
    assert table_cell_for_user(analyst, f"{chunk.chunk_id}#r0c0") is None
