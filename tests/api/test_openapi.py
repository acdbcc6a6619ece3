"""The OpenAPI document is valid, complete, warning-free, and its UI works offline."""

from __future__ import annotations

import re

import pytest
import yaml
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver
from openapi_spec_validator import validate

from tests.conftest import client_for

pytestmark = pytest.mark.django_db

UNDOCUMENTED = {"/api/schema/", "/api/docs/"}  # the document and its viewer
PUBLIC_OPERATIONS = {"auth_token_create"}


def api_paths_in_urlconf() -> set[str]:
    """Every /api/ route in the URL conf, in OpenAPI's ``{param}`` notation."""

    def walk(patterns, prefix: str = ""):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                yield from walk(entry.url_patterns, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern):
                yield "/" + prefix + str(entry.pattern)

    routes = {re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route) for route in walk(get_resolver().url_patterns)}
    return {route for route in routes if route.startswith("/api/")} - UNDOCUMENTED


@pytest.fixture
def schema(analyst) -> dict:
    response = client_for(analyst).get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    return response.json()


def operations(schema: dict):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield path, method, operation


def test_schema_is_a_valid_openapi_3_document(schema):
    assert schema["openapi"].startswith("3.")
    validate(schema)  # raises on any violation of the OpenAPI 3 specification


def test_schema_default_format_is_yaml_with_the_same_content(analyst, schema):
    response = client_for(analyst).get("/api/schema/")
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
    assert yaml.safe_load(response.content) == schema


def test_schema_lists_every_api_endpoint(schema):
    assert set(schema["paths"]) == api_paths_in_urlconf()


def test_schema_declares_session_and_token_security(schema):
    schemes = schema["components"]["securitySchemes"]
    assert schemes["cookieAuth"] == {"type": "apiKey", "in": "cookie", "name": "sessionid"}
    assert schemes["tokenAuth"]["type"] == "apiKey"
    assert schemes["tokenAuth"]["in"] == "header" and schemes["tokenAuth"]["name"] == "Authorization"
    for path, method, operation in operations(schema):
        if operation["operationId"] in PUBLIC_OPERATIONS:
            assert not operation.get("security"), path
        else:
            assert {"tokenAuth": []} in operation["security"], f"{method} {path}"
            assert {"cookieAuth": []} in operation["security"], f"{method} {path}"


def test_every_operation_is_described_and_documents_its_errors(schema):
    for path, method, operation in operations(schema):
        where = f"{method.upper()} {path}"
        assert operation.get("summary") and operation.get("description"), where
        responses = operation["responses"]
        expected_errors = {"429"} if operation["operationId"] in PUBLIC_OPERATIONS else {"401", "403", "429"}
        assert expected_errors <= set(responses), where
        for code in expected_errors:
            ref = responses[code]["content"]["application/json"]["schema"]["$ref"]
            assert ref == "#/components/schemas/ApiError", where


def test_embeddings_operation_has_examples_and_limits(schema):
    from django.conf import settings

    post = schema["paths"]["/api/embeddings/"]["post"]
    request_body = post["requestBody"]["content"]["application/json"]
    assert request_body["examples"]
    texts = schema["components"]["schemas"]["EmbeddingJobInputRequest"]["properties"]["texts"]
    assert texts["minItems"] == 1 and texts["maxItems"] == settings.ARGUS_EMBED_MAX_TEXTS
    assert texts["items"]["maxLength"] == settings.ARGUS_EMBED_MAX_TEXT_CHARS
    assert set(post["responses"]) >= {"202", "400", "415"}
    assert post["responses"]["202"]["content"]["application/json"]["examples"]


def test_schema_generation_has_no_warnings_or_errors(tmp_path):
    target = tmp_path / "openapi.yaml"
    # --fail-on-warn exits non-zero (SystemExit) on any warning or error of the generator.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    generated = yaml.safe_load(target.read_text())
    validate(generated)
    assert set(generated["paths"]) == api_paths_in_urlconf()


def test_docs_page_loads_swagger_ui_from_our_static_files_only(analyst):
    response = client_for(analyst).get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert not re.search(r"https?://", html), "the docs page must not reference another host"
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets) and any(a.endswith(".css") for a in assets)
    # The initialiser is a script file of its own (no inline script, for the CSP).
    initialiser = [a for a in assets if a.startswith("/api/docs/")]
    assert initialiser == ["/api/docs/?script="]
    script = client_for(analyst).get(initialiser[0])
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()
    assert "<script>" not in html
    for asset in set(assets) - set(initialiser):
        assert asset.startswith("/static/"), asset
        assert finders.find(asset.removeprefix("/static/")), f"{asset} is not in our static files"


def test_docs_page_sends_anonymous_visitors_to_login():
    from django.test import Client

    response = Client().get("/api/docs/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/api/docs/")
