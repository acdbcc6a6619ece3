"""Loaded with ``-p`` before pytest-django imports the settings: the tests' environment.

Each test run gets its own var/ folder (broker folders, SQLite test database, cache),
its own PostgreSQL test database and its own Redis key prefix, so that a running
``make run`` instance and overlapping test runs never share a queue or a database.
Worker subprocesses inherit these variables.
"""

import os
import shutil
from pathlib import Path

_RUN_ID = f"run{os.getpid()}"
_RUN_VAR_DIR = Path(__file__).resolve().parent.parent / "var" / "test" / _RUN_ID

os.environ.setdefault("DJANGO_ENV", "test")
os.environ.setdefault("ARGUS_VAR_DIR", str(_RUN_VAR_DIR))
os.environ.setdefault("DATABASE_TEST_NAME", f"test_argus_{_RUN_ID}")
os.environ.setdefault("CELERY_BROKER_KEY_PREFIX", f"argus-test-{_RUN_ID}:")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def pytest_unconfigure(config) -> None:
    if os.environ.get("ARGUS_VAR_DIR") == str(_RUN_VAR_DIR) and not os.environ.get("ARGUS_KEEP_TEST_VAR"):
        shutil.rmtree(_RUN_VAR_DIR, ignore_errors=True)
