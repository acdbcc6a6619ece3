"""The model worker's health task reports the torch threads it runs with (ARGUS_TORCH_THREADS)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.worker import REPO_ROOT

# A fresh process, as a worker that has not loaded an engine yet: torch's default would be one
# thread per core; the setting (3, unlike any default here) must win.
SCRIPT = """
import json, django
django.setup()
from gpu_workers.tasks.embedding import health
print(json.dumps(health()))
"""


def test_health_reports_the_configured_torch_threads_before_any_engine_loads():
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL"}}
    env |= {"DJANGO_SETTINGS_MODULE": "config.settings", "DJANGO_ENV": "test", "ARGUS_TORCH_THREADS": "3"}
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=True, timeout=300
    )
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["threads"] == 3
    assert report["loaded_models"] == []
