"""docker-compose.yml: valid against the Compose specification, and consistent with the code.

Docker does not run on these machines, so the file is checked the way it will be
used: every command against the code it starts, every variable against settings.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from config.celery import CeleryQueue
from tests.ops.compose import (
    APP_SERVICES,
    COMPOSE_FILE,
    INFRA_SERVICES,
    REPO_ROOT,
    SECRETS_MOUNT,
    command_args,
    container_environment,
    environment_names_read_by_settings,
    interpolate,
    load_compose,
    option_values,
    service_environment,
)

# What settings refuse to start without when DJANGO_ENV=production (or need to reach the services).
REQUIRED_IN_PRODUCTION = ("DJANGO_ENV", "DJANGO_ALLOWED_HOSTS", "DATABASE_URL", "CELERY_BROKER_URL")


@pytest.fixture(scope="module")
def compose() -> dict:
    return load_compose()


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def check_jsonschema() -> str:
    exe = Path(sys.executable).with_name("check-jsonschema")
    return str(exe) if exe.exists() else (shutil.which("check-jsonschema") or "check-jsonschema")


def test_compose_file_validates_against_the_compose_specification():
    result = subprocess.run(
        [check_jsonschema(), "--builtin-schema", "vendor.compose-spec", str(COMPOSE_FILE)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok" in result.stdout


def test_compose_schema_check_rejects_a_broken_file(tmp_path):
    """The validation above would catch a mistake: the same file with one unknown key fails."""
    broken = yaml.safe_load(COMPOSE_FILE.read_text())
    broken["services"]["web"]["gpus_please"] = True
    path = tmp_path / "docker-compose.yml"
    path.write_text(yaml.safe_dump(broken))
    result = subprocess.run(
        [check_jsonschema(), "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "gpus_please" in result.stdout


def test_every_service_of_the_production_shape_is_defined(services):
    assert set(APP_SERVICES) | set(INFRA_SERVICES) <= set(services)
    assert services["postgres"]["image"].startswith("postgres:16")
    assert services["qdrant"]["image"].startswith("qdrant/qdrant:")
    assert services["redis"]["image"].startswith("redis:")


def test_qdrant_server_has_the_minor_version_of_the_client(services):
    from importlib.metadata import version

    image = services["qdrant"]["image"]
    server = image.split(":", 1)[1].lstrip("v").split(".")[:2]
    client = version("qdrant-client").split(".")[:2]
    assert server == client, f"qdrant server {image} vs qdrant-client {version('qdrant-client')}"


def test_app_services_build_from_platform_dockerfile(services):
    for name in APP_SERVICES:
        build = services[name]["build"]
        dockerfile = (REPO_ROOT / build["context"] / build["dockerfile"]).resolve()
        assert dockerfile == REPO_ROOT / "platform" / "Dockerfile", name
        assert dockerfile.is_file()
    assert services["model-worker"]["build"]["args"]["TORCH_VARIANT"] == "cuda"
    assert services["web"]["build"]["args"]["TORCH_VARIANT"] == "cpu"
    assert "ARG TORCH_VARIANT" in (REPO_ROOT / "platform" / "Dockerfile").read_text()


def test_dockerfile_runs_as_non_root_with_a_healthcheck_on_healthz():
    from django.urls import reverse

    text = (REPO_ROOT / "platform" / "Dockerfile").read_text()
    assert text.startswith("# syntax=docker/dockerfile:1")
    assert "FROM python:3.11-slim" in text
    user_lines = [line.split()[1] for line in text.splitlines() if line.startswith("USER ")]
    assert user_lines and user_lines[-1] not in {"root", "0"}
    assert "collectstatic --noinput" in text
    assert "HEALTHCHECK" in text and reverse("core:healthz") in text
    # The build context leaves out what must never ship in an image.
    ignored = (REPO_ROOT / ".dockerignore").read_text().split()
    for entry in (".venv", ".git", "var", "platform/secrets"):
        assert entry in ignored
    # Files copied by name exist and are not left out of the context.
    for line in text.splitlines():
        if line.startswith("COPY ") and "--from" not in line:
            for source in line.split()[1:-1]:
                if source != ".":
                    assert (REPO_ROOT / source).is_file(), source
                    assert source not in ignored, source


def test_app_services_share_one_environment(services):
    web_env = service_environment(services["web"])
    for name in APP_SERVICES:
        env = service_environment(services[name])
        # The model worker adds its device settings; nothing else differs.
        assert {k: v for k, v in env.items() if k in web_env} == web_env, name


def test_production_requirements_are_provided_to_every_app_service(services):
    for name in APP_SERVICES:
        env = service_environment(services[name])
        assert env["DJANGO_ENV"] == "production", name
        assert "DJANGO_SECRET_KEY" in env or "DJANGO_SECRET_KEY_FILE" in env, name
        assert "DJANGO_SECRET_KEY" not in env, f"{name}: the key comes from a secret file, not the compose file"
        for variable in REQUIRED_IN_PRODUCTION:
            assert env.get(variable), f"{name} lacks {variable}"
        assert env["DATABASE_URL"].startswith("postgres://")
        assert env["DATABASE_URL"].split("@", 1)[1].split(":")[0] == "postgres"
        assert env["CELERY_BROKER_URL"].startswith("redis://redis:")
        assert env["REDIS_URL"].startswith("redis://redis:")
        assert env["QDRANT_URL"].startswith("http://qdrant:")


def test_every_secret_file_a_service_names_is_mounted_into_it(compose):
    declared = set(compose["secrets"])
    for name, service in compose["services"].items():
        mounted = {s if isinstance(s, str) else s["source"] for s in service.get("secrets", [])}
        assert mounted <= declared, name
        for variable, value in service_environment(service).items():
            if value.startswith(SECRETS_MOUNT):
                assert value.removeprefix(SECRETS_MOUNT) in mounted, f"{name}: {variable}={value}"


@pytest.mark.parametrize("service_name", APP_SERVICES)
def test_every_app_environment_variable_is_read_by_settings(services, service_name, tmp_path):
    env = container_environment(services[service_name], tmp_path)
    names_read, result = environment_names_read_by_settings(env)
    assert result.returncode == 0, result.stderr[-3000:]
    compose_names = set(service_environment(services[service_name]))
    unread = compose_names - names_read
    assert not unread, f"{service_name} sets variables settings never read: {sorted(unread)}"
    assert "DJANGO_SECRET_KEY_FILE" in names_read


def test_settings_with_the_compose_environment_pass_the_deployment_checks(services, tmp_path):
    env = container_environment(services["web"], tmp_path)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stdout + result.stderr


def test_workers_consume_exactly_the_queues_of_celery_queue(services):
    consumed: dict[str, set[str]] = {}
    for name in ("worker", "model-worker", "interactive-worker", "trainer"):
        args = command_args(services[name])
        assert args[:4] == ["celery", "-A", "config", "worker"], name
        queues = option_values(args, "-Q", "--queues")
        assert len(queues) == 1, name
        consumed[name] = set(queues[0].split(","))
    assert consumed == {
        "worker": {CeleryQueue.INGEST.value},
        "model-worker": {CeleryQueue.MODELS.value},
        "interactive-worker": {"interactive"},
        "trainer": {CeleryQueue.TRAINING.value},
    }
    # Every queue has a consumer, and no queue is consumed by both.
    assert set().union(*consumed.values()) == {q.value for q in CeleryQueue}


def test_model_worker_reserves_a_gpu_and_runs_one_process(services):
    worker = services["model-worker"]
    devices = worker["deploy"]["resources"]["reservations"]["devices"]
    assert any(
        d["driver"] == "nvidia" and "gpu" in d["capabilities"] and (d.get("count") in {1, "all"} or d.get("device_ids"))
        for d in devices
    )
    assert option_values(command_args(worker), "--concurrency", "-c") == ["1"]
    assert service_environment(worker)["ARGUS_DEVICE"] == "auto"
    assert "deploy" not in services["worker"], "the ingest worker does CPU work and needs no GPU"


def test_web_runs_gunicorn_on_the_wsgi_app_of_settings(services):
    from django.conf import settings

    args = command_args(services["web"])
    assert args[0] == "gunicorn"
    app_module = next(a for a in args[1:] if not a.startswith("-") and a != option_values(args, "-c")[0])
    assert f"{app_module}.application" == settings.WSGI_APPLICATION
    assert (REPO_ROOT / (app_module.replace(".", "/") + ".py")).is_file()
    config_file = option_values(args, "-c", "--config")[0]
    assert (REPO_ROOT / config_file).is_file()
    # The port gunicorn binds is the port Prometheus scrapes and compose publishes.
    published = [p for p in services["web"]["ports"] if str(p).endswith(":8000")]
    assert published, services["web"]["ports"]


def test_beat_uses_the_database_scheduler(services):
    from django.conf import settings

    args = command_args(services["beat"])
    assert args[:4] == ["celery", "-A", "config", "beat"]
    assert option_values(args, "--scheduler", "-S") == [settings.CELERY_BEAT_SCHEDULER]
    assert settings.CELERY_BEAT_SCHEDULER == "django_celery_beat.schedulers:DatabaseScheduler"


def test_migrations_run_once_before_the_processes_that_use_the_database(services):
    assert command_args(services["migrate"])[:3] == ["python", "manage.py", "migrate"]
    assert services["migrate"]["restart"] == "no"
    for name in ("web", "worker", "model-worker", "beat"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully", name
        assert depends["postgres"]["condition"] == "service_healthy", name
    for name in ("postgres", "redis", "qdrant"):
        assert services[name]["healthcheck"]["test"], name


def test_prometheus_scrapes_web_metrics_with_the_shared_token(services):
    from django.conf import settings
    from django.urls import reverse

    prometheus = services["prometheus"]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in prometheus["volumes"] if v.startswith("./")}
    config_path = REPO_ROOT / mounts["/etc/prometheus/prometheus.yml"]
    assert config_path.is_file()
    config = yaml.safe_load(config_path.read_text())
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "argus-web"]
    assert job["metrics_path"] == reverse("metrics") == "/metrics"
    (target,) = job["static_configs"][0]["targets"]
    host, port = target.split(":")
    assert host in services and host == "web" and port == "8000"
    # The host name Prometheus uses must be one Django accepts.
    assert host in service_environment(services["web"])["DJANGO_ALLOWED_HOSTS"].split(",")
    token_file = job["authorization"]["credentials_file"]
    assert job["authorization"]["type"] == "Bearer"
    assert token_file == service_environment(services["web"])["ARGUS_METRICS_TOKEN_FILE"]
    assert token_file.removeprefix(SECRETS_MOUNT) in prometheus["secrets"]
    # Prometheus sends it over plain HTTP inside the network: production must not redirect it.
    assert "metrics" in "".join(settings.SECURE_REDIRECT_EXEMPT) or not settings.IS_PRODUCTION


def test_grafana_is_provisioned_with_prometheus_and_the_argus_dashboard(services):
    grafana = services["grafana"]
    mounts = {v.split(":")[1]: REPO_ROOT / v.split(":")[0] for v in grafana["volumes"] if v.startswith("./")}
    provisioning = mounts["/etc/grafana/provisioning"]
    datasources = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())["datasources"]
    (prometheus,) = [d for d in datasources if d["type"] == "prometheus"]
    assert prometheus["url"] == "http://prometheus:9090"
    providers = yaml.safe_load((provisioning / "dashboards" / "argus.yml").read_text())["providers"]
    dashboards_dir = providers[0]["options"]["path"]
    assert dashboards_dir in mounts, "the dashboard provider reads a folder compose does not mount"
    dashboard_files = sorted(mounts[dashboards_dir].glob("*.json"))
    assert dashboard_files
    for path in dashboard_files:
        dashboard = json.loads(path.read_text())
        for panel in dashboard["panels"]:
            if panel["type"] != "row":
                assert panel["datasource"]["uid"] == prometheus["uid"], panel["title"]


def test_interpolation_follows_compose_rules():
    assert interpolate("${A:-x},y", {}) == "x,y"
    assert interpolate("${A:-x}", {"A": "a"}) == "a"
    assert interpolate("${A:-x}", {"A": ""}) == "x"
    assert interpolate("${A-x}", {"A": ""}) == ""
    assert interpolate("ping $$HOSTNAME", {}) == "ping $HOSTNAME"
    with pytest.raises(KeyError):
        interpolate("${A:?set A}", {})


_PLAIN_HTTP_PROBE = r"""
import json, django
django.setup()
from django.test import Client
out = {}
for host, path in [("web:8000", "/metrics"), ("127.0.0.1:8000", "/healthz"), ("web:8000", "/accounts/login/")]:
    response = Client(HTTP_HOST=host).get(path)
    out[path] = [response.status_code, response.headers.get("Location", "")]
print(json.dumps(out))
"""


def test_scrapes_and_health_checks_reach_web_over_plain_http_in_production(services, tmp_path):
    """Inside the network there is no TLS: /metrics and /healthz must not be redirected to HTTPS."""
    env = {**container_environment(services["web"], tmp_path), "DJANGO_SETTINGS_MODULE": "config.settings"}
    result = subprocess.run(
        [sys.executable, "-c", _PLAIN_HTTP_PROBE], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    answers = json.loads(result.stdout.strip().splitlines()[-1])
    assert answers["/metrics"] == [401, ""]  # asks for the token, on plain HTTP
    assert answers["/healthz"] == [200, ""]
    # Everything else is sent to HTTPS.
    assert answers["/accounts/login/"] == [301, "https://web:8000/accounts/login/"]
