"""API tokens expire after ARGUS_API_TOKEN_TTL_HOURS, and logout or the revoke endpoint delete them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _obtain(user) -> dict:
    response = APIClient().post("/api/auth/token/", {"username": user.username, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def _with_token(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def test_token_states_when_it_expires(analyst, settings):
    settings.ARGUS_API_TOKEN_TTL_HOURS = 8
    body = _obtain(analyst)
    expires_at = dt.datetime.fromisoformat(body["expires_at"])
    assert abs(expires_at - (timezone.now() + dt.timedelta(hours=8))) < dt.timedelta(minutes=1)


def test_an_expired_token_is_refused_and_a_new_one_issued(analyst, settings):
    settings.ARGUS_API_TOKEN_TTL_HOURS = 1
    token = _obtain(analyst)["token"]
    assert _with_token(token).get("/api/me/").status_code == 200
    Token.objects.filter(key=token).update(created=timezone.now() - dt.timedelta(hours=1, seconds=1))

    refused = _with_token(token).get("/api/me/")
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "token_expired"

    renewed = _obtain(analyst)["token"]
    assert renewed != token
    assert _with_token(renewed).get("/api/me/").status_code == 200


def test_the_revoke_endpoint_deletes_the_token(analyst):
    token = _obtain(analyst)["token"]
    client = _with_token(token)
    response = client.post("/api/auth/token/revoke/")
    assert response.status_code == 200 and response.json() == {"revoked": 1}
    assert client.get("/api/me/").status_code == 401
    assert not Token.objects.filter(user=analyst).exists()


def test_logging_out_of_the_ui_revokes_the_api_token(analyst):
    token = _obtain(analyst)["token"]
    browser = Client()
    assert browser.post("/accounts/login/", {"username": analyst.username, "password": PASSWORD}).status_code == 302
    assert browser.post("/accounts/logout/").status_code == 302
    assert _with_token(token).get("/api/me/").status_code == 401
