"""The web service as compose runs it: gunicorn with platform/gunicorn.conf.py, several workers."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import database_url_for_subprocess

REPO_ROOT = Path(__file__).resolve().parents[2]
TOKEN = "gunicorn-test-token-" + "y" * 24


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str, dict[str, str]]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(), dict(exc.headers)


@pytest.fixture
def gunicorn_server(db, tmp_path):
    port = free_port()
    stderr_path = tmp_path / "gunicorn.err"
    env = {
        **os.environ,
        "DJANGO_ENV": "test",
        "DATABASE_URL": database_url_for_subprocess(),
        "ARGUS_METRICS_TOKEN": TOKEN,
        "ARGUS_LOG_FORMAT": "json",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "2",
        "GUNICORN_THREADS": "1",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"),
    }
    with stderr_path.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "config.wsgi", "-c", "platform/gunicorn.conf.py"],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    served = 0
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {process.returncode}:\n{stderr_path.read_text()[-3000:]}")
            try:
                status, _, _ = get(f"{base}/healthz")
            except OSError:
                status = None
            if status == 200:
                served += 1
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not answer:\n{stderr_path.read_text()[-3000:]}")
            time.sleep(0.2)
        yield base, stderr_path, served
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def test_request_metrics_add_up_across_gunicorn_workers(gunicorn_server):
    base, stderr_path, served = gunicorn_server
    for _ in range(20):
        assert get(f"{base}/healthz")[0] == 200
    served += 20

    status, body, _ = get(f"{base}/metrics", {"Authorization": f"Bearer {TOKEN}"})
    assert status == 200, body[:500]
    get_total = sum(
        sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
        if sample.name == "django_http_requests_total_by_method_total" and sample.labels.get("method") == "GET"
    )
    # Every request so far, whichever worker served it (the scrape itself counts too).
    assert get_total == served + 1
    assert "argus_jobs" in body

    anonymous = get(f"{base}/metrics")
    assert anonymous[0] == 401

    # Logs on stderr are JSON, gunicorn's own included, and each request has an access line.
    time.sleep(0.5)  # let the workers flush their last lines
    lines = [json.loads(line) for line in stderr_path.read_text().splitlines() if line.startswith("{")]
    access = [line for line in lines if line.get("logger") == "argus.access"]
    assert sum(1 for line in access if line["path"] == "/healthz") == served
    assert all(len(line["request_id"]) == 32 for line in access)
    assert any(line.get("logger") == "gunicorn.error" for line in lines)
