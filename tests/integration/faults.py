"""Tools for fault-injection tests: a private Redis server that a test may stop and restart, and a switch
that points this process's Celery app at it. The machine's shared Redis is never touched."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PrivateRedis:
    """A ``redis-server`` on a free port, without persistence: a restart loses every key, like a lost node."""

    workdir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    def url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not on PATH"
        log = (self.workdir / f"redis-{self.port}.log").open("a")
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir)],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not listen on {self.port}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)
        self.process = None


@contextmanager
def celery_broker(url: str) -> Iterator[None]:
    """Send this process's tasks to ``url`` (and back to the configured broker afterwards)."""
    from config.celery import app

    def drop_pools() -> None:
        # Forget, never close: kombu keeps one pool per broker URL for the whole process, and the
        # configured broker's pool is taken up again afterwards.
        app._pool = None
        app.amqp._producer_pool = None

    # The read and write URLs: the plain broker_url is shadowed by the Django setting CELERY_BROKER_URL.
    previous = app.conf.broker_write_url, app.conf.broker_read_url
    drop_pools()
    app.conf.broker_write_url = app.conf.broker_read_url = url
    try:
        yield
    finally:
        drop_pools()
        app.conf.broker_write_url, app.conf.broker_read_url = previous
