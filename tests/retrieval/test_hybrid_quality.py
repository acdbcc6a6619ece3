"""Sanity check with the real embedding model: hybrid retrieval beats dense-only and
keyword-only. Half of the questions paraphrase their passage (keyword search struggles),
half name identifiers, rates and instruments that near-identical passages differ in (dense
search struggles); 300 generated finance passages on the same topics are distractors.
The full evaluation on real 10-K items lives elsewhere; this guards the fusion wiring.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from bench.synthetic_finance import GeneratorParams, generate_chunks
from pipelines.retrieval import ChunkRecord, SearchMode

PASSAGES = {
    "tariffs": "Tariffs on imported steel and aluminum raised the cost of our inputs, and we expect gross margin "
    "pressure to continue through fiscal 2025.",
    "fx": "A stronger U.S. dollar reduced reported revenue from our European and Japanese subsidiaries by "
    "approximately 3 percent.",
    "cyber": "A breach of our information systems could expose customer data and lead to regulatory fines and "
    "reputational damage.",
    "liquidity": "We had $4.1 billion of cash and equivalents and an undrawn $2.5 billion revolving credit facility, "
    "which we believe is sufficient to fund operations for the next twelve months.",
    "covenant": "The Term Loan B-7 credit agreement requires a maximum net leverage ratio of 4.25x, tested quarterly; "
    "we were in compliance at year end.",
    "leases": "Under ASC 842 we recognized right-of-use assets of $812 million and corresponding lease liabilities "
    "for our retail store leases.",
    "revrec": "Revenue from software subscriptions is recognized ratably over the contract term under ASC 606, while "
    "hardware revenue is recognized at shipment.",
    "cet1": "Our Common Equity Tier 1 ratio under Basel III standardized approach was 13.2 percent, above the "
    "regulatory minimum plus buffers.",
    "litigation": "We are a defendant in several patent infringement lawsuits; an adverse outcome could require "
    "royalty payments or product redesign.",
    "supplier": "We depend on a single foundry in Taiwan for our most advanced chips, and any disruption there could "
    "halt production of our products.",
    "buyback": "The board authorized an additional $10 billion share repurchase program and raised the quarterly "
    "dividend by 8 percent.",
    "goodwill": "We recorded a goodwill impairment charge of $1.3 billion in the media segment after a decline in "
    "advertising revenue.",
    "pension": "Our defined benefit pension plans were underfunded by $640 million; a 50 basis point drop in the "
    "discount rate would increase the obligation.",
    "climate": "Physical risks from extreme weather, such as hurricanes and floods, could damage our refineries and "
    "interrupt operations on the Gulf Coast.",
    "headcount": "We reduced our workforce by approximately 6 percent as part of a restructuring plan and incurred "
    "severance costs of $210 million.",
    "inventory": "Excess inventory of consumer electronics led to markdowns, and we wrote down inventory by "
    "$95 million in the fourth quarter.",
    "notes": "In March we issued $1.5 billion of 5.875% Senior Notes due 2031 and used the proceeds to repay "
    "borrowings under Term Loan B-7.",
    "china": "Sales in Greater China declined 13 percent as competition intensified and government agencies "
    "restricted the use of foreign devices.",
    # Near neighbours that differ in the identifier, the number or the company.
    "covenant_a2": "The Term Loan A-2 facility requires a maximum total leverage ratio of 3.50x and a minimum "
    "interest coverage ratio of 3.0x, tested each quarter.",
    "notes_2028": "In June we issued $750 million of 4.125% Senior Notes due 2028; proceeds were used for general "
    "corporate purposes.",
    "tier1_leverage": "Our Tier 1 leverage ratio under the advanced approaches was 7.1 percent, and our supplementary "
    "leverage ratio was 6.0 percent.",
    "leases_asc840": "Before adopting the new lease standard, operating leases for our distribution centers were "
    "disclosed under ASC 840 and kept off the balance sheet.",
    "china_export": "Export controls limit our ability to ship data center GPUs to customers in China, reducing "
    "revenue from that region.",
    "goodwill_test": "Our annual goodwill impairment test in the fourth quarter indicated that the fair value of each "
    "reporting unit exceeded its carrying value.",
    "fx_hedge": "We use foreign exchange forward contracts to hedge forecasted intercompany sales denominated in "
    "euros and yen.",
}

QUESTIONS = [
    # Paraphrases: few words in common with the passage.
    ("How did currency movements affect sales abroad?", "fx"),
    ("Is the company exposed to hackers stealing client information?", "cyber"),
    ("Could storms damage the company's plants?", "climate"),
    ("Did they lay off employees?", "headcount"),
    ("Does the firm rely on one manufacturer overseas for semiconductors?", "supplier"),
    ("How much money is available to meet obligations over the coming year?", "liquidity"),
    # Identifiers, rates and instruments.
    ("Term Loan B-7 leverage ratio test", "covenant"),
    ("ASC 842 right-of-use assets", "leases"),
    ("5.875% Senior Notes due 2031", "notes"),
    ("CET1 Basel III standardized", "cet1"),
    ("ASC 606 ratable recognition of subscriptions", "revrec"),
    ("goodwill impairment media segment", "goodwill"),
    # Mixed.
    ("share repurchase authorization and dividend increase", "buyback"),
    ("patent lawsuits royalty risk", "litigation"),
    ("inventory write-down markdowns", "inventory"),
    ("underfunded pension discount rate sensitivity", "pension"),
    ("import duties on metals hurting margins", "tariffs"),
    ("demand weakness in China for foreign phones", "china"),
]


def _first_sentences(text: str, count: int) -> str:
    return " ".join(re.split(r"(?<=[.!?])\s+", text)[:count])


@pytest.fixture(scope="module")
def embedded_corpus(minilm):
    # Two sentences per distractor keep the embedding time of the test to a few seconds.
    distractors = generate_chunks(GeneratorParams(300, seed=5))
    texts = list(PASSAGES.values()) + [_first_sentences(c.text, 2) for c in distractors]
    ids = list(PASSAGES) + [c.chunk_id for c in distractors]
    vectors = minilm(texts)
    records = [
        ChunkRecord(chunk_id, chunk_id.split(":")[0], text, vector, "public")
        for chunk_id, text, vector in zip(ids, texts, vectors, strict=True)
    ]
    return records, minilm([question for question, _ in QUESTIONS])


def _mean_reciprocal_rank(store, question_vectors, mode):
    reciprocal_ranks = []
    for (question, answer), vector in zip(QUESTIONS, question_vectors, strict=True):
        hits = store.search(
            query_vector=vector, query_text=question, allowed_access_levels=["public"], limit=10, mode=mode
        )
        rank = next((hit.rank for hit in hits if hit.chunk_id == answer), None)
        reciprocal_ranks.append(1.0 / rank if rank else 0.0)
    return float(np.mean(reciprocal_ranks))


@pytest.mark.slow  # loads the embedding model and embeds ~300 passages (10-30 s on one busy core)
def test_hybrid_beats_dense_only_and_keyword_only(store_factory, embedded_corpus):
    records, question_vectors = embedded_corpus
    store = store_factory()
    store.ensure_collection(len(records[0].vector))
    store.upsert(records)
    mrr = {mode: _mean_reciprocal_rank(store, question_vectors, mode) for mode in SearchMode}
    assert mrr[SearchMode.HYBRID] > mrr[SearchMode.DENSE], mrr
    assert mrr[SearchMode.HYBRID] > mrr[SearchMode.KEYWORD], mrr
    assert mrr[SearchMode.HYBRID] >= 0.75, mrr
