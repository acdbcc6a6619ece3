"""The API honours its OpenAPI schema: schemathesis against the app, with an admin and an analyst token.

Every operation of the generated schema gets explicit examples, schemathesis' coverage
cases (boundary and negative values) and random cases, each sent with both tokens, and
every response is checked: no 5xx, status code, content type, headers and body as
documented, invalid input refused, valid input not refused.

Runs in process (the WSGI app) on the pytest-django test database, without a model worker:
search, which waits for the interactive worker, is kept in the run and answers its
documented 503 ``model_worker_unavailable`` at once (``models_call`` is made to time out);
operations that start jobs (ask included) answer 202 (the task would be sent after the transaction commits,
which a test transaction never does). The regression tests for each finding are fast unit
tests in ``test_contract_findings.py``.
"""

from __future__ import annotations

import json

import pytest
import schemathesis
from celery.exceptions import TimeoutError as ResultTimeout
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from rest_framework.throttling import SimpleRateThrottle
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import positive_data_acceptance

from apps.accounts.roles import Role
from apps.accounts.services import user_create

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

# Bounded so the whole run takes a couple of minutes on two shared cores.
MAX_EXAMPLES = 12


def openapi_document() -> dict:
    """The schema exactly as /api/schema/ serves it."""
    generated = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(generated))


@pytest.fixture
def no_connection_closing():
    """Like Django's test client: the WSGI handler must not close the test transaction's connection."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def contract_tokens(db, monkeypatch, no_connection_closing) -> dict[str, str]:
    def worker_does_not_answer(*args, **kwargs):
        raise ResultTimeout("no model worker in the contract test")

    monkeypatch.setattr("apps.research.selectors.models_call", worker_does_not_answer)
    # Ask is a job (202): no worker runs it here, so a client's `wait` would only sleep.
    monkeypatch.setattr("apps.research.api.search.job_wait", lambda job, seconds: job)
    monkeypatch.setattr("apps.risk.api.job_wait", lambda job, seconds: job)
    # Throttling is tested on its own (test_throttling.py); here it would only turn cases into 429s.
    monkeypatch.setattr(SimpleRateThrottle, "allow_request", lambda self, request, view: True)
    # The token endpoint's documented example logs in as the demo analyst of `make run`.
    user_create(username="demo-analyst", password="argus-demo-2026", role=Role.ANALYST)
    admin = user_create(username="contract-admin", password="contract-admin-pw-2026", role=Role.ADMIN)
    analyst = user_create(username="contract-analyst", password="contract-analyst-pw-2026", role=Role.ANALYST)
    return {
        "admin": Token.objects.create(user=admin).key,
        "analyst": Token.objects.create(user=analyst).key,
    }


# Built at import (pytest-django has set Django up by then): schemathesis makes one test per operation.
schema = schemathesis.openapi.from_dict(openapi_document())
schema.app = get_wsgi_application()
# allow_x00=False: DRF refuses NUL characters in every string (a 400); JSON Schema could only
# say so with a pattern on each string field of the schema.
schema.config.generation.update(
    max_examples=MAX_EXAMPLES, deterministic=True, no_shrink=True, database="none", allow_x00=False
)


# Operations that wait for the model worker: without one they answer their documented 503.
MODEL_WORKER_OPERATIONS = {"POST /api/search/"}
# What a request valid by the schema may still be refused for (400), by field: checks no JSON
# Schema states (one date before another, a ticker or adapter that exists, a file's content).
SEMANTIC_REFUSALS = {
    "GET /api/documents/": {"published_to"},
    "POST /api/documents/": {"files", "ticker", "access_level", "title"},
    "POST /api/reports/": {"ticker", "adapter", "as_of"},
    "POST /api/search/": {"published_to", "tickers"},
    "POST /api/ask/": {"published_to", "tickers"},
    # A ticker's and a CIK's form, a ticker not taken yet, a name that is not only blanks.
    "POST /api/companies/": {"ticker", "name", "cik", "aliases"},
    "PATCH /api/companies/{ticker}/": {"name", "cik", "aliases"},
    "GET /api/risk/companies/{ticker}/scores/": {"ticker", "to"},
    # An RSS feed needs a URL, a file feed a path the server can read: which depends on the kind.
    "POST /api/risk/feeds/": {"url_or_path"},
}


def _is_positive(case) -> bool:
    meta = getattr(case, "meta", None)
    return meta is None or meta.generation.mode == GenerationMode.POSITIVE


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_honours_its_openapi_schema(case, contract_tokens):
    label = case.operation.label
    excluded = []
    if label in MODEL_WORKER_OPERATIONS:
        excluded.append(not_a_server_error)  # replaced by the narrower assertion below
    if label in SEMANTIC_REFUSALS:
        excluded.append(positive_data_acceptance)  # likewise
    for token in contract_tokens.values():
        response = case.call_and_validate(headers={"Authorization": f"Token {token}"}, excluded_checks=excluded)
        if response.status_code >= 500:
            assert label in MODEL_WORKER_OPERATIONS and response.status_code == 503, label
            assert response.json()["error"]["code"] == "model_worker_unavailable"
        if label in SEMANTIC_REFUSALS and response.status_code == 400 and _is_positive(case):
            refused = set(response.json()["error"].get("fields", {}))
            assert refused and refused <= SEMANTIC_REFUSALS[label], (label, response.json())
