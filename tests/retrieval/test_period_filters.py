"""Fiscal-year and as-of filters on every store: what query understanding and ``as_of`` filter on."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np
import pytest

from pipelines.retrieval import SearchFilters, SearchMode
from tests.retrieval.conftest import synthetic_corpus

ALL_LEVELS = ("public", "internal", "restricted")


def _with_years(records):
    """A third FY2021, a third FY2022, a third indexed before fiscal years existed (no field)."""
    years = (2021, 2022, None)
    return [
        replace(r, fiscal_year=years[i % 3], fiscal_period="FY" if years[i % 3] else "") for i, r in enumerate(records)
    ]


@pytest.mark.parametrize("mode", list(SearchMode))
def test_fiscal_year_filter_keeps_that_year_and_chunks_without_a_year(store, mode):
    records = _with_years(synthetic_corpus(120))
    store.upsert(records)
    hits = store.search(
        allowed_access_levels=ALL_LEVELS,
        query_vector=np.asarray(records[0].vector),
        query_text="revenue margin liquidity covenant",
        filters=SearchFilters(fiscal_years=[2022]),
        limit=120,
        mode=mode,
    )
    years = {hit.payload.get("fiscal_year") for hit in hits}
    assert hits and years <= {2022, None}
    assert None in years and 2022 in years
    assert store.count(SearchFilters(fiscal_years=(2021,))) == 80  # 40 of 2021, 40 without a year


def test_payload_carries_fiscal_year_and_period(store):
    [record] = _with_years(synthetic_corpus(1))
    store.upsert([record])
    [hit] = store.search(
        allowed_access_levels=ALL_LEVELS, query_vector=np.asarray(record.vector), mode="dense", limit=1
    )
    assert (hit.payload["fiscal_year"], hit.payload["fiscal_period"]) == (2021, "FY")


def test_published_to_never_returns_a_later_or_undated_chunk(store):
    records = synthetic_corpus(60)
    undated = replace(records[0], chunk_id="undated", published_at=None)
    store.upsert([*records, undated])
    as_of = date(2023, 6, 30)
    hits = store.search(
        allowed_access_levels=ALL_LEVELS,
        query_vector=np.asarray(undated.vector),  # the undated chunk would be the best match
        query_text="revenue",
        filters=SearchFilters(published_to=as_of),
        limit=61,
        mode="hybrid",
    )
    assert hits and all(date.fromisoformat(h.payload["published_date"]) <= as_of for h in hits)
    assert "undated" not in {h.chunk_id for h in hits}
