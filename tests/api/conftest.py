from __future__ import annotations

import uuid

import pytest
from django.core.cache.backends.locmem import LocMemCache
from rest_framework.throttling import SimpleRateThrottle


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
