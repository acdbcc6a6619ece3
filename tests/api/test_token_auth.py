"""Token authentication end to end: obtain a token, start a job with it, read jobs."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

TEXTS = {"texts": ["Revenue grew 12% year over year.", "The covenant was breached."]}


def token_for(user) -> str:
    response = APIClient().post("/api/auth/token/", {"username": user.username, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    token = response.json()["token"]
    assert len(token) == 40
    return token


def client_with_token(token: str) -> APIClient:
    # enforce_csrf_checks: token requests must not need a CSRF token (no cookie involved).
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def test_analyst_obtains_a_token_starts_a_job_and_reads_it(analyst):
    token = token_for(analyst)
    assert token_for(analyst) == token  # the same token until revoked
    client = client_with_token(token)

    created = client.post("/api/embeddings/", TEXTS, format="json")
    assert created.status_code == 202, created.content
    job = created.json()
    assert job["owner"] == analyst.username and job["kind"] == "embed" and job["status"] == "queued"
    assert job["status_url"] == f"/api/jobs/{job['id']}/"

    fetched = client.get(job["status_url"])
    assert fetched.status_code == 200
    assert fetched.json()["id"] == job["id"]
    listed = client.get("/api/jobs/").json()
    assert [row["id"] for row in listed["results"]] == [job["id"]]

    me = client.get("/api/me/").json()
    assert me["username"] == analyst.username and me["roles"] == ["analyst"]


def test_another_analyst_gets_404_and_the_auditor_sees_the_job(analyst, other_analyst, auditor):
    job_url = client_with_token(token_for(analyst)).post("/api/embeddings/", TEXTS, format="json").json()["status_url"]

    other = client_with_token(token_for(other_analyst))
    response = other.get(job_url)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert other.get("/api/jobs/").json()["count"] == 0

    watcher = client_with_token(token_for(auditor))
    assert watcher.get(job_url).status_code == 200
    assert watcher.get("/api/jobs/").json()["count"] == 1


def test_wrong_password_is_400_with_a_clear_message(analyst):
    response = APIClient().post("/api/auth/token/", {"username": analyst.username, "password": "nope"}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["fields"] == {"non_field_errors": ["Unable to log in with provided credentials."]}
    assert "token" not in response.json()


def test_token_request_missing_fields_names_them():
    response = APIClient().post("/api/auth/token/", {"username": "x"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"password": ["This field is required."]}


def test_token_endpoint_takes_json_only(analyst):
    response = APIClient().post(
        "/api/auth/token/", {"username": analyst.username, "password": PASSWORD}, format="multipart"
    )
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


def test_session_post_without_csrf_token_is_refused_but_token_post_is_not(analyst):
    session = APIClient(enforce_csrf_checks=True)
    session.force_login(analyst)
    refused = session.post("/api/embeddings/", TEXTS, format="json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["error"]["detail"]
    assert client_with_token(token_for(analyst)).post("/api/embeddings/", TEXTS, format="json").status_code == 202


def test_revoked_token_is_401(analyst):
    from rest_framework.authtoken.models import Token

    token = token_for(analyst)
    Token.objects.filter(key=token).delete()
    response = client_with_token(token).get("/api/jobs/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"
