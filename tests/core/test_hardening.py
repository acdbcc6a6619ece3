"""DEBUG off by default, static files served without it, and a Content-Security-Policy on every page."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import client_for

ROOT = Path(__file__).resolve().parents[2]

_PROBE = """
import django, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()
from django.conf import settings
from django.test import Client
response = Client().get("/no-such-page-anywhere/")
print(settings.DEBUG, response.status_code, b"URLconf" in response.content)
"""


def _probe(**extra_env: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_ENV", "DJANGO_DEBUG"}}
    env.update(extra_env)
    result = subprocess.run(
        [sys.executable, "-c", _PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True
    )
    return result.stdout.strip().splitlines()[-1]


def test_debug_is_off_by_default_in_development_and_a_missing_page_lists_no_urls():
    assert _probe(DJANGO_ENV="development") == "False 404 False"


def test_debug_is_on_only_when_asked_for():
    assert _probe(DJANGO_ENV="development", DJANGO_DEBUG="true").startswith("True 404")


@pytest.mark.django_db
def test_static_files_are_served_with_debug_off(settings):
    assert settings.DEBUG is False
    response = client_for(None).get("/static/core/argus.css")
    assert response.status_code == 200
    assert b"".join(response.streaming_content if response.streaming else [response.content])


def _csp(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


@pytest.mark.django_db
def test_pages_carry_a_csp_without_inline_scripts(analyst):
    response = client_for(analyst).get("/")
    assert response.status_code == 200
    policy = _csp(response)
    assert policy["script-src"] == ["'self'"]
    assert "'unsafe-inline'" not in policy["style-src"] and "'unsafe-eval'" not in policy["script-src"]
    assert policy["frame-ancestors"] == ["'none'"] and policy["object-src"] == ["'none'"]
    nonce = next(v for v in policy["style-src"] if v.startswith("'nonce-")).removeprefix("'nonce-").rstrip("'")
    html = response.content.decode()
    # htmx's indicator <style> gets the nonce; every script is a file.
    assert f'"inlineStyleNonce": "{nonce}"' in html
    assert all(re.search(r"\bsrc=", tag) for tag in re.findall(r"<script[^>]*>", html))


def test_no_template_has_an_inline_script_or_an_unnonced_style():
    offenders = []
    for template in [*ROOT.glob("templates/**/*.html"), *ROOT.glob("apps/*/templates/**/*.html")]:
        text = template.read_text()
        for tag in re.findall(r"<script\b[^>]*>", text):
            if "src=" not in tag:
                offenders.append(f"{template}: {tag}")
        for tag in re.findall(r"<style\b[^>]*>", text):
            # The report's HTML export is a downloaded standalone file, not a page of the site.
            if "csp_nonce" not in tag and template.name != "report_export.html":
                offenders.append(f"{template}: {tag}")
        if re.search(r"\son[a-z]+=", text):
            offenders.append(f"{template}: inline event handler")
    assert not offenders, offenders


@pytest.mark.django_db
def test_swagger_ui_works_under_the_csp(analyst):
    client = client_for(analyst)
    page = client.get("/api/docs/")
    policy = _csp(page)
    html = page.content.decode()
    nonce = next(v for v in policy["style-src"] if v.startswith("'nonce-")).removeprefix("'nonce-").rstrip("'")
    assert f'<style nonce="{nonce}">' in html
    assert "<script>" not in html
    assert "data:" in policy["img-src"]  # Swagger UI's icons
