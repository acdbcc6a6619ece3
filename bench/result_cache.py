"""Result-cache hit latency against generating, through the platform's audited generation path.

    python -m bench.result_cache [--prompts 3] [--max-new-tokens 64] [--threads 1]

Runs ``gpu_workers.tasks.generation.generate_audited`` (what the model worker calls) on
the real SmolLM2 checkpoint: each prompt once as a miss (generated, audited, stored in the
Django cache) and then several times as hits (read from the cache, audited with
``cache_hit``). Both include the audit-record append; the ratio is miss / hit latency.
Uses its own SQLite database and file cache under var/bench/, never the platform's.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from typing import Any

from bench.common import BENCH_VAR, pin_threads, thread_settings

PROMPTS = [
    "Summarise the credit risk of a retailer whose net debt to EBITDA rose from 1.9x to 3.4x.",
    "What does a covenant waiver tell an equity analyst about a borrower's liquidity?",
    "List two risks for a chip maker whose gross margin fell from 52% to 44% in a year.",
    "Explain why free cash flow can fall while reported earnings rise.",
]


def _django(threads: int) -> None:
    BENCH_VAR.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["DATABASE_URL"] = f"sqlite:///{BENCH_VAR / 'result-cache-bench.sqlite3'}"
    os.environ["CACHE_URL"] = f"filecache://{BENCH_VAR / 'result-cache-bench-cache'}"
    os.environ["ARGUS_TORCH_THREADS"] = str(threads)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=3)
    parser.add_argument("--hits", type=int, default=5)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    _django(args.threads)

    from django.core.cache import caches

    from apps.audit.services import Actor
    from gpu_workers.generation import DEFAULT_CHECKPOINT_DIR, GenerationEngine, GenerationRequest
    from gpu_workers.generation import convert_gguf_checkpoint as convert
    from gpu_workers.tasks.generation import GenerationItem, generate_audited

    pin_threads(args.threads)
    engine = GenerationEngine(convert(DEFAULT_CHECKPOINT_DIR), threads=args.threads)
    engine.setup()
    caches["default"].clear()
    print("thread settings:", json.dumps(thread_settings()))
    actor = Actor.system("bench.result_cache")
    misses, hits = [], []
    for index, prompt in enumerate(PROMPTS[: args.prompts]):
        item = GenerationItem(
            request=GenerationRequest(
                request_id=f"cache-{index}",
                messages=[{"role": "user", "content": prompt}],
                max_new_tokens=args.max_new_tokens,
            ),
            actor=actor,
            purpose="bench",
        )
        began = time.perf_counter()
        [miss] = generate_audited(engine, [item])
        misses.append(time.perf_counter() - began)
        assert not miss.cache_hit
        for _ in range(args.hits):
            began = time.perf_counter()
            [hit] = generate_audited(engine, [item])
            hits.append(time.perf_counter() - began)
            assert hit.cache_hit and hit.text == miss.text, "a hit must return the identical output"
    result = {
        "prompts": args.prompts,
        "max_new_tokens": args.max_new_tokens,
        "miss_ms_median": round(1000 * statistics.median(misses), 1),
        "hit_ms_median": round(1000 * statistics.median(hits), 2),
        "hit_ms_p95": round(1000 * sorted(hits)[int(0.95 * (len(hits) - 1))], 2),
    }
    result["miss_over_hit"] = round(result["miss_ms_median"] / result["hit_ms_median"], 1)
    for key, value in result.items():
        print(f"{key:>16}: {value}")
    print(json.dumps({"result_cache": result}))
    return result


if __name__ == "__main__":
    main()
