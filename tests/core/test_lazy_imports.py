"""The web process never imports model libraries: they belong to model workers."""

from __future__ import annotations

import subprocess
import sys

CODE = """
import os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
import django
django.setup()
from django.urls import get_resolver
resolver = get_resolver()
resolver.url_patterns  # import every view module
import config.wsgi, apps.jobs.services, apps.audit.services, apps.reports.services, apps.reports.exports
import apps.registry.services, pipelines.reports
heavy = ("torch", "transformers", "sentence_transformers", "spacy", "peft", "xgrammar")
heavy = sorted(m for m in heavy if m in sys.modules)
print(",".join(heavy))
"""


def test_web_modules_do_not_import_model_libraries():
    proc = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1:] in ([], [""]), f"heavy imports in web: {proc.stdout}"
