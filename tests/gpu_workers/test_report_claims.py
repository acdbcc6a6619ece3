"""Report batches: grouped by adapter within the engine's loaded-adapter limit; retrieval rankings merged."""

from __future__ import annotations

from types import SimpleNamespace

from gpu_workers.tasks.reports import adapter_groups, merge_rankings


def prepared(label: str) -> SimpleNamespace:
    return SimpleNamespace(adapter_label=label)


def test_a_batch_never_needs_more_adapters_than_the_engine_keeps_loaded():
    batch = [prepared(x) for x in ["a", "b", "", "c", "a", "d", "e", ""]]
    groups = adapter_groups(batch, max_adapters=2)
    assert sum(len(g) for g in groups) == len(batch)
    for group in groups:
        assert len({p.adapter_label for p in group} - {""}) <= 2
    # Rows of one adapter stay together; the base model needs no slot.
    assert [[p.adapter_label for p in g] for g in groups] == [["a", "a", "b", "", ""], ["c", "d"], ["e"]]


def test_a_batch_within_the_limit_is_one_group():
    batch = [prepared(x) for x in ["a", "", "a", "b"]]
    assert len(adapter_groups(batch, max_adapters=4)) == 1


def test_every_required_indicator_gets_its_best_passage_before_any_list_gets_a_second():
    question = ["q1", "q2", "q3", "q4", "q5", "q6"]
    margin, leverage = ["m1", "q1", "m2"], ["l1", "l2", "l3"]
    assert merge_rankings([question, margin, leverage], 6) == ["q1", "m1", "l1", "q2", "l2", "q3"]
    assert merge_rankings([question], 4) == ["q1", "q2", "q3", "q4"]
    assert merge_rankings([], 6) == []
