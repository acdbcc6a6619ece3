"""Structured logs: one JSON access line per request, and task ids in Celery task logs."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.test import Client

from apps.core.logging import ContextFilter, job_context, task_id_var
from config.celery import app as celery_app
from tests.conftest import client_for

probe_logger = logging.getLogger("tests.ops.probe")


@celery_app.task(name="tests.ops.log_probe", bind=True)
def log_probe(self, job_id: str = "") -> str:
    if job_id:
        with job_context(job_id):
            probe_logger.info("probe inside a job")
    else:
        probe_logger.info("probe")
    return task_id_var.get()


class JsonLines:
    def __init__(self, stream: io.StringIO) -> None:
        self.stream = stream

    def records(self) -> list[dict]:
        # json.loads on every line: a line that is not one JSON object fails the test.
        return [json.loads(line) for line in self.stream.getvalue().splitlines() if line.strip()]

    def by_logger(self, name: str) -> list[dict]:
        return [r for r in self.records() if r.get("logger") == name]


@pytest.fixture
def json_log() -> Iterator[JsonLines]:
    """The root logger's output through the JSON formatter and context filter of settings.LOGGING."""
    from pythonjsonlogger.json import JsonFormatter

    options = {k: v for k, v in settings.LOGGING["formatters"]["json"].items() if k != "()"}
    assert settings.LOGGING["formatters"]["json"]["()"] == "pythonjsonlogger.json.JsonFormatter"
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(**options))
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield JsonLines(stream)
    finally:
        root.removeHandler(handler)
        root.setLevel(previous_level)


def test_settings_send_every_log_line_through_the_json_formatter_with_the_context_filter():
    console = settings.LOGGING["handlers"]["console"]
    assert console["formatter"] == ("json" if settings.LOG_FORMAT != "plain" else "plain")
    assert console["filters"] == ["context"]
    assert settings.LOGGING["filters"]["context"]["()"] == "apps.core.logging.ContextFilter"
    assert "apps.core.middleware.AccessLogMiddleware" in settings.MIDDLEWARE
    # Inside the request id middleware, so its line carries the id.
    assert settings.MIDDLEWARE.index("apps.core.middleware.AccessLogMiddleware") == (
        settings.MIDDLEWARE.index("apps.core.middleware.RequestIdMiddleware") + 1
    )


def test_request_logs_one_json_access_line_with_its_request_id(json_log):
    response = Client().get("/healthz?q=secret-search-term")

    request_id = response["X-Request-ID"]
    assert len(request_id) == 32
    (line,) = json_log.by_logger("argus.access")
    assert line["request_id"] == request_id
    assert line["method"] == "GET"
    assert line["path"] == "/healthz"
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float | int) and line["duration_ms"] >= 0
    assert line["user_id"] is None
    assert line["level"] == "INFO"
    assert "time" in line
    assert "secret-search-term" not in json_log.stream.getvalue()


@pytest.mark.django_db
def test_access_line_names_the_logged_in_user_and_keeps_a_sane_incoming_request_id(json_log, analyst):
    response = client_for(analyst).get("/", HTTP_X_REQUEST_ID="lb-7f3a.42")

    assert response["X-Request-ID"] == "lb-7f3a.42"
    (line,) = json_log.by_logger("argus.access")
    assert line["request_id"] == "lb-7f3a.42"
    assert line["user_id"] == analyst.pk
    assert line["status"] == response.status_code == 200


@pytest.mark.django_db
def test_refused_and_missing_pages_are_logged_with_their_status(json_log, analyst):
    client = client_for(analyst)
    refused = client.get("/metrics")
    missing = client.get("/no-such-page")

    lines = json_log.by_logger("argus.access")
    assert [(r["path"], r["status"]) for r in lines] == [("/metrics", 403), ("/no-such-page", 404)]
    assert [r["request_id"] for r in lines] == [refused["X-Request-ID"], missing["X-Request-ID"]]
    assert refused["X-Request-ID"] != missing["X-Request-ID"]


def test_unsafe_incoming_request_id_is_replaced(json_log):
    response = Client().get("/healthz", HTTP_X_REQUEST_ID='x"} {"forged": 1')
    assert response["X-Request-ID"] != 'x"} {"forged": 1'
    (line,) = json_log.by_logger("argus.access")
    assert line["request_id"] == response["X-Request-ID"]
    assert "forged" not in line


def test_celery_task_logs_carry_the_task_id_and_job_id(json_log):
    job_id = "5d0c7c9e-3f1e-4b7a-9a55-0b8f3e8e2d11"

    result = log_probe.apply(kwargs={"job_id": job_id}, task_id="task-abc-123")

    assert result.get() == "task-abc-123"
    (line,) = json_log.by_logger("tests.ops.probe")
    assert line["message"] == "probe inside a job"
    assert line["task_id"] == "task-abc-123"
    assert line["job_id"] == job_id
    # The context ends with the task: later lines of this thread carry no stale ids.
    assert task_id_var.get() == ""
    probe_logger.info("after the task")
    after = json_log.by_logger("tests.ops.probe")[-1]
    assert (after["task_id"], after["job_id"]) == ("", "")


def test_each_task_run_logs_its_own_task_id(json_log):
    log_probe.apply(task_id="first-task")
    log_probe.apply(task_id="second-task")
    assert [r["task_id"] for r in json_log.by_logger("tests.ops.probe")] == ["first-task", "second-task"]
