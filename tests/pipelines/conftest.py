"""Fixtures for the plain-Python ingest pipeline (no database, no Django)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from pipelines.chunking import HuggingFaceTokenizer, WhitespaceTokenizer

REPO_ROOT = Path(__file__).resolve().parents[2]


def shared_data_dir() -> Path:
    return Path(os.environ.get("ARGUS_SHARED_DATA") or REPO_ROOT.parent / "shared" / "data")


SEC_10K_ITEMS = shared_data_dir() / "sec_10k_items" / "edgar_crawler_10k_items.jsonl"


@pytest.fixture(scope="session")
def sec_10k_filings() -> list[dict]:
    """The real 10-K filings (one dict per filing, items as ``item_7`` ...), read in place."""
    if not SEC_10K_ITEMS.exists():
        pytest.skip(f"shared data not found at {SEC_10K_ITEMS} (set ARGUS_SHARED_DATA to the shared/data folder)")
    with SEC_10K_ITEMS.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


@pytest.fixture(scope="session")
def minilm() -> HuggingFaceTokenizer:
    tokenizer = HuggingFaceTokenizer()
    tokenizer.setup()
    return tokenizer


@pytest.fixture
def words() -> WhitespaceTokenizer:
    return WhitespaceTokenizer()
