"""Regression tests for what schemathesis found against the API (issue 9, item 11): fast, one per finding."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from rest_framework.test import APIClient

from apps.core.api_pagination import MAX_LIMIT
from apps.jobs.models import Job, JobKind
from apps.research.models import AccessLevel, Document, DocumentStatus

pytestmark = pytest.mark.django_db

PAGINATED = ["/api/reports/", "/api/documents/", "/api/jobs/"]


@pytest.fixture(scope="module")
def openapi() -> dict:
    return json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _error(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    error = response.json()["error"]
    assert error["status"] == status and error["code"] and error["detail"]
    return error


@pytest.mark.parametrize("path", PAGINATED)
@pytest.mark.parametrize("query", ["limit=99999999999999999999", "offset=99999999999999999999", "limit=0"])
def test_out_of_range_pagination_is_a_400_not_a_500(admin_user, path, query):
    error = _error(_api(admin_user).get(f"{path}?{query}"), 400)
    assert set(error["fields"]) == {query.split("=")[0]}


@pytest.mark.parametrize("path", PAGINATED)
@pytest.mark.parametrize("query", ["offset=null", "limit=null", "limit=", "offset=-1", "limit=1.5"])
def test_pagination_values_that_are_not_whole_numbers_are_refused(admin_user, path, query):
    _error(_api(admin_user).get(f"{path}?{query}"), 400)


@pytest.mark.parametrize("path", PAGINATED)
def test_limit_up_to_max_limit_is_accepted(admin_user, path):
    assert _api(admin_user).get(f"{path}?limit={MAX_LIMIT}&offset=2147483647").status_code == 200
    _error(_api(admin_user).get(f"{path}?limit={MAX_LIMIT + 1}"), 400)


def test_every_paginated_list_states_its_max_limit_and_its_400(openapi):
    lists = 0
    for path, operations in openapi["paths"].items():
        for method, operation in operations.items():
            params = {p["name"]: p for p in operation.get("parameters", [])}
            if "limit" not in params:
                continue
            lists += 1
            # A list may bound its pages tighter (vectors: 100 per page), never looser.
            assert 1 <= params["limit"]["schema"]["maximum"] <= MAX_LIMIT, path
            assert params["limit"]["schema"]["minimum"] == 1 and params["offset"]["schema"]["minimum"] == 0, path
            assert "maximum" in params["offset"]["schema"], path
            assert "400" in operation["responses"], f"{method.upper()} {path} does not document its 400"
    assert lists >= 4


def test_uploaded_by_and_owner_are_documented_as_nullable_and_are_null_for_system_loads(openapi, analyst):
    schemas = openapi["components"]["schemas"]
    assert schemas["Document"]["properties"]["uploaded_by"]["nullable"] is True
    assert schemas["JobOutput"]["properties"]["owner"]["nullable"] is True
    document = Document.objects.create(
        title="Demo", uploaded_by=None, access_level=AccessLevel.INTERNAL, status=DocumentStatus.INDEXED
    )
    job = Job.objects.create(kind=JobKind.INGEST, owner=None, actor_label="system:demo-corpus")
    assert _api(analyst).get(f"/api/documents/{document.pk}/").json()["uploaded_by"] is None
    assert _api(analyst).get(f"/api/jobs/{job.pk}/").json()["owner"] is None


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("get", "/api/reports/null,null/", 404),
        ("get", "/api/no-such-endpoint/", 404),
        ("get", "/api/jobs/not-a-uuid/", 404),
        ("put", "/api/reports/", 405),
    ],
)
def test_every_api_error_is_the_json_envelope_even_with_debug_on(settings, analyst, debug, method, path, status):
    settings.DEBUG = debug
    response = getattr(_api(analyst), method)(path)
    _error(response, status)
    if status == 405:
        assert response["Allow"]


def test_model_worker_timeouts_are_a_documented_503(openapi, analyst, monkeypatch):
    from celery.exceptions import TimeoutError as ResultTimeout

    def times_out(*args, **kwargs):
        raise ResultTimeout("busy")

    monkeypatch.setattr("apps.research.selectors.models_call", times_out)
    # Ask is a job (202 at once); only search waits on the (interactive) model worker.
    for path, body in [("/api/search/", {"query": "net debt"})]:
        assert "503" in openapi["paths"][path]["post"]["responses"]
        assert _error(_api(analyst).post(path, body, format="json"), 503)["code"] == "model_worker_unavailable"


def test_request_bodies_that_refuse_unknown_keys_say_so(openapi, analyst):
    strict = {
        name: schema
        for name, schema in openapi["components"]["schemas"].items()
        if name in {"EmbeddingJobInputRequest", "SearchInputRequest", "AskInputRequest", "ReportInputRequest"}
    }
    assert len(strict) == 4
    assert all(schema["additionalProperties"] is False for schema in strict.values())
    error = _error(_api(analyst).post("/api/embeddings/", {"texts": ["a"], "colour": "red"}, format="json"), 400)
    assert "colour" in error["fields"]


def test_the_token_example_logs_in_as_a_demo_user_that_exists(openapi):
    call_command("seed_demo")
    operation = openapi["paths"]["/api/auth/token/"]["post"]
    example = operation["requestBody"]["content"]["application/json"]["examples"]["Credentials"]["value"]
    response = APIClient().post("/api/auth/token/", example, format="json")
    assert response.status_code == 200, response.content


def test_boolean_and_enum_query_parameters_refuse_other_values(analyst):
    _error(_api(analyst).get("/api/reports/?mine=null"), 400)
    _error(_api(analyst).get("/api/reports/?status="), 400)
    assert _api(analyst).get("/api/reports/?mine=true").status_code == 200


def test_me_with_no_email_matches_its_schema(openapi, analyst):
    analyst.email = ""
    analyst.save()
    assert openapi["components"]["schemas"]["MeOutput"]["properties"]["email"].get("format") != "email"
    assert _api(analyst).get("/api/me/").json()["email"] == ""
