"""Generation benchmark on the real SmolLM2-135M-Instruct: batching, constraints, adapters, prefix cache.

    python -m bench.generation              # 16 prompts, 48 new tokens
    python -m bench.generation --quick      # 8 prompts, 16 new tokens
    python -m bench.generation --threads 1 --prompts 12 --max-new-tokens 32

Every scenario runs in this process on the same prompts, greedy, and is compared with a
baseline measured here too (ratios, not absolute numbers, are what carry across machines).
Greedy outputs are also compared between paths: a faster path that changes a token is a bug.
The checkpoint is converted from the packaged GGUF into var/models/ when absent; the two
LoRA adapters (random non-zero weights, r=8) are created under var/bench/ when absent.
"""

from __future__ import annotations

import argparse
import json
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench.common import BENCH_VAR, pin_threads, print_table, print_thread_settings, stopwatch
from gpu_workers.generation.batching import DynamicBatcher
from gpu_workers.generation.checkpoints import DEFAULT_CHECKPOINT_DIR, adapter_fingerprint, convert_gguf_checkpoint
from gpu_workers.generation.constrained import parse_json_output
from gpu_workers.generation.engine import AdapterSpec, GenerationEngine, GenerationRequest, GenerationResult

ADAPTER_DIR = BENCH_VAR / "generation-adapters"
ADAPTERS = ("bench-credit", "bench-equity")

SYSTEM_PROMPT = (
    "You are Argus, a research assistant for a buy-side equity and credit desk. Answer only from the "
    "passages provided by the analyst; when a figure is not in the passages, say that it is not disclosed. "
    "Quote figures with their units and periods (for example: revenue of $4.2bn in Q3 FY2025, up 12% "
    "year on year). Prefer short sentences. Never give investment advice to retail clients, never speculate "
    "about non-public information, and flag any figure that looks inconsistent across passages. When asked "
    "for a rating, use the desk's scale: buy, hold or sell, with a confidence from 0 to 100. Cite passages as "
    "[1], [2] in the order given. Keep answers under 120 words unless the analyst asks for more detail."
)

QUESTIONS = [
    "What is EBITDA?",
    "Summarise the quarter in one sentence.",
    "Passage [1]: Revenue rose 12% to $4.2bn; gross margin fell 80bp to 41.3% on freight costs. What drove margins?",
    "Is a net debt to EBITDA ratio of 3.4x high for a utility?",
    "Passage [1]: The company raised full-year EPS guidance to $5.10-$5.30 from $4.90-$5.10 and announced a "
    "$2bn buyback. Passage [2]: Free cash flow was $610m, down from $720m, as capex rose. Is the buyback funded "
    "by cash flow?",
    "Explain the difference between free cash flow and operating cash flow.",
    "Passage [1]: Moody's placed the issuer's Baa2 rating on review for downgrade after the acquisition. "
    "What does that mean for the bonds?",
    "What is a covenant-lite loan?",
    "Passage [1]: Same-store sales fell 3.1% while store count grew 6%. Passage [2]: Inventory days rose from "
    "61 to 74. Passage [3]: Management cited weather. Which risk should the desk watch?",
    "How does a rise in rates affect bank net interest margin?",
    "Passage [1]: The CFO resigned effective immediately; the auditor's report included an emphasis of matter "
    "on revenue recognition. Rate the governance risk.",
    "Define duration for a bond portfolio manager.",
    "Passage [1]: Segment operating income: Cloud $1.9bn (+24%), Devices $0.3bn (-40%). What is the mix shift?",
    "Why would a company issue convertible bonds instead of equity?",
    "Passage [1]: The dividend payout ratio reached 96% of earnings. Is the dividend at risk?",
    "List three signs of channel stuffing.",
]

REPORT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "rating": {"enum": ["buy", "hold", "sell"]},
        "confidence": {"type": "integer", "minimum": 0, "maximum": 100},
        "summary": {"type": "string", "pattern": "^[A-Za-z0-9 ,.%$()-]{20,120}$"},
        "metrics": {
            "type": "array",
            "prefixItems": [{"const": "revenue"}, {"const": "margin"}],
            "items": {"enum": ["eps", "fcf", "leverage", "guidance"]},
            "minItems": 2,
            "maxItems": 5,
        },
        "citations": {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": 9}, "maxItems": 3},
    },
    "required": ["rating", "confidence", "summary", "metrics", "citations"],
    "additionalProperties": False,
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smoke run: 8 prompts, 16 new tokens")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--prompts", type=int, default=None, help="prompts per scenario (default 16, 8 with --quick)")
    parser.add_argument("--max-new-tokens", type=int, default=None, help="default 48, 16 with --quick")
    parser.add_argument("--clients", default="4,8,16", help="concurrent client threads for dynamic batching")
    parser.add_argument("--model-path", type=Path, default=DEFAULT_CHECKPOINT_DIR)
    parser.add_argument("--out", type=Path, default=None, help="JSON results file (default var/bench/...)")
    args = parser.parse_args(argv)
    args.prompts = args.prompts or (8 if args.quick else 16)
    args.max_new_tokens = args.max_new_tokens or (16 if args.quick else 48)
    args.clients = [int(c) for c in args.clients.split(",") if c]
    return args


def ensure_bench_adapters(model_path: Path) -> list[AdapterSpec]:
    """Two r=8 LoRA adapters with random non-zero weights (small, so the model stays coherent)."""
    specs = []
    for seed, name in enumerate(ADAPTERS, start=1):
        path = ADAPTER_DIR / name
        if not (path / "adapter_model.safetensors").is_file():
            import torch
            from peft import LoraConfig, get_peft_model
            from transformers import AutoModelForCausalLM

            base = AutoModelForCausalLM.from_pretrained(str(model_path), local_files_only=True)
            config = LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"])
            peft_model = get_peft_model(base, config)
            generator = torch.Generator().manual_seed(seed)
            with torch.no_grad():
                for param_name, param in peft_model.named_parameters():
                    if "lora_B" in param_name:
                        param.copy_(torch.randn(param.shape, generator=generator) * 0.002)
            peft_model.save_pretrained(str(path))
        specs.append(AdapterSpec(name=name, version="bench", path=path, file_hash=adapter_fingerprint(path)))
    return specs


def requests_for(n: int, max_new_tokens: int, **overrides: Any) -> list[GenerationRequest]:
    return [
        GenerationRequest(
            request_id=f"q{i}",
            messages=[
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": QUESTIONS[i % len(QUESTIONS)]},
            ],
            max_new_tokens=max_new_tokens,
            **overrides,
        )
        for i in range(n)
    ]


class SlicedRun:
    """Accumulated wall time and results of one way of running requests (measured in slices)."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.seconds = 0.0
        self.results: list[GenerationResult] = []

    def run(self, fn: Any) -> list[GenerationResult]:
        with stopwatch() as elapsed:
            results: list[GenerationResult] = fn()
        self.seconds += elapsed[0]
        self.results.extend(results)
        return results

    def figures(self) -> dict[str, Any]:
        tokens = sum(r.tokens_out for r in self.results)
        return {
            "label": self.label,
            "seconds": self.seconds,
            "tokens_out": tokens,
            "tokens_per_s": tokens / self.seconds,
            "ms_per_token": self.seconds * 1000 / max(tokens, 1),
            "mean_batch": sum(r.batch_size for r in self.results) / len(self.results),
            "results": self.results,
        }


def interleaved(paths: list[tuple[SlicedRun, Any]], slices: list[Any]) -> None:
    """Run every path on slice 1, then every path on slice 2, ...: each sees the same machine load.

    Two to three people share these two cores, so scenarios measured minutes apart are
    not comparable; interleaving small slices is what makes the ratios mean something.
    """
    for item in slices:
        for path, fn in paths:
            path.run(lambda fn=fn, item=item: fn(item))


def dynamic(engine: GenerationEngine, requests: list[GenerationRequest], clients: int) -> list[GenerationResult]:
    """``clients`` threads, each sending its share of the requests one at a time (submit, wait)."""
    results: dict[str, GenerationResult] = {}
    with DynamicBatcher(engine.predict, max_size=clients, max_wait_s=0.05) as batcher:

        def client(mine: list[GenerationRequest]) -> None:
            for request in mine:
                results[request.request_id] = batcher.submit(request).result()

        threads = [threading.Thread(target=client, args=(requests[k::clients],)) for k in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return [results[r.request_id] for r in requests]


def same_text(a: list[GenerationResult], b: list[GenerationResult]) -> str:
    """How many of the requests in both lists (by request id) got identical text."""
    theirs = {r.request_id: r.text for r in b}
    common = [r for r in a if r.request_id in theirs]
    return f"{sum(r.text == theirs[r.request_id] for r in common)}/{len(common)}"


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    pin_threads(args.threads)
    print_thread_settings()
    model_path = convert_gguf_checkpoint(args.model_path)
    adapters = ensure_bench_adapters(model_path)
    engine = GenerationEngine(model_path, threads=args.threads, max_batch_size=max([*args.clients, 8]))
    with stopwatch() as load_s:
        engine.setup()
    for spec in adapters:
        engine.ensure_adapter(spec)
    print(f"model {engine.model_name} ({engine.model_version[:12]}), loaded in {load_s[0]:.1f} s, {engine.dtype}")
    n, max_new, width = args.prompts, args.max_new_tokens, min(8, args.prompts)
    plain = requests_for(n, max_new)
    constrained = requests_for(n, max_new, json_schema=REPORT_SCHEMA)
    mixed = [replace(r, adapter=(ADAPTERS[i % 2] if i % 3 else None)) for i, r in enumerate(plain)]
    # Warm-up: compile the grammar, touch every code path once (first calls allocate).
    engine.predict([replace(r, max_new_tokens=4) for r in (plain[0], constrained[0], mixed[1], mixed[2])])
    engine.predict([replace(plain[0], max_new_tokens=4)])

    rows: list[list[Any]] = []
    summary: dict[str, Any] = {"prompts": n, "max_new_tokens": max_new, "threads": args.threads}

    def row(m: dict[str, Any], baseline: dict[str, Any] | None, check: str = "") -> None:
        ratio = m["tokens_per_s"] / baseline["tokens_per_s"] if baseline else 1.0
        rows.append([m["label"], m["mean_batch"], m["tokens_out"], m["tokens_per_s"], m["ms_per_token"], ratio, check])
        summary[m["label"]] = {
            "tokens_per_s": round(m["tokens_per_s"], 2),
            "ms_per_token": round(m["ms_per_token"], 2),
            "ratio": round(ratio, 3),
            "mean_batch": round(m["mean_batch"], 2),
            "identical_greedy": check,
        }

    def one(e: GenerationEngine, request: GenerationRequest, prefix: bool = False) -> list[GenerationResult]:
        e.prefix_cache = prefix
        return e.predict([request])

    with stopwatch() as total_s:
        # Batch-1 paths, request by request: baseline, prefix cache, constrained, interleaved on the
        # first `width` prompts (three batch-1 passes over all prompts would take too long here).
        base_k, cache_p = SlicedRun("batch-1, first prompts"), SlicedRun("prefix KV cache on, batch-1")
        con1_p, base_rest = SlicedRun("constrained JSON, batch-1"), SlicedRun("batch-1, other prompts")
        interleaved(
            [
                (base_k, lambda i: one(engine, plain[i])),
                (cache_p, lambda i: one(engine, plain[i], prefix=True)),
                (con1_p, lambda i: one(engine, constrained[i])),
            ],
            list(range(width)),
        )
        engine.prefix_cache = False
        interleaved([(base_rest, lambda i: one(engine, plain[i]))], list(range(width, n)))
        base_p = SlicedRun("batch-1 sequential (baseline)")
        base_p.seconds, base_p.results = base_k.seconds + base_rest.seconds, base_k.results + base_rest.results
        base, base_kf = base_p.figures(), base_k.figures()
        row(base, None)

        for clients in args.clients:
            path = SlicedRun(f"dynamic batching, {clients} clients")
            path.run(lambda c=clients: dynamic(engine, plain, c))
            m = path.figures()
            row(m, base, same_text(m["results"], base["results"]))

        # Same batch width, three kinds of batch, interleaved batch by batch.
        plain_b, con_b = SlicedRun(f"unconstrained, batch {width}"), SlicedRun(f"constrained JSON, batch {width}")
        mixed_b = SlicedRun(f"2 adapters + base mixed, batch {width}")
        starts = list(range(0, n - width + 1, width))
        interleaved(
            [
                (plain_b, lambda s: engine.predict(plain[s : s + width])),
                (con_b, lambda s: engine.predict(constrained[s : s + width])),
                (mixed_b, lambda s: engine.predict(mixed[s : s + width])),
            ],
            starts,
        )
        con1, plain_bf = con1_p.figures(), plain_b.figures()
        row(con1, base_kf)
        row(plain_bf, base, same_text(plain_bf["results"], base["results"][: len(plain_bf["results"])]))
        row(con_b.figures(), plain_bf, same_text(con_b.results, con1_p.results[: len(con_b.results)]))
        mixed_alone = [engine.predict([r])[0] for r in mixed[:width]]
        row(mixed_b.figures(), plain_bf, same_text(mixed_b.results, mixed_alone))
        cache = cache_p.figures()
        row(cache, base_kf, same_text(cache["results"], base_k.results))
        # Long enough to finish the JSON: does the schema come out valid on the real model?
        finished = engine.predict([replace(r, max_new_tokens=160) for r in constrained[: min(4, n)]])

    def valid(results: list[GenerationResult]) -> str:
        ok = 0
        for r in results:
            try:
                parse_json_output(r.text, REPORT_SCHEMA)
                ok += 1
            except ValueError:
                pass  # truncated at max_new_tokens: counted, not fatal
        return f"{ok}/{len(results)}"

    summary["constrained_valid_batch1"] = valid(con1_p.results)
    summary["constrained_valid_160_tokens"] = valid(finished)
    summary["constrained_truncated_160_tokens"] = sum(r.finish_reason == "length" for r in finished)
    summary["constrained_example"] = finished[0].text
    summary["constrained_ms_per_token_overhead_batch1"] = round(con1["ms_per_token"] - base_kf["ms_per_token"], 2)
    summary["prefix_cache_hits"] = engine.prefix_hits
    summary["seconds"] = round(total_s[0], 1)

    print()
    print_table(
        ["scenario", "mean batch", "tokens", "tokens/s", "ms/token", "ratio", "same greedy"],
        rows,
        title=f"Generation: {n} prompts, {max_new} new tokens, greedy, {args.threads} thread(s)",
    )
    print("ratio: tokens/s vs the batch-1 baseline (prefix cache and constrained batch-1: vs the baseline on the")
    print(f"same first {width} prompts, interleaved); constrained and adapters at batch {width} vs unconstrained")
    print(f"batch {width}. same greedy: identical text vs the same requests at batch 1 (baseline, constrained")
    print("batch-1, mixed adapters one by one).")
    print(
        f"constrained outputs valid against the schema: {summary['constrained_valid_batch1']} at {max_new} tokens "
        f"(truncated ones fail), {summary['constrained_valid_160_tokens']} at 160 tokens, e.g. {finished[0].text}"
    )
    print(f"prefix cache hits: {engine.prefix_hits}; measured in {total_s[0]:.0f} s")
    out = args.out or BENCH_VAR / f"generation{'-quick' if args.quick else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
