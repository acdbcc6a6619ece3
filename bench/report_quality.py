"""Report quality on the real model: key-metric coverage and precision against the planted truth, schema
validity, required-indicator presence, numbers supported by their sources.

    python -m bench.report_quality [--reports 56] [--batch-size 8] [--adapter PATH] [--threads 1]

Requests are the held-out report examples of the demo corpus generator (a seed the demo
adapter is never trained on): each has a company, a question, required indicators and the
short passages retrieval would return. Every report is generated greedily under its JSON
Schema grammar (``pipelines.reports.report_schema``), in batches, exactly as the model
worker does, then parsed, validated again with jsonschema and checked number by number
against the cited passages. Prints thread settings, a summary table and a JSON line.

Coverage and precision use the demo generator's own truth: each example's target report is
built from the figures the generator planted (``fixtures.instruction_data``), so a required
indicator the passages about the company state has a known (value, unit, period).

- coverage: required indicators the evidence supports (truth states a value) that the report fills;
- precision: filled required indicators whose (value, unit, period) equal the truth (a value where
  the truth is "insufficient evidence" counts as wrong);
- unsupported calls: a rating or target price written where no passage states one.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench.common import BENCH_VAR, pin_threads, thread_settings
from pipelines.reports.schema import INSUFFICIENT

HELD_OUT_SEED = 9_001


def _truth(example: Any) -> dict[str, Any]:
    # Examples of an older generator carry the truth as their target.
    return getattr(example, "truth", None) or example.target


def generate_reports(
    engine: Any, examples: list[Any], *, batch_size: int, max_new_tokens: int, adapter: str | None
) -> list[dict[str, Any]]:
    from gpu_workers.generation import GenerationRequest
    from pipelines import reports
    from pipelines.reports import ReportOutputError, parse_model_json, report_findings, tidy_report

    guard = getattr(reports, "guard_free_text", lambda report: (report, []))  # absent before issue 11

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
                report, junk = guard(tidy_report(parse_model_json(result.text)))
            except ReportOutputError as exc:
                truth = metric_agreement(
                    {}, _truth(example), example.required_indicators, getattr(example, "truth_periods", {})
                )
                rows.append(row | truth | {"parsed": False, "valid": False, "error": str(exc)[:200]})
                continue
            findings = report_findings(report, schema, example.handle_passages)
            row["junk_fields_replaced"] = len(junk)
            names = [m.get("name") for m in report.get("key_metrics", [])]
            row |= metric_agreement(
                report, _truth(example), example.required_indicators, getattr(example, "truth_periods", {})
            )
            numeric = [c for c in findings.metric_checks if c.status != "insufficient"]
            rows.append(
                row
                | {
                    "parsed": True,
                    "valid": findings.valid,
                    "schema_errors": findings.schema_errors[:3],
                    "indicators_present": names[: len(example.required_indicators)] == example.required_indicators,
                    "numbers": len(numeric) + sum(c.numeric for c in findings.text_checks),
                    "numbers_supported": len(numeric)
                    + sum(c.numeric for c in findings.text_checks)
                    - len(findings.unsupported),
                    "numbers_matched": sum(c.status == "matched" for c in numeric),
                    "insufficient_metrics": sum(c.status == "insufficient" for c in findings.metric_checks),
                    "rating": report.get("rating"),
                    "report": report,
                }
            )
        done = min(start + batch_size, len(examples))
        print(f"  {done}/{len(examples)} reports, last batch {seconds:.1f} s", flush=True)
    return rows


def _insufficient(value: Any) -> bool:
    return not isinstance(value, (str, dict)) or (isinstance(value, str) and value.strip().lower() == INSUFFICIENT)


def same_figure(value: Any, unit: Any, truth_value: Any, truth_unit: Any) -> bool:
    """Whether a stated figure is the true one at the precision printed: "20.91" USD billion and "20.9" USD
    billion are both the planted 20,914 million; the unit's kind and currency must agree."""
    from pipelines.reports.figures import SCALES, parse_unit, to_decimal

    a, b = to_decimal(str(value)), to_decimal(str(truth_value))
    ua, ub = parse_unit(str(unit or "")), parse_unit(str(truth_unit or ""))
    if a is None or b is None or (ua.kind, ua.currency, ua.per_share) != (ub.kind, ub.currency, ub.per_share):
        return False
    scale_a, scale_b = SCALES.get(ua.scale or "", 1), SCALES.get(ub.scale or "", 1)
    # Half a unit of the last digit printed, in the coarser of the two.
    tolerance = max(scale_a * Decimal(10) ** a.as_tuple().exponent, scale_b * Decimal(10) ** b.as_tuple().exponent) / 2
    return abs(a * scale_a - b * scale_b) <= tolerance


def metric_agreement(
    report: dict[str, Any], truth: dict[str, Any], required: list[str], truth_periods: dict[str, str] | None = None
) -> dict[str, int]:
    """Counts of the required key metrics against the truth report: supported, filled, filled correctly.

    A metric is compared by name (the required indicators come first, in order, but a model may
    drop or reorder them). It is correct when its value is the true figure (``same_figure``) and
    its period is the planted quarter or none ("insufficient evidence" for the period claims nothing).
    """
    periods = {k.lower(): v for k, v in (truth_periods or {}).items()}
    wanted = {name.lower() for name in required}

    def by_name(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for metric in obj.get("key_metrics") or []:
            if isinstance(metric, dict) and str(metric.get("name", "")).lower() in wanted:
                found.setdefault(str(metric["name"]).lower(), metric)
        return found

    got, true = by_name(report), by_name(truth)
    counts = {
        "metrics_supported": 0,
        "metrics_filled": 0,
        "metrics_covered": 0,
        "metrics_correct": 0,
        "metrics_period_stated": 0,
    }
    for name in wanted:
        truth_metric, metric = true.get(name, {}), got.get(name, {})
        supported = not _insufficient(truth_metric.get("value", INSUFFICIENT))
        filled = not _insufficient(metric.get("value", INSUFFICIENT))
        counts["metrics_supported"] += supported
        counts["metrics_filled"] += filled
        counts["metrics_covered"] += supported and filled
        period = str(metric.get("period") or INSUFFICIENT)
        counts["metrics_period_stated"] += filled and period != INSUFFICIENT
        counts["metrics_correct"] += (
            supported
            and filled
            and same_figure(
                metric.get("value"), metric.get("unit"), truth_metric.get("value"), truth_metric.get("unit")
            )
            and period in (INSUFFICIENT, periods.get(name) or str(truth_metric.get("period")))
        )
    counts["rating_unsupported"] = int(_insufficient(truth.get("rating")) and not _insufficient(report.get("rating")))
    counts["target_price_unsupported"] = int(
        _insufficient(truth.get("target_price")) and not _insufficient(report.get("target_price"))
    )
    return counts


def _share(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def summarise(rows: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    parsed = [r for r in rows if r["parsed"]]
    numbers = sum(r.get("numbers", 0) for r in parsed)
    matched = sum(r.get("numbers_matched", 0) for r in parsed)
    supported = sum(r.get("numbers_supported", 0) for r in parsed)
    tokens = [r["tokens_out"] for r in rows]

    def total(key: str) -> int:
        return sum(r.get(key, 0) for r in rows)

    return {
        "reports": len(rows),
        "key_metric_coverage": _share(total("metrics_covered"), total("metrics_supported")),
        "key_metric_precision": _share(total("metrics_correct"), total("metrics_filled")),
        "metrics_supported_by_evidence": total("metrics_supported"),
        "metrics_filled": total("metrics_filled"),
        "metrics_with_period": total("metrics_period_stated"),
        "rating_without_source": total("rating_unsupported"),
        "target_price_without_source": total("target_price_unsupported"),
        "schema_valid_rate": sum(r["valid"] for r in rows) / len(rows),
        "numbers_stated": numbers,
        "numbers_supported_share": _share(supported, numbers),
        "required_indicator_presence_rate": sum(r.get("indicators_present", False) for r in rows) / len(rows),
        "numbers_in_key_metrics_matched": matched,
        "truncated": sum(r["finish_reason"] == "length" for r in rows),
        "tokens_out_median": statistics.median(tokens),
        "tokens_out_max": max(tokens),
        "seconds": round(seconds, 1),
        "tokens_per_second": round(sum(tokens) / seconds, 2),
    }


def rescore(path: Path, limit: int | None = None) -> dict[str, Any]:
    """Coverage and precision of a stored run again, with today's truth and scoring (e.g. a run of older code);
    ``limit``: only its first reports (to compare with a shorter run on the same requests)."""
    from fixtures.instruction_data import report_examples

    stored = json.loads(path.read_text())
    rows = stored["rows"][:limit]
    examples = report_examples(seed=HELD_OUT_SEED, count=len(rows))
    for example, row in zip(examples, rows, strict=True):
        report = row.get("report") if row.get("parsed") else {}
        row |= metric_agreement(report or {}, _truth(example), example.required_indicators, example.truth_periods)
    seconds = stored["summary"]["seconds"] * len(rows) / len(stored["rows"])
    summary = {**stored["summary"], **summarise(rows, seconds)}
    for key, value in summary.items():
        print(f"{key:>36}: {value}")
    print(json.dumps({"report_quality_rescored": summary, "source": str(path)}))
    return {"summary": summary, "rows": rows}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=56)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=900)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--adapter", type=Path, default=None, help="a LoRA adapter directory (default: base model)")
    parser.add_argument("--model", type=Path, default=None, help="checkpoint (default: the converted SmolLM2)")
    parser.add_argument("--output", type=Path, default=BENCH_VAR / "report_quality.json")
    parser.add_argument(
        "--rescore",
        type=Path,
        default=None,
        help="score the reports stored in an earlier run's JSON against the current truth (no model)",
    )
    args = parser.parse_args(argv)
    if args.rescore:
        return rescore(args.rescore, limit=args.reports)

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
