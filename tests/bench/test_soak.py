"""bench/soak.py with a small N: the embedded broker under web, two workers and beat loses nothing and never crashes."""

from __future__ import annotations

import pytest

from bench.soak import run_soak


@pytest.mark.integration
@pytest.mark.slow
def test_embedded_broker_delivers_every_task_once_without_a_crash(tmp_path):
    # The embedded default whatever broker this test run uses (broker_env={}). 64 KB messages:
    # kombu's own transport crashed a worker within about a minute at this size.
    result = run_soak(tasks=400, producers=3, http_share=0.1, var_dir=tmp_path, payload_bytes=65_536, broker_env={})
    assert result.send_errors == 0
    assert result.completed == result.sent == 400
    assert result.lost == 0
    assert result.duplicates == 0
    assert result.crashes == 0, result.crash_reasons
    assert result.critical_log_lines == 0
    assert result.quarantined == 0
    assert result.beat_probes > 0, "beat produced nothing"
