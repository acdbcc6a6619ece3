"""Start and stop a real Celery worker subprocess for integration and browser tests."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class WorkerHandle:
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def purge_broker() -> None:
    """Drop messages left by an earlier run so they cannot run against this test database."""
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        # Claimed messages too: those of a dead worker would be requeued (config.broker).
        options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
        for folder in ("data_folder_in", "claim_folder"):
            if folder in options:
                shutil.rmtree(options[folder], ignore_errors=True)
                Path(options[folder]).mkdir(parents=True, exist_ok=True)
        return
    from config.celery import app

    with app.connection_for_write() as conn:
        for queue in app.conf.task_queues:
            queue.bind(conn.default_channel).purge()


ALL_QUEUES = "ingest,interactive,models,training"


def start_worker(
    *,
    db_url: str,
    log_path: Path,
    timeout: float = 120.0,
    queues: str = ALL_QUEUES,
    extra_env: dict[str, str] | None = None,
    purge: bool = True,
) -> WorkerHandle:
    """A worker consuming ``queues``; ``extra_env`` (a private broker, its own store) overrides the rest."""
    if purge:
        purge_broker()
    env = {
        **os.environ,
        "DJANGO_ENV": "test",
        "DATABASE_URL": db_url,
        "ARGUS_LOG_FORMAT": "plain",
        "ARGUS_TORCH_THREADS": os.environ.get("ARGUS_TORCH_THREADS", "1"),
        # Short leases: a killed worker's job is taken over within seconds, not a minute.
        "ARGUS_JOB_LEASE_SECONDS": os.environ.get("ARGUS_JOB_LEASE_SECONDS", "6"),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        **(extra_env or {}),
    }
    log_file = log_path.open("w")
    process = subprocess.Popen(
        [
            sys.executable, "-m", "celery", "-A", "config", "worker",
            "-Q", queues, "--pool", "prefork", "--concurrency", "1",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
            "-n", f"test-worker-{os.getpid()}-{queues.replace(',', '-')}@%h", "--loglevel", "INFO",
        ],
        cwd=REPO_ROOT,
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    handle = WorkerHandle(process=process, log_path=log_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"celery worker exited with {process.returncode}:\n{handle.log()}")
        if " ready." in handle.log():
            return handle
        time.sleep(0.2)
    stop_worker(handle)
    raise RuntimeError(f"celery worker not ready after {timeout}s:\n{handle.log()}")


def stop_worker(handle: WorkerHandle) -> None:
    if handle.process.poll() is None:
        os.killpg(handle.process.pid, signal.SIGTERM)
        try:
            handle.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(handle.process.pid, signal.SIGKILL)
            handle.process.wait(timeout=10)


def wait_for(predicate, *, timeout: float = 120.0, interval: float = 0.2, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
