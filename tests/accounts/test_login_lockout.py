"""Password guessing: the UI login and the API token endpoint lock an account after a few failures."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN_URL = "/accounts/login/"


def _ui_login(client: Client, username: str, password: str):
    return client.post(LOGIN_URL, {"username": username, "password": password})


def test_twelve_wrong_passwords_lock_the_account_in_the_ui(analyst):
    client = Client()
    statuses = [_ui_login(client, analyst.username, "wrong-guess").status_code for _ in range(12)]
    limit = settings.AXES_FAILURE_LIMIT
    assert statuses[: limit - 1] == [200] * (limit - 1)  # the form with its error
    assert set(statuses[limit - 1 :]) == {429}
    # Locked: even the right password is refused until the cool-off ends.
    locked = _ui_login(client, analyst.username, PASSWORD)
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session
    assert b"locked" in locked.content and locked["Retry-After"]


def test_a_locked_account_is_also_refused_a_token(analyst):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _ui_login(client, analyst.username, "wrong-guess")
    response = APIClient().post("/api/auth/token/", {"username": analyst.username, "password": PASSWORD}, format="json")
    assert response.status_code == 429
    error = response.json()["error"]
    assert error["code"] == "account_locked" and error["status"] == 429 and error["retry_after_seconds"] > 0


def test_wrong_passwords_on_the_token_endpoint_lock_the_account(analyst):
    api = APIClient()
    body = {"username": analyst.username, "password": "wrong-guess"}
    statuses = [api.post("/api/auth/token/", body, format="json").status_code for _ in range(12)]
    limit = settings.AXES_FAILURE_LIMIT
    assert statuses[: limit - 1] == [400] * (limit - 1)
    assert set(statuses[limit - 1 :]) == {429}
    right = api.post("/api/auth/token/", {"username": analyst.username, "password": PASSWORD}, format="json")
    assert right.status_code == 429
    assert right.json()["error"]["code"] == "account_locked"


def test_a_successful_login_resets_the_failure_count(analyst):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _ui_login(client, analyst.username, "wrong-guess")
    assert _ui_login(client, analyst.username, PASSWORD).status_code == 302
    client.logout()
    assert _ui_login(client, analyst.username, "wrong-guess").status_code == 200
