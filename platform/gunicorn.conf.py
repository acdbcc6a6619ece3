"""gunicorn settings for the web service: ``gunicorn config.wsgi -c platform/gunicorn.conf.py``.

The web process loads no model, so it runs several small workers. Request metrics
are kept per worker process in files under ``PROMETHEUS_MULTIPROC_DIR`` and merged
at scrape time (apps/core/metrics.py); without that, each scrape would see the
counters of whichever worker happened to answer it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", str(min(2 * (os.cpu_count() or 1) + 1, 8))))
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
worker_class = "gthread"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so a slow leak in a dependency cannot grow forever;
# the jitter keeps them from restarting all at once.
max_requests = 2000
max_requests_jitter = 200
# A tmpfs for the worker heartbeat files: a disk-backed /tmp in a container can
# stall them long enough to get healthy workers killed.
worker_tmp_dir = "/dev/shm" if Path("/dev/shm").is_dir() else None
# The TLS-terminating proxy in front sets X-Forwarded-Proto; only it reaches this port.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "*")
# The runtime control socket would need a writable home; the container user has none.
control_socket_disable = True

# Django's access-log middleware writes one JSON line per request (with its request
# id), so gunicorn's own access log stays off; its error log goes to stderr as JSON.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("ARGUS_LOG_LEVEL", "info").lower()
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        }
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
    "loggers": {
        "gunicorn.error": {"handlers": ["console"], "level": loglevel.upper(), "propagate": False},
        "gunicorn.access": {"handlers": ["console"], "level": loglevel.upper(), "propagate": False},
    },
}

# Set before any worker imports prometheus_client: it picks its value store at import.
_multiproc_dir = os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR", str(Path(tempfile.gettempdir()) / "argus-prometheus")
)


def on_starting(server) -> None:
    # Files left by a previous run hold counters of processes that no longer exist.
    shutil.rmtree(_multiproc_dir, ignore_errors=True)
    Path(_multiproc_dir).mkdir(parents=True, exist_ok=True)


def child_exit(server, worker) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
