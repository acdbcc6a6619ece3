"""A computed figure in an answer: code does the arithmetic on stored table cells, each operand cites its cell."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest

from apps.research.models import DocumentChunk
from apps.research.selectors import answer_for_job
from apps.research.services import document_chunks_replace
from gpu_workers.tasks.answers import computed_figure
from gpu_workers.tasks.reports import passages_for_chunks
from pipelines.chunking import WhitespaceTokenizer
from pipelines.ingest import ingest_bytes
from pipelines.tables import find_cell, parse_cell_ref
from tests.conftest import client_for
from tests.pipelines.test_tables import sec_html
from tests.research.test_pages import make_document

pytestmark = pytest.mark.django_db
LEVELS = ["public", "internal", "restricted"]
QUESTION = "What was the percentage change in Services net sales from 2022 to 2023?"


@pytest.fixture
def filing(analyst):
    document = make_document(analyst, title="Acme 10-K 2023")
    ingested = ingest_bytes(sec_html(), filename="10k.html", tokenizer=WhitespaceTokenizer()).documents[0]
    document_chunks_replace(document=document, ingested=ingested)
    return document


def chunk_ids(document) -> list[str]:
    return list(DocumentChunk.objects.filter(document=document).order_by("ordinal").values_list("chunk_id", flat=True))


def test_growth_is_computed_from_the_two_cells_and_each_operand_addresses_its_cell(filing):
    passages, _ = passages_for_chunks(chunk_ids(filing), LEVELS)

    figure = computed_figure(QUESTION, passages)

    assert figure is not None and figure["kind"] == "growth"
    assert Decimal(figure["value"]).quantize(Decimal("0.01")) == Decimal("9.05")  # (85,200 - 78,129) / 78,129
    assert "85,200" in figure["formula"] and "78,129" in figure["formula"]
    cells = []
    for operand in figure["operands"]:
        chunk_id, address = parse_cell_ref(operand["cell"])
        table = DocumentChunk.objects.get(chunk_id=chunk_id).table
        cells.append(find_cell(table, address))
    assert {c["row_label"] for c in cells} == {"Services"}
    assert sorted(Decimal(str(c["value"])) for c in cells) == [Decimal("78129"), Decimal("85200")]


def test_no_figure_when_the_question_needs_none(filing):
    passages, _ = passages_for_chunks(chunk_ids(filing), LEVELS)
    assert computed_figure("What are the main risks to the business?", passages) is None


def test_the_answer_shows_the_figure_with_links_that_open_each_cell(filing, analyst):
    passages, _ = passages_for_chunks(chunk_ids(filing), LEVELS)
    figure = computed_figure(QUESTION, passages)
    hits = [{"chunk_id": p.chunk_id, "score": 1.0 / (i + 1)} for i, p in enumerate(passages)]
    job = SimpleNamespace(
        params={"question": QUESTION, "retrieval": {"query": QUESTION}},
        status="succeeded",
        result={"hits": hits, "method": "extractive-fallback", "computed": figure},
    )

    answer = answer_for_job(analyst, job)

    assert answer.computed["formula"] == figure["formula"]
    for operand in answer.computed["operands"]:
        assert f"cell={operand['cell'].partition('#')[2]}" in operand["url"]
        page = client_for(analyst).get(operand["url"])
        assert page.status_code == 200 and b'data-testid="cited-cell"' in page.content


def test_a_figure_from_a_cell_the_reader_may_not_see_is_dropped(filing, analyst):
    passages, _ = passages_for_chunks(chunk_ids(filing), LEVELS)
    figure = computed_figure(QUESTION, passages)
    job = SimpleNamespace(
        params={"question": QUESTION, "retrieval": {"query": QUESTION}},
        status="succeeded",
        result={"hits": [], "method": "extractive-fallback", "computed": figure},
    )
    assert answer_for_job(analyst, job).computed is None


def test_the_answer_card_shows_value_formula_and_cell_links(filing, analyst, rf):
    from django.template.loader import render_to_string

    passages, _ = passages_for_chunks(chunk_ids(filing), LEVELS)
    figure = computed_figure(QUESTION, passages)
    hits = [{"chunk_id": p.chunk_id, "score": 1.0} for p in passages]
    job = SimpleNamespace(
        pk="00000000-0000-0000-0000-000000000000",
        params={"question": QUESTION, "retrieval": {"query": QUESTION}},
        status="succeeded",
        is_finished=True,
        result={"hits": hits, "method": "extractive-fallback", "computed": figure},
    )
    html = render_to_string(
        "research/_answer.html", {"answer": answer_for_job(analyst, job), "answer_job": job, "rows": []}
    )
    assert 'data-testid="computed-figure"' in html and figure["formula"] in html
    assert html.count('data-testid="computed-operand"') == len(figure["operands"]) == 2
