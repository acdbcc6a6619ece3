"""Every error under /api/ has the same JSON envelope, whichever layer produced it."""

from __future__ import annotations

import uuid

import pytest
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404
from django.test import Client, override_settings
from rest_framework import exceptions

from apps.core.api_errors import json_exception_handler
from apps.jobs.models import Job, JobKind
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert error["status"] == status
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["detail"], str) and error["detail"]
    return error


@pytest.fixture
def analyst_job(analyst):
    return Job.objects.create(kind=JobKind.EMBED, owner=analyst, actor_label="user:ana-analyst", params={})


def test_anonymous_api_request_is_401_with_token_challenge_not_403():
    response = Client().get("/api/jobs/")
    error = error_of(response, 401)
    assert error["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == "Token"


def test_invalid_token_is_401_authentication_failed(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Token 0000000000000000000000000000000000000000")
    error = error_of(api_client.get("/api/jobs/"), 401)
    assert error["code"] == "authentication_failed"
    assert "token" in error["detail"].lower()


def test_logged_in_user_without_role_is_403(outsider):
    error = error_of(client_for(outsider).get("/api/jobs/"), 403)
    assert error["code"] == "permission_denied"
    assert error["detail"] == "Your role does not allow this action."


def test_auditor_may_read_jobs_but_not_start_one(auditor):
    client = client_for(auditor)
    assert client.get("/api/jobs/").status_code == 200
    response = client.post("/api/embeddings/", {"texts": ["x"]}, content_type="application/json")
    assert error_of(response, 403)["code"] == "permission_denied"


def test_job_of_another_user_is_404_like_a_missing_one(other_analyst, analyst_job):
    client = client_for(other_analyst)
    hidden = error_of(client.get(f"/api/jobs/{analyst_job.pk}/"), 404)
    missing = error_of(client.get(f"/api/jobs/{uuid.uuid4()}/"), 404)
    assert hidden == missing == {"status": 404, "code": "not_found", "detail": "No such job."}


@override_settings(DEBUG=False)
@pytest.mark.parametrize("path", ["/api/no-such-endpoint/", "/api/jobs/not-a-uuid/", "/api/"])
@pytest.mark.parametrize("logged_in", [False, True], ids=["anonymous", "analyst"])
def test_unknown_api_path_is_json_404(path, logged_in, analyst):
    client = client_for(analyst) if logged_in else Client()
    assert error_of(client.get(path), 404)["code"] == "not_found"


def test_unknown_page_path_is_not_json():
    response = Client().get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("get", "/api/embeddings/", "POST"),
        ("put", "/api/embeddings/", "POST"),
        ("delete", "/api/jobs/{job}/", "GET"),
        ("post", "/api/jobs/", "GET"),
        ("get", "/api/auth/token/", "POST"),
    ],
)
def test_wrong_method_is_405_with_allow_header(method, path, allowed, analyst, analyst_job):
    client = client_for(analyst)
    response = getattr(client, method)(path.format(job=analyst_job.pk), content_type="application/json")
    error = error_of(response, 405)
    assert error["code"] == "method_not_allowed"
    assert allowed in response["Allow"]


def test_unacceptable_accept_header_is_json_406(analyst):
    response = client_for(analyst).get("/api/jobs/", HTTP_ACCEPT="text/html")
    assert error_of(response, 406)["code"] == "not_acceptable"


def test_schema_errors_are_json_even_though_the_schema_is_yaml(outsider):
    # The schema view renders YAML by default; its errors must still be the JSON envelope.
    assert error_of(Client().get("/api/schema/"), 401)["code"] == "not_authenticated"
    assert error_of(client_for(outsider).get("/api/schema/"), 403)["code"] == "permission_denied"


def test_unhandled_error_in_an_api_view_is_json_500(analyst, monkeypatch):
    def explode(user):
        raise RuntimeError("database on fire")

    monkeypatch.setattr("apps.jobs.api.job_summaries_for_user", explode)
    client = client_for(analyst)
    client.raise_request_exception = False
    error = error_of(client.get("/api/jobs/"), 500)
    assert error["code"] == "server_error"
    assert "fire" not in error["detail"]  # internals stay in the logs


@pytest.mark.parametrize(
    ("raised", "status", "code"),
    [
        (Http404("No such report."), 404, "not_found"),
        (PermissionDenied("Not your desk."), 403, "permission_denied"),
        (RequestDataTooBig(), 400, "request_too_large"),
        (exceptions.ValidationError(["Dates are the wrong way round."]), 400, "invalid"),
        (exceptions.Throttled(wait=2.2), 429, "throttled"),
    ],
)
def test_handler_maps_django_and_drf_exceptions_to_the_envelope(raised, status, code):
    response = json_exception_handler(raised, {})
    assert response.status_code == status
    error = response.data["error"]
    assert error["status"] == status and error["code"] == code and error["detail"]


def test_handler_keeps_the_message_of_django_exceptions():
    assert json_exception_handler(Http404("No such report."), {}).data["error"]["detail"] == "No such report."
    assert json_exception_handler(PermissionDenied("Not your desk."), {}).data["error"]["detail"] == "Not your desk."


def test_validation_error_lists_fields_and_summarises_the_first():
    raised = exceptions.ValidationError({"texts": {1: ["Must be a string, not int."]}, "limit": ["Too big."]})
    error = json_exception_handler(raised, {}).data["error"]
    assert error["fields"] == raised.detail
    assert error["detail"] == "Invalid input. texts[1]: Must be a string, not int. (and 1 more)"


def test_list_shaped_validation_error_becomes_non_field_errors():
    error = json_exception_handler(exceptions.ValidationError(["Dates are the wrong way round."]), {}).data["error"]
    assert error["fields"] == {"non_field_errors": ["Dates are the wrong way round."]}
    assert error["detail"] == "Invalid input. Dates are the wrong way round."


def test_handler_leaves_unknown_exceptions_to_djangos_500():
    assert json_exception_handler(RuntimeError("boom"), {}) is None
