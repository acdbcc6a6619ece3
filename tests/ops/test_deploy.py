"""Production settings: ``check --deploy`` is clean, secrets have no defaults, the image build steps work."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def production_env(tmp_path: Path, **overrides: str | None) -> dict[str, str]:
    """A clean production environment: nothing inherited but PATH and HOME."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "LANG": "C.UTF-8",
        "DJANGO_ENV": "production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(60),
        "DJANGO_ALLOWED_HOSTS": "argus.example.com",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'argus.sqlite3'}",
        "ARGUS_VAR_DIR": str(tmp_path / "var"),
    }
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_check_deploy_reports_nothing_under_production_settings(tmp_path):
    result = manage(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output
    assert "WARNING" not in output


def test_check_deploy_would_report_a_weak_secret_key(tmp_path):
    """The check above runs the deployment checks for real: a short key fails them."""
    result = manage(
        production_env(tmp_path, DJANGO_SECRET_KEY="too-short"), "check", "--deploy", "--fail-level", "WARNING"
    )
    assert result.returncode != 0
    assert "security.W009" in result.stdout + result.stderr


def test_secret_key_is_read_from_a_file(tmp_path):
    key_file = tmp_path / "django_secret_key"
    key_file.write_text(secrets.token_urlsafe(60) + "\n")
    env = production_env(tmp_path, DJANGO_SECRET_KEY=None, DJANGO_SECRET_KEY_FILE=str(key_file))
    result = manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("DJANGO_SECRET_KEY", "DJANGO_SECRET_KEY (or DJANGO_SECRET_KEY_FILE) must be set when DJANGO_ENV=production"),
        ("DJANGO_ALLOWED_HOSTS", "DJANGO_ALLOWED_HOSTS must be set when DJANGO_ENV=production"),
    ],
)
def test_production_refuses_to_start_without_a_required_setting(tmp_path, missing, message):
    result = manage(production_env(tmp_path, **{missing: None}), "check")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_production_has_no_development_secret_key(tmp_path):
    """The development default key is never used in production, even with an empty variable."""
    result = manage(production_env(tmp_path, DJANGO_SECRET_KEY=""), "check")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_optional_secrets_come_from_files_in_production(tmp_path):
    token_file = tmp_path / "metrics_token"
    token_file.write_text("scrape-token-from-a-file\n")
    password_file = tmp_path / "postgres_password"
    password_file.write_text("pg-password-from-a-file\n")
    env = production_env(
        tmp_path,
        ARGUS_METRICS_TOKEN_FILE=str(token_file),
        DATABASE_URL="postgres://argus@postgres:5432/argus",
        DATABASE_PASSWORD_FILE=str(password_file),
    )
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.ARGUS_METRICS_TOKEN, s.DATABASES['default']['PASSWORD'], s.DATABASES['default']['USER'])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["scrape-token-from-a-file", "pg-password-from-a-file", "argus"]


def test_collectstatic_as_the_image_build_runs_it(tmp_path):
    """platform/Dockerfile collects static files under production settings (manifest storage)."""
    dockerfile = (REPO_ROOT / "platform" / "Dockerfile").read_text()
    assert "python manage.py collectstatic --noinput" in dockerfile
    result = manage(production_env(tmp_path), "collectstatic", "--noinput")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    static_root = tmp_path / "var" / "static"
    assert (static_root / "staticfiles.json").is_file()
    assert list((static_root / "admin").rglob("*.css"))
