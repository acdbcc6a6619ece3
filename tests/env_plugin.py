"""Loaded with ``-p`` before pytest-django imports the settings: the tests' environment.

Tests use their own var/ (broker folders, SQLite test database, cache) so that a
running ``make run`` instance and the test suite never share a queue.
"""

import os
from pathlib import Path

os.environ.setdefault("DJANGO_ENV", "test")
os.environ.setdefault("ARGUS_VAR_DIR", str(Path(__file__).resolve().parent.parent / "var" / "test"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
