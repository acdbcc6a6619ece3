"""bench/embedding_throughput.py in quick mode: the report's structure, not its figures."""

from __future__ import annotations

import json
import re

from bench.embedding_throughput import Measurement, main, ratios, synthetic_texts


def test_ratios_are_against_batch_one_of_the_same_workload():
    measurements = [
        Measurement("a", 1, 10, 100, [2.0]),
        Measurement("a", 64, 10, 100, [0.5]),
        Measurement("b", 1, 4, 1000, [1.0]),
        Measurement("b", 64, 4, 1000, [2.0, 4.0, 1.0]),
    ]

    result = ratios(measurements)

    assert result == {("a", 1): 1.0, ("a", 64): 4.0, ("b", 1): 1.0, ("b", 64): 0.5}


def test_synthetic_chunks_fill_the_models_window():
    from pipelines.chunking import minilm_tokenizer

    sentences, chunks = synthetic_texts(12, 3)

    assert len(sentences) == 12 and len(set(sentences)) == 12
    assert len(chunks) == 3
    # the model truncates at 256 tokens: every chunk must reach it to measure full chunks
    assert min(minilm_tokenizer().count_tokens(chunks)) >= 256


def test_quick_run_prints_thread_settings_table_and_ratios(tmp_path, capsys):
    output = tmp_path / "throughput.json"

    assert main(["--quick", "--synthetic", "--sentences", "6", "--chunks", "2", "--output", str(output)]) == 0

    printed = capsys.readouterr().out
    assert "== Thread settings ==" in printed
    assert re.search(r"torch\.get_num_threads\(\)\s+1\b", printed)
    for size in (1, 16, 64, 256):
        assert re.search(rf"sentences, batch {size}\b", printed)
        assert re.search(rf"256-token chunks, batch {size}\b", printed)
    ratio_lines = re.findall(r"batch 64 / batch 1 = (\d+\.\d+)x", printed)
    assert len(ratio_lines) == 2 and all(float(r) > 0 for r in ratio_lines)
    report = json.loads(output.read_text())
    assert report["threads"] == 1 and report["platform_batch_size"] == 64
    assert report["source"] == "synthetic finance text"
    by_key = {(m["workload"], m["batch_size"]): m for m in report["measurements"]}
    assert set(by_key) == {(w, b) for w in ("sentences", "256-token chunks") for b in (1, 16, 64, 256)}
    assert all(by_key[(w, 1)]["vs_batch_1"] == 1.0 for w in ("sentences", "256-token chunks"))
    assert all(m["texts"] == (6 if m["workload"] == "sentences" else 2) for m in report["measurements"])
