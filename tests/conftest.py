"""Shared fixtures: named personas (one per role, plus an outsider) and a real Celery worker."""

from __future__ import annotations

import uuid

import pytest
from django.core.cache.backends.locmem import LocMemCache
from rest_framework.throttling import SimpleRateThrottle

from apps.accounts.roles import Role

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture(autouse=True)
def isolated_throttle_cache(monkeypatch):
    """Each test counts requests from zero.

    Throttle history lives in the shared cache and is keyed by user pk or client
    address, both of which repeat from test to test (SQLite reuses pks after a
    rollback); without this, a test could be throttled by its predecessors. A
    private cache per test also leaves the shared cache of concurrent runs alone.
    """
    cache = LocMemCache(f"throttle-{uuid.uuid4().hex}", {})
    monkeypatch.setattr(SimpleRateThrottle, "cache", cache)
    return cache


@pytest.fixture
def make_user(db):
    from apps.accounts.services import user_create

    def make(username: str, role: Role | None):
        if role is None:
            from apps.accounts.models import User

            user = User.objects.create_user(username=username, password=PASSWORD)
            return user
        return user_create(username=username, password=PASSWORD, role=role)

    return make


@pytest.fixture
def analyst(make_user):
    return make_user("ana-analyst", Role.ANALYST)


@pytest.fixture
def other_analyst(make_user):
    return make_user("oscar-analyst", Role.ANALYST)


@pytest.fixture
def risk_officer(make_user):
    return make_user("rita-risk", Role.RISK_OFFICER)


@pytest.fixture
def auditor(make_user):
    return make_user("aude-auditor", Role.AUDITOR)


@pytest.fixture
def admin_user(make_user):
    return make_user("adam-admin", Role.ADMIN)


@pytest.fixture
def outsider(make_user):
    """Logged in, but holds no role at all."""
    return make_user("olga-outsider", None)


@pytest.fixture
def personas(analyst, risk_officer, auditor, admin_user, outsider):
    return {
        "analyst": analyst,
        "risk_officer": risk_officer,
        "auditor": auditor,
        "admin": admin_user,
        "outsider": outsider,
    }


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()


def client_for(user):
    from django.test import Client

    client = Client()
    if user is not None:
        client.force_login(user)
    return client


# --- a real Celery worker process --------------------------------------------


def database_url_for_subprocess() -> str:
    """The URL of the database the tests use right now (the test database, not the dev one)."""
    from django.db import connection

    conf = connection.settings_dict
    if conf["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{conf['NAME']}"
    user = conf.get("USER") or "postgres"
    password = f":{conf['PASSWORD']}" if conf.get("PASSWORD") else ""
    host = conf.get("HOST") or "127.0.0.1"
    port = conf.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{conf['NAME']}"


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker, tmp_path_factory):
    """A real ``celery worker`` subprocess consuming both queues, on the test database.

    Session-scoped: the model loads once. Yields a handle with the main pid and log path.
    """
    from tests.worker import start_worker, stop_worker

    with django_db_blocker.unblock():
        db_url = database_url_for_subprocess()
    log_path = tmp_path_factory.mktemp("worker") / "worker.log"
    worker = start_worker(db_url=db_url, log_path=log_path)
    try:
        yield worker
    finally:
        stop_worker(worker)
