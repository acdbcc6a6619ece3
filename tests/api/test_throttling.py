"""Throttled requests get 429 in the error envelope, with Retry-After, and change nothing.

DRF reads the rates into ``SimpleRateThrottle.THROTTLE_RATES`` once, at import, so
``override_settings`` cannot lower them: the tests patch that class attribute.
"""

from __future__ import annotations

import json
import uuid

import pytest
from django.core.cache import cache as shared_cache
from rest_framework.test import APIClient
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle

from apps.jobs.models import Job
from tests.conftest import PASSWORD, client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def rates(monkeypatch):
    def set_rates(**overrides: str) -> None:
        monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {**SimpleRateThrottle.THROTTLE_RATES, **overrides})

    return set_rates


def assert_throttled(response) -> None:
    assert response.status_code == 429, response.content
    error = response.json()["error"]
    assert error["code"] == "throttled"
    assert error["status"] == 429
    assert "throttled" in error["detail"].lower()
    retry_after = int(response["Retry-After"])
    assert 0 < retry_after <= 60
    assert error["retry_after_seconds"] == retry_after


def test_user_over_the_user_rate_gets_429(rates, analyst):
    rates(user="2/minute")
    client = client_for(analyst)
    assert [client.get("/api/jobs/").status_code for _ in range(2)] == [200, 200]
    assert_throttled(client.get("/api/jobs/"))


def test_users_are_counted_separately(rates, analyst, other_analyst):
    rates(user="1/minute")
    assert client_for(analyst).get("/api/jobs/").status_code == 200
    assert client_for(other_analyst).get("/api/jobs/").status_code == 200
    assert_throttled(client_for(analyst).get("/api/jobs/"))


def test_job_creation_has_its_own_tighter_rate_and_a_throttled_request_writes_nothing(
    rates, analyst, django_capture_on_commit_callbacks
):
    rates(jobs="1/minute")
    client = client_for(analyst)
    body = json.dumps({"texts": ["Net debt fell."]})
    assert client.post("/api/embeddings/", body, content_type="application/json").status_code == 202
    jobs_before = Job.objects.count()
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post("/api/embeddings/", body, content_type="application/json")
    assert_throttled(response)
    assert Job.objects.count() == jobs_before and callbacks == []
    # Reading is under the (looser) user rate, not the job-creation scope.
    assert client.get("/api/jobs/").status_code == 200


def test_token_endpoint_is_throttled_per_client_address_even_with_a_session(rates, analyst):
    rates(anon="2/minute")
    client = APIClient()
    client.force_login(analyst)  # a session does not buy more guesses
    wrong = {"username": analyst.username, "password": "wrong"}
    assert [client.post("/api/auth/token/", wrong, format="json").status_code for _ in range(2)] == [400, 400]
    right = {"username": analyst.username, "password": PASSWORD}
    assert_throttled(client.post("/api/auth/token/", right, format="json"))
    # Another address is not affected.
    other = APIClient(REMOTE_ADDR="10.9.8.7")
    assert other.post("/api/auth/token/", right, format="json").status_code == 200


def test_throttle_history_lives_in_the_shared_cache(rates, analyst, monkeypatch):
    """With the configured cache (file or Redis), as web processes share it in production."""
    monkeypatch.setattr(SimpleRateThrottle, "cache", shared_cache)
    rates(anon="1/minute")
    address = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    key = AnonRateThrottle.cache_format % {"scope": "anon", "ident": address}
    shared_cache.delete(key)
    try:
        body = {"username": analyst.username, "password": "wrong"}
        assert APIClient(REMOTE_ADDR=address).post("/api/auth/token/", body, format="json").status_code == 400
        assert len(shared_cache.get(key)) == 1
        # A new client (as a second web process would be) sees the same history.
        assert_throttled(APIClient(REMOTE_ADDR=address).post("/api/auth/token/", body, format="json"))
    finally:
        shared_cache.delete(key)
