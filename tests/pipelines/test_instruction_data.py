"""Instruction-tuning data: what the model worker prompts, and targets the report schema and checks accept."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from pipelines.instruction_data import (
    INDICATORS,
    RESPONSE_SEPARATORS,
    answer_examples,
    report_chat_pairs,
    report_examples,
)
from pipelines.reports import (
    INSUFFICIENT,
    RATINGS,
    answer_messages,
    answer_schema,
    passages_with_handles,
    report_findings,
    report_messages,
    report_schema,
    validate_report,
)
from pipelines.reports.figures import text_supports
from pipelines.reports.schema import MAX_RISKS, TEXT_MAX_CHARS, TEXT_PATTERN, indicator_candidates, passage_sentences

REPO = Path(__file__).resolve().parents[2]
CHECKPOINT = REPO / "var" / "models" / "smollm2-135m-instruct"
REPORT_KEYS = ["ticker", "company", "rating", "target_price", "horizon", "thesis", "key_metrics", "risks", "citations"]
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture(scope="module")
def examples():
    return report_examples()  # the 64 default examples the demo adapter trains on


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    if (CHECKPOINT / "tokenizer.json").is_file():
        return AutoTokenizer.from_pretrained(str(CHECKPOINT))
    from gpu_workers.generation.checkpoints import packaged_smollm2_gguf

    try:
        folder, name = packaged_smollm2_gguf()
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    return AutoTokenizer.from_pretrained(str(folder), gguf_file=name)


def test_same_seed_same_examples_other_seed_other_examples(examples):
    assert report_chat_pairs() == [e.chat_pair() for e in examples]
    assert [e.response_text() for e in report_examples(seed=1)] != [e.response_text() for e in examples]


def test_every_target_validates_against_its_schema_and_passes_the_checks(examples):
    for e in examples:
        schema = report_schema(e.spec, e.handle_passages)
        assert validate_report(e.target, schema) == [], e.response_text()
        findings = report_findings(e.target, schema, e.handle_passages)
        assert findings.valid and findings.flagged == [], (findings, e.response_text())
        assert findings.matched_share in (1.0, None)
        assert json.loads(e.response_text()) == e.target


def test_other_seeds_validate_too():
    for e in report_examples(seed=7, count=32):
        findings = report_findings(e.target, e.schema(), e.handle_passages)
        assert findings.valid and findings.flagged == [] and findings.matched_share in (1.0, None), e.response_text()


def test_prompt_is_the_workers_prompt_over_handle_passages(examples):
    for e in examples:
        relabelled, handles = passages_with_handles(e.passages)
        assert relabelled == e.handle_passages and handles == e.handles
        assert [p.chunk_id for p in e.handle_passages] == [f"S{i}" for i in range(1, len(e.passages) + 1)]
        messages, response = e.chat_pair()
        assert messages == report_messages(e.spec, relabelled)
        assert not UUID.search(messages[1]["content"]) and not UUID.search(response)
        assert e.question in messages[1]["content"] and e.as_of in messages[1]["content"]
        # After decoding, the app maps handles back to the real chunk ids.
        resolved = e.resolved_target()
        assert set(resolved["citations"]) <= {p.chunk_id for p in e.passages}
        assert all(UUID.fullmatch(c) for c in resolved["citations"])


def test_targets_have_the_report_shape(examples):
    text = re.compile(TEXT_PATTERN)
    for e in examples:
        t = e.target
        assert list(t) == REPORT_KEYS
        assert t["ticker"] == e.ticker and t["company"] == e.company
        assert t["rating"] in RATINGS and t["horizon"] == INSUFFICIENT
        price = t["target_price"]
        assert price == INSUFFICIENT or (
            list(price) == ["value", "currency", "citation"] and price["currency"] == "USD"
        )
        assert t["thesis"] == INSUFFICIENT or (text.match(t["thesis"]) and len(t["thesis"]) <= TEXT_MAX_CHARS)
        assert len(t["risks"]) <= MAX_RISKS and all(text.match(r["risk"]) for r in t["risks"])
        assert [m["name"] for m in t["key_metrics"]] == e.required_indicators
        for m in t["key_metrics"]:
            if m["value"] == INSUFFICIENT:
                assert m == {
                    "name": m["name"],
                    "value": INSUFFICIENT,
                    "unit": "",
                    "period": INSUFFICIENT,
                    "citation": None,
                }
            else:
                assert re.fullmatch(r"-?\d+(\.\d+)?", m["value"]) and m["unit"] and m["citation"]


def test_every_grounded_figure_is_in_the_passage_it_cites_about_the_company(examples):
    grounded = 0
    for e in examples:
        by_handle = {p.chunk_id: p for p in e.handle_passages}
        for m in e.target["key_metrics"]:
            if m["value"] == INSUFFICIENT:
                continue
            grounded += 1
            passage = by_handle[m["citation"]]
            assert passage.ticker == e.ticker  # never another company's figure
            assert text_supports(m["value"], m["unit"], passage.text), (m, passage.text)
        price = e.target["target_price"]
        if price != INSUFFICIENT:
            passage = by_handle[price["citation"]]
            assert passage.ticker == e.ticker and "price target" in passage.text.lower()
    assert grounded >= 40


def test_insufficient_indicators_have_no_value_about_the_company(examples):
    patterns = {i.name: re.compile(i.mention, re.IGNORECASE) for i in INDICATORS}
    for e in examples:
        own = [p for p in e.handle_passages if p.ticker == e.ticker]
        for m in e.target["key_metrics"]:
            if m["value"] == INSUFFICIENT:
                assert not any(patterns[m["name"]].search(p.text) for p in own), (m["name"], e.ticker)
                assert not indicator_candidates(m["name"], own)


def test_citations_are_exactly_the_passages_relied_on_in_first_use_order(examples):
    for e in examples:
        t = e.target
        price = [t["target_price"]["citation"]] if isinstance(t["target_price"], dict) else []
        used = [
            *price,
            *(m["citation"] for m in t["key_metrics"] if m["citation"]),
            *(r["citation"] for r in t["risks"]),
        ]
        assert len(t["citations"]) == len(set(t["citations"]))
        extra = [c for c in t["citations"] if c not in used]
        # Beyond figures and risks, only the passage that states the rating is cited (and it comes first).
        assert extra == [] or (t["rating"] != INSUFFICIENT and t["citations"][0] == extra[0] and len(extra) == 1)
        first_use = list(dict.fromkeys([*extra, *used]))
        assert t["citations"] == first_use


def test_rating_and_risks_come_from_passages_about_the_company(examples):
    for e in examples:
        by_handle = {p.chunk_id: p for p in e.handle_passages}
        own = [p for p in e.handle_passages if p.ticker == e.ticker]
        if not own:
            assert e.target["rating"] == INSUFFICIENT and e.target["risks"] == [] and e.target["citations"] == []
            assert all(m["value"] == INSUFFICIENT for m in e.target["key_metrics"])
        for risk in e.target["risks"]:
            passage = by_handle[risk["citation"]]
            assert passage.ticker == e.ticker and passage.doc_type == "news"


def test_mix_of_grounded_insufficient_and_trap_cases(examples):
    metrics = [m for e in examples for m in e.target["key_metrics"]]
    insufficient = sum(m["value"] == INSUFFICIENT for m in metrics) / len(metrics)
    assert 0.3 <= insufficient <= 0.7
    scenarios = Counter(e.scenario for e in examples)
    assert set(scenarios) == {"full", "no_rating", "thin", "other_companies", "empty"}
    empty = sum(not e.passages for e in examples) / len(examples)
    assert 0.03 <= empty <= 0.25
    rated = sum(e.target["rating"] != INSUFFICIENT for e in examples) / len(examples)
    assert 0.15 <= rated <= 0.6
    assert any(e.target["risks"] for e in examples)
    assert any(p.ticker != e.ticker for e in examples for p in e.passages)  # distractors
    assert all(len(e.passages) <= 3 and all(len(p.text) <= 200 for p in e.passages) for e in examples)
    assert not any("@" in p.text for e in examples for p in e.passages)  # no planted e-mail addresses


def test_passages_are_dated_before_the_as_of_date(examples):
    for e in examples:
        assert all(p.published_on <= e.as_of for p in e.passages)


def test_examples_fit_a_1024_token_training_window(examples, tokenizer):
    lengths = []
    for e in examples:
        messages, response = e.chat_pair()
        prompt = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        lengths.append(len(tokenizer(prompt + response, add_special_tokens=False)["input_ids"]) + 1)
    assert max(lengths) <= 1024, max(lengths)
    assert sorted(lengths)[len(lengths) // 2] <= 800


def test_responses_are_what_the_engines_grammar_accepts(examples, tokenizer):
    xgr = pytest.importorskip("xgrammar")
    compiler = xgr.GrammarCompiler(xgr.TokenizerInfo.from_huggingface(tokenizer, vocab_size=len(tokenizer)))
    # One example per scenario keeps this to a few compilations.
    chosen = list({e.scenario: e for e in examples}.values())
    for e in chosen:
        # Compiled as GrammarCache does: any_whitespace=False, default separators.
        grammar = compiler.compile_json_schema(json.dumps(e.schema()), any_whitespace=False)
        matcher = xgr.GrammarMatcher(grammar, terminate_without_stop_token=True)
        assert matcher.accept_string(e.response_text()) and matcher.is_terminated(), e.response_text()
    compact = json.dumps(chosen[0].target, ensure_ascii=False, separators=(",", ":"))
    assert RESPONSE_SEPARATORS == (", ", ": ")
    matcher = xgr.GrammarMatcher(compiler.compile_json_schema(json.dumps(chosen[0].schema()), any_whitespace=False))
    assert not matcher.accept_string(compact)  # why the targets are not compact JSON


def test_answer_examples_validate_and_are_grounded_or_say_insufficient():
    import jsonschema

    answers = answer_examples(seed=0, count=60)
    assert [a.response_text() for a in answers] == [a.response_text() for a in answer_examples(seed=0, count=60)]
    unanswerable = 0
    for a in answers:
        relabelled, _ = passages_with_handles(a.passages)
        assert a.messages() == answer_messages(a.question, relabelled)
        jsonschema.validate(a.target, answer_schema(relabelled))
        if a.target["insufficient_evidence"]:
            unanswerable += 1
            assert a.target["answer"] == []
            continue
        by_handle = {p.chunk_id: p for p in a.handle_passages}
        for item in a.target["answer"]:
            passage = by_handle[item["citation"]]
            assert passage.ticker == a.ticker
            # A quote, word for word, of the passage it cites, stating a figure.
            assert item["text"] in passage_sentences(passage.text) and re.search(r"\d", item["text"])
    assert 0.2 <= unanswerable / len(answers) <= 0.5
