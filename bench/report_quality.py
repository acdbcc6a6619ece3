"""Report quality on the real model: schema validity, required-indicator presence, numbers matched to sources.

    python -m bench.report_quality [--reports 56] [--batch-size 8] [--adapter PATH] [--threads 1]

Requests are the held-out report examples of the demo corpus generator (a seed the demo
adapter is never trained on): each has a company, a question, required indicators and the
short passages retrieval would return. Every report is generated greedily under its JSON
Schema grammar (``pipelines.reports.report_schema``), in batches, exactly as the model
worker does, then parsed, validated again with jsonschema and checked number by number
against the cited passages. Prints thread settings, a summary table and a JSON line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

from bench.common import BENCH_VAR, pin_threads, thread_settings

HELD_OUT_SEED = 9_001


def generate_reports(
    engine: Any, examples: list[Any], *, batch_size: int, max_new_tokens: int, adapter: str | None
) -> list[dict[str, Any]]:
    from gpu_workers.generation import GenerationRequest
    from pipelines.reports import ReportOutputError, parse_model_json, report_findings, tidy_report

    rows: list[dict[str, Any]] = []
    for start in range(0, len(examples), batch_size):
        batch = examples[start : start + batch_size]
        schemas = [example.schema() for example in batch]
        requests = [
            GenerationRequest(
                request_id=f"bench-{start + i}",
                messages=example.messages(),
                adapter=adapter,
                json_schema=schema,
                max_new_tokens=max_new_tokens,
            )
            for i, (example, schema) in enumerate(zip(batch, schemas, strict=True))
        ]
        began = time.perf_counter()
        results = engine.predict(requests)
        seconds = time.perf_counter() - began
        for example, schema, result in zip(batch, schemas, results, strict=True):
            row: dict[str, Any] = {
                "ticker": example.ticker,
                "scenario": getattr(example, "scenario", ""),
                "required": example.required_indicators,
                "tokens_out": result.tokens_out,
                "finish_reason": result.finish_reason,
                "batch_seconds": seconds,
            }
            try:
                report = tidy_report(parse_model_json(result.text))
            except ReportOutputError as exc:
                rows.append(row | {"parsed": False, "valid": False, "error": str(exc)[:200]})
                continue
            findings = report_findings(report, schema, example.handle_passages)
            names = [m.get("name") for m in report.get("key_metrics", [])]
            numeric = [c for c in findings.metric_checks if c.status != "insufficient"]
            rows.append(
                row
                | {
                    "parsed": True,
                    "valid": findings.valid,
                    "schema_errors": findings.schema_errors[:3],
                    "indicators_present": names[: len(example.required_indicators)] == example.required_indicators,
                    "numbers": len(numeric),
                    "numbers_matched": sum(c.status == "matched" for c in numeric),
                    "insufficient_metrics": sum(c.status == "insufficient" for c in findings.metric_checks),
                    "rating": report.get("rating"),
                }
            )
        done = min(start + batch_size, len(examples))
        print(f"  {done}/{len(examples)} reports, last batch {seconds:.1f} s", flush=True)
    return rows


def summarise(rows: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    parsed = [r for r in rows if r["parsed"]]
    numbers = sum(r.get("numbers", 0) for r in parsed)
    matched = sum(r.get("numbers_matched", 0) for r in parsed)
    tokens = [r["tokens_out"] for r in rows]
    return {
        "reports": len(rows),
        "schema_valid_rate": sum(r["valid"] for r in rows) / len(rows),
        "required_indicator_presence_rate": sum(r.get("indicators_present", False) for r in rows) / len(rows),
        "numbers_in_key_metrics": numbers,
        "numbers_matched_share": matched / numbers if numbers else None,
        "truncated": sum(r["finish_reason"] == "length" for r in rows),
        "tokens_out_median": statistics.median(tokens),
        "tokens_out_max": max(tokens),
        "seconds": round(seconds, 1),
        "tokens_per_second": round(sum(tokens) / seconds, 2),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=56)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=900)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--adapter", type=Path, default=None, help="a LoRA adapter directory (default: base model)")
    parser.add_argument("--model", type=Path, default=None, help="checkpoint (default: the converted SmolLM2)")
    parser.add_argument("--output", type=Path, default=BENCH_VAR / "report_quality.json")
    args = parser.parse_args(argv)

    from fixtures.instruction_data import report_examples
    from gpu_workers.generation import (
        DEFAULT_CHECKPOINT_DIR,
        AdapterSpec,
        GenerationEngine,
        adapter_fingerprint,
        convert_gguf_checkpoint,
    )

    pin_threads(args.threads)
    model_path = args.model or convert_gguf_checkpoint(DEFAULT_CHECKPOINT_DIR)
    engine = GenerationEngine(model_path, threads=args.threads, max_batch_size=args.batch_size)
    engine.setup()
    adapter = None
    if args.adapter:
        engine.ensure_adapter(AdapterSpec("bench", "1", args.adapter, adapter_fingerprint(args.adapter)))
        adapter = "bench"
    settings = thread_settings()
    print("thread settings:", json.dumps(settings))
    examples = report_examples(seed=HELD_OUT_SEED, count=args.reports)
    print(
        f"{len(examples)} held-out report requests (seed {HELD_OUT_SEED}), batch {args.batch_size}, "
        f"adapter {args.adapter or 'none (base model)'}"
    )
    began = time.perf_counter()
    rows = generate_reports(
        engine, examples, batch_size=args.batch_size, max_new_tokens=args.max_new_tokens, adapter=adapter
    )
    summary = summarise(rows, time.perf_counter() - began)
    print()
    for key, value in summary.items():
        print(f"{key:>36}: {value}")
    failures = [r for r in rows if not r["valid"]][:5]
    if failures:
        print("first failures:", json.dumps(failures, default=str)[:2000])
    result = {"summary": summary, "threads": settings, "adapter": str(args.adapter or ""), "rows": rows}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=1, default=str))
    print(json.dumps({"report_quality": summary}))
    return result


if __name__ == "__main__":
    main()
